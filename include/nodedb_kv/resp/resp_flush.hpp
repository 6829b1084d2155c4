#pragma once
// Durable replies without stalling the loop (PG15-PITFALLS §9): RESP workers commit a batch without
// waiting for its WAL flush, go on with the next batch, and release the batch's replies once the
// flushed WAL position passes its commit LSN.  A small flusher background worker flushes on request
// (latch-driven XLogFlush), so the flush overlaps the workers' execution.
// The declarations are PG-free (FlushableLsn is unit-tested); the implementation is resp_flush.cpp.
#ifdef POSTGRES_H
static_assert(false, "resp_flush.hpp is PG-free: include it before any PostgreSQL header");
#endif
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

// FlushableLsn with this server's WAL geometry and current insert position.
uint64_t FlushableTarget(uint64_t target);

// WAL geometry FlushableLsn needs (wal_segment_size, XLOG_BLCKSZ, the long and short page header sizes).
struct WalGeometry {
	uint64_t segment_size;
	uint64_t page_size;
	uint64_t long_header;  // header of a segment's first page
	uint64_t short_header; // header of the other pages
};

// The position XLogFlush can reach for a wait target, given the WAL insert position `insert`: a target
// past the end of the WAL generated so far is clamped to that end (XLogFlush would log "request to flush
// past end of generated WAL" and stop short, and a flusher looping until the target is flushed would
// spin), and a position just past a page header nobody has written yet (the insert position at the
// very start of a page) moves back to the end of the previous page: no record ends inside a header.
inline uint64_t
FlushableLsn(uint64_t target, uint64_t insert, const WalGeometry &wal)
{
	auto before_header = [&wal](uint64_t lsn) {
		if (lsn % wal.segment_size == wal.long_header)
			return lsn - wal.long_header;
		if (lsn % wal.page_size == wal.short_header && lsn % wal.segment_size >= wal.page_size)
			return lsn - wal.short_header;
		return lsn;
	};
	target = before_header(target);
	insert = before_header(insert);
	return target < insert ? target : insert;
}

} // namespace nodedb_kv::resp
