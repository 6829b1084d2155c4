#pragma once
// Shared-memory registry.  Each area (clock, kv_stats, TTL launcher, sorted indexes) registers from
// _PG_init its size, its initialiser and how many LWLocks it needs; shmem_request_hook reserves the
// total and the "nodedb_kv" LWLock tranche, shmem_startup_hook creates every area under
// AddinShmemInitLock.  A crash restart re-creates shared memory, so areas start empty again.
// Design notes: src/shmem/README.md.
#include <cstddef>

struct LWLock;

namespace nodedb_kv::shmem {

struct Area {
	const char *name; // ShmemIndex name, e.g. "nodedb_kv clock"
	size_t (*size)(); // bytes needed; called in the postmaster after GUCs are loaded
	// Creates or attaches the area under AddinShmemInitLock.  base is the area's memory
	// (ShmemInitStruct of size() bytes, zeroed when created) and found tells whether it existed; for
	// an area with own_allocation, base is nullptr and init allocates itself (ShmemInitHash).
	void (*init)(void *base, bool found);
	int lock_count;      // LWLocks of the area (0..lock_count-1), from the "nodedb_kv" tranche
	bool own_allocation; // init makes its own ShmemInit* calls; size() is only reserved
};

// Handle of a registered area.
using AreaId = int;

// Registers an area; only from _PG_init, before InstallHooks().  ERROR when the registry is full.
AreaId Register(const Area &area);

// Installs shmem_request_hook and shmem_startup_hook.  Called once from _PG_init.
void InstallHooks();

// LWLock i (0-based, < lock_count) of an area; valid after shared-memory startup.
LWLock *Lock(AreaId area, int i = 0);

} // namespace nodedb_kv::shmem
