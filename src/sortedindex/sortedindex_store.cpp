// The shared-memory structure of kv_sorted indexes: slots, the entry pool, the member hash and the
// per-window treaps with subtree sizes (Seidel & Aragon, "Randomized search trees", 1996).  Design,
// lock and crash story: README.md beside this file.
//
// Entries are variable-size pool blocks (8-byte units) addressed by 32-bit references (0 = none): a
// 24-byte header (left, right, hash link, subtree size, priority, slot, lengths, flags), for indexes of tables
// with a kv_expiry column 16 more bytes (the row's expiry and the subtree's smallest), then the sort
// key and the member bytes.  A treap node keeps its subtree size, so rank and k-th are one descent,
// and (timed entries) its subtree's smallest expiry, so the entries whose row has expired are found
// in O(log N) each.  A node's priority is stored: a hash of its reference when it is linked alone
// (murmurhash32 is a bijection: distinct, and independent of the keys), or, when a build links a
// window's entries at once, the priority of its depth in the balanced tree the build lays out
// (sortedindex_layout.hpp).  Everything that links or unlinks runs under the area's
// LWLock held exclusively and cannot fail (it runs in COMMIT callbacks); allocation happens before,
// through exact pool reservations per block size.
//
// Expiry: a read at instant "now" first moves the entries with expiry <= now out of the window's tree
// into the window's expired set (a treap ordered by (expiry, reference) through the same links), and,
// if the clock went back (test clock), moves those with expiry > now back.  So every read counts
// exactly the rows live at its instant, in O(log N) per moved entry; the entries stay in the member
// hash (and their blocks allocated) until the expiry worker's delete or a takeover reaches the index.
#include "nodedb_kv/shmem/shmem_pool.hpp"
#include "nodedb_kv/sortedindex/sortedindex_layout.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/relation.h"
#include "access/table.h"
#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/rel.h"
#include "utils/syscache.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/shmem/shmem.hpp"
#include "nodedb_kv/shmem/shmem_prefault.hpp"
#include "nodedb_kv/sortedindex/sortedindex_load.hpp"
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::sortedindex {
namespace {

// A block: the header, then (kTimed) the expiry pair, then the sort key and the member bytes.
struct Entry {
	uint32 left;
	uint32 right;
	uint32 hash_next;
	uint32 size;     // entries in this subtree
	uint32 priority; // treap priority (max-heap)
	uint8 slot;
	uint8 sortkey_len;
	uint8 member_len;
	uint8 flags; // kExpiredSet, kTimed, and the window tree's index in its slot (bits 2-4)
};
static_assert(sizeof(Entry) == kEntryHeader, "entry header size");
static_assert(kMaxIndexes <= 256 && kMaxWindows <= 8 && kMaxPart <= 255, "slot, tree and lengths fit");
static_assert(kMaxEntryUnits <= shmem::kMaxClasses, "largest entry");
constexpr uint8 kExpiredSet = 1; // in its window's expired set, not in its tree
constexpr uint8 kTimed = 2;      // carries the expiry pair
constexpr int kTreeShift = 2;

inline int
DataOffset(bool timed)
{
	return kEntryHeader + (timed ? kTimedExtra : 0);
}

inline int
UnitsOf(bool timed, int sortkey_len, int member_len)
{
	return shmem::UnitsFor(DataOffset(timed) + sortkey_len + member_len);
}

inline char *
DataOf(Entry *e)
{
	return reinterpret_cast<char *>(e) + DataOffset(e->flags & kTimed);
}

inline int
TreeIndexOf(const Entry *e)
{
	return e->flags >> kTreeShift;
}

inline TimestampTz
ExpiryOf(const Entry *e)
{
	TimestampTz v = DT_NOEND;
	if (e->flags & kTimed)
		memcpy(&v, reinterpret_cast<const char *>(e) + kEntryHeader, sizeof(v));
	return v;
}

inline TimestampTz
EntryMinExpiry(const Entry *e)
{
	TimestampTz v = DT_NOEND;
	if (e->flags & kTimed)
		memcpy(&v, reinterpret_cast<const char *>(e) + kEntryHeader + sizeof(TimestampTz), sizeof(v));
	return v;
}

inline void
SetMinExpiry(Entry *e, TimestampTz v)
{
	memcpy(reinterpret_cast<char *>(e) + kEntryHeader + sizeof(TimestampTz), &v, sizeof(v));
}

struct WindowTree {
	bool used;
	int32 window;
	uint32 root;
	uint32 expired;            // entries whose expiry passed, ordered by (expiry, reference)
	TimestampTz expired_until; // every entry of `expired` has expiry <= this
};

struct Slot {
	Oid dboid;
	Oid indexrelid;
	Oid heaprelid;
	Oid relfilenode;
	uint32 def_hash;
	SlotState state;
	int builder_pid;
	uint64 generation; // bumped whenever the slot's contents stop being what readers attached to
	uint64 changes;    // bumped by every change of its trees (commit, reconcile): readers' consistency stamp
	uint64 entries;
	uint64 bytes; // of the entries' blocks
	XLogRecPtr applied_lsn;
	int32 horizon;    // windows below are not kept
	int32 future_cap; // windows at or above are not kept
	WindowTree windows[kMaxWindows];
	IndexDef def;
	ConditionVariable build_done;
};

struct Shared {
	Slot slots[kMaxIndexes];
	uint64 generation_counter;
	uint32 nbuckets; // power of two
	uint32 *buckets;
	shmem::Pool *pool;
	char *base; // block ref is at base + (ref - 1) * kUnit
};

Shared *shared = nullptr;
shmem::AreaId area = -1;

// Indexes created in the current transaction whose structure this backend built: freed if the
// transaction aborts (a rolled-back CREATE INDEX leaves nothing behind).
constexpr int kMaxBuiltNew = 16;
Oid built_new[kMaxBuiltNew];
int built_new_count = 0;

// One bucket per 64 bytes of sorted_memory (an entry takes 40-80 bytes for usual keys), rounded up
// to a power of two; the pool gets the rest.
uint32
BucketCount()
{
	uint64 want = static_cast<uint64>(guc::sorted_memory_kb) * 1024 / 64;
	uint32 n = 1;
	while (n < want && n < (1u << 31))
		n <<= 1;
	return n;
}

size_t
PoolBytes()
{
	size_t total = static_cast<size_t>(guc::sorted_memory_kb) * 1024;
	size_t buckets = static_cast<size_t>(BucketCount()) * sizeof(uint32);
	return total > buckets * 2 ? total - buckets : total / 2;
}

size_t
AreaSize()
{
	size_t size = MAXALIGN(sizeof(Shared));
	size = add_size(size, mul_size(BucketCount(), sizeof(uint32)));
	size = add_size(size, shmem::PoolSize(PoolBytes()));
	return size;
}

void
AreaInit(void *base, bool found)
{
	shared = static_cast<Shared *>(base);
	if (found)
		return;
	char *p = static_cast<char *>(base) + MAXALIGN(sizeof(Shared));
	shared->nbuckets = BucketCount();
	shared->buckets = reinterpret_cast<uint32 *>(p);
	p += shared->nbuckets * sizeof(uint32);
	shared->pool = shmem::PoolInit(p, shmem::PoolSize(PoolBytes()));
	shared->base = shmem::PoolBase(shared->pool);
	for (auto &slot : shared->slots)
		ConditionVariableInit(&slot.build_done);
}

LWLock *
Lock()
{
	return shmem::Lock(area);
}

inline Entry *
E(uint32 ref)
{
	return reinterpret_cast<Entry *>(shared->base + static_cast<size_t>(ref - 1) * shmem::kUnit);
}

inline int
UnitsOf(uint32 ref)
{
	Entry *e = E(ref);
	return UnitsOf(e->flags & kTimed, e->sortkey_len, e->member_len);
}

inline uint32
SizeOf(uint32 ref)
{
	return ref ? E(ref)->size : 0;
}

inline TimestampTz
MinExpiryOf(uint32 ref)
{
	return ref ? EntryMinExpiry(E(ref)) : DT_NOEND;
}

inline uint32
Priority(uint32 ref)
{
	return E(ref)->priority;
}

inline void
Update(uint32 ref)
{
	Entry *e = E(ref);
	e->size = 1 + SizeOf(e->left) + SizeOf(e->right);
	if (e->flags & kTimed)
		SetMinExpiry(e, Min(ExpiryOf(e), Min(MinExpiryOf(e->left), MinExpiryOf(e->right))));
}

// memcmp order of two sort keys.
inline int
CompareKeys(const char *a, int alen, const char *b, int blen)
{
	int c = memcmp(a, b, Min(alen, blen));
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

// The order of a window's tree: sort key (member last).
struct ByKey {
	int
	operator()(uint32 a, uint32 b) const
	{
		return CompareKeys(DataOf(E(a)), E(a)->sortkey_len, DataOf(E(b)), E(b)->sortkey_len);
	}
};

// The order of a window's expired set: expiry, then block.
struct ByExpiry {
	int
	operator()(uint32 a, uint32 b) const
	{
		TimestampTz ea = ExpiryOf(E(a));
		TimestampTz eb = ExpiryOf(E(b));
		if (ea != eb)
			return ea < eb ? -1 : 1;
		return a < b ? -1 : a > b ? 1 : 0;
	}
};

// Splits t into entries < node (l) and the rest (r).
template <typename Cmp>
void
Split(uint32 t, uint32 node, uint32 *l, uint32 *r)
{
	if (t == 0) {
		*l = *r = 0;
		return;
	}
	if (Cmp()(t, node) < 0) {
		Split<Cmp>(E(t)->right, node, &E(t)->right, r);
		*l = t;
	} else {
		Split<Cmp>(E(t)->left, node, l, &E(t)->left);
		*r = t;
	}
	Update(t);
}

uint32
Merge(uint32 a, uint32 b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	if (Priority(a) > Priority(b)) {
		E(a)->right = Merge(E(a)->right, b);
		Update(a);
		return a;
	}
	E(b)->left = Merge(a, E(b)->left);
	Update(b);
	return b;
}

// Inserts node (its links cleared) into t.
template <typename Cmp>
uint32
TreeInsert(uint32 t, uint32 node)
{
	if (t == 0) {
		Update(node);
		return node;
	}
	if (Priority(node) > Priority(t)) {
		Split<Cmp>(t, node, &E(node)->left, &E(node)->right);
		Update(node);
		return node;
	}
	if (Cmp()(node, t) < 0)
		E(t)->left = TreeInsert<Cmp>(E(t)->left, node);
	else
		E(t)->right = TreeInsert<Cmp>(E(t)->right, node);
	Update(t);
	return t;
}

template <typename Cmp>
uint32
TreeRemove(uint32 t, uint32 node)
{
	if (t == 0)
		return 0; // not found: cannot happen
	if (t == node)
		return Merge(E(t)->left, E(t)->right);
	if (Cmp()(node, t) < 0)
		E(t)->left = TreeRemove<Cmp>(E(t)->left, node);
	else
		E(t)->right = TreeRemove<Cmp>(E(t)->right, node);
	Update(t);
	return t;
}

inline void
ClearLinks(uint32 ref)
{
	Entry *e = E(ref);
	e->left = e->right = 0;
	e->size = 1;
	if (e->flags & kTimed)
		SetMinExpiry(e, ExpiryOf(e));
}

// Moves the entries of tree t with expiry <= now into *expired; returns what is left of t.  Visits
// only subtrees holding such an entry (their smallest expiry says so).
uint32
MoveExpired(uint32 t, TimestampTz now, uint32 *expired)
{
	if (t == 0 || EntryMinExpiry(E(t)) > now)
		return t;
	Entry *e = E(t);
	e->left = MoveExpired(e->left, now, expired);
	e->right = MoveExpired(e->right, now, expired);
	if (ExpiryOf(e) > now) {
		Update(t);
		return t;
	}
	uint32 rest = Merge(e->left, e->right);
	ClearLinks(t);
	e->flags |= kExpiredSet;
	*expired = TreeInsert<ByExpiry>(*expired, t);
	return rest;
}

// Splits an expired set into entries with expiry <= now (*l) and the rest (*r).
void
SplitExpiredAt(uint32 t, TimestampTz now, uint32 *l, uint32 *r)
{
	if (t == 0) {
		*l = *r = 0;
		return;
	}
	if (ExpiryOf(E(t)) <= now) {
		SplitExpiredAt(E(t)->right, now, &E(t)->right, r);
		*l = t;
	} else {
		SplitExpiredAt(E(t)->left, now, l, &E(t)->left);
		*r = t;
	}
	Update(t);
}

// True when tree needs Reconcile for a read at now.
inline bool
NeedsReconcile(const WindowTree *tree, TimestampTz now)
{
	return (tree->root != 0 && EntryMinExpiry(E(tree->root)) <= now) ||
	       (tree->expired != 0 && now < tree->expired_until);
}

// Brings tree in line with instant now: no entry with expiry <= now in the tree, none with expiry >
// now in the expired set.  Caller holds the lock exclusively.
void
Reconcile(WindowTree *tree, TimestampTz now)
{
	if (now < tree->expired_until) {
		// The clock went back: entries expired later than now are live again.
		uint32 keep;
		uint32 back;
		SplitExpiredAt(tree->expired, now, &keep, &back);
		tree->expired = keep;
		// Take the nodes of `back` one by one (rotating left children up, as FreeTree does).
		while (back != 0) {
			Entry *e = E(back);
			if (e->left != 0) {
				uint32 l = e->left;
				e->left = E(l)->right;
				E(l)->right = back;
				back = l;
				continue;
			}
			uint32 node = back;
			back = e->right;
			ClearLinks(node);
			e->flags &= ~kExpiredSet;
			tree->root = TreeInsert<ByKey>(tree->root, node);
		}
	}
	tree->root = MoveExpired(tree->root, now, &tree->expired);
	tree->expired_until = now;
}

// Entries of the tree whose key is < (or, with upper, <=) the prefix, comparing the first
// prefix_len bytes only.
int64
CountBelow(uint32 t, const char *prefix, int prefix_len, bool upper)
{
	int64 count = 0;
	while (t != 0) {
		Entry *e = E(t);
		int c = memcmp(DataOf(e), prefix, Min(prefix_len, e->sortkey_len));
		if (c == 0 && e->sortkey_len < prefix_len)
			c = -1;
		if (c < 0 || (upper && c == 0)) {
			count += SizeOf(e->left) + 1;
			t = e->right;
		} else
			t = e->left;
	}
	return count;
}

WindowTree *
FindTree(Slot *slot, int32 window)
{
	for (auto &tree : slot->windows)
		if (tree.used && tree.window == window)
			return &tree;
	return nullptr;
}

// Unlinks ref from the member hash.
void
HashUnlink(uint32 ref)
{
	Entry *e = E(ref);
	uint32 hash = MemberHash(DataOf(e) + e->sortkey_len, e->member_len);
	uint32 *link = &shared->buckets[hash & (shared->nbuckets - 1)];
	while (*link != 0 && *link != ref)
		link = &E(*link)->hash_next;
	if (*link == ref)
		*link = E(ref)->hash_next;
}

void
HashLink(uint32 ref, uint32 hash)
{
	uint32 *bucket = &shared->buckets[hash & (shared->nbuckets - 1)];
	E(ref)->hash_next = *bucket;
	*bucket = ref;
}

uint32
HashFind(int slot, const char *member, int len, uint32 hash)
{
	for (uint32 ref = shared->buckets[hash & (shared->nbuckets - 1)]; ref != 0; ref = E(ref)->hash_next) {
		Entry *e = E(ref);
		if (e->slot == slot && e->member_len == len && memcmp(DataOf(e) + e->sortkey_len, member, len) == 0)
			return ref;
	}
	return 0;
}

// Frees every entry of a tree or expired set of slot (iteratively, rotating left children up).
void
FreeTree(Slot *slot, uint32 root, bool unlink = true)
{
	while (root != 0) {
		Entry *e = E(root);
		if (e->left != 0) {
			// Rotate the left child up so that the loop only ever frees a node without a left child.
			uint32 l = e->left;
			e->left = E(l)->right;
			E(l)->right = root;
			root = l;
			continue;
		}
		uint32 next = e->right;
		if (unlink)
			HashUnlink(root);
		int units = UnitsOf(root);
		shmem::PoolFree(shared->pool, root, units);
		slot->entries--;
		slot->bytes -= units * shmem::kUnit;
		root = next;
	}
}

// Empties a slot's trees.  A big slot leaves the member hash in one sequential sweep of the buckets
// instead of one chain walk (a cache miss or two) per entry.  Caller holds the lock exclusively.
void
EmptySlot(Slot *slot)
{
	bool sweep = slot->entries > shared->nbuckets / 16;
	if (sweep) {
		uint16 slot_no = static_cast<uint16>(slot - shared->slots);
		// Each chain's first entry is a random address: fetched a few buckets ahead.
		constexpr uint32 kAhead = 16;
		for (uint32 b = 0; b < shared->nbuckets; b++) {
			if (b + kAhead < shared->nbuckets && shared->buckets[b + kAhead] != 0)
				__builtin_prefetch(E(shared->buckets[b + kAhead]));
			uint32 *link = &shared->buckets[b];
			while (*link != 0) {
				if (E(*link)->slot == slot_no)
					*link = E(*link)->hash_next;
				else
					link = &E(*link)->hash_next;
			}
		}
	}
	for (auto &tree : slot->windows) {
		if (tree.used) {
			FreeTree(slot, tree.root, !sweep);
			FreeTree(slot, tree.expired, !sweep);
		}
		tree = {};
	}
	Assert(slot->entries == 0 && slot->bytes == 0);
	slot->entries = 0;
	slot->bytes = 0;
}

// The tree for window in slot, making one if the window is kept; nullptr if it is not kept.
// Evicts the furthest future window when all trees are in use.  Caller holds the lock exclusively.
WindowTree *
TreeFor(Slot *slot, int32 window)
{
	if (window < slot->horizon || window >= slot->future_cap)
		return nullptr;
	if (WindowTree *tree = FindTree(slot, window))
		return tree;
	WindowTree *free_tree = nullptr;
	WindowTree *furthest = nullptr;
	for (auto &tree : slot->windows) {
		if (!tree.used)
			free_tree = free_tree ? free_tree : &tree;
		else if (furthest == nullptr || tree.window > furthest->window)
			furthest = &tree;
	}
	if (free_tree == nullptr) {
		if (window > furthest->window) {
			slot->future_cap = window;
			return nullptr;
		}
		slot->future_cap = furthest->window;
		FreeTree(slot, furthest->root);
		FreeTree(slot, furthest->expired);
		*furthest = {};
		free_tree = furthest;
	}
	free_tree->used = true;
	free_tree->window = window;
	free_tree->root = 0;
	free_tree->expired = 0;
	free_tree->expired_until = DT_NOBEGIN;
	return free_tree;
}

// Drops the trees of windows before `window` (time moved on).  Caller holds the lock exclusively.
void
AdvanceHorizon(Slot *slot, int32 window)
{
	if (window <= slot->horizon)
		return;
	for (auto &tree : slot->windows)
		if (tree.used && tree.window < window) {
			FreeTree(slot, tree.root);
			FreeTree(slot, tree.expired);
			tree = {};
		}
	slot->horizon = window;
}

// Removes the entry ref from its tree and the hash; keeps its block.  Caller holds the lock.
void
Unlink(Slot *slot, uint32 ref)
{
	Entry *e = E(ref);
	WindowTree *tree = &slot->windows[TreeIndexOf(e)];
	if (tree->used) {
		if (e->flags & kExpiredSet)
			tree->expired = TreeRemove<ByExpiry>(tree->expired, ref);
		else
			tree->root = TreeRemove<ByKey>(tree->root, ref);
	}
	HashUnlink(ref);
	slot->entries--;
	slot->bytes -= UnitsOf(ref) * shmem::kUnit;
}

// Fills block ref from p for tree of slot (links cleared, not linked anywhere).
void
Fill(Slot *slot, int slot_no, WindowTree *tree, uint32 ref, const Prepared &p)
{
	auto *e = E(ref);
	bool timed = slot->def.expiry_attno != InvalidAttrNumber;
	e->hash_next = 0;
	e->slot = static_cast<uint8>(slot_no);
	e->sortkey_len = static_cast<uint8>(p.sortkey_len);
	e->member_len = static_cast<uint8>(p.member_len);
	e->flags = static_cast<uint8>((timed ? kTimed : 0) | ((tree - slot->windows) << kTreeShift));
	if (timed)
		memcpy(reinterpret_cast<char *>(e) + kEntryHeader, &p.expiry, sizeof(p.expiry));
	memcpy(DataOf(e), p.data, p.sortkey_len + p.member_len);
	e->priority = murmurhash32(ref);
	ClearLinks(ref);
	slot->entries++;
	slot->bytes += UnitsOf(ref) * shmem::kUnit;
}

// Links block ref (of p's size, filled from p) into slot.  False (block unused) if p's window is not
// kept.
bool
Link(Slot *slot, int slot_no, uint32 ref, const Prepared &p)
{
	WindowTree *tree = TreeFor(slot, p.window);
	if (tree == nullptr)
		return false;
	Fill(slot, slot_no, tree, ref, p);
	tree->root = TreeInsert<ByKey>(tree->root, ref);
	HashLink(ref, p.hash);
	return true;
}

// Marks the end of a build, successful or not, and wakes the waiters.
void
FinishBuild(int slot_no, bool ok, int32 horizon)
{
	Slot *slot = &shared->slots[slot_no];
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	if (ok) {
		slot->state = SlotState::Ready;
		slot->horizon = Max(slot->horizon, horizon);
	} else {
		EmptySlot(slot);
		slot->state = SlotState::Free;
		slot->indexrelid = InvalidOid;
		slot->generation = ++shared->generation_counter;
	}
	slot->builder_pid = 0;
	LWLockRelease(Lock());
	ConditionVariableBroadcast(&slot->build_done);
}

bool
SlotMatches(const Slot &slot, Relation index, uint32 def_hash)
{
	return slot.dboid == MyDatabaseId && slot.indexrelid == RelationGetRelid(index) &&
	       slot.relfilenode == index->rd_node.relNode && slot.def_hash == def_hash;
}

} // namespace

void
RegisterStore()
{
	area = shmem::Register({"nodedb_kv sorted indexes", AreaSize, AreaInit, 1, false});
}

uint32
MemberHash(const char *member, int len)
{
	return hash_bytes(reinterpret_cast<const unsigned char *>(member), len);
}

void
PrepareEntry(Prepared *p, const Buf &sortkey, const Buf &member, int32 window, bool remove_only, TimestampTz expiry)
{
	if (!remove_only && (sortkey.len > kMaxPart || member.len > kMaxPart))
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("kv_sorted entry too large: sort key of %d bytes, member of %d bytes, at most %d each",
		                       sortkey.len, member.len, kMaxPart),
		                errdetail("The sort key holds the encoded sort values and the member's encoding; a text "
		                          "member takes its length plus 2 there.")));
	p->remove_only = remove_only;
	p->window = window;
	p->sortkey_len = static_cast<uint16>(remove_only ? 0 : sortkey.len);
	p->member_len = static_cast<uint16>(member.len);
	p->hash = MemberHash(member.data, member.len);
	p->expiry = expiry;
	p->data = static_cast<char *>(palloc(p->sortkey_len + member.len));
	if (!remove_only)
		memcpy(p->data, sortkey.data, sortkey.len);
	memcpy(p->data + p->sortkey_len, member.data, member.len);
}

