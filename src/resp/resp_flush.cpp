// The WAL flusher of the RESP listener (resp_flush.hpp).  A shared target LSN (atomic maximum of what
// RESP workers wait for) and the flusher's latch; the flusher sleeps on its latch and flushes up to the
// target whenever it is ahead of the flushed position.  XLogFlush piggybacks concurrent flushers, so
// the flusher and a backend flushing for its own commit never flush the same bytes twice.
#include "nodedb_kv/resp/resp_flush.hpp"

#include "nodedb_kv/pg/pg_worker.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "replication/syncrep.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/wait_event.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/shmem/shmem.hpp"

namespace nodedb_kv::resp {
namespace {

struct FlushShared {
	pg_atomic_uint64 target; // newest LSN a RESP worker waits for
	Latch *volatile latch;   // the flusher's latch, or null when none runs
};

FlushShared *shared = nullptr;

size_t
SharedSize()
{
	return sizeof(FlushShared);
}

void
SharedInit(void *base, bool found)
{
	shared = static_cast<FlushShared *>(base);
	if (!found) {
		pg_atomic_init_u64(&shared->target, 0);
		shared->latch = nullptr;
	}
}

void
FlusherExit(int, Datum)
{
	shared->latch = nullptr;
}

} // namespace

void
RegisterFlusher()
{
	shmem::Register({"nodedb_kv resp flusher", SharedSize, SharedInit, 0, false});
	BackgroundWorker worker;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished; // a standby writes no WAL of its own
	worker.bgw_restart_time = 1;
	strlcpy(worker.bgw_library_name, "nodedb_kv", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "nodedb_kv_resp_flusher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "nodedb_kv RESP WAL flusher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "nodedb_kv RESP WAL flusher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

bool
PipelineCommit()
{
	return guc::resp_flush_pipeline && shared != nullptr && shared->latch != nullptr && !RecoveryInProgress() &&
	       synchronous_commit >= SYNCHRONOUS_COMMIT_LOCAL_FLUSH &&
	       (SyncRepStandbyNames == nullptr || SyncRepStandbyNames[0] == '\0');
}

void
RequestFlush(uint64_t lsn)
{
	uint64 current = pg_atomic_read_u64(&shared->target);
	while (current < lsn && !pg_atomic_compare_exchange_u64(&shared->target, &current, lsn)) {
	}
	Latch *latch = shared->latch;
	if (latch != nullptr)
		SetLatch(latch);
	else
		XLogFlush(lsn); // no flusher (it is restarting): flush ourselves
}

uint64_t
FlushedLsn()
{
	return GetFlushRecPtr(nullptr);
}

uint64_t
FlushableTarget(uint64_t target)
{
	WalGeometry wal = {static_cast<uint64_t>(wal_segment_size), XLOG_BLCKSZ, SizeOfXLogLongPHD, SizeOfXLogShortPHD};
	return FlushableLsn(target, GetXLogInsertRecPtr(), wal);
}

} // namespace nodedb_kv::resp

extern "C" NODEDB_KV_VISIBLE void nodedb_kv_resp_flusher_main(Datum) noexcept;

void
nodedb_kv_resp_flusher_main(Datum) noexcept
{
	using namespace nodedb_kv;
	pg::InstallWorkerSignals();
	before_shmem_exit(resp::FlusherExit, 0);
	resp::shared->latch = MyLatch;
	for (;;) {
		pg::ServiceInterrupts(); // resets the latch
		if (pg::TerminationRequested())
			break;
		pg::ReloadConfigIfRequested();
		// Never past the WAL generated so far: XLogFlush would stop short of such a target (with a LOG line)
		// and this loop would spin on it.  A target beyond is reached once the WAL grows (a later request).
		XLogRecPtr target = resp::FlushableTarget(pg_atomic_read_u64(&resp::shared->target));
		if (target > GetFlushRecPtr(nullptr)) {
			pg::ErrorInfo error;
			if (pg::Guarded([&] { XLogFlush(target); }, &error))
				continue;
			// Logged once per request, not in a loop: wait for the next request (or the timeout).
			ereport(LOG, (errmsg("nodedb_kv RESP WAL flusher: %s", error.message)));
		}
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000, PG_WAIT_EXTENSION);
	}
	proc_exit(1); // restarted by the postmaster unless the server is shutting down
}
