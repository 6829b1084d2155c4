#pragma once
// Blocking pops (BLPOP, BRPOP, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP): the part RESP workers and
// committing writers share.  A shared registry of waiters (client, key hash, arrival order), a counting
// filter over their key hashes, and the wake-up records committed pushes put on the pub/sub bus (channel
// kChannel, payload: the 64-bit hashes of the keys that got a push, tracking::KeyHash).  Declarations are
// PG-free; the implementation is PG-native (blocking_registry.cpp, blocking_capture.cpp).
// Design notes: src/blocking/README.md.
#ifdef POSTGRES_H
static_assert(false, "blocking.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nodedb_kv::blocking {

// The bus channel of wake-up records (never handed to subscribers, hidden from PUBSUB CHANNELS).
constexpr std::string_view kChannel = "__nodedb_kv:blocking";

// Registers the shared-memory area and the capture consumer.  Only from _PG_init, before
// shmem::InstallHooks().
void RegisterRegistry();
void RegisterBlockingConsumer();

// CLIENT UNBLOCK's modes.
enum class Unblock : uint32_t { None = 0, Timeout = 1, Error = 2 };

// Client `client` of worker `worker` waits for the keys with these hashes (a client that already waits
// keeps its place: call once per blocking command).  Its place in each key's queue is its arrival: the
// first waiter of a key is served first.  False when the registry is full (nothing registered).
bool Park(uint64_t client, int worker, const uint64_t *hashes, size_t n);

// The client waits no more (served, timed out, unblocked, gone).  Writes to waited (at most cap) the
// hashes of its keys that other clients still wait for, returns how many: their next waiter may now be
// served, so the caller sends a wake-up record for them (Wake).
size_t Unpark(uint64_t client, uint64_t *waited, size_t cap);

// Whether client is the first waiter of the key with this hash (no waiter that arrived before it).
bool IsFirst(uint64_t client, uint64_t hash);

// Whether some client waits for a key with this hash (false positives possible, never false negatives).
bool FilterHas(uint64_t hash);

// Clients of every worker that wait (INFO's blocked_clients).
uint32_t BlockedClients();

// Whether any client waits at all (one atomic read).
bool AnyWaiters();

// Appends a wake-up record for these hashes to the bus and wakes every worker that has waiters.  Takes
// the bus's LWLock, allocates nothing, never errors (safe in a COMMIT callback).
void Wake(const uint64_t *hashes, size_t n);

// CLIENT UNBLOCK of a client of any worker: marks its waits with mode and wakes its worker.  False when
// the client does not wait (*worker: its worker otherwise).
bool RequestUnblock(uint64_t client, Unblock mode, int *worker);

// The unblock requests for worker's clients (cleared as taken): up to cap into clients/modes.
size_t TakeUnblocks(int worker, uint64_t *clients, Unblock *modes, size_t cap);

// Forgets every wait of worker's clients (a worker starts or exits: its clients are gone).
void ResetWorker(int worker);

} // namespace nodedb_kv::blocking
