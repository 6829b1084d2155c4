#pragma once
// The worker kit shared by nodedb_kv's background workers (the bridge zone, src/pg/): signal handling
// with a self-pipe (so a non-PG event loop such as Asio wakes up on SIGTERM and SIGHUP, PG15-PITFALLS
// §4), configuration reload, interrupt processing outside transactions, and guarded transaction steps
// that turn a PostgreSQL error into a value instead of a longjmp (§3, §6).
#include "nodedb_kv/pg/pg_bridge.hpp"

namespace nodedb_kv::pg {

// Installs SIGTERM and SIGHUP handlers that set a flag, set the latch and write one byte to a
// self-pipe, then unblocks signals.  Call first thing in a bgworker main, before connecting.  Returns
// the read end of the self-pipe (non-blocking), or -1 if it could not be created.
int InstallWorkerSignals();

// SIGTERM (or pg_terminate_backend) arrived.
bool TerminationRequested();

// Reloads the configuration if SIGHUP arrived; true if it did (a failure to reload is logged).
bool ReloadConfigIfRequested();

// Outside any transaction: resets the latch, processes pending interrupts (a cancel request is logged
// and dropped) and exits the process if the postmaster died.
void ServiceInterrupts();

// Starts a transaction the way a bgworker must: statement time, then a snapshot.  False (after aborting
// what was started) if PostgreSQL raised an error.
bool BeginTransaction(ErrorInfo *error);

// Pops the snapshot and commits; false (the transaction aborted) if the commit raised an error.
bool CommitTransaction(ErrorInfo *error);

// Aborts the current transaction (after an error caught by Guarded).  Exits the process if even that
// fails: a worker must never go on from a state it cannot clean up.
void AbortTransaction();

} // namespace nodedb_kv::pg
