// The clock module: the single definition of "now" for expiry.  Owns the shared high-water mark and
// the per-backend slots through which a parallel leader hands its instant to its workers; does not
// decide what is expired (ttl_expiry.cpp does).
//
// One statement, one instant: the leader computes max(statement start, high-water mark) once per
// statement.  Its parallel workers receive the same statement start time but would meet a high-water
// mark other backends may have raised since, so they read the leader's instant from the leader's slot
// (indexed by ParallelLeaderBackendId, tagged with the leader's pid and statement start).  The leader
// publishes before any worker starts (ExecutorStart of a parallel-mode plan); a worker that finds no
// instant for its statement computes one and publishes it for the leader and its siblings.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/backendid.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/shmem/shmem.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::ttl {
namespace {

// The instant a parallel leader uses for one statement.
struct InstantSlot {
	slock_t mutex;
	int leader_pid;        // 0: never written
	TimestampTz statement; // the leader's statement start time
	TimestampTz instant;   // the instant (high-water mark applied, test offset not)
};

struct ClockShared {
	pg_atomic_uint64 high_water;              // largest instant any backend has used
	InstantSlot slots[FLEXIBLE_ARRAY_MEMBER]; // indexed by BackendId (1..MaxBackends)
};

ClockShared *shared = nullptr;
ExecutorStart_hook_type prev_executor_start = nullptr;

// Per-backend cache: the answer only changes when the statement timestamp or the offset changes.
TimestampTz cached_statement = DT_NOBEGIN;
TimestampTz cached_base = 0;

size_t
ClockSize()
{
	return add_size(offsetof(ClockShared, slots), mul_size(sizeof(InstantSlot), static_cast<Size>(MaxBackends) + 1));
}

void
ClockInit(void *base, bool found)
{
	shared = static_cast<ClockShared *>(base);
	if (!found) {
		pg_atomic_init_u64(&shared->high_water, 0);
		for (int i = 0; i <= MaxBackends; i++) {
			SpinLockInit(&shared->slots[i].mutex);
			shared->slots[i].leader_pid = 0;
			shared->slots[i].statement = DT_NOBEGIN;
			shared->slots[i].instant = 0;
		}
	}
}

// Raises the high-water mark to at least ts and returns the mark (which may be larger than ts).
TimestampTz
Advance(TimestampTz ts)
{
	if (shared == nullptr)
		return ts;
	uint64 seen = pg_atomic_read_u64(&shared->high_water);
	while (static_cast<TimestampTz>(seen) < ts) {
		if (pg_atomic_compare_exchange_u64(&shared->high_water, &seen, static_cast<uint64>(ts)))
			return ts;
	}
	return static_cast<TimestampTz>(seen);
}

// A new instant for a statement: its start time (moved back by the test-only
// nodedb_kv.test_clock_source_offset, a step of the wall clock), never below the high-water mark.  A
// parallel worker adds nodedb_kv.test_worker_clock_skew (tests: a worker that computed its own instant
// under load); the skew never reaches the shared mark.
TimestampTz
NewInstant(TimestampTz statement)
{
	TimestampTz instant =
	    Advance(statement + static_cast<TimestampTz>(guc::test_clock_source_offset_s * USECS_PER_SEC));
	if (IsParallelWorker())
		instant += static_cast<TimestampTz>(guc::test_worker_clock_skew_s * USECS_PER_SEC);
	return instant;
}

// The slot of the statement's leader (this backend unless it is a parallel worker) and the leader's
// pid, or nullptr when there is none (no shared memory, no backend id).
InstantSlot *
LeaderSlot(int *leader_pid)
{
	if (shared == nullptr)
		return nullptr;
	BackendId leader = MyBackendId;
	*leader_pid = MyProcPid;
	if (IsParallelWorker()) {
		leader = ParallelLeaderBackendId;
		*leader_pid = (MyProc != nullptr && MyProc->lockGroupLeader != nullptr) ? MyProc->lockGroupLeader->pid : 0;
	}
	if (leader < 1 || leader > MaxBackends || *leader_pid == 0)
		return nullptr;
	return &shared->slots[leader];
}

// The statement's instant: the one its leader (or a sibling worker) published, else a new one, which
// is then published.  Spinlocks only around plain loads and stores.
TimestampTz
StatementInstant(TimestampTz statement)
{
	int leader_pid = 0;
	InstantSlot *slot = LeaderSlot(&leader_pid);
	if (slot != nullptr) {
		SpinLockAcquire(&slot->mutex);
		bool found = slot->leader_pid == leader_pid && slot->statement == statement;
		TimestampTz instant = slot->instant;
		SpinLockRelease(&slot->mutex);
		if (found)
			return instant;
	}
	TimestampTz instant = NewInstant(statement);
	if (slot != nullptr) {
		SpinLockAcquire(&slot->mutex);
		if (slot->leader_pid == leader_pid && slot->statement == statement) {
			instant = slot->instant; // a sibling published first
		} else {
			slot->leader_pid = leader_pid;
			slot->statement = statement;
			slot->instant = instant;
		}
		SpinLockRelease(&slot->mutex);
	}
	return instant;
}

// ExecutorStart_hook: a leader about to run a parallel-mode plan publishes its instant first, so its
// workers (started later, during ExecutorRun) never compute their own.
void
ExecutorStartHook(QueryDesc *query_desc, int eflags)
{
	if (query_desc->plannedstmt != nullptr && query_desc->plannedstmt->parallelModeNeeded && !IsParallelWorker())
		(void)Now();
	if (prev_executor_start != nullptr)
		prev_executor_start(query_desc, eflags);
	else
		standard_ExecutorStart(query_desc, eflags);
}

} // namespace

TimestampTz
Now()
{
	TimestampTz statement = GetCurrentStatementStartTimestamp();
	if (statement != cached_statement) {
		cached_base = StatementInstant(statement);
		cached_statement = statement;
	}
	return cached_base + static_cast<TimestampTz>(guc::test_clock_offset_s * USECS_PER_SEC);
}

void
RegisterClockShmem()
{
	shmem::Register({"nodedb_kv clock", ClockSize, ClockInit, 0, false});
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = ExecutorStartHook;
}

} // namespace nodedb_kv::ttl
