// The accounted block pool (shmem_pool.hpp).  Blocks are carved lazily from the end of the free part
// (the memory of a never-used block is never touched, so a big pool costs nothing until used) and
// recycled through a singly linked free list threaded through the free blocks themselves.  One
// spinlock guards the list and the counters: every operation is a few instructions, nothing under
// it can fail.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "storage/spin.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/shmem/shmem_pool.hpp"

namespace nodedb_kv::shmem {

struct FreeBlock {
	FreeBlock *next;
};

struct Pool {
	slock_t mutex;
	size_t block_size;
	uint64_t block_count;
	uint64_t carved; // blocks [0, carved) were handed out at least once
	uint64_t used;
	uint64_t peak;
	uint64_t refusals;
	FreeBlock *free_list;
	char *blocks;
};

namespace {

size_t
RoundBlock(size_t block_size)
{
	return TYPEALIGN(8, Max(block_size, sizeof(FreeBlock)));
}

size_t
HeaderSize()
{
	return TYPEALIGN(PG_CACHE_LINE_SIZE, sizeof(Pool));
}

} // namespace

size_t
PoolSize(size_t block_size, uint64_t block_count)
{
	return HeaderSize() + PG_CACHE_LINE_SIZE + RoundBlock(block_size) * block_count;
}

Pool *
PoolInit(void *base, size_t size, size_t block_size)
{
	auto *pool = static_cast<Pool *>(base);
	SpinLockInit(&pool->mutex);
	pool->block_size = RoundBlock(block_size);
	pool->blocks = reinterpret_cast<char *>(TYPEALIGN(PG_CACHE_LINE_SIZE, static_cast<char *>(base) + HeaderSize()));
	size_t room = static_cast<char *>(base) + size - pool->blocks;
	pool->block_count = room / pool->block_size;
	pool->carved = 0;
	pool->used = 0;
	pool->peak = 0;
	pool->refusals = 0;
	pool->free_list = nullptr;
	return pool;
}

void *
PoolAlloc(Pool *pool)
{
	if (!PoolReserve(pool, 1))
		return nullptr;
	return PoolTakeReserved(pool);
}

bool
PoolReserve(Pool *pool, uint64_t n)
{
	SpinLockAcquire(&pool->mutex);
	if (pool->block_count - pool->used < n) {
		pool->refusals++;
		SpinLockRelease(&pool->mutex);
		return false;
	}
	pool->used += n;
	pool->peak = Max(pool->peak, pool->used);
	SpinLockRelease(&pool->mutex);
	return true;
}

void *
PoolTakeReserved(Pool *pool)
{
	void *block;
	SpinLockAcquire(&pool->mutex);
	if (pool->free_list != nullptr) {
		block = pool->free_list;
		pool->free_list = pool->free_list->next;
	} else {
		// used counts this reservation, so an uncarved block is left whenever the free list is empty.
		Assert(pool->carved < pool->block_count);
		block = pool->blocks + pool->carved++ * pool->block_size;
	}
	SpinLockRelease(&pool->mutex);
	return block;
}

void
PoolUnreserve(Pool *pool, uint64_t n)
{
	SpinLockAcquire(&pool->mutex);
	Assert(pool->used >= n);
	pool->used -= n;
	SpinLockRelease(&pool->mutex);
}

void
PoolFree(Pool *pool, void *block)
{
	auto *free_block = static_cast<FreeBlock *>(block);
	SpinLockAcquire(&pool->mutex);
	free_block->next = pool->free_list;
	pool->free_list = free_block;
	pool->used--;
	SpinLockRelease(&pool->mutex);
}

void
PoolLayout(Pool *pool, char **base, size_t *block_size)
{
	*base = pool->blocks;
	*block_size = pool->block_size;
}

PoolUsage
PoolStats(Pool *pool)
{
	PoolUsage usage;
	SpinLockAcquire(&pool->mutex);
	usage.block_size = pool->block_size;
	usage.blocks_total = pool->block_count;
	usage.blocks_used = pool->used;
	usage.blocks_peak = pool->peak;
	usage.refusals = pool->refusals;
	SpinLockRelease(&pool->mutex);
	return usage;
}

} // namespace nodedb_kv::shmem
