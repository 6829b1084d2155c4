// Read paths of the kv table AM: sequential (also parallel), TID range, index fetch, TID fetch,
// snapshot test, latest TID, bitmap, TABLESAMPLE and ANALYZE.  Each calls heap's callback and hides
// rows whose expiry has passed, for the snapshot types where that is correct (PG15-PITFALLS §1).
// Index builds (tableam_index.cpp) deliberately see every physically live row.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "storage/lwlock.h"
#include "utils/snapmgr.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/tableam/tableam_prune.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/tableam/tableam_scan.hpp"
#include "nodedb_kv/tableam/tableam_takeover.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"

namespace nodedb_kv::tableam {

bool
SnapshotHidesExpired(Snapshot snapshot)
{
	if (ttl::ExpiryBypassed() || snapshot == nullptr)
		return false;
	switch (snapshot->snapshot_type) {
	case SNAPSHOT_MVCC:
		// nodedb_kv.show_expired (pg_dump, pg_restore): readers see stored expired rows; writers'
		// lookups (dirty and self snapshots, takeover, expired targets) are unchanged.
		return !guc::show_expired;
	case SNAPSHOT_SELF:
		return true;
	case SNAPSHOT_DIRTY:
		// Hiding a row whose inserter or deleter is in progress would make btree skip its wait.
		return !TransactionIdIsValid(snapshot->xmin) && !TransactionIdIsValid(snapshot->xmax);
	default:
		// SnapshotAny, NonVacuumable, Toast, Historic: never filter.
		return false;
	}
}

bool
InsertedByCommand(TupleTableSlot *slot, CommandId cid, CommandId *cmin)
{
	if (!TTS_IS_BUFFERTUPLE(slot) && !TTS_IS_HEAPTUPLE(slot))
		return false;
	HeapTuple tuple = reinterpret_cast<HeapTupleTableSlot *>(slot)->tuple;
	if (tuple == nullptr || tuple->t_data == nullptr)
		return false;
	// GetXmin (not raw): a frozen tuple (COPY FREEZE) is visible to every command, heap deletes it.
	if (!TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple->t_data)))
		return false;
	CommandId inserted_by = HeapTupleHeaderGetCmin(tuple->t_data);
	if (cmin != nullptr)
		*cmin = inserted_by;
	return inserted_by >= cid;
}

