#pragma once
// Durable replies without stalling the loop (PG15-PITFALLS §9): RESP workers commit a batch without
// waiting for its WAL flush, go on with the next batch, and release the batch's replies once the
// flushed WAL position passes its commit LSN.  A small flusher background worker flushes on request
// (latch-driven XLogFlush), so the flush overlaps the workers' execution.
#include <cstdint>

namespace nodedb_kv::resp {

// Registers the flusher (worker and shared area).  Only from _PG_init, before shmem::InstallHooks().
void RegisterFlusher();

// Whether this commit may skip the flush wait: a primary, synchronous_commit at least local flush, no
// synchronous standby (those waits stay in the commit).  Call inside the transaction, before commit.
bool PipelineCommit();

// Asks for WAL to be flushed up to lsn; flushes itself (blocking) if no flusher runs.
void RequestFlush(uint64_t lsn);

// The WAL position known to be flushed.
uint64_t FlushedLsn();

} // namespace nodedb_kv::resp
