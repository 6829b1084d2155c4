#pragma once
// An accounted pool of fixed-size blocks inside a shared-memory area: O(1) allocation and free under
// a spinlock, all-or-nothing reservations (PRE_COMMIT reserves what COMMIT will take, which then
// cannot fail: PG15-PITFALLS §7), and counters of use.  Exhaustion is a return value, never an error: callers decide
// how to report.
#include <cstddef>
#include <cstdint>

namespace nodedb_kv::shmem {

struct Pool;

struct PoolUsage {
	size_t block_size;
	uint64_t blocks_total;
	uint64_t blocks_used;
	uint64_t blocks_peak;
	uint64_t refusals; // allocations refused for lack of blocks
};

// Bytes a pool of block_count blocks of block_size bytes needs (header included).
size_t PoolSize(size_t block_size, uint64_t block_count);

// Formats a pool in memory of `size` bytes (from PoolSize) and returns it.  Blocks are aligned to the
// cache line; block_size is rounded up to a multiple of 8.  Call from an area's init, once.
Pool *PoolInit(void *base, size_t size, size_t block_size);

// One block, or nullptr when the pool is exhausted.  Never errors; safe in COMMIT callbacks.
void *PoolAlloc(Pool *pool);

// Reserves n blocks, all or none: false (nothing reserved) when fewer than n are free.  Reserved
// blocks count as used.  O(1).
bool PoolReserve(Pool *pool, uint64_t n);

// One block of an earlier reservation (the caller tracks how many it still holds).  Never fails.
void *PoolTakeReserved(Pool *pool);

// Gives back n reserved blocks that were not taken.
void PoolUnreserve(Pool *pool, uint64_t n);

// Returns a block.  Never errors.
void PoolFree(Pool *pool, void *block);

// Where block number i (0-based) lives: base + i * block_size, for callers that address blocks by
// number (32-bit references are half the size of pointers).
void PoolLayout(Pool *pool, char **base, size_t *block_size);

// A consistent snapshot of the counters.
PoolUsage PoolStats(Pool *pool);

} // namespace nodedb_kv::shmem
