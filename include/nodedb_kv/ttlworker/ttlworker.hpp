#pragma once
// The TTL launcher and the per-database expiry workers (ARCHITECTURE §6).  One static launcher
// (ttlworker_launcher.cpp) keeps a small shared array of databases and starts one dynamic worker per
// database that has the extension; each worker (ttlworker_expiry.cpp) deletes expired rows of its
// database's kv tables through their expiry index in bounded batches.  The launcher starts only
// once recovery has finished, so nothing of this runs on a standby.
#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::ttlworker {

// Registers the launcher (a static background worker), the shared-memory area and the commit-time
// notifier.  Only from _PG_init, before shmem::InstallHooks().
void RegisterWorkers();

// Called in a normal backend after CREATE EXTENSION nodedb_kv or DROP EXTENSION: when the
// transaction commits, the launcher re-probes the current database.  Never errors.
void NotifyExtensionChanged();

// What the launcher and the workers know about one database, for tests and monitoring.
struct WorkerStatus {
	bool present;         // the extension was found by the database's worker
	int pid;              // the running worker, or 0
	uint64 expired_total; // rows removed by this database's workers since the server started
	uint64 ticks;         // finished worker ticks since the server started
};

// Fills *status for dboid; false if the launcher does not track that database.  Never errors.
bool GetWorkerStatus(Oid dboid, WorkerStatus *status);

// ---- Shared between the launcher and its workers (ttlworker_launcher.cpp / ttlworker_expiry.cpp only). ----

constexpr int kMaxDatabases = 256;

enum class DbState : uint8 { Unknown, Present, Absent };

// One tracked database.  Every field is read and written under LauncherLock().
struct DbSlot {
	Oid dboid;             // InvalidOid = free slot
	DbState state;         // does the database have the extension?
	uint32 generation;     // bumped by every notification; a probe records Absent only if unchanged
	int worker_pid;        // the worker that claimed this slot, 0 = none (cleared by the worker at exit)
	TimestampTz retry_at;  // no (re)start before this instant (0 = at once)
	uint64 expired_total;  // rows removed since server start
	uint64 ticks;          // finished ticks since server start
	TimestampTz last_tick; // end of the last finished tick
};

struct LauncherShared {
	int launcher_pid;      // 0 when no launcher runs
	Latch *launcher_latch; // set to wake the launcher (null when none runs)
	bool rescan_requested; // a notification named a database the launcher does not track yet
	DbSlot slots[kMaxDatabases];
};

// The shared area (valid in any process after shared-memory startup).
LauncherShared *Launcher();

// The lock guarding every DbSlot field.
LWLock *LauncherLock();

// Sets the launcher's latch, if a launcher runs.  Never errors; safe in a COMMIT callback.
void WakeLauncher();

// Runs CHECK_FOR_INTERRUPTS() outside any transaction (absorbs proc-signal barriers, which DROP
// DATABASE and DROP TABLESPACE wait for); a query cancel that arrives while idle is logged at DEBUG1
// and dropped instead of killing the process.  Returns normally in both cases.
void CheckInterruptsWhileIdle();

} // namespace nodedb_kv::ttlworker

// Background worker entry points (bgw_function_name); PG looks them up by name.
NODEDB_KV_EXPORT void nodedb_kv_ttl_launcher_main(Datum arg) noexcept;
NODEDB_KV_EXPORT void nodedb_kv_ttl_worker_main(Datum arg) noexcept;