SlotRef
Attach(Relation index, IndexDef *def)
{
	CachedIndexDef(index, def);
	uint32 def_hash = IndexDefHash(*def);
	int32 current = 0;
	bool in_window = CurrentWindow(*def, &current);
	// Fast path: a ready, current structure (the common case) under the shared lock.
	LWLockAcquire(Lock(), LW_SHARED);
	for (int i = 0; i < kMaxIndexes; i++) {
		Slot &slot = shared->slots[i];
		if (slot.state == SlotState::Ready && SlotMatches(slot, index, def_hash) &&
		    (!in_window || def->window == WindowKind::None || current == slot.horizon) &&
		    (!in_window || current < slot.future_cap)) {
			SlotRef ref = {i, slot.generation};
			LWLockRelease(Lock());
			return ref;
		}
	}
	LWLockRelease(Lock());
	Relation heap = relation_open(index->rd_index->indrelid, AccessShareLock);
	for (;;) {
		CHECK_FOR_INTERRUPTS();
		LWLockAcquire(Lock(), LW_EXCLUSIVE);
		int found = -1;
		int free_slot = -1;
		for (int i = 0; i < kMaxIndexes; i++) {
			Slot &slot = shared->slots[i];
			if (slot.state != SlotState::Free && slot.dboid == MyDatabaseId &&
			    slot.indexrelid == RelationGetRelid(index))
				found = i;
			else if (slot.state == SlotState::Free && free_slot < 0)
				free_slot = i;
		}
		if (found >= 0 && shared->slots[found].state == SlotState::Building) {
			Slot *slot = &shared->slots[found];
			LWLockRelease(Lock());
			ConditionVariablePrepareToSleep(&slot->build_done);
			ConditionVariableSleep(&slot->build_done, PG_WAIT_EXTENSION);
			ConditionVariableCancelSleep();
			continue;
		}
		if (found >= 0) {
			Slot *slot = &shared->slots[found];
			bool stale = !SlotMatches(*slot, index, def_hash) ||
			             (in_window && (current < slot->horizon || current >= slot->future_cap));
			if (!stale) {
				if (in_window)
					AdvanceHorizon(slot, current);
				SlotRef ref = {found, slot->generation};
				LWLockRelease(Lock());
				relation_close(heap, AccessShareLock);
				return ref;
			}
			EmptySlot(slot);
			free_slot = found;
		}
		if (free_slot < 0) {
			// Slots of indexes that no longer exist (dropped by a rolled-back subtransaction's
			// CREATE INDEX, say) are reclaimed before giving up.
			for (int i = 0; i < kMaxIndexes && free_slot < 0; i++) {
				Slot &slot = shared->slots[i];
				if (slot.state == SlotState::Ready && slot.dboid == MyDatabaseId &&
				    !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(slot.indexrelid))) {
					EmptySlot(&slot);
					slot.state = SlotState::Free;
					slot.indexrelid = InvalidOid;
					slot.generation = ++shared->generation_counter;
					free_slot = i;
				}
			}
		}
		if (free_slot < 0) {
			LWLockRelease(Lock());
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
			                errmsg("too many kv_sorted indexes in use (at most %d)", kMaxIndexes),
			                errhint("Drop unused kv_sorted indexes.")));
		}
		// Become the builder.
		Slot *slot = &shared->slots[free_slot];
		slot->dboid = MyDatabaseId;
		slot->indexrelid = RelationGetRelid(index);
		slot->heaprelid = RelationGetRelid(heap);
		slot->relfilenode = index->rd_node.relNode;
		slot->def_hash = def_hash;
		slot->def = *def;
		slot->state = SlotState::Building;
		slot->builder_pid = MyProcPid;
		slot->generation = ++shared->generation_counter;
		slot->entries = 0;
		slot->bytes = 0;
		slot->applied_lsn = InvalidXLogRecPtr;
		slot->horizon = in_window ? current : PG_INT32_MIN;
		slot->future_cap = PG_INT32_MAX;
		for (auto &tree : slot->windows)
			tree = {};
		LWLockRelease(Lock());

		// The slot is a resource PostgreSQL cannot release for us: a failed build must empty it.
		int32 horizon = slot->horizon;
		PG_TRY();
		{
			LoadFromTable(index, heap, *def, free_slot, horizon);
		}
		PG_CATCH();
		{
			FinishBuild(free_slot, false, 0);
			PG_RE_THROW();
		}
		PG_END_TRY();
		FinishBuild(free_slot, true, horizon);
		if (index->rd_createSubid != InvalidSubTransactionId && built_new_count < kMaxBuiltNew)
			built_new[built_new_count++] = RelationGetRelid(index);
	}
}

