#pragma once
// The shared-memory order-statistic structure of kv_sorted indexes (design: src/sortedindex/README.md).
// One fixed area sized by nodedb_kv.sorted_memory: index slots (one per index in use, identified by
// database, index OID and relfilenode), an accounted pool of variable-size entry blocks (8-byte units,
// 32-bit references), and one member
// hash (O(1) member -> entry).  Per slot and window, entries form a treap with subtree sizes:
// O(log N) rank by member or by score, O(log N + K) top-K and range.  One LWLock guards it all.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/sortedindex/sortedindex_key.hpp"

namespace nodedb_kv::sortedindex {

constexpr int kMaxIndexes = 64;
constexpr int kMaxWindows = 8;
constexpr int kEntryHeader = 24; // links, subtree size, priority, slot, lengths, flags
constexpr int kTimedExtra = 16;  // the row's expiry and the subtree's smallest (tables with kv_expiry)
constexpr int kMaxPart = 255;    // bytes of the sort key, and of the member
constexpr int kMaxEntryUnits = (kEntryHeader + kTimedExtra + 2 * kMaxPart + 7) / 8; // 8-byte units

enum class SlotState : uint8 { Free, Building, Ready };

// An entry prepared in backend memory, ready to be linked.
struct Prepared {
	bool remove_only; // the member leaves the index (deleted, NULL sort value, outside the window)
	int32 window;
	uint16 sortkey_len;
	uint16 member_len;
	uint32 hash;        // of the member bytes
	TimestampTz expiry; // the row's kv_expiry; DT_NOEND when it has none
	char *data;         // sort key, then member bytes
};

// Registers the area.  Called from _PG_init.
void RegisterStore();

// Prepares an entry from a member and its sort key (copies).  ERROR 54000 if the sort key or the
// member exceeds kMaxPart bytes.
// expiry: the row's expiry instant (DT_NOEND: none); the entry leaves every read from that instant on.
void PrepareEntry(Prepared *p, const Buf &sortkey, const Buf &member, int32 window, bool remove_only,
                  TimestampTz expiry);

// Member hash of raw member bytes.
uint32 MemberHash(const char *member, int len);

// ---- slots (caller must not hold the lock unless stated) ----

// What a reader or writer knows about a slot it found.
struct SlotRef {
	int slot;
	uint64 generation;
};

// Attaches to the ready structure of index (building it from the table if needed, under the rules
// in the README) and fills *def.  ERROR on exhaustion (53200), build failures, cancel.
SlotRef Attach(Relation index, IndexDef *def);

// At transaction end: after an abort, frees the structures this backend built for indexes the
// transaction created.  Never errors.
void EndTransaction(bool committed);

// Frees the structure of an index (DROP INDEX) if present.  Never errors.
void ForgetIndex(Oid dboid, Oid indexrelid);

// Frees every structure of database dboid (DROP DATABASE).  Never errors.
void ForgetDatabase(Oid dboid);

// ---- queries: take the lock shared; false if the slot changed meanwhile (re-Attach and retry) ----
// Each answers for the rows live at ttl::Now(): entries whose expiry has passed are moved out of the
// window's tree first (into its expired set, ordered by expiry), and entries whose expiry lies after
// "now" are moved back in when the clock went back (test clock).  That step takes the lock
// exclusively and costs O(log N) per entry moved; each entry moves once per crossing of its instant.

bool QueryCount(SlotRef ref, int32 window, int64 *count);
bool QueryRank(SlotRef ref, int32 window, const char *member, int member_len, uint32 hash, bool *found, int64 *rank);
using EmitFn = void (*)(void *arg, int64 rank, const char *sortkey, int sortkey_len, const char *member,
                        int member_len);
// Calls emit for ranks first..first+limit-1 (1-based) of the window, in order.  emit runs under the
// shared lock: it must only copy.
bool QueryFrom(SlotRef ref, int32 window, int64 first, int64 limit, EmitFn emit, void *arg);
// Calls emit for the entries whose sort key prefix lies in [start, end] (bytewise, prefix lengths).
bool QueryRange(SlotRef ref, int32 window, const char *start, int start_len, const char *end, int end_len, EmitFn emit,
                void *arg);
// A stamp of the slot's contents: equal stamps before and after several queries mean they all saw the
// same state (a reader combining queries, sortedindex_overlay.cpp, retries otherwise).
bool QueryStamp(SlotRef ref, uint64 *stamp);
// Entries whose sort key is below key (comparing its first key_len bytes).
bool QueryCountBelow(SlotRef ref, int32 window, const char *key, int key_len, int64 *count);

// ---- commit-time maintenance (capture consumer) ----

// Ready slots of heap relid in this database: fills refs/defs (up to kMaxIndexes), returns count.
int ReadySlotsOf(Oid heaprelid, SlotRef *refs, IndexDef *defs);

// Blocks per size (index: 8-byte units) that prepared entries need.
struct EntryDemand {
	uint64 blocks[kMaxEntryUnits + 1];
};

// Adds the block p needs in a slot of definition def (nothing for a removal).
void DemandAdd(EntryDemand *demand, const IndexDef &def, const Prepared &p);

// Reserves the blocks of demand (PRE_COMMIT), all or none.  ERROR 53200 when the pool cannot hold
// them.
void ReserveEntries(const EntryDemand &demand, const char *table_name);

// Gives back the reserved blocks left in *demand and clears it.  Never errors.
void UnreserveEntries(EntryDemand *demand);

// Applies prepared changes to a slot under the exclusive lock (taken by the caller with
// LockForApply), taking blocks out of *reserved (what is left stays reserved).  Never errors.
void ApplyPrepared(SlotRef ref, const Prepared *changes, int count, XLogRecPtr lsn, EntryDemand *reserved);

// Empties the structure of ref, if unchanged, so it is rebuilt on first use.  Caller holds the lock
// (LockForApply).  Never errors.
void InvalidateSlot(SlotRef ref);

// Empties every structure of heap relid (TRUNCATE): they are rebuilt on first use.  Never errors.
void ClearHeap(Oid heaprelid); // caller holds the lock (LockForApply)

void LockForApply();
void UnlockAfterApply();

// ---- monitoring ----
struct SlotStats {
	Oid indexrelid;
	SlotState state;
	uint64 entries;
	uint64 bytes; // the entries' blocks and their member-hash buckets
	int windows;
	XLogRecPtr applied_lsn;
};
// Fills stats for this database's slots; returns count.  Also reports pool totals.
int CollectStats(SlotStats *stats, uint64 *pool_used, uint64 *pool_total);

} // namespace nodedb_kv::sortedindex
