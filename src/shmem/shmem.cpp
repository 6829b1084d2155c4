// Shared-memory registry: reserves and creates the fixed shared memory of every nodedb_kv area and
// hands out each area's LWLocks from the one "nodedb_kv" tranche.  It owns no data structure of its
// own (the block pool is shmem_pool.cpp).
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/shmem/shmem.hpp"

namespace nodedb_kv::shmem {
namespace {

constexpr int kMaxAreas = 16;
Area areas[kMaxAreas];
int first_lock[kMaxAreas]; // index of the area's first lock in the tranche
int area_count = 0;
int lock_total = 0;
LWLockPadded *locks = nullptr;
shmem_request_hook_type prev_request_hook = nullptr;
shmem_startup_hook_type prev_startup_hook = nullptr;

// shmem_request_hook: the only place PG15 accepts RequestAddinShmemSpace/RequestNamedLWLockTranche.
void
RequestHook()
{
	if (prev_request_hook)
		prev_request_hook();
	for (int i = 0; i < area_count; i++)
		RequestAddinShmemSpace(add_size(areas[i].size(), PG_CACHE_LINE_SIZE));
	if (lock_total > 0)
		RequestNamedLWLockTranche("nodedb_kv", lock_total);
}

// shmem_startup_hook: creates (or attaches to) every area under AddinShmemInitLock.
void
StartupHook()
{
	if (prev_startup_hook)
		prev_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	if (lock_total > 0)
		locks = GetNamedLWLockTranche("nodedb_kv");
	for (int i = 0; i < area_count; i++) {
		if (areas[i].own_allocation) {
			areas[i].init(nullptr, false);
			continue;
		}
		bool found = false;
		Size size = areas[i].size();
		void *base = ShmemInitStruct(areas[i].name, size, &found);
		if (!found)
			memset(base, 0, size);
		areas[i].init(base, found);
	}
	LWLockRelease(AddinShmemInitLock);
}

} // namespace

AreaId
Register(const Area &area)
{
	if (area_count >= kMaxAreas)
		elog(ERROR, "too many nodedb_kv shared-memory areas");
	Assert(area.size != nullptr && area.init != nullptr && area.lock_count >= 0);
	areas[area_count] = area;
	first_lock[area_count] = lock_total;
	lock_total += area.lock_count;
	return area_count++;
}

void
InstallHooks()
{
	prev_request_hook = shmem_request_hook;
	shmem_request_hook = RequestHook;
	prev_startup_hook = shmem_startup_hook;
	shmem_startup_hook = StartupHook;
}

LWLock *
Lock(AreaId area, int i)
{
	Assert(area >= 0 && area < area_count && i >= 0 && i < areas[area].lock_count);
	return &locks[first_lock[area] + i].lock;
}

} // namespace nodedb_kv::shmem