namespace {

// Builds the treap of refs[0..n) (in key order, links cleared) in O(n): the Cartesian tree of their
// priorities, kept on a stack of the rightmost path (Gabow, Bentley & Tarjan 1984).  With the depth
// priorities of BulkLink that is the balanced tree.  A node's subtree
// is complete when it leaves the stack, so its size and smallest expiry are computed then.
uint32
BuildTreap(const uint32 *refs, int64 n, uint32 *stack)
{
	int64 depth = 0;
	for (int64 i = 0; i < n; i++) {
		uint32 node = refs[i];
		uint32 last = 0;
		while (depth > 0 && Priority(stack[depth - 1]) < Priority(node)) {
			last = stack[--depth];
			Update(last);
		}
		E(node)->left = last;
		if (depth > 0)
			E(stack[depth - 1])->right = node;
		stack[depth++] = node;
	}
	while (depth > 1)
		Update(stack[--depth]);
	if (depth == 0)
		return 0;
	Update(stack[0]);
	return stack[0];
}

} // namespace

void
BulkLink(int slot_no, const Prepared *entries, const uint32 *order, int64 count)
{
	if (count == 0)
		return;
	Slot *slot = &shared->slots[slot_no];
	bool timed = slot->def.expiry_attno != InvalidAttrNumber;
	shmem::Demand demand;
	shmem::DemandClear(&demand);
	for (int64 i = 0; i < count; i++)
		demand.blocks[UnitsOf(timed, entries[i].sortkey_len, entries[i].member_len)]++;
	if (!shmem::PoolReserve(shared->pool, demand))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("kv_sorted memory exhausted while building an index"),
		                errdetail("The index needs %lld entries.", static_cast<long long>(count)),
		                errhint("Raise nodedb_kv.sorted_memory (needs a restart) or drop kv_sorted indexes.")));
	// The blocks are carved from the untouched end of the pool: one call maps them all instead of a
	// page fault per 4 kB (free-listed blocks were touched before; the range stops at the pool's end).
	uint64 need = 0;
	for (int k = 1; k <= shmem::kMaxClasses; k++)
		need += demand.blocks[k] * k * shmem::kUnit;
	uint64 carved = shmem::PoolCarvedBytes(shared->pool);
	uint64 total = shmem::PoolStats(shared->pool).bytes_total;
	shmem::Prefault(shared->base + carved, Min(need, total - Min(carved, total)), true);
	uint32 *refs = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * count, MCXT_ALLOC_HUGE));
	shmem::Prefault(refs, sizeof(uint32) * count, true);
	// stack: first a window's layout (positions in key order, in the order their blocks are filled),
	// then BuildTreap's stack.
	uint32 *stack = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * count, MCXT_ALLOC_HUGE));
	uint8 *depth = static_cast<uint8 *>(palloc_extended(count, MCXT_ALLOC_HUGE));
	// The entries are read in layout order, i.e. in no order in memory, and each one's bucket is a
	// random word of the member hash: both are fetched a few entries ahead.
	constexpr int64 kAhead = 8;
	uint32 mask = shared->nbuckets - 1;
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	for (int64 a = 0; a < count;) {
		int64 b = a;
		while (b < count && entries[order[b]].window == entries[order[a]].window)
			b++;
		WindowTree *tree = TreeFor(slot, entries[order[a]].window);
		if (tree == nullptr || tree->root != 0) {
			a = b; // a window not kept (or, impossibly, a tree already filled): its blocks stay reserved
			continue;
		}
		// The window's entries are the balanced tree over their key positions, their blocks filled in
		// van Emde Boas order of it (sortedindex_layout.hpp): carved blocks are consecutive, so a
		// descent reads a few runs of memory instead of one page per level.
		uint32 n = static_cast<uint32>(b - a);
		const uint32 *layout = stack;
		VebOrder(n, stack, depth);
		int height = BalancedHeight(n);
		for (uint32 j = 0; j < n; j++) {
			if (j + kAhead < n) {
				const Prepared &ahead = entries[order[a + layout[j + kAhead]]];
				__builtin_prefetch(ahead.data);
				__builtin_prefetch(&shared->buckets[ahead.hash & mask], 1);
				if (j + 2 * kAhead < n)
					__builtin_prefetch(&entries[order[a + layout[j + 2 * kAhead]]]);
			}
			uint32 k = layout[j];
			const Prepared &p = entries[order[a + k]];
			int units = UnitsOf(timed, p.sortkey_len, p.member_len);
			uint32 ref = shmem::PoolTakeReserved(shared->pool, units);
			demand.blocks[units]--;
			Fill(slot, slot_no, tree, ref, p);
			E(ref)->priority = DepthPriority(depth[k], height, ref);
			HashLink(ref, p.hash);
			refs[k] = ref;
		}
		tree->root = BuildTreap(refs, n, stack);
		a = b;
	}
	LWLockRelease(Lock());
	for (int k = 1; k <= shmem::kMaxClasses; k++)
		if (demand.blocks[k] != 0)
			shmem::PoolUnreserve(shared->pool, k, demand.blocks[k]);
	pfree(refs);
	pfree(stack);
	pfree(depth);
}

