#pragma once
// Shared-memory registry.  Each area (clock, stats, TTL launcher) registers its size and initialiser
// from _PG_init; shmem_request_hook reserves the total and shmem_startup_hook creates every area
// under AddinShmemInitLock.  A crash restart re-creates shared memory, so areas start empty again.
#include <cstddef>

namespace nodedb_kv::shmem {

struct Area {
	const char *name;
	size_t (*size)(); // bytes needed; called in the postmaster after GUCs are loaded
	void (*init)();   // creates or attaches (ShmemInitStruct/ShmemInitHash); runs under AddinShmemInitLock
};

// Registers an area; only from _PG_init, before InstallHooks().
void Register(const Area &area);

// Installs shmem_request_hook and shmem_startup_hook.  Called once from _PG_init.
void InstallHooks();

// Number of LWLocks in the "nodedb_kv" tranche.
constexpr int kLockCount = 2;
enum LockId { kStatsLock = 0, kLauncherLock = 1 };

// The tranche's LWLocks (valid after startup).
struct LWLock *Lock(LockId id);

} // namespace nodedb_kv::shmem
