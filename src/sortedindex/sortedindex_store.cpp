// The shared-memory structure of kv_sorted indexes: slots, the entry pool, the member hash and the
// per-window treaps with subtree sizes (Seidel & Aragon, "Randomized search trees", 1996).  Design,
// lock and crash story: README.md beside this file.
//
// Entries are 128-byte pool blocks addressed by 32-bit block numbers (0 = none).  A treap node keeps
// its subtree size, so rank and k-th are one descent, and its subtree's smallest expiry, so the
// entries whose row has expired are found in O(log N) each.  A node's priority is a hash of its block
// number (murmurhash32 is a bijection: distinct, and independent of the keys).  Everything that links
// or unlinks runs under the area's LWLock held exclusively and cannot fail (it runs in COMMIT
// callbacks); allocation happens before, through pool reservations.
//
// Expiry: a read at instant "now" first moves the entries with expiry <= now out of the window's tree
// into the window's expired set (a treap ordered by (expiry, block) through the same links), and, if
// the clock went back (test clock), moves those with expiry > now back.  So every read counts exactly
// the rows live at its instant, in O(log N) per moved entry; the entries stay in the member hash (and
// their blocks allocated) until the expiry worker's delete or a takeover reaches the index.
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
#include "nodedb_kv/shmem/shmem_pool.hpp"
#include "nodedb_kv/sortedindex/sortedindex_load.hpp"
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::sortedindex {
namespace {

struct Entry {
	TimestampTz expiry;     // the row's expiry, DT_NOEND when none
	TimestampTz min_expiry; // smallest expiry in this subtree
	uint32 left;
	uint32 right;
	uint32 hash_next;
	uint32 size; // entries in this subtree
	int32 window;
	uint8 slot;
	uint8 sortkey_len;
	uint8 member_len;
	uint8 flags;                      // kExpiredSet: in its window's expired set, not in its tree
	char data[FLEXIBLE_ARRAY_MEMBER]; // sort key, then member bytes
};
static_assert(offsetof(Entry, data) == kEntryHeader, "entry header size");
static_assert(kMaxIndexes <= 256 && kMaxEntryData <= 255, "slot and lengths fit a byte");
constexpr uint8 kExpiredSet = 1;

struct WindowTree {
	bool used;
	int32 window;
	uint32 root;
	uint32 expired;            // entries whose expiry passed, ordered by (expiry, block)
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
	char *blocks; // block 1 is at blocks
	size_t block_size;
};

Shared *shared = nullptr;
shmem::AreaId area = -1;

// Indexes created in the current transaction whose structure this backend built: freed if the
// transaction aborts (a rolled-back CREATE INDEX leaves nothing behind).
constexpr int kMaxBuiltNew = 16;
Oid built_new[kMaxBuiltNew];
int built_new_count = 0;

uint64
BlockCount()
{
	return static_cast<uint64>(guc::sorted_memory_kb) * 1024 / (kBlockSize + sizeof(uint32));
}

uint32
BucketCount()
{
	uint32 n = 1;
	while (n < BlockCount() && n < (1u << 31))
		n <<= 1;
	return n;
}

size_t
AreaSize()
{
	size_t size = MAXALIGN(sizeof(Shared));
	size = add_size(size, mul_size(BucketCount(), sizeof(uint32)));
	size = add_size(size, shmem::PoolSize(kBlockSize, BlockCount()));
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
	size_t pool_size = shmem::PoolSize(kBlockSize, BlockCount());
	shared->pool = shmem::PoolInit(p, pool_size, kBlockSize);
	shmem::PoolLayout(shared->pool, &shared->blocks, &shared->block_size);
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
	return reinterpret_cast<Entry *>(shared->blocks + (ref - 1) * shared->block_size);
}

inline uint32
RefOf(void *block)
{
	return static_cast<uint32>((static_cast<char *>(block) - shared->blocks) / shared->block_size) + 1;
}

inline uint32
SizeOf(uint32 ref)
{
	return ref ? E(ref)->size : 0;
}

inline TimestampTz
MinExpiryOf(uint32 ref)
{
	return ref ? E(ref)->min_expiry : DT_NOEND;
}

inline uint32
Priority(uint32 ref)
{
	return murmurhash32(ref);
}

inline void
Update(uint32 ref)
{
	Entry *e = E(ref);
	e->size = 1 + SizeOf(e->left) + SizeOf(e->right);
	e->min_expiry = Min(e->expiry, Min(MinExpiryOf(e->left), MinExpiryOf(e->right)));
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
		return CompareKeys(E(a)->data, E(a)->sortkey_len, E(b)->data, E(b)->sortkey_len);
	}
};

// The order of a window's expired set: expiry, then block.
struct ByExpiry {
	int
	operator()(uint32 a, uint32 b) const
	{
		if (E(a)->expiry != E(b)->expiry)
			return E(a)->expiry < E(b)->expiry ? -1 : 1;
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
	e->min_expiry = e->expiry;
}

// Moves the entries of tree t with expiry <= now into *expired; returns what is left of t.  Visits
// only subtrees holding such an entry (their smallest expiry says so).
uint32
MoveExpired(uint32 t, TimestampTz now, uint32 *expired)
{
	if (t == 0 || E(t)->min_expiry > now)
		return t;
	Entry *e = E(t);
	e->left = MoveExpired(e->left, now, expired);
	e->right = MoveExpired(e->right, now, expired);
	if (e->expiry > now) {
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
	if (E(t)->expiry <= now) {
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
	return (tree->root != 0 && E(tree->root)->min_expiry <= now) || (tree->expired != 0 && now < tree->expired_until);
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
		int c = memcmp(e->data, prefix, Min(prefix_len, e->sortkey_len));
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
	uint32 hash = MemberHash(e->data + e->sortkey_len, e->member_len);
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
		if (e->slot == slot && e->member_len == len && memcmp(e->data + e->sortkey_len, member, len) == 0)
			return ref;
	}
	return 0;
}

// Frees every entry of a tree or expired set (iteratively, rotating left children up).
uint64
FreeTree(uint32 root, bool unlink = true)
{
	uint64 freed = 0;
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
		shmem::PoolFree(shared->pool, e);
		freed++;
		root = next;
	}
	return freed;
}

// Empties a slot's trees.  A big slot leaves the member hash in one sequential sweep of the buckets
// instead of one chain walk (a cache miss or two) per entry.  Caller holds the lock exclusively.
void
EmptySlot(Slot *slot)
{
	bool sweep = slot->entries > shared->nbuckets / 16;
	if (sweep) {
		uint16 slot_no = static_cast<uint16>(slot - shared->slots);
		for (uint32 b = 0; b < shared->nbuckets; b++) {
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
			FreeTree(tree.root, !sweep);
			FreeTree(tree.expired, !sweep);
		}
		tree = {};
	}
	slot->entries = 0;
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
		slot->entries -= FreeTree(furthest->root) + FreeTree(furthest->expired);
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
			slot->entries -= FreeTree(tree.root) + FreeTree(tree.expired);
			tree = {};
		}
	slot->horizon = window;
}

// Removes the entry ref from its tree and the hash; keeps its block.  Caller holds the lock.
void
Unlink(Slot *slot, uint32 ref)
{
	Entry *e = E(ref);
	if (WindowTree *tree = FindTree(slot, e->window)) {
		if (e->flags & kExpiredSet)
			tree->expired = TreeRemove<ByExpiry>(tree->expired, ref);
		else
			tree->root = TreeRemove<ByKey>(tree->root, ref);
	}
	HashUnlink(ref);
	slot->entries--;
}

// Links block (filled from p) into slot.  False (block unused) if p's window is not kept.
bool
Link(Slot *slot, int slot_no, void *block, const Prepared &p)
{
	WindowTree *tree = TreeFor(slot, p.window);
	if (tree == nullptr)
		return false;
	auto *e = static_cast<Entry *>(block);
	e->hash_next = 0;
	e->expiry = p.expiry;
	e->window = p.window;
	e->slot = static_cast<uint8>(slot_no);
	e->sortkey_len = static_cast<uint8>(p.sortkey_len);
	e->member_len = static_cast<uint8>(p.member_len);
	e->flags = 0;
	memcpy(e->data, p.data, p.sortkey_len + p.member_len);
	uint32 ref = RefOf(block);
	ClearLinks(ref);
	tree->root = TreeInsert<ByKey>(tree->root, ref);
	HashLink(ref, p.hash);
	slot->entries++;
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
	if (!remove_only && sortkey.len + member.len > kMaxEntryData)
		ereport(ERROR,
		        (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		         errmsg("kv_sorted entry too large: %d bytes, at most %d", sortkey.len + member.len, kMaxEntryData),
		         errdetail("The entry holds the encoded sort values and the member (key).")));
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
// priorities, kept on a stack of the rightmost path (Gabow, Bentley & Tarjan 1984).  A node's subtree
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
BulkLink(int slot_no, const Prepared *entries, int64 count)
{
	if (count == 0)
		return;
	if (!shmem::PoolReserve(shared->pool, count))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("kv_sorted memory exhausted while building an index"),
		                errdetail("The index needs %lld entries.", static_cast<long long>(count)),
		                errhint("Raise nodedb_kv.sorted_memory (needs a restart) or drop kv_sorted indexes.")));
	uint32 *refs = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * count, MCXT_ALLOC_HUGE));
	uint32 *stack = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * count, MCXT_ALLOC_HUGE));
	Slot *slot = &shared->slots[slot_no];
	uint64 unused = 0;
	LWLockAcquire(Lock(), LW_EXCLUSIVE);
	for (int64 a = 0; a < count;) {
		int64 b = a;
		while (b < count && entries[b].window == entries[a].window)
			b++;
		WindowTree *tree = TreeFor(slot, entries[a].window);
		if (tree == nullptr || tree->root != 0) {
			unused += b - a; // a window not kept (or, impossibly, a tree already filled)
			a = b;
			continue;
		}
		for (int64 i = a; i < b; i++) {
			const Prepared &p = entries[i];
			auto *e = static_cast<Entry *>(shmem::PoolTakeReserved(shared->pool));
			e->expiry = p.expiry;
			e->window = p.window;
			e->slot = static_cast<uint8>(slot_no);
			e->sortkey_len = static_cast<uint8>(p.sortkey_len);
			e->member_len = static_cast<uint8>(p.member_len);
			e->flags = 0;
			memcpy(e->data, p.data, p.sortkey_len + p.member_len);
			refs[i - a] = RefOf(e);
			ClearLinks(refs[i - a]);
			HashLink(refs[i - a], p.hash);
		}
		tree->root = BuildTreap(refs, b - a, stack);
		slot->entries += b - a;
		a = b;
	}
	LWLockRelease(Lock());
	shmem::PoolUnreserve(shared->pool, unused);
	pfree(refs);
	pfree(stack);
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
		if (e != 0 && E(e)->window == window && !(E(e)->flags & kExpiredSet)) {
			*found = true;
			*rank = CountBelow(tree->root, E(e)->data, E(e)->sortkey_len, false) + 1;
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
			emit(arg, rank++, e->data, e->sortkey_len, e->data + e->sortkey_len, e->member_len);
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
ReserveBlocks(uint64 n, const char *index_name)
{
	if (n == 0)
		return;
	if (!shmem::PoolReserve(shared->pool, n))
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
		                errmsg("kv_sorted memory exhausted: cannot add %llu entries for table \"%s\"",
		                       static_cast<unsigned long long>(n), index_name),
		                errhint("Raise nodedb_kv.sorted_memory (needs a restart) or drop kv_sorted indexes.")));
}

