// Index-build table scans of the kv AM: the initial scan of CREATE INDEX / REINDEX (serial, parallel,
// block range) and the TID merge of CREATE INDEX CONCURRENTLY's validation pass.  Both follow
// heapam_handler.c (PostgreSQL 15) decision for decision, but iterate with heap_getnextslot, which
// accepts a copied routine.  Every physically live tuple is indexed, expired or not, exactly the
// tuples heap's build would index (expiry is filtered at read time); the one difference: an expired
// tuple is not unique-checked in a secondary unique index, because the unique check of an INSERT does
// not see it either.  The primary key stays strict: takeover keeps one physical row per key, and a
// REINDEX that finds two is reporting a real fault.
// This file owns no index AM logic; the AM's callback (build) or index_insert (validate) does that.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_index.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"

namespace nodedb_kv::tableam {
namespace {

// Where index expressions and partial-index predicates are evaluated.  The slot is a buffer heap slot
// because heap_getnextslot stores the scan's current tuple (with its buffer pin) into it; the
// expression context's scan tuple is that slot.
struct IndexEval {
	EState *estate;
	ExprContext *econtext;
	ExprState *predicate; // nullptr for a non-partial index
	TupleTableSlot *slot;
};

// Root line pointer of every offset on one heap page (heap_get_root_tuples), so a heap-only tuple can be
// indexed under the TID of its HOT chain's root.  The map stays valid while the scan holds its pin on the
// page: pruning needs a cleanup lock, and chain roots never move.
struct RootMap {
	BlockNumber blkno; // page the map describes, or InvalidBlockNumber
	OffsetNumber root[MaxHeapTuplesPerPage];
};

// What the build does with one tuple read under SnapshotAny.
struct TupleVerdict {
	bool index_it; // hand it to the index AM
	bool alive;    // the AM may unique-check it (tupleIsAlive)
	bool counts;   // include it in the returned reltuples
};

// The per-scan inputs of the SnapshotAny liveness decision.
struct BuildPolicy {
	Relation table_rel;
	IndexInfo *index_info;     // ii_BrokenHotChain is set here when a HOT chain is cut
	TransactionId oldest_xmin; // horizon for HeapTupleSatisfiesVacuum
	bool anyvisible;           // any tuple visible to some snapshot is wanted (no waiting, no uniqueness)
	bool checking_uniqueness;  // unique or exclusion index: waiting beats a false conflict
	bool is_system_catalog;    // catalogs release write locks early; no warning for them
};

// The sorted index TIDs of a validation pass, consumed in step with the heap scan.
struct TidMerge {
	Tuplesortstate *sort;
	ItemPointerData current; // index TID at the merge position, when have_current
	bool have_current;
	bool exhausted; // the tuplesort returned its last TID
	// Index TIDs of the current heap page that the merge has already passed over.
	bool in_index[MaxHeapTuplesPerPage];
};

// Creates the executor state, per-tuple expression context, predicate state and scan slot for
// evaluating index_info's expressions over table_rel's tuples.  Allocates in CurrentMemoryContext.
void
BeginIndexEval(Relation table_rel, IndexInfo *index_info, IndexEval *eval)
{
	eval->estate = CreateExecutorState();
	eval->econtext = GetPerTupleExprContext(eval->estate);
	eval->slot = MakeSingleTupleTableSlot(RelationGetDescr(table_rel), &TTSOpsBufferHeapTuple);
	eval->econtext->ecxt_scantuple = eval->slot;
	eval->predicate = ExecPrepareQual(index_info->ii_Predicate, eval->estate);
}

// Frees what BeginIndexEval made.  index_info's cached expression and predicate states live in the
// executor state, so they are forgotten too (the caller may build again with the same IndexInfo).
void
EndIndexEval(IndexInfo *index_info, IndexEval *eval)
{
	ExecDropSingleTupleTableSlot(eval->slot);
	FreeExecutorState(eval->estate);
	index_info->ii_ExpressionsState = NIL;
	index_info->ii_PredicateState = nullptr;
}

// Computes the index column values of the tuple in eval->slot into values/isnull.  Returns false, with
// values untouched, when the tuple fails a partial index's predicate.  Per-tuple memory of the previous
// call is released first, so results live until the next call.  May ereport (user expressions).
bool
FormIndexEntry(IndexInfo *index_info, IndexEval *eval, Datum *values, bool *isnull)
{
	MemoryContextReset(eval->econtext->ecxt_per_tuple_memory);
	if (eval->predicate != nullptr && !ExecQual(eval->predicate, eval->econtext))
		return false;
	FormIndexDatum(index_info, eval->slot, eval->estate, values, isnull);
	return true;
}

// Rebuilds map for the scan's current page.  The scan holds a pin on rs_cbuf and no lock; the share
// lock taken here is released before returning.
void
LoadRootMap(HeapScanDesc hscan, RootMap *map)
{
	LockBuffer(hscan->rs_cbuf, BUFFER_LOCK_SHARE);
	heap_get_root_tuples(BufferGetPage(hscan->rs_cbuf), map->root);
	LockBuffer(hscan->rs_cbuf, BUFFER_LOCK_UNLOCK);
	map->blkno = hscan->rs_cblock;
}

// Offset of the HOT-chain root of tuple, a heap-only tuple on the scan's current page (described by
// map).  With reload_if_unknown, a root the map does not know is looked up again first: under
// ShareUpdateExclusiveLock a concurrent HOT update can add chain members after the map was built.
// ereports ERRCODE_DATA_CORRUPTED when no root exists.
OffsetNumber
HotChainRoot(Relation table_rel, HeapScanDesc hscan, RootMap *map, HeapTuple tuple, bool reload_if_unknown)
{
	OffsetNumber offnum = ItemPointerGetOffsetNumber(&tuple->t_self);

	if (reload_if_unknown && map->root[offnum - 1] == InvalidOffsetNumber)
		LoadRootMap(hscan, map);

	OffsetNumber root = map->root[offnum - 1];
	if (!OffsetNumberIsValid(root))
		ereport(ERROR, errcode(ERRCODE_DATA_CORRUPTED),
		        errmsg_internal("failed to find parent tuple for heap-only tuple at (%u,%u) in table \"%s\"",
		                        ItemPointerGetBlockNumber(&tuple->t_self), offnum, RelationGetRelationName(table_rel)));
	return root;
}

// The block-based parallel scan state shared with other participants, or nullptr for a serial scan.
ParallelBlockTableScanDesc
ParallelBlocks(HeapScanDesc hscan)
{
	return reinterpret_cast<ParallelBlockTableScanDesc>(hscan->rs_base.rs_parallel);
}

// Number of blocks the whole scan covers (all participants of a parallel scan together).
BlockNumber
ScanBlocksTotal(HeapScanDesc hscan)
{
	ParallelBlockTableScanDesc pbscan = ParallelBlocks(hscan);
	return pbscan != nullptr ? pbscan->phs_nblocks : hscan->rs_nblocks;
}

// Blocks read so far, for progress reporting only: a synchronized or parallel scan may start mid-relation
// and wrap around, and parallel workers may be further ahead than this backend.  Mirrors heap's
// heapam_scan_get_blocks_done, including its arithmetic at the start block.
BlockNumber
ScanBlocksDone(HeapScanDesc hscan)
{
	ParallelBlockTableScanDesc pbscan = ParallelBlocks(hscan);
	BlockNumber start = pbscan != nullptr ? pbscan->phs_startblock : hscan->rs_startblock;

	if (hscan->rs_cblock > start)
		return hscan->rs_cblock - start;
	return ScanBlocksTotal(hscan) - start + hscan->rs_cblock;
}

// Liveness decision for a tuple whose inserter is still in progress (see JudgeTuple).  Sets *wait_xid
// when the caller must wait for the inserter and decide again.
TupleVerdict
JudgeInsertInProgress(const BuildPolicy *policy, HeapTuple tuple, TransactionId *wait_xid)
{
	// Visible to somebody, which is all anyvisible mode asks.
	if (policy->anyvisible)
		return {true, true, true};

	// Our own insert: index it (it is good if this transaction commits) and count it, as ANALYZE does.
	TransactionId xmin = HeapTupleHeaderGetXmin(tuple->t_data);
	if (TransactionIdIsCurrentTransactionId(xmin))
		return {true, true, true};

	// Someone else's insert despite our ShareLock: expected only in catalogs, which unlock early.
	if (!policy->is_system_catalog)
		elog(WARNING, "concurrent insert in progress within table \"%s\"", RelationGetRelationName(policy->table_rel));

	// Indexing it as alive could report a uniqueness violation against a row that will roll back.
	if (policy->checking_uniqueness) {
		*wait_xid = xmin;
		return {false, false, false};
	}
	return {true, true, false};
}

// Liveness decision for a tuple whose deleter is still in progress (see JudgeTuple).  Sets *wait_xid
// when the caller must wait for the deleter and decide again.
TupleVerdict
JudgeDeleteInProgress(const BuildPolicy *policy, HeapTuple tuple, TransactionId *wait_xid)
{
	if (policy->anyvisible)
		return {true, false, true};

	TransactionId xmax = HeapTupleHeaderGetUpdateXid(tuple->t_data);
	if (!TransactionIdIsCurrentTransactionId(xmax)) {
		if (!policy->is_system_catalog)
			elog(WARNING, "concurrent delete in progress within table \"%s\"",
			     RelationGetRelationName(policy->table_rel));

		// Treating it as dead could hide a uniqueness violation; and a HOT-updated tuple must be
		// indexed only if the deleter aborts (otherwise the chain's live end is indexed instead).
		// Only the deleter's outcome settles either question.
		if (policy->checking_uniqueness || HeapTupleIsHotUpdated(tuple)) {
			*wait_xid = xmax;
			return {false, false, false};
		}
		// Like a recently dead tuple, but counted: ANALYZE counts others' pending deletes as live.
		return {true, false, true};
	}

	// Our own delete is assumed to commit (if it does not, the index is discarded anyway).
	if (HeapTupleIsHotUpdated(tuple)) {
		policy->index_info->ii_BrokenHotChain = true;
		return {false, false, false};
	}
	return {true, false, false};
}

// The HeapTupleSatisfiesVacuum-based decision for one tuple.  Caller holds a share lock on buffer (the
// call may set hint bits).  On return with *wait_xid valid, the verdict is meaningless: the caller must
// release the lock, wait for that transaction and ask again.  May ereport (after a WARNING, or on an
// unknown HTSV result); the buffer lock is then released by error cleanup.
TupleVerdict
JudgeTupleLocked(const BuildPolicy *policy, HeapTuple tuple, Buffer buffer, TransactionId *wait_xid)
{
	*wait_xid = InvalidTransactionId;

	// The counting rules match heapam_scan_analyze_next_tuple, so CREATE INDEX and ANALYZE agree on
	// reltuples.
	switch (HeapTupleSatisfiesVacuum(tuple, policy->oldest_xmin, buffer)) {
	case HEAPTUPLE_DEAD:
		return {false, false, false};
	case HEAPTUPLE_LIVE:
		return {true, true, true};
	case HEAPTUPLE_RECENTLY_DEAD:
		// Old snapshots may still need it, so it is indexed; never unique-checked, never counted.  A
		// HOT-updated member is the exception: the chain's root TID belongs to its live end, so the
		// index cannot serve snapshots that would see this version.
		if (HeapTupleIsHotUpdated(tuple)) {
			policy->index_info->ii_BrokenHotChain = true;
			return {false, false, false};
		}
		return {true, false, false};
	case HEAPTUPLE_INSERT_IN_PROGRESS:
		return JudgeInsertInProgress(policy, tuple, wait_xid);
	case HEAPTUPLE_DELETE_IN_PROGRESS:
		return JudgeDeleteInProgress(policy, tuple, wait_xid);
	}
	elog(ERROR, "unexpected HeapTupleSatisfiesVacuum result");
	return {false, false, false}; // not reached
}

// Decides what a SnapshotAny build does with tuple, the scan's current tuple.  The scan holds a pin on
// rs_cbuf and no lock, on entry and on exit.  Waits (XactLockTableWait, interruptible) for a concurrent
// inserter or deleter when the decision depends on its outcome, then decides again; the chain roots
// known to the caller stay valid across the wait because the pin prevents pruning.
TupleVerdict
JudgeTuple(const BuildPolicy *policy, HeapScanDesc hscan, HeapTuple tuple)
{
	for (;;) {
		TransactionId wait_xid;

		// The relation lock already keeps writers out; the buffer lock is for hint-bit setting and to
		// be safe against catalogs' early lock release.
		LockBuffer(hscan->rs_cbuf, BUFFER_LOCK_SHARE);
		TupleVerdict verdict = JudgeTupleLocked(policy, tuple, hscan->rs_cbuf, &wait_xid);
		LockBuffer(hscan->rs_cbuf, BUFFER_LOCK_UNLOCK);

		if (!TransactionIdIsValid(wait_xid))
			return verdict;

		XactLockTableWait(wait_xid, policy->table_rel, &tuple->t_self, XLTW_InsertIndexUnique);
		CHECK_FOR_INTERRUPTS();
	}
}

// Advances merge through the index TIDs up to root_tid (a root TID on page blkno, the page the heap
// scan is on) and reports whether the index lacks root_tid.  Index TIDs of blkno that are passed over
// are remembered in in_index, because root TIDs of one page do not arrive in offset order (a heap-only
// tuple at a high offset may have a low root).  May ereport (tuplesort I/O).
bool
MissingFromIndex(TidMerge *merge, ItemPointer root_tid, BlockNumber blkno)
{
	while (!merge->exhausted && (!merge->have_current || ItemPointerCompare(&merge->current, root_tid) < 0)) {
		if (merge->have_current && ItemPointerGetBlockNumber(&merge->current) == blkno)
			merge->in_index[ItemPointerGetOffsetNumber(&merge->current) - 1] = true;

		Datum encoded = 0;
		bool encoded_isnull = false;
		if (!tuplesort_getdatum(merge->sort, true, &encoded, &encoded_isnull, nullptr)) {
			merge->exhausted = true;
			merge->have_current = false;
			break;
		}
		Assert(!encoded_isnull);
		itemptr_decode(&merge->current, DatumGetInt64(encoded));
		merge->have_current = true;
#ifndef USE_FLOAT8_BYVAL
		// int8 is pass-by-reference here: the tuplesort handed us a palloc'd copy.
		pfree(DatumGetPointer(encoded));
#endif
	}

	bool passed = merge->exhausted || ItemPointerCompare(&merge->current, root_tid) > 0;
	return passed && !merge->in_index[ItemPointerGetOffsetNumber(root_tid) - 1];
}

} // namespace
} // namespace nodedb_kv::tableam

