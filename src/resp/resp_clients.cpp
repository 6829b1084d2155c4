// The shared client registry (resp_clients.hpp).  Area "nodedb_kv resp clients": resp_max_clients slots
// per worker (the value at server start; a later, higher setting serves the extra clients without
// listing them to other workers), each a ClientInfo under its own spinlock (a copy in or out, nothing
// else is done under it), so a worker publishing its clients after a turn never waits for a reader.
// Worker w owns slots [w * per_worker, (w + 1) * per_worker): only it acquires, publishes and releases
// them, so acquiring needs no lock beyond the slot's.  A kill asked by another worker sets the slot's
// kill flag and the worker's kill_pending flag; the owner takes them on its next tick or turn.
// A crash restart re-creates shared memory; a restarted worker clears its slots (its clients are gone).
#include "nodedb_kv/resp/resp_clients.hpp"
#include "nodedb_kv/pubsub/pubsub_bus.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/shmem/shmem.hpp"

namespace nodedb_kv::resp {
namespace {

struct Slot {
	slock_t mutex;
	bool used; // under mutex
	pg_atomic_uint32 kill;
	ClientInfo info; // under mutex
};

struct RegistryShared {
	int32 workers;
	int32 per_worker;
	pg_atomic_uint32 kill_pending[pubsub::kMaxWorkers];
	Slot slots[FLEXIBLE_ARRAY_MEMBER];
};

RegistryShared *shared = nullptr;

size_t
RegistrySize()
{
	size_t slots = mul_size(static_cast<size_t>(guc::resp_max_clients), static_cast<size_t>(guc::resp_workers));
	return add_size(offsetof(RegistryShared, slots), mul_size(sizeof(Slot), slots));
}

void
RegistryInit(void *base, bool found)
{
	shared = static_cast<RegistryShared *>(base);
	if (found)
		return;
	shared->workers = guc::resp_workers;
	shared->per_worker = guc::resp_max_clients;
	for (pg_atomic_uint32 &flag : shared->kill_pending)
		pg_atomic_init_u32(&flag, 0);
	for (int64 i = 0; i < static_cast<int64>(shared->workers) * shared->per_worker; i++) {
		Slot &slot = shared->slots[i];
		SpinLockInit(&slot.mutex);
		slot.used = false;
		pg_atomic_init_u32(&slot.kill, 0);
	}
}

bool
ValidWorker(int worker)
{
	return shared != nullptr && worker >= 0 && worker < shared->workers && worker < pubsub::kMaxWorkers;
}

Slot *
SlotsOf(int worker)
{
	return &shared->slots[static_cast<int64>(worker) * shared->per_worker];
}

// The slot of client id on worker `worker`, or nullptr.
Slot *
FindSlot(uint64_t id, int worker)
{
	if (!ValidWorker(worker))
		return nullptr;
	Slot *slots = SlotsOf(worker);
	for (int i = 0; i < shared->per_worker; i++) {
		Slot &slot = slots[i];
		SpinLockAcquire(&slot.mutex);
		bool match = slot.used && slot.info.id == id;
		SpinLockRelease(&slot.mutex);
		if (match)
			return &slot;
	}
	return nullptr;
}

} // namespace

void
RegisterClientRegistry()
{
	(void)shmem::Register({"nodedb_kv resp clients", RegistrySize, RegistryInit, 0, false});
}

int
RegistryAcquire(int worker)
{
	if (!ValidWorker(worker))
		return -1;
	Slot *slots = SlotsOf(worker);
	for (int i = 0; i < shared->per_worker; i++) {
		Slot &slot = slots[i];
		// Only this worker takes its slots: an unlocked read of `used` is a safe first look.
		if (slot.used)
			continue;
		SpinLockAcquire(&slot.mutex);
		slot.used = true;
		slot.info = ClientInfo{};
		SpinLockRelease(&slot.mutex);
		pg_atomic_write_u32(&slot.kill, 0);
		return worker * shared->per_worker + i;
	}
	return -1;
}

void
RegistryPublish(int index, const ClientInfo &info)
{
	if (shared == nullptr || index < 0)
		return;
	Slot &slot = shared->slots[index];
	SpinLockAcquire(&slot.mutex);
	slot.info = info;
	SpinLockRelease(&slot.mutex);
}

void
RegistryRelease(int index)
{
	if (shared == nullptr || index < 0)
		return;
	Slot &slot = shared->slots[index];
	SpinLockAcquire(&slot.mutex);
	slot.used = false;
	SpinLockRelease(&slot.mutex);
	pg_atomic_write_u32(&slot.kill, 0);
}

void
RegistryResetWorker(int worker)
{
	if (!ValidWorker(worker))
		return;
	for (int i = 0; i < shared->per_worker; i++)
		RegistryRelease(worker * shared->per_worker + i);
	pg_atomic_write_u32(&shared->kill_pending[worker], 0);
}

void
RegistryForEach(void (*fn)(void *arg, const ClientInfo &info), void *arg)
{
	if (shared == nullptr)
		return;
	int64 total = static_cast<int64>(shared->workers) * shared->per_worker;
	ClientInfo copy;
	for (int64 i = 0; i < total; i++) {
		Slot &slot = shared->slots[i];
		SpinLockAcquire(&slot.mutex);
		bool used = slot.used;
		if (used)
			copy = slot.info;
		SpinLockRelease(&slot.mutex);
		if (used)
			fn(arg, copy);
	}
}

bool
RegistryExists(uint64_t id)
{
	if (shared == nullptr || id == 0)
		return false;
	return FindSlot(id, static_cast<int>((id - 1) % static_cast<uint64_t>(shared->workers))) != nullptr;
}

bool
RegistryRequestKill(uint64_t id, int worker)
{
	Slot *slot = FindSlot(id, worker);
	if (slot == nullptr)
		return false;
	pg_atomic_write_u32(&slot->kill, 1);
	pg_atomic_write_u32(&shared->kill_pending[worker], 1);
	return true;
}

void
RegistryTakeKills(int worker, void (*fn)(void *arg, uint64_t id), void *arg)
{
	if (!ValidWorker(worker) || pg_atomic_read_u32(&shared->kill_pending[worker]) == 0)
		return;
	pg_atomic_write_u32(&shared->kill_pending[worker], 0);
	pg_memory_barrier();
	Slot *slots = SlotsOf(worker);
	for (int i = 0; i < shared->per_worker; i++) {
		Slot &slot = slots[i];
		if (pg_atomic_read_u32(&slot.kill) == 0)
			continue;
		pg_atomic_write_u32(&slot.kill, 0);
		SpinLockAcquire(&slot.mutex);
		uint64_t id = slot.used ? slot.info.id : 0;
		SpinLockRelease(&slot.mutex);
		if (id != 0)
			fn(arg, id);
	}
}

} // namespace nodedb_kv::resp