void
UnreserveBlocks(uint64 n)
{
	if (n > 0)
		shmem::PoolUnreserve(shared->pool, n);
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

uint64
ApplyPrepared(SlotRef ref, const Prepared *changes, int count, XLogRecPtr lsn)
{
	Slot *slot = Check(ref);
	if (slot == nullptr)
		return 0;
	uint64 taken = 0;
	for (int i = 0; i < count; i++) {
		const Prepared &p = changes[i];
		uint32 old = HashFind(ref.slot, p.data + p.sortkey_len, p.member_len, p.hash);
		void *block = nullptr;
		if (old != 0) {
			Unlink(slot, old);
			block = E(old);
		}
		if (p.remove_only) {
			if (block != nullptr)
				shmem::PoolFree(shared->pool, block);
			continue;
		}
		if (block == nullptr) {
			block = shmem::PoolTakeReserved(shared->pool);
			taken++;
		}
		if (!Link(slot, ref.slot, block, p))
			shmem::PoolFree(shared->pool, block);
	}
	slot->applied_lsn = Max(slot->applied_lsn, lsn);
	slot->changes++;
	return taken;
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
		stats[n++] = {slot.indexrelid, slot.state, slot.entries, slot.entries * kBlockSize, windows, slot.applied_lsn};
	}
	LWLockRelease(Lock());
	shmem::PoolUsage usage = shmem::PoolStats(shared->pool);
	*pool_used = usage.blocks_used * usage.block_size;
	*pool_total = usage.blocks_total * usage.block_size;
	return n;
}

} // namespace nodedb_kv::sortedindex
