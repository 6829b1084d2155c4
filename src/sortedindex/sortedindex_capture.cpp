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
#include "utils/syscache.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/sortedindex/sortedindex_capture.hpp"
#include "nodedb_kv/sortedindex/sortedindex_options.hpp"
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"

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
	uint64 reserved;
};

PendingSlot *pending = nullptr;
int pending_count = 0;
Oid *truncated = nullptr;
int truncated_count = 0;
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

// capture's columns callback: the sort and window columns of every kv_sorted index of rel, and the
// table's expiry column when it has such an index.
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
	MemberBytes(member, def, change.key);
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
		EncodeMember(sortkey, def, change.key);
	PrepareEntry(p, *sortkey, *member, window, !indexed, expiry);
	return true;
}

namespace {

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
					ps = {refs[s], change.relid, false, 0, 16, nullptr, 0};
					ps.ops = static_cast<Prepared *>(palloc(sizeof(Prepared) * ps.capacity));
				}
			}
		}
		for (int s = 0; s < nslots; s++) {
			PendingSlot &ps = pending[first_pending + s];
			if (ps.invalidate)
				continue;
			if (ps.count == ps.capacity) {
				ps.capacity *= 2;
				ps.ops = static_cast<Prepared *>(repalloc_huge(ps.ops, sizeof(Prepared) * ps.capacity));
			}
			if (!PrepareChange(defs[s], change, &ps.ops[ps.count], &sortkey, &member)) {
				ps.invalidate = true;
				continue;
			}
			if (!ps.ops[ps.count].remove_only)
				ps.reserved++;
			ps.count++;
		}
	}
	MemoryContextSwitchTo(old);
	// Reserve per slot, so a failure names the index; abort gives back what was reserved.
	for (int s = 0; s < pending_count; s++) {
		PendingSlot &ps = pending[s];
		if (ps.invalidate)
			ps.reserved = 0;
		uint64 need = ps.reserved;
		ps.reserved = 0;
		if (need > 0) {
			ReserveBlocks(need, get_rel_name(ps.heaprelid));
			ps.reserved = need;
		}
	}
}

void
Commit(const capture::Change *, int, const capture::CommitInfo &info)
{
	EndTransaction(true);
	if (pending_count == 0 && truncated_count == 0) {
		Reset();
		return;
	}
	LockForApply();
	for (int s = 0; s < pending_count; s++) {
		PendingSlot &ps = pending[s];
		if (ps.invalidate) {
			InvalidateSlot(ps.ref);
			continue;
		}
		uint64 taken = ApplyPrepared(ps.ref, ps.ops, ps.count, info.lsn);
		UnreserveBlocks(ps.reserved - taken);
		ps.reserved = 0;
	}
	for (int i = 0; i < truncated_count; i++)
		ClearHeap(truncated[i]);
	UnlockAfterApply();
	Reset();
}

void
Abort()
{
	for (int s = 0; s < pending_count; s++)
		UnreserveBlocks(pending[s].reserved);
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
	capture::RegisterConsumer({"kv_sorted", Columns, PreCommit, Commit, Abort});
	// Its indexes keep no entry per row: changing only their columns may be a HOT update.
	tableam::RegisterEntrylessIndexAm("kv_sorted");
	prev_object_access = object_access_hook;
	object_access_hook = ObjectAccess;
}

} // namespace nodedb_kv::sortedindex