void
EndTransaction(bool committed)
{
	if (!committed)
		for (int i = 0; i < built_new_count; i++)
			ForgetIndex(MyDatabaseId, built_new[i]);
	built_new_count = 0;
}

void
ForgetIndex(Oid dboid, Oid indexrelid)
{
	if (shared == nullptr)
		return;
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	for (int i = 0; i < kMaxIndexes; i++) {
		Slot &slot = shared->slots[i];
		if (slot.state == SlotState::Ready && slot.dboid == dboid && slot.indexrelid == indexrelid) {
			EmptySlot(&slot);
			slot.state = SlotState::Free;
			slot.indexrelid = InvalidOid;
			slot.generation = ++shared->generation_counter;
		}
	}
	LWLockRelease(Lock());
}

void
ForgetDatabase(Oid dboid)
{
	if (shared == nullptr)
		return;
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	for (auto &slot : shared->slots) {
		if (slot.state == SlotState::Ready && slot.dboid == dboid) {
			EmptySlot(&slot);
			slot.state = SlotState::Free;
			slot.indexrelid = InvalidOid;
			slot.generation = ++shared->generation_counter;
		}
	}
	LWLockRelease(Lock());
}

void
InvalidateSlot(SlotRef ref)
{
	Slot *slot = &shared->slots[ref.slot];
	if (slot->state != SlotState::Ready || slot->generation != ref.generation)
		return;
	EmptySlot(slot);
	slot->state = SlotState::Free;
	slot->indexrelid = InvalidOid;
	slot->generation = ++shared->generation_counter;
}

