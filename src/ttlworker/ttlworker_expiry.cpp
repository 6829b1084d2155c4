// The expiry worker of one database.  Every nodedb_kv.ttl_interval it deletes the expired rows of each
// kv table through the table's expiry index (a TID-range scan when the index is missing), in
// transactions of at most nodedb_kv.ttl_batch_size deletions, so the work follows what expired, not
// the table size.  Deletes go through the kv AM inside ttl::WithExpiryBypass: real heap deletes (WAL,
// logical decoding) that change capture records as "expire".  A failure in one table is logged and the
// next table goes on.  It does not define "expired" (ttl_expiry.cpp) nor choose databases
// (ttlworker_launcher.cpp).  After the expiry work of a tick it reclaims member rows of spilled
// containers that are gone (the members vacuum, below).
#include <cstring>

#include "nodedb_kv/kv/kv_members.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/genam.h"
#include "access/relation.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "utils/backend_status.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/pg/pg_catalog.hpp"
#include "nodedb_kv/shmem/shmem.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/tableam/tableam_scan.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"
#include "nodedb_kv/ttlworker/ttlworker.hpp"

namespace nodedb_kv::ttlworker {
namespace {

constexpr long kTableBudgetMs = 1000; // one table's share of a tick before the next table's turn
constexpr long kPollMs = 200;         // while idle: SIGTERM, SIGHUP and DROP DATABASE are noticed this fast
constexpr const char *kActivity = "nodedb_kv: deleting expired rows";

volatile sig_atomic_t got_sigterm = false;
DbSlot *my_slot = nullptr;            // claimed in shared memory; stable while claimed
MemoryContext tick_context = nullptr; // reset at every tick

void
WorkerSigterm(SIGNAL_ARGS)
{
	int save_errno = errno;
	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

// Claims this database's slot for this process.  False if the launcher does not track the database or
// another worker holds the slot.  A claimed slot is never freed or reused by the launcher.
bool
ClaimSlot()
{
	LauncherShared *shared = Launcher();
	LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
	for (int i = 0; i < kMaxDatabases && my_slot == nullptr; i++) {
		DbSlot *slot = &shared->slots[i];
		if (slot->dboid == MyDatabaseId) {
			if (slot->worker_pid == 0) {
				slot->worker_pid = MyProcPid;
				my_slot = slot;
			}
			break;
		}
	}
	LWLockRelease(LauncherLock());
	return my_slot != nullptr;
}

// before_shmem_exit callback (also after FATAL): gives the slot back so the launcher may restart us.
void
ReleaseSlot(int, Datum)
{
	LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
	if (my_slot->worker_pid == MyProcPid)
		my_slot->worker_pid = 0;
	LWLockRelease(LauncherLock());
}

uint32
Generation()
{
	LWLockAcquire(LauncherLock(), LW_SHARED);
	uint32 generation = my_slot->generation;
	LWLockRelease(LauncherLock());
	return generation;
}

// Records what a look at pg_extension found.  Absent is recorded only if no notification arrived since
// `generation` was read (the look may predate a CREATE EXTENSION); returns false when it was not.
bool
RecordState(bool present, uint32 generation)
{
	bool recorded = true;
	LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
	if (present)
		my_slot->state = DbState::Present;
	else if (my_slot->generation == generation)
		my_slot->state = DbState::Absent;
	else
		recorded = false;
	LWLockRelease(LauncherLock());
	return recorded;
}

// True when another session holds or waits for a lock on this database that conflicts with a
// connection's: DROP DATABASE, ALTER DATABASE RENAME / SET TABLESPACE, CREATE DATABASE ... TEMPLATE.
// Those fail after 5 s of other connected sessions, so the worker then leaves and the launcher starts a
// new one later.  Takes and drops a session lock without waiting; no transaction needed.
bool
DatabaseLockWanted()
{
	LOCKTAG tag;
	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, MyDatabaseId, 0);
	if (LockAcquire(&tag, RowExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, RowExclusiveLock, true);
	return false;
}

// Waits up to ms milliseconds (0: just look), reloading the configuration on SIGHUP and absorbing
// interrupts.  Returns false when the worker must exit: SIGTERM, or the database is wanted (above).
bool
Pause(long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
	for (;;) {
		CheckInterruptsWhileIdle();
		if (ConfigReloadPending) {
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (got_sigterm || DatabaseLockWanted())
			return false;
		long left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);
		if (left <= 0)
			return true;
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, Min(left, kPollMs),
		                PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

// Starts a transaction the way a bgworker must (PG15-PITFALLS §3): statement time first ("now" for
// expiry, §8), then a snapshot.
void
BeginTransaction()
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

// Commits the transaction of BeginTransaction and returns to the tick's memory context.
void
EndTransaction()
{
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(tick_context);
}

// The kv tables of the database and whether the extension is installed.  relids lives in tick_context.
struct TableList {
	bool present;
	Oid *relids;
	int count;
};

// Fills a TableList (runs under RunGuarded, in its own transaction).  Temporary tables belong to their
// session and are skipped; partitioned tables have no rows of their own (their partitions are listed).
void
ListTables(void *arg)
{
	auto *list = static_cast<TableList *>(arg);
	BeginTransaction();
	list->present = OidIsValid(get_extension_oid("nodedb_kv", true));
	Oid am = list->present && guc::ttl_enabled ? get_table_am_oid("kv", true) : InvalidOid;
	if (OidIsValid(am)) {
		int capacity = 16;
		list->relids = static_cast<Oid *>(MemoryContextAlloc(tick_context, sizeof(Oid) * capacity));
		ScanKeyData key;
		ScanKeyInit(&key, Anum_pg_class_relam, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(am));
		Relation catalog = table_open(RelationRelationId, AccessShareLock);
		SysScanDesc scan = systable_beginscan(catalog, InvalidOid, false, nullptr, 1, &key);
		HeapTuple tuple;
		while ((tuple = systable_getnext(scan)) != nullptr) {
			auto *form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
			if (form->relkind != RELKIND_RELATION || form->relpersistence == RELPERSISTENCE_TEMP)
				continue;
			if (list->count == capacity) {
				capacity *= 2;
				list->relids = static_cast<Oid *>(repalloc(list->relids, sizeof(Oid) * capacity));
			}
			list->relids[list->count++] = form->oid;
		}
		systable_endscan(scan);
		table_close(catalog, AccessShareLock);
	}
	EndTransaction();
}

// The expiry of one table within one tick.
struct TableJob {
	Oid relid;
	TimestampTz deadline;   // no new batch after this instant
	char name[NAMEDATALEN]; // for messages; empty until the table was opened
	uint64 deleted;         // rows deleted by committed batches
	uint64 skipped;         // expired rows a concurrent writer changed or locked first
	bool more;              // stopped with full batches left (budget, shutdown)
	bool has_lower;         // index path: rows below `lower` were all seen in this tick
	TimestampTz lower;
	BlockNumber next_block; // TID-range path: where the next batch starts
};

// Deletes the row version in slot as an expiry (inside WithExpiryBypass).  False if a concurrent writer
// updated, deleted or locked it first: it survives this tick (e.g. its TTL was just extended).
bool
DeleteRow(Relation rel, TupleTableSlot *slot, CommandId cid, Snapshot snapshot)
{
	TM_FailureData tmfd;
	TM_Result result =
	    table_tuple_delete(rel, &slot->tts_tid, cid, snapshot, InvalidSnapshot, /*wait*/ false, &tmfd, false);
	return result == TM_Ok;
}

// One batch through the expiry index: rows with lower <= expiry <= now, in ascending expiry order,
// until ttl_batch_size deletions.  Caller holds RowExclusiveLock on rel and an active MVCC snapshot.
// Returns the number deleted.
int
IndexBatch(TableJob *job, Relation rel, Oid index_oid, AttrNumber attno)
{
	Snapshot snapshot = GetActiveSnapshot();
	TimestampTz now = ttl::Now();
	int limit = guc::ttl_batch_size;
	CommandId cid = GetCurrentCommandId(true);
	Relation index = index_open(index_oid, AccessShareLock);
	// A DESC index yields ascending expiry backwards; the resume bound relies on ascending order.
	ScanDirection direction = (index->rd_indoption[0] & INDOPTION_DESC) ? BackwardScanDirection : ForwardScanDirection;
	ScanKeyData keys[2];
	int nkeys = 0;
	if (job->has_lower)
		ScanKeyInit(&keys[nkeys++], 1, BTGreaterEqualStrategyNumber, F_TIMESTAMPTZ_GE, TimestampTzGetDatum(job->lower));
	ScanKeyInit(&keys[nkeys++], 1, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE, TimestampTzGetDatum(now));
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	IndexScanDesc scan = index_beginscan(rel, index, snapshot, nkeys, 0);
	index_rescan(scan, keys, nkeys, nullptr, 0);

	int deleted = 0;
	auto batch = [&] {
		while (deleted < limit && !got_sigterm && index_getnext_slot(scan, direction, slot)) {
			CHECK_FOR_INTERRUPTS();
			if (!ttl::SlotExpired(slot, attno, now))
				continue;
			bool isnull = false;
			job->lower = DatumGetTimestampTz(slot_getattr(slot, attno, &isnull));
			job->has_lower = true;
			if (DeleteRow(rel, slot, cid, snapshot))
				deleted++;
			else
				job->skipped++;
		}
	};
	ttl::WithExpiryBypass(batch);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	return deleted;
}

// One batch without an expiry index: a TID-range scan from next_block on, until ttl_batch_size
// deletions.  Same contract as IndexBatch.
int
ScanBatch(TableJob *job, Relation rel, AttrNumber attno)
{
	Snapshot snapshot = GetActiveSnapshot();
	TimestampTz now = ttl::Now();
	int limit = guc::ttl_batch_size;
	CommandId cid = GetCurrentCommandId(true);
	ItemPointerData min_tid;
	ItemPointerData max_tid;
	ItemPointerSet(&min_tid, job->next_block, FirstOffsetNumber);
	ItemPointerSet(&max_tid, MaxBlockNumber, MaxOffsetNumber);
	TupleTableSlot *slot = table_slot_create(rel, nullptr);

	int deleted = 0;
	TableScanDesc scan = table_beginscan_tidrange(rel, snapshot, &min_tid, &max_tid);
	auto batch = [&] {
		while (deleted < limit && !got_sigterm && table_scan_getnextslot_tidrange(scan, ForwardScanDirection, slot)) {
			CHECK_FOR_INTERRUPTS();
			job->next_block = ItemPointerGetBlockNumber(&slot->tts_tid);
			if (!ttl::SlotExpired(slot, attno, now))
				continue;
			if (DeleteRow(rel, slot, cid, snapshot))
				deleted++;
			else
				job->skipped++;
		}
	};
	ttl::WithExpiryBypass(batch);
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return deleted;
}

// One batch of one table in its own transaction.  The table is skipped (0 deleted) when its lock is
// not free right now, when it no longer exists or is no kv table, has no expiry column, or is the
// target of a rewrite.  Returns true when the batch was full (more may be expired).  May ereport.
bool
ExpireBatch(TableJob *job)
{
	BeginTransaction();
	pgstat_report_activity(STATE_RUNNING, kActivity);
	int deleted = 0;
	if (ConditionalLockRelationOid(job->relid, RowExclusiveLock)) {
		Relation rel = try_relation_open(job->relid, NoLock);
		if (rel != nullptr) {
			if (rel->rd_rel->relkind == RELKIND_RELATION && tableam::IsKvRelation(rel)) {
				strlcpy(job->name, RelationGetRelationName(rel), sizeof(job->name));
				// Copy: opening the index may process invalidations that free the cached RelInfo.
				const tableam::RelInfo *info = tableam::GetRelInfo(rel);
				AttrNumber attno = info->expiry_attno;
				Oid index_oid = info->expiry_index;
				if (attno != InvalidAttrNumber && !info->transient)
					deleted =
					    OidIsValid(index_oid) ? IndexBatch(job, rel, index_oid, attno) : ScanBatch(job, rel, attno);
			}
			relation_close(rel, NoLock); // the lock is kept until commit
		}
	}
	EndTransaction();
	job->deleted += deleted;
	return deleted >= guc::ttl_batch_size;
}

// All batches of one table for this tick (runs under RunGuarded): full batches follow each other until
// the table's budget is spent, then job->more tells the tick that work is left.
void
ExpireTable(void *arg)
{
	auto *job = static_cast<TableJob *>(arg);
	while (ExpireBatch(job)) {
		if (got_sigterm || GetCurrentTimestamp() >= job->deadline || DatabaseLockWanted()) {
			job->more = true;
			break;
		}
	}
}

// Logs a failure that RunGuarded caught (its error state is already flushed) after aborting it.
void
ReportFailure(const char *what, const pg::ErrorInfo &error)
{
	AbortCurrentTransaction();
	MemoryContextSwitchTo(tick_context);
	ereport(LOG, (errcode(error.sqlerrcode), errmsg("nodedb_kv: %s failed: %s", what, error.message),
	              error.detail[0] != '\0' ? errdetail_internal("%s", error.detail) : 0));
}

// ---- The members vacuum: member rows of spilled containers that are gone (kv_members.hpp), reclaimed
// in bounded steps after the tick's expiry work, at low priority: never while expiry has a backlog,
// never waiting for kv_members' lock, within one table's share of the tick, one pass (a walk of
// kv_members, resumed across ticks) every nodedb_kv.members_vacuum_interval. ----

struct MembersPass {
	bool running = false;   // a pass is under way; its walk resumes at resume[0..resume_len)
	char *resume = nullptr; // TopMemoryContext
	size_t resume_len = 0;
	TimestampTz next_start = 0; // no new pass before this instant
};
MembersPass members_pass;

// One step of the pass (VacuumMembersStep, under RunGuarded, in its own transaction).
struct MembersStep {
	int64 deleted; // member rows deleted
	bool finished; // the walk reached the end of kv_members
	bool busy;     // kv_members' lock was taken by someone else: nothing done
};

void
VacuumMembersStep(void *arg)
{
	auto *step = static_cast<MembersStep *>(arg);
	BeginTransaction();
	pgstat_report_activity(STATE_RUNNING, "nodedb_kv: deleting member rows of deleted containers");
	Oid relid = pg::ExtensionRelation("kv_members");
	step->busy = !ConditionalLockRelationOid(relid, RowExclusiveLock);
	if (!step->busy) {
		kv::Bytes next = {"", 0};
		kv::Bytes from =
		    members_pass.resume_len > 0 ? kv::Bytes{members_pass.resume, members_pass.resume_len} : kv::Bytes{"", 0};
		kv::Status status = kv::VacuumMembers("members vacuum", from, static_cast<size_t>(guc::members_vacuum_batch),
		                                      &step->deleted, &next, &step->finished);
		if (!status.ok())
			ereport(ERROR, (errmsg("%s", status.message)));
		char *copy = static_cast<char *>(MemoryContextAlloc(TopMemoryContext, next.len > 0 ? next.len : 1));
		memcpy(copy, next.data, next.len);
		EndTransaction();
		if (members_pass.resume != nullptr)
			pfree(members_pass.resume);
		members_pass.resume = copy;
		members_pass.resume_len = next.len;
		return;
	}
	EndTransaction();
}

// The members vacuum's share of a tick.
void
VacuumMembersTick(bool expiry_backlog)
{
	if (!guc::ttl_enabled || guc::members_vacuum_interval_ms == 0 || expiry_backlog)
		return;
	TimestampTz now = GetCurrentTimestamp();
	if (!members_pass.running) {
		if (now < members_pass.next_start)
			return;
		members_pass.running = true;
		members_pass.resume_len = 0;
	}
	TimestampTz deadline = TimestampTzPlusMilliseconds(now, kTableBudgetMs);
	uint64 deleted = 0;
	while (!got_sigterm) {
		MembersStep step = {0, false, false};
		pg::ErrorInfo error;
		bool ok = pg::RunGuarded(VacuumMembersStep, &step, &error);
		if (!ok)
			ReportFailure("vacuum of kv_members", error);
		deleted += static_cast<uint64>(step.deleted);
		if (!ok || step.finished) {
			members_pass.running = false;
			members_pass.next_start =
			    TimestampTzPlusMilliseconds(GetCurrentTimestamp(), guc::members_vacuum_interval_ms);
			break;
		}
		if (step.busy || GetCurrentTimestamp() >= deadline || DatabaseLockWanted())
			break;
	}
	if (deleted > 0)
		ereport(DEBUG1, (errmsg_internal("nodedb_kv: members vacuum deleted " UINT64_FORMAT " member rows", deleted)));
}

// One pass over the database.  Returns false when the worker must exit because the extension is gone;
// *more is set when some table still had expired rows when its budget ran out.
bool
Tick(bool *more)
{
	MemoryContextSwitchTo(tick_context);
	MemoryContextReset(tick_context);
	*more = false;
	TimestampTz start = GetCurrentTimestamp();
	uint32 generation = Generation();
	TableList list = {};
	pg::ErrorInfo error;
	if (!pg::RunGuarded(ListTables, &list, &error)) {
		ReportFailure("listing kv tables for expiry", error);
		return true;
	}
	if (!list.present) {
		if (RecordState(false, generation))
			return false;
		*more = true; // CREATE EXTENSION committed meanwhile: look again at once
		return true;
	}
	RecordState(true, generation);

	uint64 deleted = 0;
	uint64 skipped = 0;
	int failed = 0;
	for (int i = 0; i < list.count && !got_sigterm; i++) {
		TableJob job = {};
		job.relid = list.relids[i];
		job.deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kTableBudgetMs);
		if (!pg::RunGuarded(ExpireTable, &job, &error)) {
			char what[NAMEDATALEN + 32];
			if (job.name[0] != '\0')
				snprintf(what, sizeof(what), "expiry of \"%s\"", job.name);
			else
				snprintf(what, sizeof(what), "expiry of relation %u", job.relid);
			ReportFailure(what, error);
			failed++;
		}
		deleted += job.deleted;
		skipped += job.skipped;
		*more = *more || job.more;
	}

	VacuumMembersTick(*more);

	TimestampTz end = GetCurrentTimestamp();
	LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
	my_slot->expired_total += deleted;
	my_slot->ticks++;
	my_slot->last_tick = end;
	LWLockRelease(LauncherLock());
	if (deleted > 0 || skipped > 0 || failed > 0)
		ereport(DEBUG1,
		        (errmsg_internal("nodedb_kv: expiry tick removed " UINT64_FORMAT " rows from %d kv tables in "
		                         "%ld ms (" UINT64_FORMAT " changed concurrently, %d tables failed)",
		                         deleted, list.count, TimestampDifferenceMilliseconds(start, end), skipped, failed)));
	return true;
}

} // namespace
} // namespace nodedb_kv::ttlworker

// A worker for the database in `arg`: claim the slot, then tick until SIGTERM, DROP EXTENSION (state
// Absent, exit 0), or a session that wants the database (exit 0; the launcher restarts it later).  A
// probe of a database without the extension is a worker whose first tick finds it absent.
void
nodedb_kv_ttl_worker_main(Datum arg) noexcept
{
	using namespace nodedb_kv;
	using namespace nodedb_kv::ttlworker;
	pqsignal(SIGTERM, WorkerSigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	if (!ClaimSlot())
		proc_exit(0);
	before_shmem_exit(ReleaseSlot, 0);
	tick_context = AllocSetContextCreate(TopMemoryContext, "nodedb_kv expiry worker", ALLOCSET_DEFAULT_SIZES);

	bool more = false;
	while (Tick(&more)) {
		pgstat_report_stat(false);
		pgstat_report_activity(STATE_IDLE, nullptr);
		if (!Pause(more ? 0 : guc::ttl_interval_ms))
			break;
	}
	ereport(DEBUG1, (errmsg_internal("nodedb_kv: expiry worker for database %u exits", MyDatabaseId)));
	proc_exit(0);
}
