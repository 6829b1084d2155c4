// kv_sorted as a consumer of change capture: which columns its tables' writes must carry, and the
// commit-time maintenance of the shared structures (PG15-PITFALLS §7).
//  - PRE_COMMIT: for every change of a table with a ready structure, encode the entry (may ERROR:
//    collation functions, entry size) and reserve one pool block per entry that may be new
//    (ERROR 53200 when memory is exhausted: the writing transaction fails, the index stays complete).
//  - COMMIT: link/unlink the prepared entries under the exclusive lock; nothing can fail there.
//  - ABORT: give the reservations back.
// A structure that is not ready (never used since start, or being rebuilt) is skipped: the build
// reads the table after this transaction's commit (it waits for writers; see sortedindex_load.cpp).
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/sortedindex/sortedindex_capture.hpp"
#include "nodedb_kv/sortedindex/sortedindex_options.hpp"
#include "nodedb_kv/sortedindex/sortedindex_order.hpp"
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"

namespace nodedb_kv::sortedindex {
namespace {

// Work for one ready structure, prepared at PRE_COMMIT.
struct PendingSlot {
	SlotRef ref;
	Oid heaprelid;
	bool invalidate; // a change lacked a column (the index is newer than the change): rebuild instead
	int count;
	int capacity;
	Prepared *ops;
	EntryDemand *demand; // blocks the changes need; once `holds`, those reserved and not yet taken
	bool holds;
	// Indexes whose member is not the primary key: their changes, resolved after the scan.
	const IndexDef *def;
	int nkeyed;
	int keyed_capacity;
	int *keyed; // indexes into the changes
};

PendingSlot *pending = nullptr;
int pending_count = 0;
Oid *truncated = nullptr;
int truncated_count = 0;
// Commit-order cells (sortedindex_order.hpp) of the prepared changes, held from PRE_COMMIT until linked.
uint32 *cells = nullptr;
int64 cell_count = 0;
bool cells_held = false;
object_access_hook_type prev_object_access = nullptr;

Oid
RelAm(Oid relid)
{
	HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		return InvalidOid;
	Oid am = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relam;
	ReleaseSysCache(tuple);
	return am;
}

// capture's columns callback: the sort, window and member (`key`) columns of every kv_sorted index of
// rel, and the table's expiry column when it has such an index.
void
Columns(Relation rel, Bitmapset **columns)
{
	Oid am = get_index_am_oid("kv_sorted", true);
	if (!OidIsValid(am))
		return;
	List *indexes = RelationGetIndexList(rel);
	ListCell *lc;
	foreach (lc, indexes) {
		Oid indexoid = lfirst_oid(lc);
		if (RelAm(indexoid) != am)
			continue;
		AttrNumber expiry_attno = tableam::GetRelInfo(rel)->expiry_attno;
		if (expiry_attno != InvalidAttrNumber)
			*columns = bms_add_member(*columns, expiry_attno);
		Relation index = index_open(indexoid, AccessShareLock);
		for (int i = 0; i < IndexRelationGetNumberOfKeyAttributes(index); i++)
			if (index->rd_index->indkey.values[i] > 0)
				*columns = bms_add_member(*columns, index->rd_index->indkey.values[i]);
		if (const char *window_column = OptionValue(index, &SortedOptions::window_column)) {
			AttrNumber attno = get_attnum(RelationGetRelid(rel), window_column);
			if (attno > 0)
				*columns = bms_add_member(*columns, attno);
		}
		if (const char *key_column = OptionValue(index, &SortedOptions::key)) {
			AttrNumber attno = get_attnum(RelationGetRelid(rel), key_column);
			if (attno > 0)
				*columns = bms_add_member(*columns, attno);
		}
		index_close(index, AccessShareLock);
	}
	list_free(indexes);
}

// The value of attno in change, or false when the change did not carry it.
bool
ChangeValue(const capture::Change &change, AttrNumber attno, Datum *value, bool *isnull)
{
	for (int i = 0; i < change.ncolumns; i++)
		if (change.attnos[i] == attno) {
			*value = change.values[i];
			*isnull = change.isnull[i];
			return true;
		}
	return false;
}

} // namespace

bool
PrepareChange(const IndexDef &def, const capture::Change &change, Prepared *p, Buf *sortkey, Buf *member)
{
	sortkey->len = 0;
	member->len = 0;
	Datum member_value = change.key;
	if (OidIsValid(def.member_index)) {
		// Only the last Insert/Update of a key with a non-NULL member gets here (ResolveKeyed; the
		// overlay leaves such indexes out).
		bool isnull;
		if (!ChangeValue(change, def.key.attno, &member_value, &isnull) || isnull)
			return false;
	}
	MemberBytes(member, def, member_value);
	bool indexed = change.op == capture::ChangeOp::Insert || change.op == capture::ChangeOp::Update;
	for (int i = 0; i < def.ncols && indexed; i++) {
		Datum value;
		bool isnull;
		if (!ChangeValue(change, def.cols[i].attno, &value, &isnull))
			return false;
		if (isnull)
			indexed = false;
		else
			EncodeColumn(sortkey, def.cols[i], value);
	}
	int32 window = 0;
	if (indexed && def.window != WindowKind::None) {
		Datum value;
		bool isnull;
		if (!ChangeValue(change, def.window_attno, &value, &isnull))
			return false;
		indexed = RowWindow(def, value, isnull, &window);
	}
	TimestampTz expiry = DT_NOEND;
	if (indexed && def.expiry_attno != InvalidAttrNumber) {
		Datum value;
		bool isnull;
		if (!ChangeValue(change, def.expiry_attno, &value, &isnull))
			return false;
		if (!isnull)
			expiry = DatumGetTimestampTz(value);
	}
	if (indexed)
		EncodeMember(sortkey, def, member_value);
	PrepareEntry(p, *sortkey, *member, window, !indexed, expiry);
	return true;
}

namespace {

void
AddOp(PendingSlot *ps, const Prepared &p)
{
	if (ps->count == ps->capacity) {
		ps->capacity *= 2;
		ps->ops = static_cast<Prepared *>(repalloc_huge(ps->ops, sizeof(Prepared) * ps->capacity));
	}
	ps->ops[ps->count++] = p;
	DemandAdd(ps->demand, *ps->def, p);
}

// A captured key's bytes (its identity within one table).
void
KeyBytes(const capture::Change &change, Buf *buf)
{
	buf->len = 0;
	const capture::KeyType &kt = change.key_type;
	if (kt.len == -1) {
		struct varlena *v = PG_DETOAST_DATUM_PACKED(change.key);
		BufAppend(buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	} else if (kt.byval)
		BufAppend(buf, &change.key, sizeof(Datum));
	else
		BufAppend(buf, DatumGetPointer(change.key), kt.len);
}

struct KeyedChange {
	int change; // index into the changes (capture order)
	char *key;
	int key_len;
};

int
CompareKeyed(const void *a, const void *b)
{
	auto *ka = static_cast<const KeyedChange *>(a);
	auto *kb = static_cast<const KeyedChange *>(b);
	int c = memcmp(ka->key, kb->key, Min(ka->key_len, kb->key_len));
	if (c == 0)
		c = ka->key_len < kb->key_len ? -1 : ka->key_len > kb->key_len ? 1 : 0;
	if (c == 0)
		c = ka->change < kb->change ? -1 : ka->change > kb->change ? 1 : 0;
	return c;
}

// The changes of an index whose member is another column than the primary key.  Entries are found
// by member, but a delete (or expiry, or an update of the member) carries only the primary key: the
// member each changed key had before this transaction is read from the table through the primary key
// (committed rows only, this transaction's own writes invisible, expired rows included: the
// structure holds them until their delete) and removed; then the member of each key's last change is
// added.  All removals come before all additions, so two keys may swap members in one transaction.
// Cost: one primary-key lookup per changed key, at PRE_COMMIT (may ERROR, like any encoding).
void
ResolveKeyed(PendingSlot *ps, const capture::Change *changes, Buf *sortkey, Buf *member)
{
	const IndexDef &def = *ps->def;
	auto *keyed = static_cast<KeyedChange *>(palloc_extended(sizeof(KeyedChange) * ps->nkeyed, MCXT_ALLOC_HUGE));
	Buf key;
	BufInit(&key);
	for (int i = 0; i < ps->nkeyed; i++) {
		KeyBytes(changes[ps->keyed[i]], &key);
		keyed[i] = {ps->keyed[i], static_cast<char *>(palloc(Max(key.len, 1))), key.len};
		memcpy(keyed[i].key, key.data, key.len);
	}
	qsort(keyed, ps->nkeyed, sizeof(KeyedChange), CompareKeyed);

	Relation heap = table_open(ps->heaprelid, AccessShareLock);
	const tableam::RelInfo *info = tableam::GetRelInfo(heap);
	Relation pk = index_open(info->pk_index, AccessShareLock);
	Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
	snapshot->curcid = FirstCommandId; // this transaction's inserts invisible, its deletes not yet done
	TupleTableSlot *row = table_slot_create(heap, nullptr);
	int nlast = 0;
	for (int i = 0; i < ps->nkeyed; i++) {
		bool last = i + 1 == ps->nkeyed || keyed[i].key_len != keyed[i + 1].key_len ||
		            memcmp(keyed[i].key, keyed[i + 1].key, keyed[i].key_len) != 0;
		if (!last)
			continue;
		keyed[nlast++] = keyed[i];
		// The member before this transaction: remove it.
		const capture::Change &change = changes[keyed[i].change];
		ScanKeyData scankey;
		ScanKeyEntryInitialize(&scankey, 0, 1, BTEqualStrategyNumber, InvalidOid, info->key_collation,
		                       info->key_eq_proc, change.key);
		bool found = false;
		auto lookup = [&] {
			IndexScanDesc scan = index_beginscan(heap, pk, snapshot, 1, 0);
			index_rescan(scan, &scankey, 1, nullptr, 0);
			found = index_getnext_slot(scan, ForwardScanDirection, row);
			index_endscan(scan);
		};
		ttl::WithExpiryBypass(lookup);
		bool isnull = true;
		Datum old_member = found ? slot_getattr(row, def.key.attno, &isnull) : Datum(0);
		if (found && !isnull) {
			Buf none = {nullptr, 0, 0};
			member->len = 0;
			MemberBytes(member, def, old_member);
			Prepared p;
			PrepareEntry(&p, none, *member, 0, true, DT_NOEND);
			AddOp(ps, p);
		}
		ExecClearTuple(row);
	}
	ExecDropSingleTupleTableSlot(row);
	UnregisterSnapshot(snapshot);
	index_close(pk, AccessShareLock);
	table_close(heap, AccessShareLock);
	// The member of each key's last change, when it is indexed.
	for (int i = 0; i < nlast; i++) {
		const capture::Change &change = changes[keyed[i].change];
		if (change.op != capture::ChangeOp::Insert && change.op != capture::ChangeOp::Update)
			continue;
		Datum value;
		bool isnull;
		if (!ChangeValue(change, def.key.attno, &value, &isnull)) {
			ps->invalidate = true; // the index is newer than the change: rebuild instead
			return;
		}
		if (isnull)
			continue;
		Prepared p;
		if (!PrepareChange(def, change, &p, sortkey, member)) {
			ps->invalidate = true;
			return;
		}
		if (!p.remove_only)
			AddOp(ps, p);
	}
}

bool
WasTruncated(Oid relid)
{
	for (int i = 0; i < truncated_count; i++)
		if (truncated[i] == relid)
			return true;
	return false;
}

void
Reset()
{
	pending = nullptr;
	pending_count = 0;
	truncated = nullptr;
	truncated_count = 0;
	cells = nullptr;
	cell_count = 0;
	cells_held = false;
}

// Takes the commit-order cells of every prepared change (README "Commit order"): waits while a
// transaction that committed before this one's snapshot has not linked its change of a member.
void
HoldOrder()
{
	int64 total = 0;
	for (int s = 0; s < pending_count; s++)
		if (!pending[s].invalidate)
			total += pending[s].count;
	if (total == 0)
		return;
	cells = static_cast<uint32 *>(MemoryContextAllocHuge(TopTransactionContext, sizeof(uint32) * total));
	for (int s = 0; s < pending_count; s++) {
		const PendingSlot &ps = pending[s];
		if (ps.invalidate)
			continue;
		for (int i = 0; i < ps.count; i++)
			cells[cell_count++] = OrderCell(ps.ref.slot, ps.ops[i].hash);
	}
	HoldCells(cells, cell_count);
	cells_held = true;
}

void
ReleaseOrder()
{
	if (cells_held)
		ReleaseCells(cells, cell_count);
	cells_held = false;
}

void
PreCommit(const capture::Change *changes, int count)
{
	Reset();
	if (count == 0)
		return;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	truncated = static_cast<Oid *>(palloc(sizeof(Oid) * 8));
	int truncated_capacity = 8;
	for (int i = 0; i < count; i++)
		if (changes[i].op == capture::ChangeOp::Truncate && !WasTruncated(changes[i].relid)) {
			if (truncated_count == truncated_capacity) {
				truncated_capacity *= 2;
				truncated = static_cast<Oid *>(repalloc(truncated, sizeof(Oid) * truncated_capacity));
			}
			truncated[truncated_count++] = changes[i].relid;
		}

	int pending_capacity = 4;
	pending = static_cast<PendingSlot *>(palloc(sizeof(PendingSlot) * pending_capacity));
	SlotRef refs[kMaxIndexes];
	IndexDef *defs = static_cast<IndexDef *>(palloc(sizeof(IndexDef) * kMaxIndexes));
	Oid cached_relid = InvalidOid;
	int nslots = 0;
	int first_pending = 0; // pending entries of cached_relid start here
	Buf sortkey;
	Buf member;
	BufInit(&sortkey);
	BufInit(&member);
	for (int i = 0; i < count; i++) {
		const capture::Change &change = changes[i];
		// Tables without kv_sorted indexes (nobody asked for their columns) cost nothing here.
		if (!change.watched || change.op == capture::ChangeOp::Truncate || change.key_isnull ||
		    WasTruncated(change.relid))
			continue;
		if (change.relid != cached_relid) {
			cached_relid = change.relid;
			nslots = ReadySlotsOf(change.relid, refs, defs);
			// Find (or add) the pending entries of this relation's slots.
			first_pending = 0;
			while (first_pending < pending_count && pending[first_pending].heaprelid != change.relid)
				first_pending++;
			if (first_pending == pending_count) {
				for (int s = 0; s < nslots; s++) {
					if (pending_count == pending_capacity) {
						pending_capacity *= 2;
						pending = static_cast<PendingSlot *>(repalloc(pending, sizeof(PendingSlot) * pending_capacity));
					}
					PendingSlot &ps = pending[pending_count++];
					ps = {refs[s], change.relid, false, 0, 16, nullptr, nullptr, false, nullptr, 0, 0, nullptr};
					ps.ops = static_cast<Prepared *>(palloc(sizeof(Prepared) * ps.capacity));
					ps.demand = static_cast<EntryDemand *>(palloc0(sizeof(EntryDemand)));
					if (OidIsValid(defs[s].member_index)) {
						auto *def = static_cast<IndexDef *>(palloc(sizeof(IndexDef)));
						*def = defs[s];
						ps.def = def;
					}
				}
			}
		}
		for (int s = 0; s < nslots; s++) {
			PendingSlot &ps = pending[first_pending + s];
			if (ps.invalidate)
				continue;
			if (ps.def != nullptr) {
				if (ps.nkeyed == ps.keyed_capacity) {
					ps.keyed_capacity = Max(16, ps.keyed_capacity * 2);
					ps.keyed = static_cast<int *>(ps.keyed ? repalloc_huge(ps.keyed, sizeof(int) * ps.keyed_capacity)
					                                       : palloc(sizeof(int) * ps.keyed_capacity));
				}
				ps.keyed[ps.nkeyed++] = i;
				continue;
			}
			if (ps.count == ps.capacity) {
				ps.capacity *= 2;
				ps.ops = static_cast<Prepared *>(repalloc_huge(ps.ops, sizeof(Prepared) * ps.capacity));
			}
			if (!PrepareChange(defs[s], change, &ps.ops[ps.count], &sortkey, &member)) {
				ps.invalidate = true;
				continue;
			}
			DemandAdd(ps.demand, defs[s], ps.ops[ps.count]);
			ps.count++;
		}
	}
	for (int s = 0; s < pending_count; s++)
		if (pending[s].nkeyed > 0 && !pending[s].invalidate)
			ResolveKeyed(&pending[s], changes, &sortkey, &member);
	MemoryContextSwitchTo(old);
	// Reserve per slot, so a failure names the index; abort gives back what was reserved.
	for (int s = 0; s < pending_count; s++) {
		PendingSlot &ps = pending[s];
		if (ps.invalidate)
			continue;
		ReserveEntries(*ps.demand, get_rel_name(ps.heaprelid));
		ps.holds = true;
	}
	HoldOrder();
}

void
Commit(const capture::Change *, int, const capture::CommitInfo &info)
{
	EndTransaction(true);
	if (pending_count == 0 && truncated_count == 0) {
		Reset();
		return;
	}
	if (guc::test_sorted_apply_delay_ms > 0 && cells_held)
		pg_usleep(static_cast<long>(guc::test_sorted_apply_delay_ms) * 1000L);
	LockForApply();
	for (int s = 0; s < pending_count; s++) {
		PendingSlot &ps = pending[s];
		if (ps.invalidate) {
			InvalidateSlot(ps.ref);
			continue;
		}
		ApplyPrepared(ps.ref, ps.ops, ps.count, info.lsn, ps.demand);
		UnreserveEntries(ps.demand);
		ps.holds = false;
	}
	for (int i = 0; i < truncated_count; i++)
		ClearHeap(truncated[i]);
	UnlockAfterApply();
	ReleaseOrder();
	Reset();
}

void
Abort()
{
	for (int s = 0; s < pending_count; s++)
		if (pending[s].holds)
			UnreserveEntries(pending[s].demand);
	ReleaseOrder();
	Reset();
	EndTransaction(false);
}

// DROP INDEX (and DROP TABLE, which drops its indexes) frees the structure at once; if the drop
// rolls back, the next use rebuilds it.  DROP DATABASE frees every structure of the database (no
// session is connected to it then; other databases' slots and memory are not touched).
void
ObjectAccess(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, class_id, object_id, sub_id, arg);
	if (access == OAT_DROP && class_id == RelationRelationId && sub_id == 0)
		ForgetIndex(MyDatabaseId, object_id);
	else if (access == OAT_DROP && class_id == DatabaseRelationId)
		ForgetDatabase(object_id);
}

} // namespace

void
RegisterSortedConsumer()
{
	RegisterCommitOrder();
	capture::RegisterConsumer({"kv_sorted", Columns, PreCommit, Commit, Abort});
	// Its indexes keep no entry per row: changing only their columns may be a HOT update.
	tableam::RegisterEntrylessIndexAm("kv_sorted");
	prev_object_access = object_access_hook;
	object_access_hook = ObjectAccess;
}

} // namespace nodedb_kv::sortedindex
