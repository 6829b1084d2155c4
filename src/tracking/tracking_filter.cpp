// The shared counting filter of tracked keys (tracking_filter.hpp).  Area "nodedb_kv tracking": a
// power-of-two array of atomic 32-bit counters (at least nodedb_kv.tracking_table_max_keys slots,
// 4 MB by default), indexed by the key hash; a worker adds 1 when a key enters its table and subtracts 1 when it
// leaves (invalidated, evicted).  No lock: counters are atomics, so a writer's check at COMMIT is a
// single read.  A crash restart zeroes it together with the workers' tables.
#include "nodedb_kv/tracking/tracking_filter.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "port/atomics.h"
#include "storage/shmem.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/shmem/shmem.hpp"

namespace nodedb_kv::tracking {
namespace {

struct FilterShared {
	pg_atomic_uint32 bcast_clients;
	pg_atomic_uint32 remote_redirects;
	pg_atomic_uint64 keys;
	uint64 mask; // slots - 1
	pg_atomic_uint32 counters[FLEXIBLE_ARRAY_MEMBER];
};

FilterShared *shared = nullptr;

uint64
Slots()
{
	uint64 want = static_cast<uint64>(guc::tracking_table_max_keys);
	uint64 slots = 1024;
	while (slots < want)
		slots <<= 1;
	return slots;
}

size_t
FilterSize()
{
	return add_size(offsetof(FilterShared, counters), mul_size(sizeof(pg_atomic_uint32), Slots()));
}

void
FilterInit(void *base, bool found)
{
	shared = static_cast<FilterShared *>(base);
	if (found)
		return;
	uint64 slots = Slots();
	pg_atomic_init_u32(&shared->bcast_clients, 0);
	pg_atomic_init_u32(&shared->remote_redirects, 0);
	pg_atomic_init_u64(&shared->keys, 0);
	shared->mask = slots - 1;
	// The counters start at zero: the registry zeroes a fresh area (and untouched pages stay unmapped).
}

} // namespace

void
RegisterFilter()
{
	(void)shmem::Register({"nodedb_kv tracking", FilterSize, FilterInit, 0, false});
}

void
FilterAdd(uint64_t hash, int delta)
{
	if (shared == nullptr)
		return;
	pg_atomic_uint32 *counter = &shared->counters[hash & shared->mask];
	if (delta > 0) {
		pg_atomic_fetch_add_u32(counter, 1);
		pg_atomic_fetch_add_u64(&shared->keys, 1);
	} else {
		pg_atomic_fetch_sub_u32(counter, 1);
		pg_atomic_fetch_sub_u64(&shared->keys, 1);
	}
}

bool
FilterHas(uint64_t hash)
{
	return shared != nullptr && pg_atomic_read_u32(&shared->counters[hash & shared->mask]) != 0;
}

void
BcastAdd(int delta)
{
	if (shared == nullptr)
		return;
	if (delta > 0)
		pg_atomic_fetch_add_u32(&shared->bcast_clients, 1);
	else
		pg_atomic_fetch_sub_u32(&shared->bcast_clients, 1);
}

bool
AnyBcast()
{
	return shared != nullptr && pg_atomic_read_u32(&shared->bcast_clients) != 0;
}

void
RemoteRedirectAdd(int delta)
{
	if (shared == nullptr)
		return;
	if (delta > 0)
		pg_atomic_fetch_add_u32(&shared->remote_redirects, 1);
	else
		pg_atomic_fetch_sub_u32(&shared->remote_redirects, 1);
}

bool
AnyRemoteRedirect()
{
	return shared != nullptr && pg_atomic_read_u32(&shared->remote_redirects) != 0;
}

uint64_t
FilterKeys()
{
	return shared == nullptr ? 0 : pg_atomic_read_u64(&shared->keys);
}

} // namespace nodedb_kv::tracking