// Serial builds scan with SnapshotAny and judge each tuple with HeapTupleSatisfiesVacuum against the
// oldest non-removable xmin, so recently dead tuples still get index entries; concurrent (and bootstrap)
// builds use an MVCC snapshot and take what it shows.  A parallel participant gets its scan, and with it
// the snapshot choice, from the leader.  Tuples are read with heap_getnextslot, never through the
// routine's scan_getnextslot, so no expiry filter can apply.
double
kvtam_index_build_range_scan(Relation table_rel, Relation index_rel, IndexInfo *index_info, bool allow_sync,
                             bool anyvisible, bool progress, BlockNumber start_blockno, BlockNumber numblocks,
                             IndexBuildCallback callback, void *callback_state, TableScanDesc scan) noexcept
{
	using namespace nodedb_kv::tableam;

	Datum values[INDEX_MAX_KEYS];
	bool isnull[INDEX_MAX_KEYS];
	IndexEval eval;
	RootMap roots;
	BuildPolicy policy;
	Snapshot snapshot;
	bool own_snapshot = false;
	double reltuples = 0;
	BlockNumber reported_blocks = InvalidBlockNumber;

	Assert(OidIsValid(index_rel->rd_rel->relam));

	policy.table_rel = table_rel;
	policy.index_info = index_info;
	policy.anyvisible = anyvisible;
	policy.checking_uniqueness = index_info->ii_Unique || index_info->ii_ExclusionOps != nullptr;
	policy.is_system_catalog = IsSystemRelation(table_rel);
	// anyvisible callers (e.g. BRIN summarization) never build unique indexes.
	Assert(!(anyvisible && policy.checking_uniqueness));

	BeginIndexEval(table_rel, index_info, &eval);

	// A valid horizon selects SnapshotAny with our own liveness checks; lazy VACUUMs can be ignored.
	policy.oldest_xmin = InvalidTransactionId;
	if (!IsBootstrapProcessingMode() && !index_info->ii_Concurrent)
		policy.oldest_xmin = GetOldestNonRemovableTransactionId(table_rel);

	if (scan == nullptr) {
		if (TransactionIdIsValid(policy.oldest_xmin))
			snapshot = SnapshotAny;
		else {
			snapshot = RegisterSnapshot(GetTransactionSnapshot());
			own_snapshot = true;
		}
		scan = table_beginscan_strat(table_rel, snapshot, 0, nullptr, true, allow_sync);
	} else {
		// Parallel participant: the leader chose the snapshot by the same rule and owns its registration.
		Assert(!IsBootstrapProcessingMode());
		Assert(allow_sync);
		snapshot = scan->rs_snapshot;
	}

	HeapScanDesc hscan = reinterpret_cast<HeapScanDesc>(scan);

	// Index AMs that run parallel builds pick the snapshot themselves: check they followed the rule.
	Assert(snapshot == SnapshotAny || IsMVCCSnapshot(snapshot));
	Assert(snapshot == SnapshotAny ? TransactionIdIsValid(policy.oldest_xmin)
	                               : !TransactionIdIsValid(policy.oldest_xmin));
	Assert(snapshot == SnapshotAny || !anyvisible);

	if (progress)
		pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_TOTAL, ScanBlocksTotal(hscan));

	// A block range is only ever requested without syncscan; syncscan covers the whole relation.
	if (!allow_sync)
		heap_setscanlimits(scan, start_blockno, numblocks);
	else {
		Assert(start_blockno == 0);
		Assert(numblocks == InvalidBlockNumber);
	}

	roots.blkno = InvalidBlockNumber;
	AttrNumber expiry_attno = GetRelInfo(table_rel)->expiry_attno; // safe point: no buffer locked yet
	TimestampTz now = nodedb_kv::ttl::Now();
	bool relax_expired = expiry_attno != InvalidAttrNumber && !index_rel->rd_index->indisprimary;

	while (heap_getnextslot(scan, ForwardScanDirection, eval.slot)) {
		HeapTuple tuple = &hscan->rs_ctup;
		bool alive;

		CHECK_FOR_INTERRUPTS();

		if (progress) {
			BlockNumber done = ScanBlocksDone(hscan);
			if (done != reported_blocks) {
				pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_DONE, done);
				reported_blocks = done;
			}
		}

		// Entries for HOT chain members point at the chain's root.  Heap keeps at most one live tuple
		// per chain, so this makes at most one entry per root.
		if (hscan->rs_cblock != roots.blkno)
			LoadRootMap(hscan, &roots);

		if (snapshot == SnapshotAny) {
			TupleVerdict verdict = JudgeTuple(&policy, hscan, tuple);
			if (verdict.counts)
				reltuples += 1;
			if (!verdict.index_it)
				continue;
			alive = verdict.alive;
		} else {
			// The MVCC snapshot already filtered the tuple.
			alive = true;
			reltuples += 1;
		}

		if (!FormIndexEntry(index_info, &eval, values, isnull))
			continue;

		// Indexed like a recently dead tuple: present, but no uniqueness conflict with live rows.
		if (alive && policy.checking_uniqueness && relax_expired &&
		    nodedb_kv::ttl::SlotExpired(eval.slot, expiry_attno, now))
			alive = false;

		// Index AMs want values rather than a formed index tuple; they may preprocess them.
		ItemPointerData tid = tuple->t_self;
		if (HeapTupleIsHeapOnly(tuple))
			ItemPointerSetOffsetNumber(&tid, HotChainRoot(table_rel, hscan, &roots, tuple, true));

		callback(index_rel, &tid, values, isnull, alive, callback_state);
	}

	if (progress)
		pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_DONE, ScanBlocksTotal(hscan));

	table_endscan(scan);
	if (own_snapshot)
		UnregisterSnapshot(snapshot);
	EndIndexEval(index_info, &eval);

	return reltuples;
}