void
ClearHeap(Oid heaprelid)
{
	for (int i = 0; i < kMaxIndexes; i++) {
		Slot &slot = shared->slots[i];
		if (slot.state == SlotState::Ready && slot.dboid == MyDatabaseId && slot.heaprelid == heaprelid) {
			EmptySlot(&slot);
			slot.state = SlotState::Free;
			slot.indexrelid = InvalidOid;
			slot.generation = ++shared->generation_counter;
		}
	}
}

namespace {

// The slot of ref if it is still what the caller attached to.  Caller holds the lock.
Slot *
Check(SlotRef ref)
{
	Slot *slot = &shared->slots[ref.slot];
	if (slot->state != SlotState::Ready || slot->generation != ref.generation)
		return nullptr;
	return slot;
}

// Takes the lock for a read of window at nodedb_kv's "now" and returns the slot of ref (nullptr if it
// changed) and the window's tree (nullptr if none), reconciled with "now".  The lock is shared unless
// the tree had to be reconciled (then exclusive).  The caller releases the lock in every case.
Slot *
LockForRead(SlotRef ref, int32 window, WindowTree **tree)
{
	TimestampTz now = ttl::Now();
	LWLockAcquire(Lock(), LW_SHARED);
	Slot *slot = Check(ref);
	*tree = slot ? FindTree(slot, window) : nullptr;
	if (*tree == nullptr || !NeedsReconcile(*tree, now))
		return slot;
	LWLockRelease(Lock());
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	slot = Check(ref);
	*tree = slot ? FindTree(slot, window) : nullptr;
	if (*tree != nullptr) {
		Reconcile(*tree, now);
		slot->changes++;
	}
	return slot;
}

} // namespace

