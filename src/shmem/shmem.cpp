// Shared-memory registry: reserves and creates the fixed shared memory of every nodedb_kv area and
// the "nodedb_kv" LWLock tranche.  It owns no data structure of its own.
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

constexpr int kMaxAreas = 8;
Area areas[kMaxAreas];
int area_count = 0;
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
		RequestAddinShmemSpace(add_size(areas[i].size(), 64));
	RequestNamedLWLockTranche("nodedb_kv", kLockCount);
}

// shmem_startup_hook: creates (or attaches to) every area under AddinShmemInitLock.
void
StartupHook()
{
	if (prev_startup_hook)
		prev_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	locks = GetNamedLWLockTranche("nodedb_kv");
	for (int i = 0; i < area_count; i++)
		areas[i].init();
	LWLockRelease(AddinShmemInitLock);
}

} // namespace

void
Register(const Area &area)
{
	if (area_count >= kMaxAreas)
		elog(ERROR, "too many nodedb_kv shared-memory areas");
	areas[area_count++] = area;
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
Lock(LockId id)
{
	return &locks[id].lock;
}

} // namespace nodedb_kv::shmem