namespace {

const TableAmRoutine *heap = nullptr;

void
NoteBufferLock(LWLock *lock, LWLockMode, void *found)
{
	if (lock->tranche == LWTRANCHE_BUFFER_CONTENT)
		*static_cast<bool *>(found) = true;
}

// True while this backend holds a buffer content lock.  A table AM fetch runs under one only when
// btree's unique check (_bt_check_unique) calls it with the index leaf page locked.
bool
UnderBufferLock()
{
	bool found = false;
	ForEachLWLockHeldByMe(NoteBufferLock, &found);
	return found;
}

// True if the heap tuple in slot was inserted by another transaction that committed after the active
// snapshot was taken.  Reads the tuple header and the snapshot only: safe under buffer locks.
bool
InsertedAfterSnapshot(TupleTableSlot *slot)
{
	if ((!TTS_IS_BUFFERTUPLE(slot) && !TTS_IS_HEAPTUPLE(slot)) || !ActiveSnapshotSet())
		return false;
	HeapTuple tuple = reinterpret_cast<HeapTupleTableSlot *>(slot)->tuple;
	if (tuple == nullptr || tuple->t_data == nullptr)
		return false;
	TransactionId xmin = HeapTupleHeaderGetXmin(tuple->t_data);
	return TransactionIdIsNormal(xmin) && !TransactionIdIsCurrentTransactionId(xmin) &&
	       XidInMVCCSnapshot(xmin, GetActiveSnapshot());
}

// True when the tuple now in slot must be hidden from a reader using snapshot.  Expired, but seen:
// - By btree's unique check (dirty snapshot), an expired row written by the current command that
//   takeover has not deleted: only COPY gets there, when one batch of multi_insert holds the key twice
//   (the batch's index entries are made after the whole batch is in the heap, so takeover could not
//   find the first row).  Hiding it would leave two rows for the key: COPY reports the duplicate.
//   Everywhere else (ON CONFLICT arbitration) such a row is absent, and takeover deletes it.
// - By btree's unique check, the row being inserted, when it asks with SnapshotSelf whether that row
//   is still live: an already expired new row would count as dead, and its conflict with a live row
//   of the key be ignored (two rows for one primary key).
// - By btree's unique check, an expired row committed after our snapshot: it arrived after takeover
//   looked the key up (takeover deletes every expired row of the key that exists when it looks), so
//   hiding it would leave two rows for the key.  The insert fails as on heap under a concurrent
//   insert; ON CONFLICT retries, and its arbitration hides the row and takeover deletes it.
inline bool
HideSlot(Relation rel, Snapshot snapshot, TupleTableSlot *slot)
{
	AttrNumber attno = ExpiryAttno(rel);
	if (attno == InvalidAttrNumber || !SnapshotHidesExpired(snapshot) || !ttl::SlotExpired(slot, attno, ttl::Now()))
		return false;
	if (snapshot->snapshot_type == SNAPSHOT_MVCC) {
		NoteExpiredKey(rel, slot);
		return true;
	}
	if (UnderBufferLock() &&
	    (snapshot->snapshot_type == SNAPSHOT_SELF || InsertedAfterSnapshot(slot) ||
	     (snapshot->snapshot_type == SNAPSHOT_DIRTY && InsertedByCommand(slot, GetCurrentCommandId(false)))))
		return false;
	return true;
}

// scan_begin: a safe point to build RelInfo (the expiry column) before any filtering.
TableScanDesc
KvScanBegin(Relation rel, Snapshot snapshot, int nkeys, ScanKey key, ParallelTableScanDesc pscan, uint32 flags)
{
	GetRelInfo(rel);
	return heap->scan_begin(rel, snapshot, nkeys, key, pscan, flags);
}

bool
KvScanGetNextSlot(TableScanDesc scan, ScanDirection direction, TupleTableSlot *slot)
{
	while (heap->scan_getnextslot(scan, direction, slot)) {
		if (!HideSlot(scan->rs_rd, scan->rs_snapshot, slot))
			return true;
	}
	return false;
}

bool
KvScanGetNextSlotTidRange(TableScanDesc scan, ScanDirection direction, TupleTableSlot *slot)
{
	while (heap->scan_getnextslot_tidrange(scan, direction, slot)) {
		if (!HideSlot(scan->rs_rd, scan->rs_snapshot, slot))
			return true;
	}
	return false;
}

// Index scans do not pass through scan_begin: without this, a backend whose first read of a kv table
// is an index scan would know no expiry column and hide nothing.  index_fetch_begin can run under a
// btree leaf lock (unique checks), so it reads catalogs only while this backend has not resolved the
// kv_expiry type; a unique check always follows a write callback, which has resolved it.
IndexFetchTableData *
KvIndexFetchBegin(Relation rel)
{
	if (rel->rd_amcache == nullptr && !ttl::ExpiryTypeResolved())
		GetRelInfo(rel);
	return heap->index_fetch_begin(rel);
}

// index_fetch_tuple may run under a btree leaf lock (unique checks): no catalog access here.
// Pruning follows the kv rule (tableam_prune.cpp), not heap's.
bool
KvIndexFetchTuple(IndexFetchTableData *scan, ItemPointer tid, Snapshot snapshot, TupleTableSlot *slot, bool *call_again,
                  bool *all_dead)
{
	if (!*call_again)
		PrepareFetchBuffer(scan, tid);
	if (!heap->index_fetch_tuple(scan, tid, snapshot, slot, call_again, all_dead))
		return false;
	if (!HideSlot(scan->rel, snapshot, slot))
		return true;
	// Hidden, not dead: leave *all_dead as heap set it (false, it found a visible member).
	ExecClearTuple(slot);
	return false;
}

bool
KvFetchRowVersion(Relation rel, ItemPointer tid, Snapshot snapshot, TupleTableSlot *slot)
{
	if (!heap->tuple_fetch_row_version(rel, tid, snapshot, slot))
		return false;
	if (!HideSlot(rel, snapshot, slot))
		return true;
	ExecClearTuple(slot);
	return false;
}

// currtid2() and friends: heap reports the newest version its snapshot sees.  An expired newest
// version is a deleted row for the kv AM, and for a deleted row heap returns the TID it was given.
void
KvTupleGetLatestTid(TableScanDesc scan, ItemPointer tid)
{
	ItemPointerData given = *tid;
	heap->tuple_get_latest_tid(scan, tid);
	if (ExpiryAttno(scan->rs_rd) == InvalidAttrNumber)
		return;
	TupleTableSlot *slot = table_slot_create(scan->rs_rd, nullptr);
	if (heap->tuple_fetch_row_version(scan->rs_rd, tid, scan->rs_snapshot, slot) &&
	    HideSlot(scan->rs_rd, scan->rs_snapshot, slot))
		*tid = given;
	ExecDropSingleTupleTableSlot(slot);
}

bool
KvTupleSatisfiesSnapshot(Relation rel, TupleTableSlot *slot, Snapshot snapshot)
{
	return heap->tuple_satisfies_snapshot(rel, slot, snapshot) && !HideSlot(rel, snapshot, slot);
}

bool
KvBitmapNextTuple(TableScanDesc scan, TBMIterateResult *tbmres, TupleTableSlot *slot)
{
	while (heap->scan_bitmap_next_tuple(scan, tbmres, slot)) {
		if (!HideSlot(scan->rs_rd, scan->rs_snapshot, slot))
			return true;
	}
	return false;
}

bool
KvSampleNextTuple(TableScanDesc scan, SampleScanState *scanstate, TupleTableSlot *slot)
{
	while (heap->scan_sample_next_tuple(scan, scanstate, slot)) {
		if (!HideSlot(scan->rs_rd, scan->rs_snapshot, slot))
			return true;
	}
	return false;
}

// ANALYZE: an expired row is counted as dead, so row estimates match what queries return.
bool
KvAnalyzeNextTuple(TableScanDesc scan, TransactionId oldest_xmin, double *liverows, double *deadrows,
                   TupleTableSlot *slot)
{
	while (heap->scan_analyze_next_tuple(scan, oldest_xmin, liverows, deadrows, slot)) {
		AttrNumber attno = ExpiryAttno(scan->rs_rd);
		if (attno == InvalidAttrNumber || !ttl::SlotExpired(slot, attno, ttl::Now()))
			return true;
		*liverows -= 1;
		*deadrows += 1;
	}
	return false;
}

} // namespace

void
InstallScanCallbacks(TableAmRoutine *routine)
{
	heap = GetHeapamTableAmRoutine();
	routine->scan_begin = KvScanBegin;
	routine->scan_getnextslot = KvScanGetNextSlot;
	routine->scan_getnextslot_tidrange = KvScanGetNextSlotTidRange;
	routine->index_fetch_begin = KvIndexFetchBegin;
	routine->index_fetch_tuple = KvIndexFetchTuple;
	routine->tuple_fetch_row_version = KvFetchRowVersion;
	routine->tuple_satisfies_snapshot = KvTupleSatisfiesSnapshot;
	routine->tuple_get_latest_tid = KvTupleGetLatestTid;
	routine->scan_bitmap_next_tuple = KvBitmapNextTuple;
	routine->scan_sample_next_tuple = KvSampleNextTuple;
	routine->scan_analyze_next_tuple = KvAnalyzeNextTuple;
}

} // namespace nodedb_kv::tableam
