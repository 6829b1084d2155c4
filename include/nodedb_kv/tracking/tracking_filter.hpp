#pragma once
// The shared part of the tracking table: a counting filter in fixed shared memory over the hashes of
// every key some RESP worker tracks (tracking_key.hpp), plus the number of BCAST clients.  A committing
// writer asks it whether a changed key may be tracked before putting an invalidation record on the bus,
// so writes of untracked keys cost one atomic read each (and nothing when no client tracks at all).
// The workers' own tables (resp_tracking.hpp) hold the key -> clients entries.  Declarations are
// PG-free; the implementation is PG-native (tracking_filter.cpp).
#ifdef POSTGRES_H
static_assert(false, "tracking_filter.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstdint>

namespace nodedb_kv::tracking {

// Registers the shared-memory area.  Only from _PG_init, before shmem::InstallHooks().
void RegisterFilter();

// A worker starts (delta 1) or stops (-1) tracking a key with this hash.
void FilterAdd(uint64_t hash, int delta);

// Whether some worker may track a key with this hash (false positives possible, never false negatives).
bool FilterHas(uint64_t hash);

// BCAST clients (every worker): they hear every change.
void BcastAdd(int delta);
bool AnyBcast();

// Tracking clients whose REDIRECT target is a client of another worker (every worker): while there are
// any, workers read the bus even without subscribers of their own (a target may be theirs).
void RemoteRedirectAdd(int delta);
bool AnyRemoteRedirect();

// Keys counted in the filter (sum of every worker's tracked keys), for INFO.
uint64_t FilterKeys();

} // namespace nodedb_kv::tracking
