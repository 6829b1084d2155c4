// Read paths of the kv table AM: sequential (also parallel), TID range, index fetch, TID fetch,
// snapshot test, bitmap, TABLESAMPLE and ANALYZE.  Each calls heap's callback and hides rows whose
// expiry has passed, for the snapshot types where that is correct (PG15-PITFALLS §1).  Index builds
// (tableam_index.cpp) deliberately see every physically live row.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "storage/lwlock.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/tableam/tableam_scan.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"

namespace nodedb_kv::tableam {

int expiry_bypass = 0;

bool
SnapshotHidesExpired(Snapshot snapshot)
{
	if (expiry_bypass > 0 || snapshot == nullptr)
		return false;
	switch (snapshot->snapshot_type) {
	case SNAPSHOT_MVCC:
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
InsertedByCurrentCommand(TupleTableSlot *slot)
{
	if (!TTS_IS_BUFFERTUPLE(slot))
		return false;
	HeapTuple tuple = reinterpret_cast<BufferHeapTupleTableSlot *>(slot)->base.tuple;
	if (tuple == nullptr || !TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin(tuple->t_data)))
		return false;
	return HeapTupleHeaderGetCmin(tuple->t_data) >= GetCurrentCommandId(false);
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
// btree's unique check calls it with the index leaf page locked.
bool
UnderBufferLock()
{
	bool found = false;
	ForEachLWLockHeldByMe(NoteBufferLock, &found);
	return found;
}

// True when the tuple now in slot must be hidden from a reader using snapshot.  Not hidden, although
// expired:
// - Anything btree's unique check fetches (under its leaf lock).  It looks for conflicting rows with
//   a dirty snapshot: takeover deleted every expired row of the key that existed when it looked, so
//   an expired row met here arrived or settled since, and hiding it would leave two rows for the
//   key; the insert fails instead, as under a concurrent insert on heap (ON CONFLICT retries, and
//   its arbitration then hides the row and takeover deletes it).  And it asks whether the row being
//   inserted is still live with SnapshotSelf: an already expired new row must not count as dead, or
//   its conflict with a live row of the key is ignored.
// - A row the current command inserted, for dirty snapshots (ON CONFLICT arbitration): takeover
//   cannot delete it (heap refuses), so the command gets what heap gives it.
inline bool
HideSlot(Relation rel, Snapshot snapshot, TupleTableSlot *slot)
{
	AttrNumber attno = ExpiryAttno(rel);
	if (attno == InvalidAttrNumber || !SnapshotHidesExpired(snapshot) || !ttl::SlotExpired(slot, attno, ttl::Now()) ||
	    UnderBufferLock())
		return false;
	return snapshot->snapshot_type != SNAPSHOT_DIRTY || !InsertedByCurrentCommand(slot);
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

// index_fetch_begin: a safe point to build RelInfo when this backend has not looked the kv_expiry type
// up yet.  A session's first access to a kv table is often an index scan outside the planner (ON
// CONFLICT arbitration, logical replication apply), where scan_begin never runs; without this, the
// catalog-free ExpiryAttno() finds no expiry column and expired rows show.  Btree's unique check also
// begins a fetch, under a leaf lock, but only after this backend wrote to the table, which looked the
// type up already: the condition keeps catalog access away from that path.
IndexFetchTableData *
KvIndexFetchBegin(Relation rel)
{
	if (rel->rd_amcache == nullptr && !OidIsValid(ttl::ExpiryTypeOid()))
		GetRelInfo(rel);
	return heap->index_fetch_begin(rel);
}

// index_fetch_tuple may run under a btree leaf lock (unique checks): no catalog access here.
bool
KvIndexFetchTuple(IndexFetchTableData *scan, ItemPointer tid, Snapshot snapshot, TupleTableSlot *slot, bool *call_again,
                  bool *all_dead)
{
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
	routine->scan_bitmap_next_tuple = KvBitmapNextTuple;
	routine->scan_sample_next_tuple = KvSampleNextTuple;
	routine->scan_analyze_next_tuple = KvAnalyzeNextTuple;
}

} // namespace nodedb_kv::tableam
