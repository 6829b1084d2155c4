// kv_stats: a consumer of change capture.  Counters live in a fixed-size shared hash table
// keyed by (database, relation).  Entries are reserved at PRE_COMMIT (the only step that may fail:
// a full table skips counting, it never fails the transaction) and bumped with atomics at COMMIT,
// which cannot fail.  A dropped relation's entry is removed by the object-access hook.
#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class_d.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/capture/capture_stats.hpp"
#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/shmem/shmem.hpp"

namespace nodedb_kv::capture {
namespace {

constexpr int kOpCount = kChangeOpCount;

struct StatsKey {
	Oid dboid;
	Oid relid;
};

struct StatsEntry {
	StatsKey key;
	pg_atomic_uint64 counts[kOpCount];
};

// Counts one transaction will add to one entry.
struct Pending {
	StatsEntry *entry;
	uint64 counts[kOpCount];
};

HTAB *stats = nullptr;
shmem::AreaId stats_area = -1;
Pending *pending = nullptr;
int pending_count = 0;
object_access_hook_type prev_object_access = nullptr;

size_t
StatsSize()
{
	return hash_estimate_size(guc::max_collections, sizeof(StatsEntry));
}

// Creates the hash (the registry reserved its size; runs under AddinShmemInitLock).
void
StatsInit(void *, bool)
{
	HASHCTL info = {};
	info.keysize = sizeof(StatsKey);
	info.entrysize = sizeof(StatsEntry);
	stats = ShmemInitHash("nodedb_kv stats", guc::max_collections, guc::max_collections, &info, HASH_ELEM | HASH_BLOBS);
}

// Finds or creates the entry of relid; nullptr when the table is full.  Caller holds the lock
// exclusively.
StatsEntry *
EnterEntry(Oid relid)
{
	StatsKey key = {MyDatabaseId, relid};
	// A shared hash grows past its declared size while the segment has spare memory (dynahash takes
	// more elements from it), memory other shared structures such as the lock table count on: the
	// bound is enforced here.
	if (hash_get_num_entries(stats) >= guc::max_collections && hash_search(stats, &key, HASH_FIND, nullptr) == nullptr)
		return nullptr;
	bool found = false;
	auto *entry = static_cast<StatsEntry *>(hash_search(stats, &key, HASH_ENTER_NULL, &found));
	if (entry != nullptr && !found)
		for (auto &count : entry->counts)
			pg_atomic_init_u64(&count, 0);
	return entry;
}

void
StatsPreCommit(const Change *changes, int count)
{
	pending = nullptr;
	pending_count = 0;
	if (count == 0)
		return;
	// Aggregate per relation; transactions touch few relations, so a linear search is enough.
	int capacity = 8;
	pending = static_cast<Pending *>(MemoryContextAllocZero(TopTransactionContext, sizeof(Pending) * capacity));
	Oid *relids = static_cast<Oid *>(MemoryContextAlloc(TopTransactionContext, sizeof(Oid) * capacity));
	for (int i = 0; i < count; i++) {
		int slot = 0;
		while (slot < pending_count && relids[slot] != changes[i].relid)
			slot++;
		if (slot == pending_count) {
			if (pending_count == capacity) {
				capacity *= 2;
				pending = static_cast<Pending *>(repalloc(pending, sizeof(Pending) * capacity));
				relids = static_cast<Oid *>(repalloc(relids, sizeof(Oid) * capacity));
			}
			memset(&pending[slot], 0, sizeof(Pending));
			relids[slot] = changes[i].relid;
			pending_count++;
		}
		pending[slot].counts[static_cast<int>(changes[i].op)]++;
	}
	// Entries usually exist already: find them under a shared lock, create the rest exclusively.
	bool missing = false;
	LWLockAcquire(shmem::Lock(stats_area), LW_SHARED);
	for (int i = 0; i < pending_count; i++) {
		StatsKey key = {MyDatabaseId, relids[i]};
		pending[i].entry = static_cast<StatsEntry *>(hash_search(stats, &key, HASH_FIND, nullptr));
		missing |= pending[i].entry == nullptr;
	}
	LWLockRelease(shmem::Lock(stats_area));
	if (!missing)
		return;
	LWLockAcquire(shmem::Lock(stats_area), LW_EXCLUSIVE);
	for (int i = 0; i < pending_count; i++)
		if (pending[i].entry == nullptr)
			pending[i].entry = EnterEntry(relids[i]);
	LWLockRelease(shmem::Lock(stats_area));
}

// Runs after the commit record: atomics only, nothing that can fail.  The entries cannot go away
// meanwhile: dropping the relation needs a lock this transaction still holds.
void
StatsCommit(const Change *, int, const CommitInfo &)
{
	for (int i = 0; i < pending_count; i++) {
		if (pending[i].entry == nullptr)
			continue;
		for (int op = 0; op < kOpCount; op++)
			if (pending[i].counts[op] != 0)
				pg_atomic_fetch_add_u64(&pending[i].entry->counts[op], pending[i].counts[op]);
	}
	pending = nullptr;
	pending_count = 0;
}

void
StatsAbort()
{
	pending = nullptr;
	pending_count = 0;
}

// Removes the counters of a dropped relation (also when the drop later rolls back: counters are
// statistics, not data).
void
ObjectAccess(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, class_id, object_id, sub_id, arg);
	if (access != OAT_DROP || class_id != RelationRelationId || sub_id != 0 || stats == nullptr)
		return;
	StatsKey key = {MyDatabaseId, object_id};
	LWLockAcquire(shmem::Lock(stats_area), LW_EXCLUSIVE);
	hash_search(stats, &key, HASH_REMOVE, nullptr);
	LWLockRelease(shmem::Lock(stats_area));
}

} // namespace

void
RegisterStats()
{
	stats_area = shmem::Register({"nodedb_kv stats", StatsSize, StatsInit, 1, true});
	RegisterConsumer({"kv_stats", nullptr, StatsPreCommit, StatsCommit, StatsAbort});
	prev_object_access = object_access_hook;
	object_access_hook = ObjectAccess;
}

} // namespace nodedb_kv::capture

// kv_stats_counters() -> setof (relid oid, inserted, updated, deleted, expired, truncated bigint)
// for the current database; the kv_stats view names the collections.
NODEDB_KV_FUNCTION(nodedb_kv_stats_counters)
{
	using namespace nodedb_kv::capture;
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	InitMaterializedSRF(fcinfo, 0);
	if (stats == nullptr) // cannot happen with shared_preload_libraries, which _PG_init enforces
		return static_cast<Datum>(0);
	LWLockAcquire(nodedb_kv::shmem::Lock(stats_area), LW_SHARED);
	HASH_SEQ_STATUS status;
	hash_seq_init(&status, stats);
	StatsEntry *entry;
	while ((entry = static_cast<StatsEntry *>(hash_seq_search(&status))) != nullptr) {
		if (entry->key.dboid != MyDatabaseId)
			continue;
		Datum values[1 + kOpCount];
		bool nulls[1 + kOpCount] = {};
		values[0] = ObjectIdGetDatum(entry->key.relid);
		for (int op = 0; op < kOpCount; op++)
			values[1 + op] = Int64GetDatum(static_cast<int64>(pg_atomic_read_u64(&entry->counts[op])));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(nodedb_kv::shmem::Lock(stats_area));
	return static_cast<Datum>(0);
}
