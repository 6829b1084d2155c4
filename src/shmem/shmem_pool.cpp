// The accounted block pool (shmem_pool.hpp): the size-class arena of shmem_classes.hpp under one
// spinlock.  Blocks are carved lazily from the start of the region (the memory of a never-used block
// is never touched, so a big pool costs nothing until used) and recycled through one free list per
// size, threaded through the free blocks themselves.  Every operation is a few instructions (a
// reservation loops over the sizes it asks for), nothing under the lock can fail.
#include "nodedb_kv/shmem/shmem_pool.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "storage/spin.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::shmem {

struct Pool {
	slock_t mutex;
	ClassArena arena;
	char *base;
};

namespace {

size_t
HeaderSize()
{
	return TYPEALIGN(PG_CACHE_LINE_SIZE, sizeof(Pool));
}

} // namespace

size_t
PoolSize(size_t bytes)
{
	return HeaderSize() + PG_CACHE_LINE_SIZE + bytes;
}

Pool *
PoolInit(void *base, size_t size)
{
	auto *pool = static_cast<Pool *>(base);
	SpinLockInit(&pool->mutex);
	pool->base = reinterpret_cast<char *>(TYPEALIGN(PG_CACHE_LINE_SIZE, static_cast<char *>(base) + HeaderSize()));
	size_t room = static_cast<char *>(base) + size - pool->base;
	ArenaInit(&pool->arena, room / kUnit);
	return pool;
}

bool
PoolReserve(Pool *pool, const Demand &d)
{
	SpinLockAcquire(&pool->mutex);
	bool ok = ArenaReserve(&pool->arena, d);
	SpinLockRelease(&pool->mutex);
	return ok;
}

uint32_t
PoolTakeReserved(Pool *pool, int units)
{
	Assert(units >= 1 && units <= kMaxClasses);
	SpinLockAcquire(&pool->mutex);
	Assert(pool->arena.reserved[units] > 0);
	uint32_t ref = ArenaTake(&pool->arena, pool->base, units);
	SpinLockRelease(&pool->mutex);
	return ref;
}

void
PoolUnreserve(Pool *pool, int units, uint64_t n)
{
	SpinLockAcquire(&pool->mutex);
	Assert(pool->arena.reserved[units] >= n);
	ArenaUnreserve(&pool->arena, units, n);
	SpinLockRelease(&pool->mutex);
}

void
PoolFree(Pool *pool, uint32_t ref, int units)
{
	SpinLockAcquire(&pool->mutex);
	ArenaFree(&pool->arena, pool->base, ref, units);
	SpinLockRelease(&pool->mutex);
}

char *
PoolBase(Pool *pool)
{
	return pool->base;
}

uint64_t
PoolCarvedBytes(Pool *pool)
{
	SpinLockAcquire(&pool->mutex);
	uint64_t carved = pool->arena.carved;
	SpinLockRelease(&pool->mutex);
	return carved * kUnit;
}

PoolUsage
PoolStats(Pool *pool)
{
	PoolUsage usage;
	SpinLockAcquire(&pool->mutex);
	const ClassArena &a = pool->arena;
	usage.bytes_total = a.units_total * kUnit;
	usage.bytes_used = (a.used_units + a.reserved_units) * kUnit;
	usage.bytes_peak = a.peak_units * kUnit;
	usage.bytes_free_listed = a.free_units * kUnit;
	usage.refusals = a.refusals;
	SpinLockRelease(&pool->mutex);
	return usage;
}

} // namespace nodedb_kv::shmem
