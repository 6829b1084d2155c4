#pragma once
// An accounted pool of variable-size blocks inside a shared-memory area: blocks of 1..kMaxClasses
// units of 8 bytes (shmem_classes.hpp), addressed by 32-bit references, O(1) take and free under a
// spinlock, exact all-or-nothing reservations (PRE_COMMIT reserves what COMMIT will take, which then
// cannot fail: PG15-PITFALLS §7), and counters of use.  Exhaustion is a return value, never an error:
// callers decide how to report.
#include <cstddef>
#include <cstdint>

#include "nodedb_kv/shmem/shmem_classes.hpp"

namespace nodedb_kv::shmem {

struct Pool;

struct PoolUsage {
	uint64_t bytes_total;       // the region (at most kMaxUnits units)
	uint64_t bytes_used;        // in blocks taken, plus reserved ones
	uint64_t bytes_peak;        //
	uint64_t bytes_free_listed; // freed blocks waiting for a block of their own size
	uint64_t refusals;          // reservations refused for lack of room
};

// Bytes a pool with a region of `bytes` bytes needs (header included).
size_t PoolSize(size_t bytes);

// Formats a pool in memory of `size` bytes (from PoolSize) and returns it.  Call from an area's init,
// once.
Pool *PoolInit(void *base, size_t size);

// Reserves the blocks of d, all or none: false (nothing reserved) when they do not fit.  Reserved
// blocks count as used.  O(kMaxClasses).
bool PoolReserve(Pool *pool, const Demand &d);

// A block of `units` units from an earlier reservation of that size (the caller tracks how many it
// still holds): its reference.  Never fails.
uint32_t PoolTakeReserved(Pool *pool, int units);

// Gives back n reserved blocks of `units` units that were not taken.
void PoolUnreserve(Pool *pool, int units, uint64_t n);

// Returns a block of `units` units.  Never errors.
void PoolFree(Pool *pool, uint32_t ref, int units);

// The address of unit 0: block ref lives at base + (ref - 1) * kUnit.  kUnit-aligned.
char *PoolBase(Pool *pool);

// Bytes of the region handed out at least once, from PoolBase: blocks in use, free-listed or reserved
// and taken; the rest of the region was never touched.
uint64_t PoolCarvedBytes(Pool *pool);

// A consistent snapshot of the counters.
PoolUsage PoolStats(Pool *pool);

} // namespace nodedb_kv::shmem