bool
QueryCount(SlotRef ref, int32 window, int64 *count)
{
	WindowTree *tree;
	Slot *slot = LockForRead(ref, window, &tree);
	if (slot != nullptr)
		*count = tree ? SizeOf(tree->root) : 0;
	LWLockRelease(Lock());
	return slot != nullptr;
}

bool
QueryRank(SlotRef ref, int32 window, const char *member, int member_len, uint32 hash, bool *found, int64 *rank)
{
	WindowTree *tree;
	Slot *slot = LockForRead(ref, window, &tree);
	*found = false;
	if (slot != nullptr && tree != nullptr) {
		uint32 e = HashFind(ref.slot, member, member_len, hash);
		if (e != 0 && TreeIndexOf(E(e)) == tree - slot->windows && !(E(e)->flags & kExpiredSet)) {
			*found = true;
			*rank = CountBelow(tree->root, DataOf(E(e)), E(e)->sortkey_len, false) + 1;
		}
	}
	LWLockRelease(Lock());
	return slot != nullptr;
}

bool
QueryStamp(SlotRef ref, uint64 *stamp)
{
	LWLockAcquire(Lock(), LW_SHARED);
	Slot *slot = Check(ref);
	if (slot != nullptr)
		*stamp = slot->changes;
	LWLockRelease(Lock());
	return slot != nullptr;
}