// Reads table_rel from block 0 upward (no syncscan: the order must match the sorted index TIDs) with
// the reference snapshot, maps each tuple to its HOT-chain root TID, and inserts the ones whose root is
// missing from the index.  Inserts are unique-checked for unique indexes even when the tuple is already
// dead: the insert stands in for a uniqueness check of the whole HOT chain, whose updater did not add
// index entries.
void
kvtam_index_validate_scan(Relation table_rel, Relation index_rel, IndexInfo *index_info, Snapshot snapshot,
                          ValidateIndexState *state) noexcept
{
	using namespace nodedb_kv::tableam;

	Datum values[INDEX_MAX_KEYS];
	bool isnull[INDEX_MAX_KEYS];
	IndexEval eval;
	RootMap roots;
	TidMerge merge;
	BlockNumber reported_block = InvalidBlockNumber;

	Assert(OidIsValid(index_rel->rd_rel->relam));

	BeginIndexEval(table_rel, index_info, &eval);

	TableScanDesc scan = table_beginscan_strat(table_rel, snapshot, 0, nullptr, true, false);
	HeapScanDesc hscan = reinterpret_cast<HeapScanDesc>(scan);

	pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_TOTAL, hscan->rs_nblocks);

	roots.blkno = InvalidBlockNumber;
	AttrNumber expiry_attno = GetRelInfo(table_rel)->expiry_attno; // safe point: no buffer locked yet
	TimestampTz now = nodedb_kv::ttl::Now();
	bool relax_expired = expiry_attno != InvalidAttrNumber && !index_rel->rd_index->indisprimary;
	merge.sort = state->tuplesort;
	merge.have_current = false;
	merge.exhausted = false;

	while (heap_getnextslot(scan, ForwardScanDirection, eval.slot)) {
		HeapTuple tuple = &hscan->rs_ctup;

		CHECK_FOR_INTERRUPTS();

		state->htups += 1;

		if (hscan->rs_cblock != reported_block) {
			pgstat_progress_update_param(PROGRESS_SCAN_BLOCKS_DONE, hscan->rs_cblock);
			reported_block = hscan->rs_cblock;
		}

		// New page: fresh root map, and no index TIDs of this page seen yet.
		if (hscan->rs_cblock != roots.blkno) {
			LoadRootMap(hscan, &roots);
			memset(merge.in_index, 0, sizeof(merge.in_index));
		}

		ItemPointerData root_tid = tuple->t_self;
		if (HeapTupleIsHeapOnly(tuple))
			ItemPointerSetOffsetNumber(&root_tid, HotChainRoot(table_rel, hscan, &roots, tuple, false));

		if (!MissingFromIndex(&merge, &root_tid, roots.blkno))
			continue;

		if (!FormIndexEntry(index_info, &eval, values, isnull))
			continue;

		// An expired tuple has no uniqueness to check (see the build above).
		bool check_unique =
		    index_info->ii_Unique && !(relax_expired && nodedb_kv::ttl::SlotExpired(eval.slot, expiry_attno, now));
		index_insert(index_rel, values, isnull, &root_tid, table_rel, check_unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
		             false, index_info);
		state->tups_inserted += 1;
	}

	table_endscan(scan);
	EndIndexEval(index_info, &eval);
}
