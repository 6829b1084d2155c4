// The worker kit (pg_worker.hpp): signals with a self-pipe, configuration reload, interrupts outside a
// transaction, and guarded transaction steps for background workers that must survive errors.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>

#include "nodedb_kv/pg/pg_worker.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::pg {
namespace {

volatile sig_atomic_t got_sigterm = false;
int self_pipe[2] = {-1, -1};

void
WakeSelfPipe()
{
	if (self_pipe[1] >= 0) {
		char byte = 0;
		ssize_t ignored = write(self_pipe[1], &byte, 1);
		(void)ignored;
	}
}

void
WorkerSigterm(SIGNAL_ARGS)
{
	int save_errno = errno;
	got_sigterm = true;
	SetLatch(MyLatch);
	WakeSelfPipe();
	errno = save_errno;
}

void
WorkerSighup(SIGNAL_ARGS)
{
	int save_errno = errno;
	ConfigReloadPending = true;
	SetLatch(MyLatch);
	WakeSelfPipe();
	errno = save_errno;
}

} // namespace

int
InstallWorkerSignals()
{
	if (pipe2(self_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		self_pipe[0] = self_pipe[1] = -1;
	pqsignal(SIGTERM, WorkerSigterm);
	pqsignal(SIGHUP, WorkerSighup);
	BackgroundWorkerUnblockSignals();
	return self_pipe[0];
}

bool
TerminationRequested()
{
	return got_sigterm;
}

bool
ReloadConfigIfRequested()
{
	if (!ConfigReloadPending)
		return false;
	ConfigReloadPending = false;
	ErrorInfo error;
	if (!Guarded([] { ProcessConfigFile(PGC_SIGHUP); }, &error))
		ereport(LOG, (errmsg("nodedb_kv worker: reloading the configuration failed: %s", error.message)));
	return true;
}

void
ServiceInterrupts()
{
	ResetLatch(MyLatch);
	ErrorInfo error;
	if (InterruptPending && !Guarded([] { CHECK_FOR_INTERRUPTS(); }, &error))
		ereport(LOG, (errmsg("nodedb_kv worker: %s", error.message)));
	if (!PostmasterIsAlive())
		proc_exit(1);
}

bool
BeginTransaction(ErrorInfo *error)
{
	if (Guarded(
	        [] {
		        SetCurrentStatementStartTimestamp();
		        StartTransactionCommand();
		        PushActiveSnapshot(GetTransactionSnapshot());
	        },
	        error))
		return true;
	AbortTransaction();
	return false;
}

bool
CommitTransaction(ErrorInfo *error)
{
	if (Guarded(
	        [] {
		        PopActiveSnapshot();
		        CommitTransactionCommand();
	        },
	        error))
		return true;
	AbortTransaction();
	return false;
}

void
AbortTransaction()
{
	ErrorInfo error;
	if (!Guarded([] { AbortCurrentTransaction(); }, &error)) {
		ereport(LOG, (errmsg("nodedb_kv worker: could not abort a transaction: %s", error.message)));
		proc_exit(1);
	}
}

} // namespace nodedb_kv::pg
