// The shared registry of blocked RESP clients (blocking.hpp).  Area "nodedb_kv blocking": a fixed array
// of waiter slots (client, key hash, arrival number, worker, CLIENT UNBLOCK mode) under one LWLock, a
// counting filter of waited key hashes (atomic counters: a committing writer's check is one read) and
// per-worker waiter / unblock counts (atomics: who to wake, whether to look).  Slots are scanned up to a
// high-water mark: blocking and unblocking are rare next to writes, and a writer never takes the lock
// unless the filter says someone waits for one of its keys.  A crash restart re-creates it empty (every
// client is gone then too).
#include <string_view>

#include "nodedb_kv/blocking/blocking.hpp"
#include "nodedb_kv/pubsub/pubsub_bus.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/shmem/shmem.hpp"

namespace nodedb_kv::blocking {
namespace {

constexpr uint32 kSlots = 65536;       // (client, key) waits of all workers together
constexpr uint32 kFilterSlots = 65536; // counters of the hash filter (a power of two)

struct Waiter {
	uint64 client; // 0: free
	uint64 hash;
	uint64 seq; // arrival: lower is served first
	int32 worker;
	uint32 unblock; // Unblock mode requested by CLIENT UNBLOCK
};

struct Shared {
	pg_atomic_uint32 total;
	pg_atomic_uint32 clients; // distinct waiting clients (INFO's blocked_clients)
	pg_atomic_uint32 per_worker[pubsub::kMaxWorkers];
	pg_atomic_uint32 unblocks[pubsub::kMaxWorkers];
	uint64 next_seq; // under the lock
	uint32 hwm;      // slots [0, hwm) may be in use (under the lock)
	pg_atomic_uint32 filter[kFilterSlots];
	Waiter slots[kSlots];
};

Shared *shared = nullptr;
shmem::AreaId area = -1;

size_t
RegistrySize()
{
	return sizeof(Shared);
}

void
RegistryInit(void *base, bool found)
{
	shared = static_cast<Shared *>(base);
	if (found)
		return;
	// The registry zeroes a fresh area: counters, slots and the high-water mark start at zero.
	pg_atomic_init_u32(&shared->total, 0);
	pg_atomic_init_u32(&shared->clients, 0);
	for (int i = 0; i < pubsub::kMaxWorkers; i++) {
		pg_atomic_init_u32(&shared->per_worker[i], 0);
		pg_atomic_init_u32(&shared->unblocks[i], 0);
	}
	for (uint32 i = 0; i < kFilterSlots; i++)
		pg_atomic_init_u32(&shared->filter[i], 0);
	shared->next_seq = 1;
}

LWLock *
Lock()
{
	return shmem::Lock(area, 0);
}

// Frees slot i (lock held exclusively): the filter, the counts.
void
Free(Waiter &w)
{
	pg_atomic_fetch_sub_u32(&shared->filter[w.hash & (kFilterSlots - 1)], 1);
	pg_atomic_fetch_sub_u32(&shared->per_worker[w.worker], 1);
	pg_atomic_fetch_sub_u32(&shared->total, 1);
	if (w.unblock != 0)
		pg_atomic_fetch_sub_u32(&shared->unblocks[w.worker], 1);
	w = Waiter{0, 0, 0, 0, 0};
}

bool
Waits(uint64 client)
{
	for (uint32 i = 0; i < shared->hwm; i++)
		if (shared->slots[i].client == client)
			return true;
	return false;
}

} // namespace

void
RegisterRegistry()
{
	area = shmem::Register({"nodedb_kv blocking", RegistrySize, RegistryInit, 1, false});
}

bool
Park(uint64_t client, int worker, const uint64_t *hashes, size_t n)
{
	if (shared == nullptr || client == 0 || worker < 0 || worker >= pubsub::kMaxWorkers)
		return false;
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	if (Waits(client)) {
		LWLockRelease(Lock());
		return true;
	}
	// Enough free slots first: all of its keys or none.
	size_t free_slots = kSlots - shared->hwm;
	for (uint32 i = 0; i < shared->hwm && free_slots < n; i++)
		if (shared->slots[i].client == 0)
			free_slots++;
	if (free_slots < n) {
		LWLockRelease(Lock());
		return false;
	}
	uint64 seq = shared->next_seq++;
	pg_atomic_fetch_add_u32(&shared->clients, 1);
	uint32 at = 0;
	for (size_t k = 0; k < n; k++) {
		while (at < shared->hwm && shared->slots[at].client != 0)
			at++;
		if (at == shared->hwm)
			shared->hwm++;
		shared->slots[at] = Waiter{client, hashes[k], seq, worker, 0};
		// Full barriers (atomic adds): a writer that reads the filter after the client's snapshot was
		// taken finds it (blocking/README.md, "no lost wake-up").
		pg_atomic_fetch_add_u32(&shared->filter[hashes[k] & (kFilterSlots - 1)], 1);
		pg_atomic_fetch_add_u32(&shared->per_worker[worker], 1);
		pg_atomic_fetch_add_u32(&shared->total, 1);
	}
	LWLockRelease(Lock());
	return true;
}

size_t
Unpark(uint64_t client, uint64_t *waited, size_t cap)
{
	if (shared == nullptr)
		return 0;
	size_t out = 0;
	bool waited_any = false;
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	for (uint32 i = 0; i < shared->hwm; i++) {
		Waiter &w = shared->slots[i];
		if (w.client != client)
			continue;
		waited_any = true;
		uint64 hash = w.hash;
		Free(w);
		bool others = false;
		for (uint32 j = 0; j < shared->hwm && !others; j++)
			others = shared->slots[j].client != 0 && shared->slots[j].client != client && shared->slots[j].hash == hash;
		if (others && out < cap)
			waited[out++] = hash;
	}
	while (shared->hwm > 0 && shared->slots[shared->hwm - 1].client == 0)
		shared->hwm--;
	if (waited_any)
		pg_atomic_fetch_sub_u32(&shared->clients, 1);
	LWLockRelease(Lock());
	return out;
}

bool
IsFirst(uint64_t client, uint64_t hash)
{
	if (shared == nullptr)
		return true;
	LWLockAcquire(Lock(), LW_SHARED);
	uint64 mine = 0;
	for (uint32 i = 0; i < shared->hwm && mine == 0; i++)
		if (shared->slots[i].client == client && shared->slots[i].hash == hash)
			mine = shared->slots[i].seq;
	bool first = mine != 0;
	for (uint32 i = 0; i < shared->hwm && first; i++) {
		const Waiter &w = shared->slots[i];
		if (w.client != 0 && w.client != client && w.hash == hash && w.seq < mine)
			first = false;
	}
	LWLockRelease(Lock());
	return first;
}

uint32_t
BlockedClients()
{
	return shared == nullptr ? 0 : pg_atomic_read_u32(&shared->clients);
}

bool
FilterHas(uint64_t hash)
{
	return shared != nullptr && pg_atomic_read_u32(&shared->filter[hash & (kFilterSlots - 1)]) != 0;
}

bool
AnyWaiters()
{
	if (shared == nullptr)
		return false;
	// The writer's side of "no lost wake-up": its commit is visible before it reads the counts.
	pg_memory_barrier();
	return pg_atomic_read_u32(&shared->total) != 0;
}

void
Wake(const uint64_t *hashes, size_t n)
{
	if (shared == nullptr || n == 0)
		return;
	size_t per_message = (pubsub::MaxMessageBytes() - kChannel.size()) / sizeof(uint64_t);
	for (size_t done = 0; done < n; done += per_message) {
		size_t count = n - done < per_message ? n - done : per_message;
		(void)pubsub::Append(kChannel.data(), kChannel.size(), reinterpret_cast<const char *>(hashes + done),
		                     count * sizeof(uint64_t));
	}
	for (int w = 0; w < pubsub::kMaxWorkers; w++)
		if (pg_atomic_read_u32(&shared->per_worker[w]) != 0)
			pubsub::WakeWorker(w);
}

bool
RequestUnblock(uint64_t client, Unblock mode, int *worker)
{
	if (shared == nullptr)
		return false;
	bool found = false;
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	for (uint32 i = 0; i < shared->hwm; i++) {
		Waiter &w = shared->slots[i];
		if (w.client != client)
			continue;
		found = true;
		*worker = w.worker;
		if (w.unblock == 0)
			pg_atomic_fetch_add_u32(&shared->unblocks[w.worker], 1);
		w.unblock = static_cast<uint32>(mode);
	}
	LWLockRelease(Lock());
	if (found)
		pubsub::WakeWorker(*worker);
	return found;
}

size_t
TakeUnblocks(int worker, uint64_t *clients, Unblock *modes, size_t cap)
{
	if (shared == nullptr || worker < 0 || worker >= pubsub::kMaxWorkers ||
	    pg_atomic_read_u32(&shared->unblocks[worker]) == 0)
		return 0;
	size_t out = 0;
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	for (uint32 i = 0; i < shared->hwm; i++) {
		Waiter &w = shared->slots[i];
		if (w.client == 0 || w.worker != worker || w.unblock == 0)
			continue;
		bool seen = false;
		for (size_t k = 0; k < out && !seen; k++)
			seen = clients[k] == w.client;
		if (!seen && out == cap)
			continue; // taken next time
		if (!seen) {
			clients[out] = w.client;
			modes[out++] = static_cast<Unblock>(w.unblock);
		}
		w.unblock = 0;
		pg_atomic_fetch_sub_u32(&shared->unblocks[worker], 1);
	}
	LWLockRelease(Lock());
	return out;
}

void
ResetWorker(int worker)
{
	if (shared == nullptr || worker < 0 || worker >= pubsub::kMaxWorkers)
		return;
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	uint64 last = 0;
	for (uint32 i = 0; i < shared->hwm; i++) {
		Waiter &w = shared->slots[i];
		if (w.client == 0 || w.worker != worker)
			continue;
		// A client's slots are consecutive runs of one Park (by client id): count each client once.
		bool counted = w.client == last;
		for (uint32 j = 0; j < i && !counted; j++)
			counted = shared->slots[j].client == w.client;
		if (!counted)
			pg_atomic_fetch_sub_u32(&shared->clients, 1);
		last = w.client;
		Free(w);
	}
	while (shared->hwm > 0 && shared->slots[shared->hwm - 1].client == 0)
		shared->hwm--;
	LWLockRelease(Lock());
}

} // namespace nodedb_kv::blocking
