// The TTL launcher: one static background worker that lists the cluster's databases, starts one expiry
// worker per database that has the extension, restarts workers that stopped, and re-probes a database
// when a backend reports CREATE/DROP EXTENSION there.  It owns the shared database array and the
// commit-time notification; it never touches user tables (ttlworker_expiry.cpp does).
//
// Database states: Unknown (a worker is started; it probes for the extension and records Present or
// Absent), Present (a worker runs, or is restarted kRestartDelayMs after it stopped), Absent (no worker
// until a notification, or until a crash restart re-creates shared memory).
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/shmem/shmem.hpp"
#include "nodedb_kv/tableam/tableam_ddl.hpp"
#include "nodedb_kv/ttlworker/ttlworker.hpp"

namespace nodedb_kv::ttlworker {
namespace {

constexpr long kRescanIntervalMs = 10000;  // pg_database is re-read this often for new databases
constexpr long kRestartDelayMs = 5000;     // a worker that stopped while its database has the extension
constexpr long kMaxSleepMs = 1000;         // the launcher looks at its workers at least this often
constexpr int kMaxConcurrentProbes = 4;    // workers still probing for the extension, at most
constexpr int kLauncherRestartSeconds = 5; // postmaster restarts a failed launcher after this

LauncherShared *shared = nullptr;
shmem::AreaId launcher_area = -1;

// Backend-local: this transaction created or dropped an extension; notify at commit.
bool notify_pending = false;

// Launcher-local state.  handles[i] and names[i] belong to shared->slots[i].
volatile sig_atomic_t got_sigterm = false;
MemoryContext launcher_context = nullptr;
MemoryContext scan_context = nullptr;
BackgroundWorkerHandle *handles[kMaxDatabases];
uint32 started_generation[kMaxDatabases]; // the slot's generation when its worker was started
NameData names[kMaxDatabases];
TimestampTz last_scan = 0;
TimestampTz last_stop = 0;
bool warned_full = false;
bool warned_no_bgworker = false;

size_t
SharedSize()
{
	return sizeof(LauncherShared);
}

// Attaches the launcher area (created zeroed by the registry; runs under AddinShmemInitLock).
void
SharedInit(void *base, bool)
{
	shared = static_cast<LauncherShared *>(base);
}

// Index of the slot tracking dboid, or -1.  Caller holds LauncherLock().
int
FindSlot(Oid dboid)
{
	for (int i = 0; i < kMaxDatabases; i++)
		if (shared->slots[i].dboid == dboid && OidIsValid(dboid))
			return i;
	return -1;
}

// Marks dboid for a new probe (or asks for a rescan if it is not tracked yet).  Never errors.
void
MarkUnknown(Oid dboid)
{
	if (shared == nullptr)
		return;
	LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
	int i = FindSlot(dboid);
	if (i >= 0) {
		shared->slots[i].state = DbState::Unknown;
		shared->slots[i].generation++;
		shared->slots[i].retry_at = 0;
	} else
		shared->rescan_requested = true;
	LWLockRelease(LauncherLock());
}

// Transaction callback: delivers a pending notification once the DDL is visible to other sessions
// (COMMIT callbacks run after ProcArrayEndTransaction).  Must not fail: only an LWLock and a latch.
void
NotifyXactCallback(XactEvent event, void *)
{
	if (!notify_pending)
		return;
	switch (event) {
	case XACT_EVENT_COMMIT:
		notify_pending = false;
		MarkUnknown(MyDatabaseId);
		WakeLauncher();
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PREPARE:
		notify_pending = false;
		break;
	default:
		break;
	}
}

void
LauncherSigterm(SIGNAL_ARGS)
{
	int save_errno = errno;
	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

// before_shmem_exit callback: nobody may set our latch any more.
void
LauncherExit(int, Datum)
{
	LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
	if (shared->launcher_pid == MyProcPid) {
		shared->launcher_pid = 0;
		shared->launcher_latch = nullptr;
	}
	LWLockRelease(LauncherLock());
}

// True while a worker for slot i exists: one we started and the postmaster has not reported stopped,
// or one that claimed the slot (possibly started by an earlier launcher).  Caller holds LauncherLock().
bool
Active(int i)
{
	if (shared->slots[i].worker_pid != 0)
		return true;
	pid_t pid = 0;
	return handles[i] != nullptr && GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED;
}

// A connectable database seen in pg_database.
struct Listed {
	Oid dboid;
	NameData name;
};

// Reads pg_database: databases that allow connections, are no templates (CREATE DATABASE refuses a
// template with connected sessions) and are valid.  Runs and commits its own transaction; the result
// lives in scan_context until the next call.  May ereport (the launcher then exits and is restarted).
Listed *
ListDatabases(int *count)
{
	MemoryContextReset(scan_context);
	int capacity = 64;
	auto *listed = static_cast<Listed *>(MemoryContextAlloc(scan_context, sizeof(Listed) * capacity));
	*count = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void)GetTransactionSnapshot();
	Relation rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		auto *db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
		if (!db->datallowconn || db->datistemplate || database_is_invalid_form(db))
			continue;
		if (*count == capacity) {
			capacity *= 2;
			listed = static_cast<Listed *>(repalloc(listed, sizeof(Listed) * capacity));
		}
		listed[*count].dboid = db->oid;
		listed[*count].name = db->datname;
		(*count)++;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(launcher_context);
	return listed;
}

// Re-reads pg_database and syncs the slots: a new database gets a free slot in state Unknown; the slot
// of a database that disappeared is freed once no worker uses it.  May ereport (see ListDatabases).
void
ScanDatabases()
{
	int count = 0;
	Listed *listed = ListDatabases(&count);
	last_scan = GetCurrentTimestamp();

	LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
	for (int i = 0; i < kMaxDatabases; i++) {
		DbSlot *slot = &shared->slots[i];
		if (!OidIsValid(slot->dboid) || Active(i))
			continue;
		bool still_there = false;
		for (int j = 0; j < count && !still_there; j++)
			still_there = listed[j].dboid == slot->dboid;
		if (!still_there) {
			memset(slot, 0, sizeof(DbSlot));
			if (handles[i] != nullptr) {
				pfree(handles[i]);
				handles[i] = nullptr;
			}
		}
	}
	int untracked = 0;
	for (int j = 0; j < count; j++) {
		int i = FindSlot(listed[j].dboid);
		if (i < 0) {
			for (int k = 0; k < kMaxDatabases && i < 0; k++)
				if (!OidIsValid(shared->slots[k].dboid))
					i = k;
			if (i < 0) {
				untracked++;
				continue;
			}
			memset(&shared->slots[i], 0, sizeof(DbSlot));
			shared->slots[i].dboid = listed[j].dboid;
			shared->slots[i].state = DbState::Unknown;
		}
		names[i] = listed[j].name;
	}
	LWLockRelease(LauncherLock());

	if (untracked > 0 && !warned_full)
		ereport(LOG, (errmsg("nodedb_kv: expiry is not running in %d databases", untracked),
		              errdetail("The TTL launcher tracks at most %d databases.", kMaxDatabases)));
	warned_full = untracked > 0;
}

// Notices workers the postmaster reports stopped: forgets their handle and, unless the database lacks
// the extension, schedules a restart after kRestartDelayMs.  No delay when a CREATE/DROP EXTENSION
// was notified since the worker started: it left because it found the extension gone, and the news
// may be that it is back (CREATE, DROP, CREATE in quick succession used to wait the full delay).
void
ReapWorkers(TimestampTz now)
{
	for (int i = 0; i < kMaxDatabases; i++) {
		pid_t pid = 0;
		if (handles[i] == nullptr || GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
			continue;
		pfree(handles[i]);
		handles[i] = nullptr;
		LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
		DbSlot *slot = &shared->slots[i];
		if (OidIsValid(slot->dboid) && slot->state != DbState::Absent && slot->worker_pid == 0) {
			bool notified = slot->generation != started_generation[i];
			slot->retry_at = notified ? 0 : TimestampTzPlusMilliseconds(now, kRestartDelayMs);
			last_stop = now;
		}
		LWLockRelease(LauncherLock());
	}
}

// True if a worker that stopped earlier is due for its restart.
bool
RestartDue(TimestampTz now)
{
	bool due = false;
	LWLockAcquire(LauncherLock(), LW_SHARED);
	for (int i = 0; i < kMaxDatabases && !due; i++) {
		const DbSlot *slot = &shared->slots[i];
		due = OidIsValid(slot->dboid) && slot->state != DbState::Absent && slot->retry_at != 0 &&
		      now >= slot->retry_at && !Active(i);
	}
	LWLockRelease(LauncherLock());
	return due;
}

// Registers a dynamic worker for slot i's database.  False when the postmaster has no free worker slot
// (logged once until a start succeeds again).  The handle is kept in launcher_context.
bool
StartWorker(int i, Oid dboid)
{
	BackgroundWorker worker;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "nodedb_kv", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "nodedb_kv_ttl_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "nodedb_kv expiry worker for database %s", NameStr(names[i]));
	strlcpy(worker.bgw_type, "nodedb_kv expiry worker", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;

	BackgroundWorkerHandle *handle = nullptr;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle)) {
		if (!warned_no_bgworker)
			ereport(LOG, (errmsg("nodedb_kv: could not start an expiry worker: no free background worker slot"),
			              errhint("Raise max_worker_processes: nodedb_kv needs one per database that has the "
			                      "extension, plus one.")));
		warned_no_bgworker = true;
		return false;
	}
	warned_no_bgworker = false;
	handles[i] = handle;
	return true;
}

// Starts a worker for every tracked database that has none, may have the extension and is due.  At
// most kMaxConcurrentProbes workers probe at a time; stops at the first start that fails.
void
StartWorkers(TimestampTz now)
{
	int candidates[kMaxDatabases];
	Oid dboids[kMaxDatabases];
	uint32 generations[kMaxDatabases];
	int count = 0;
	int probing = 0;

	LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
	for (int i = 0; i < kMaxDatabases; i++) {
		const DbSlot *slot = &shared->slots[i];
		if (OidIsValid(slot->dboid) && slot->state == DbState::Unknown && Active(i))
			probing++;
	}
	for (int i = 0; i < kMaxDatabases; i++) {
		DbSlot *slot = &shared->slots[i];
		if (!OidIsValid(slot->dboid) || slot->state == DbState::Absent || now < slot->retry_at || Active(i))
			continue;
		if (slot->state == DbState::Unknown && probing >= kMaxConcurrentProbes)
			continue;
		if (slot->state == DbState::Unknown)
			probing++;
		candidates[count] = i;
		dboids[count] = slot->dboid;
		generations[count] = slot->generation;
		count++;
	}
	LWLockRelease(LauncherLock());

	for (int c = 0; c < count; c++) {
		if (!StartWorker(candidates[c], dboids[c]))
			break;
		started_generation[candidates[c]] = generations[c];
		LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
		if (shared->slots[candidates[c]].dboid == dboids[c])
			shared->slots[candidates[c]].retry_at = 0;
		LWLockRelease(LauncherLock());
	}
}

// Interrupt check for CheckInterruptsWhileIdle (runs under RunGuarded).
void
CheckInterrupts(void *)
{
	CHECK_FOR_INTERRUPTS();
}

} // namespace

LWLock *
LauncherLock()
{
	return shmem::Lock(launcher_area);
}

void
RegisterWorkers()
{
	launcher_area = shmem::Register({"nodedb_kv ttl launcher", SharedSize, SharedInit, 1, false});
	RegisterXactCallback(NotifyXactCallback, nullptr);
	tableam::OnExtensionChanged(NotifyExtensionChanged); // the launcher re-probes this database at commit

	BackgroundWorker worker;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished; // never on a standby
	worker.bgw_restart_time = kLauncherRestartSeconds;
	strlcpy(worker.bgw_library_name, "nodedb_kv", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "nodedb_kv_ttl_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "nodedb_kv ttl launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "nodedb_kv ttl launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

void
NotifyExtensionChanged()
{
	notify_pending = true;
}

bool
GetWorkerStatus(Oid dboid, WorkerStatus *status)
{
	if (shared == nullptr)
		return false;
	LWLockAcquire(LauncherLock(), LW_SHARED);
	int i = FindSlot(dboid);
	if (i >= 0) {
		status->present = shared->slots[i].state == DbState::Present;
		status->pid = shared->slots[i].worker_pid;
		status->expired_total = shared->slots[i].expired_total;
		status->ticks = shared->slots[i].ticks;
	}
	LWLockRelease(LauncherLock());
	return i >= 0;
}

LauncherShared *
Launcher()
{
	return shared;
}

void
WakeLauncher()
{
	if (shared == nullptr)
		return;
	LWLockAcquire(LauncherLock(), LW_SHARED);
	Latch *latch = shared->launcher_latch;
	LWLockRelease(LauncherLock());
	if (latch != nullptr)
		SetLatch(latch);
}

void
CheckInterruptsWhileIdle()
{
	pg::ErrorInfo error;
	if (!pg::RunGuarded(CheckInterrupts, nullptr, &error))
		ereport(DEBUG1, (errmsg_internal("nodedb_kv: interrupt ignored while idle: %s", error.message)));
}

} // namespace nodedb_kv::ttlworker

// The launcher's main loop: reap stopped workers, rescan pg_database when due (every
// kRescanIntervalMs, when notified about an untracked database, or before restarting a worker),
// start workers, sleep on the latch.  It always exits with code 1, so the postmaster restarts it
// after bgw_restart_time when it was terminated or failed; at shutdown nothing is restarted.
void
nodedb_kv_ttl_launcher_main(Datum) noexcept
{
	using namespace nodedb_kv::ttlworker;
	pqsignal(SIGTERM, LauncherSigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(nullptr, nullptr, 0); // shared catalogs only

	launcher_context = AllocSetContextCreate(TopMemoryContext, "nodedb_kv ttl launcher", ALLOCSET_DEFAULT_SIZES);
	scan_context = AllocSetContextCreate(launcher_context, "nodedb_kv ttl launcher scan", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(launcher_context);

	LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
	shared->launcher_pid = MyProcPid;
	shared->launcher_latch = MyLatch;
	LWLockRelease(LauncherLock());
	before_shmem_exit(LauncherExit, 0);
	ereport(LOG, (errmsg("nodedb_kv ttl launcher started")));

	TimestampTz next_scan = 0;
	while (!got_sigterm) {
		if (ConfigReloadPending) {
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		TimestampTz now = GetCurrentTimestamp();
		ReapWorkers(now);

		LWLockAcquire(LauncherLock(), LW_EXCLUSIVE);
		bool requested = shared->rescan_requested;
		shared->rescan_requested = false;
		LWLockRelease(LauncherLock());
		// A worker is restarted only after a fresh look at pg_database (its database may be gone).
		if (requested || now >= next_scan || (last_stop >= last_scan && RestartDue(now))) {
			ScanDatabases();
			next_scan = TimestampTzPlusMilliseconds(now, kRescanIntervalMs);
		}
		StartWorkers(GetCurrentTimestamp());

		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kMaxSleepMs, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CheckInterruptsWhileIdle();
	}
	proc_exit(1); // pg_terminate_backend must not unregister the launcher for good
}
