// EXEC's queued commands in a RESP worker (resp_worker_loop.hpp, resp_cmd_tx.cpp): before each, the
// block's snapshot with its earlier writes visible and the session's role, in a replay inside its own
// subtransaction (so a PostgreSQL error fails only that command, in place); after each, the
// subtransaction released or rolled back.

#include "nodedb_kv/resp/resp_worker_loop.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::resp::loop {

// Before a queued command of an EXEC block: [a subtransaction,] the block's snapshot with its earlier
// writes visible (one snapshot for the whole block: its reads are consistent with each other and with
// the WATCH check), and the session's role (AUTH may have changed it within the block).
kv::Status
Worker::BeginQueued(Session &s)
{
	if (engine.failed)
		return engine.failure;
	queued_context_ = CurrentMemoryContext;
	queued_owner_ = CurrentResourceOwner;
	queued_in_sub_ = false;
	pg::ErrorInfo error;
	bool ok = pg::Guarded(
	    [&] {
		    if (queued_subxacts_) {
			    BeginInternalSubTransaction(nullptr);
			    queued_in_sub_ = true;
			    MemoryContextSwitchTo(queued_context_);
		    }
		    CommandCounterIncrement();
		    PushCopiedSnapshot(GetActiveSnapshot());
		    UpdateActiveSnapshotCommandId();
		    if (OidIsValid(s.role))
			    SetUserIdAndSecContext(s.role, saved_sec_context_ | SECURITY_LOCAL_USERID_CHANGE);
	    },
	    &error);
	MemoryContextSwitchTo(queued_context_);
	if (ok)
		return kv::Status{};
	kv::Status failure = Failure(error);
	EndSub(false);
	return failure;
}

// Ends the queued command's subtransaction, if any (commit: release it; else roll it back).
void
Worker::EndSub(bool commit)
{
	if (!queued_in_sub_)
		return;
	queued_in_sub_ = false;
	pg::ErrorInfo error;
	bool ok = pg::Guarded(
	    [&] {
		    if (commit)
			    ReleaseCurrentSubTransaction();
		    else
			    RollbackAndReleaseCurrentSubTransaction();
	    },
	    &error);
	MemoryContextSwitchTo(queued_context_);
	CurrentResourceOwner = queued_owner_;
	if (!ok) {
		// As pg::AbortTransaction: the transaction state is unknown, the worker restarts.
		ereport(LOG, (errmsg("nodedb_kv RESP worker: could not end a subtransaction: %s", error.message)));
		proc_exit(1);
	}
}

// After a queued command.  A PostgreSQL error in its subtransaction: rolled back, the command's
// error reply stays in place and the block goes on (a busy lock stops the block: EXEC is retried).
// Without a subtransaction any error stops the block (the turn is replayed).
kv::Status
Worker::EndQueued()
{
	if (!engine.failed) {
		pg::ErrorInfo error;
		if (!pg::Guarded([] { PopActiveSnapshot(); }, &error)) {
			kv::Status failure = Failure(error);
			EndSub(false);
			return failure;
		}
		EndSub(true);
		return kv::Status{};
	}
	bool in_sub = queued_in_sub_;
	EndSub(false);
	if (!in_sub || engine.failure.code == kv::Code::WouldBlock)
		return engine.failure;
	engine.failed = false;
	return kv::Status{};
}

} // namespace nodedb_kv::resp::loop