bool
QueryCountBelow(SlotRef ref, int32 window, const char *key, int key_len, int64 *count)
{
	WindowTree *tree;
	Slot *slot = LockForRead(ref, window, &tree);
	*count = 0;
	if (tree != nullptr)
		*count = CountBelow(tree->root, key, key_len, false);
	LWLockRelease(Lock());
	return slot != nullptr;
}

namespace {

// Emits ranks [first, first + limit) of tree.  Caller holds the lock.
void
Walk(WindowTree *tree, int64 first, int64 limit, EmitFn emit, void *arg)
{
	if (tree != nullptr && limit > 0 && first >= 1 && first <= SizeOf(tree->root)) {
		// Descend to the first-th entry, stacking the nodes whose left subtree we entered; then walk
		// in order.  Stack depth = tree depth (O(log N) expected).
		int cap = 64;
		int depth = 0;
		uint32 *stack = static_cast<uint32 *>(palloc(sizeof(uint32) * cap));
		uint32 t = tree->root;
		int64 k = first - 1; // 0-based
		while (t != 0) {
			int64 left = SizeOf(E(t)->left);
			if (k < left) {
				if (depth == cap) {
					cap *= 2;
					stack = static_cast<uint32 *>(repalloc(stack, sizeof(uint32) * cap));
				}
				stack[depth++] = t;
				t = E(t)->left;
			} else if (k == left) {
				break;
			} else {
				k -= left + 1;
				t = E(t)->right;
			}
		}
		int64 rank = first;
		while (t != 0 && rank < first + limit) {
			Entry *e = E(t);
			emit(arg, rank++, DataOf(e), e->sortkey_len, DataOf(e) + e->sortkey_len, e->member_len);
			// In-order successor: leftmost of the right subtree, else the stacked ancestor.
			if (e->right != 0) {
				t = e->right;
				while (E(t)->left != 0) {
					if (depth == cap) {
						cap *= 2;
						stack = static_cast<uint32 *>(repalloc(stack, sizeof(uint32) * cap));
					}
					stack[depth++] = t;
					t = E(t)->left;
				}
			} else
				t = depth > 0 ? stack[--depth] : 0;
		}
		pfree(stack);
	}
}

} // namespace

