// Commit order per member (sortedindex_order.hpp; README "Commit order").  Why a wait at PRE_COMMIT
// suffices: let T1 and T2 change the same member, T2 after T1 in commit order.  Either T2 waited for
// T1's row lock (or unique check), released only after T1's COMMIT callback: nothing to do; or T2 saw
// T1's row committed, i.e. took its snapshot after T1's ProcArrayEndTransaction, which comes after
// T1's PRE_COMMIT, where T1 took its cell.  T2 reaches its own PRE_COMMIT later still, so it finds
// that cell held and waits until T1 has linked.  Waiters hold no cells, and holders never wait on
// cells, so waits form no cycle.  Two transactions whose members only share a cell (a hash collision)
// are ordered needlessly, never wrongly.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/shmem/shmem.hpp"
#include "nodedb_kv/sortedindex/sortedindex_order.hpp"

namespace nodedb_kv::sortedindex {
namespace {

constexpr uint32 kCells = 1u << 15; // 128 kB of counters

struct Shared {
	pg_atomic_uint32 waiters; // backends inside HoldCells' wait loop
	ConditionVariable released;
	pg_atomic_uint32 cells[kCells];
};

Shared *shared = nullptr;

size_t
OrderSize()
{
	return sizeof(Shared);
}

void
OrderInit(void *base, bool found)
{
	shared = static_cast<Shared *>(base);
	if (found)
		return;
	pg_atomic_init_u32(&shared->waiters, 0);
	ConditionVariableInit(&shared->released);
	for (auto &cell : shared->cells)
		pg_atomic_init_u32(&cell, 0);
}

bool
AnyHeld(const uint32 *cells, int64 n)
{
	for (int64 i = 0; i < n; i++)
		if (pg_atomic_read_u32(&shared->cells[cells[i]]) != 0)
			return true;
	return false;
}

} // namespace

uint32
OrderCell(int slot_no, uint32 member_hash)
{
	return hash_combine(murmurhash32(static_cast<uint32>(slot_no)), member_hash) & (kCells - 1);
}

void
HoldCells(const uint32 *cells, int64 n)
{
	if (n == 0)
		return;
	// The other side of ReleaseCells' fence: our waiter count is visible before we read the cells.
	pg_memory_barrier();
	if (AnyHeld(cells, n)) {
		pg_atomic_fetch_add_u32(&shared->waiters, 1);
		ConditionVariablePrepareToSleep(&shared->released);
		PG_TRY();
		{
			while (AnyHeld(cells, n))
				ConditionVariableSleep(&shared->released, PG_WAIT_EXTENSION);
		}
		PG_FINALLY();
		{
			ConditionVariableCancelSleep();
			pg_atomic_fetch_sub_u32(&shared->waiters, 1);
		}
		PG_END_TRY();
	}
	for (int64 i = 0; i < n; i++)
		pg_atomic_fetch_add_u32(&shared->cells[cells[i]], 1);
}

void
ReleaseCells(const uint32 *cells, int64 n)
{
	if (n == 0)
		return;
	for (int64 i = 0; i < n; i++)
		pg_atomic_fetch_sub_u32(&shared->cells[cells[i]], 1);
	// A waiter counts itself before it reads the cells; we read its count after our decrements.
	pg_memory_barrier();
	if (pg_atomic_read_u32(&shared->waiters) != 0)
		ConditionVariableBroadcast(&shared->released);
}

void
RegisterCommitOrder()
{
	(void)shmem::Register({"nodedb_kv sorted commit order", OrderSize, OrderInit, 0, false});
}

} // namespace nodedb_kv::sortedindex