bool
QueryFrom(SlotRef ref, int32 window, int64 first, int64 limit, EmitFn emit, void *arg)
{
	WindowTree *tree;
	Slot *slot = LockForRead(ref, window, &tree);
	if (slot != nullptr)
		Walk(tree, first, limit, emit, arg);
	LWLockRelease(Lock());
	return slot != nullptr;
}

bool
QueryRange(SlotRef ref, int32 window, const char *start, int start_len, const char *end, int end_len, EmitFn emit,
           void *arg)
{
	WindowTree *tree;
	Slot *slot = LockForRead(ref, window, &tree);
	if (tree != nullptr) {
		int64 first = CountBelow(tree->root, start, start_len, false) + 1;
		int64 last = CountBelow(tree->root, end, end_len, true);
		Walk(tree, first, last - first + 1, emit, arg);
	}
	LWLockRelease(Lock());
	return slot != nullptr;
}

int
ReadySlotsOf(Oid heaprelid, SlotRef *refs, IndexDef *defs)
{
	int n = 0;
	LWLockAcquire(Lock(), LW_SHARED);
	for (int i = 0; i < kMaxIndexes; i++) {
		Slot &slot = shared->slots[i];
		if (slot.state == SlotState::Ready && slot.dboid == MyDatabaseId && slot.heaprelid == heaprelid) {
			refs[n] = {i, slot.generation};
			defs[n] = slot.def;
			n++;
		}
	}
	LWLockRelease(Lock());
	return n;
}

void
DemandAdd(EntryDemand *demand, const IndexDef &def, const Prepared &p)
{
	if (!p.remove_only)
		demand->blocks[UnitsOf(def.expiry_attno != InvalidAttrNumber, p.sortkey_len, p.member_len)]++;
}

void
ReserveEntries(const EntryDemand &demand, const char *table_name)
{
	shmem::Demand d;
	shmem::DemandClear(&d);
	uint64 n = 0;
	for (int k = 1; k <= kMaxEntryUnits; k++) {
		d.blocks[k] = demand.blocks[k];
		n += demand.blocks[k];
	}
	if (n == 0)
		return;
	if (!shmem::PoolReserve(shared->pool, d))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
		                errmsg("kv_sorted memory exhausted: cannot add %llu entries for table \"%s\"",
		                       static_cast<unsigned long long>(n), table_name),
		                errhint("Raise nodedb_kv.sorted_memory (needs a restart) or drop kv_sorted indexes.")));
}

void
UnreserveEntries(EntryDemand *demand)
{
	for (int k = 1; k <= kMaxEntryUnits; k++)
		if (demand->blocks[k] != 0) {
			shmem::PoolUnreserve(shared->pool, k, demand->blocks[k]);
			demand->blocks[k] = 0;
		}
}

void
LockForApply()
{
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
}

void
UnlockAfterApply()
{
	LWLockRelease(Lock());
}

void
ApplyPrepared(SlotRef ref, const Prepared *changes, int count, XLogRecPtr lsn, EntryDemand *reserved)
{
	Slot *slot = Check(ref);
	if (slot == nullptr)
		return;
	bool timed = slot->def.expiry_attno != InvalidAttrNumber;
	for (int i = 0; i < count; i++) {
		const Prepared &p = changes[i];
		uint32 old = HashFind(ref.slot, p.data + p.sortkey_len, p.member_len, p.hash);
		int old_units = 0;
		if (old != 0) {
			Unlink(slot, old);
			old_units = UnitsOf(old);
		}
		int units = p.remove_only ? 0 : UnitsOf(timed, p.sortkey_len, p.member_len);
		uint32 block = 0;
		if (old != 0 && old_units == units)
			block = old; // the same size: reuse the block, the reservation goes back
		else if (old != 0)
			shmem::PoolFree(shared->pool, old, old_units);
		if (p.remove_only)
			continue;
		if (block == 0) {
			Assert(reserved->blocks[units] > 0);
			block = shmem::PoolTakeReserved(shared->pool, units);
			reserved->blocks[units]--;
		}
		if (!Link(slot, ref.slot, block, p))
			shmem::PoolFree(shared->pool, block, units);
	}
	slot->applied_lsn = Max(slot->applied_lsn, lsn);
	slot->changes++;
}

int
CollectStats(SlotStats *stats, uint64 *pool_used, uint64 *pool_total)
{
	int n = 0;
	LWLockAcquire(Lock(), LW_SHARED);
	for (auto &slot : shared->slots) {
		if (slot.state == SlotState::Free || slot.dboid != MyDatabaseId)
			continue;
		int windows = 0;
		for (auto &tree : slot.windows)
			windows += tree.used;
		stats[n++] = {slot.indexrelid, slot.state,      slot.entries, slot.bytes + slot.entries * sizeof(uint32),
		              windows,         slot.applied_lsn};
	}
	LWLockRelease(Lock());
	shmem::PoolUsage usage = shmem::PoolStats(shared->pool);
	*pool_used = usage.bytes_used;
	*pool_total = usage.bytes_total;
	return n;
}

} // namespace nodedb_kv::sortedindex
