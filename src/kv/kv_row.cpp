// Row access of the kv engine: find a key through the primary-key index, lock its newest version,
// and write through the executor's simple-relation path (triggers, constraints, index maintenance,
// change capture through the kv AM).  Inserts use speculative insertion on the primary key, as
// INSERT ... ON CONFLICT does, so two sessions creating the same key never fail: the loser finds the
// winner's row and updates it.
#include "nodedb_kv/kv/kv_handle.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/heap.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/tableam/tableam_write.hpp"

namespace nodedb_kv::kv {
namespace {

// Tests only (nodedb_kv.test_lookup_pause): a dirty lookup waits for the advisory lock of that number
// between reading the index and fetching the row version an entry points to, so that a test can commit
// a concurrent write exactly there (test/specs/kv_lookup_race.spec).
void
TestLookupPause()
{
	if (guc::test_lookup_pause == 0)
		return;
	LOCKTAG tag;
	int64 number = guc::test_lookup_pause;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(number >> 32), static_cast<uint32>(number), 1);
	(void)LockAcquire(&tag, ExclusiveLock, false, false);
	LockRelease(&tag, ExclusiveLock, false);
}

// Scans the primary key for handle->key under snapshot into handle->row.  *xwait receives the
// transaction still inserting the row a dirty snapshot saw, if any.  A row that another transaction
// is updating or deleting is returned without xwait: table_tuple_lock waits for that one, queued
// on the heavyweight tuple lock, so waiters get the row in arrival order (as UPDATE's do) instead
// of all waking at the commit and racing for it.  *passed_over (if not null): the scan fetched a
// version the snapshot does not see.
bool
ScanKey(Handle *handle, Snapshot snapshot, TransactionId *xwait, bool *passed_over = nullptr)
{
	ScanKeyData scankey;
	ScanKeyEntryInitialize(&scankey, 0, 1, BTEqualStrategyNumber, InvalidOid, handle->key_collation,
	                       handle->key_eq_proc, handle->key);
	IndexScanDesc scan = index_beginscan(handle->rel, handle->pk_index, snapshot, 1, 0);
	index_rescan(scan, &scankey, 1, nullptr, 0);
	bool dirty = snapshot->snapshot_type == SNAPSHOT_DIRTY;
	bool found = false;
	// index_getnext_slot's loop, with the tests' pause and the versions passed over.
	for (;;) {
		if (!scan->xs_heap_continue) {
			if (index_getnext_tid(scan, ForwardScanDirection) == nullptr)
				break;
			if (dirty)
				TestLookupPause();
		}
		if (index_fetch_heap(scan, handle->row)) {
			found = true;
			break;
		}
		if (passed_over != nullptr)
			*passed_over = true;
	}
	*xwait = InvalidTransactionId;
	if (found && dirty)
		*xwait = snapshot->xmin;
	index_endscan(scan);
	return found;
}

// Whether the row in slot has handle->key (compared with the primary key's equality operator, as
// the index lookup did).
bool
SlotHasKey(Handle *handle, TupleTableSlot *slot)
{
	bool isnull = false;
	Datum key = slot_getattr(slot, handle->key_attno, &isnull);
	return !isnull && DatumGetBool(OidFunctionCall2Coll(handle->key_eq_proc, handle->key_collation, handle->key, key));
}

// What the executor does to a row version before storing it (after BEFORE triggers): stored
// generated columns, CHECK / NOT NULL constraints, the partition constraint.
void
CompleteNewRow(Handle *handle, TupleTableSlot *slot, CmdType operation)
{
	Relation rel = handle->rel;
	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(handle->rri, handle->estate, slot, operation);
	if (rel->rd_att->constr)
		ExecConstraints(handle->rri, slot, handle->estate);
	if (rel->rd_rel->relispartition)
		ExecPartitionCheck(handle->rri, slot, handle->estate, true);
}

[[noreturn]] void
SerializationFailure()
{
	ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
	                errmsg("could not serialize access due to concurrent update")));
	pg_unreachable();
}

// The executor's answer when a BEFORE trigger of this write already changed (or deleted) the row the
// write targets, in a later command of this transaction (ExecUpdate / ExecDelete, TM_SelfModified).
// Returns normally when the row was changed by the write's own command: nothing left to do.
void
CheckSelfModified(const TM_FailureData &tmfd, EState *estate, const char *verb)
{
	if (tmfd.cmax != estate->es_output_cid)
		ereport(ERROR,
		        (errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
		         errmsg("tuple to be %s was already modified by an operation triggered by the current command", verb),
		         errhint("Consider using an AFTER trigger instead of a BEFORE trigger to propagate changes to "
		                 "other rows.")));
}

bool no_wait = false;

} // namespace

void
SetNoWait(bool on)
{
	no_wait = on;
}

bool
NoWait()
{
	return no_wait;
}

void
LockCollection(Oid relid, LOCKMODE mode)
{
	if (!no_wait)
		LockRelationOid(relid, mode);
	else if (!ConditionalLockRelationOid(relid, mode)) {
		char *name = get_rel_name(relid);
		ereport(ERROR, (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
		                errmsg("could not obtain lock on relation \"%s\"", name ? name : "?")));
	}
}

void
RowWouldBlock(Handle *handle)
{
	ereport(ERROR, (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
	                errmsg("could not obtain lock on row in relation \"%s\"", RelationGetRelationName(handle->rel))));
	pg_unreachable();
}

void
NextAttempt(Handle *handle)
{
	CHECK_FOR_INTERRUPTS();
	if (++handle->attempts < guc::max_write_attempts)
		return;
	ereport(ERROR,
	        (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE), errmsg("could not serialize access due to concurrent update"),
	         errdetail_plural("%s gave up after %d attempt on a key of \"%s\" that concurrent transactions or "
	                          "triggers kept changing.",
	                          "%s gave up after %d attempts on a key of \"%s\" that concurrent transactions or "
	                          "triggers kept changing.",
	                          handle->attempts, handle->target->action, handle->attempts,
	                          RelationGetRelationName(handle->rel)),
	         errhint("Retry the transaction; nodedb_kv.max_write_attempts sets the number of attempts.")));
}

bool
LookupRow(Handle *handle, bool lock)
{
	if (!handle->write) {
		TransactionId unused;
		return ScanKey(handle, GetActiveSnapshot(), &unused);
	}
	bool repeatable = IsolationUsesXactSnapshot();
	// SERIALIZABLE: the lookups below use a dirty snapshot, for which neither btree nor heap take
	// predicate locks.  Read the key once with the transaction's snapshot first, as the executor's
	// index scan would: btree locks the leaf page the key is (or would be) on, heap the version the
	// snapshot sees and checks for conflicts with concurrent writers of it.  So a read through a KV
	// function (found, absent, a failed CAS) joins SSI's dangerous-structure detection; the writes
	// check for conflicts in heap and btree themselves.
	if (IsolationIsSerializable()) {
		TransactionId unused;
		ScanKey(handle, GetActiveSnapshot(), &unused);
	}
	for (;;) {
		// A dirty snapshot sees rows committed after our snapshot and rows still being written.
		SnapshotData dirty;
		InitDirtySnapshot(dirty);
		TransactionId xwait;
		bool passed_over = false;
		if (!ScanKey(handle, &dirty, &xwait, &passed_over)) {
			// A dirty index scan can miss a row that exists all along: a non-HOT update (a new index
			// entry) that committed after the scan read the index page and before it fetched the old
			// version leaves the scan with that dead version only.  Whenever the scan passed over a
			// version, a fresh MVCC snapshot decides: an update committed before it put its entry in
			// the index before this scan began, one committed after leaves the version it finds
			// visible, so it finds every row that exists now.  Found: look again (the miss was a race).
			TransactionId unused;
			if (!passed_over || !ScanKey(handle, GetLatestSnapshot(), &unused))
				return false;
			NextAttempt(handle);
			continue;
		}
		bool busy = TransactionIdIsValid(dirty.xmax);
		if (TransactionIdIsValid(xwait)) {
			// Not yet committed: table_tuple_lock cannot lock it (TM_Invisible), so wait for the
			// inserter and look again.
			if (no_wait && !ConditionalXactLockTableWait(xwait))
				RowWouldBlock(handle);
			if (!no_wait)
				XactLockTableWait(xwait, handle->rel, &handle->row->tts_tid, XLTW_Lock);
			NextAttempt(handle);
			continue;
		}
		// A row another transaction is updating or deleting right now may already be expired for us
		// (the kv AM then reports it deleted without waiting): always lock it, which waits in line.
		if (!lock && !busy) {
			if (repeatable && !table_tuple_satisfies_snapshot(handle->rel, handle->row, GetActiveSnapshot()))
				SerializationFailure();
			return true;
		}
		TM_FailureData tmfd;
		TM_Result result =
		    table_tuple_lock(handle->rel, &handle->row->tts_tid, GetActiveSnapshot(), handle->row,
		                     GetCurrentCommandId(false), LockTupleExclusive, no_wait ? LockWaitError : LockWaitBlock,
		                     repeatable ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
		switch (result) {
		case TM_Ok:
			// Under REPEATABLE READ the row must be the version our snapshot sees.
			if (repeatable && !table_tuple_satisfies_snapshot(handle->rel, handle->row, GetActiveSnapshot()))
				SerializationFailure();
			// Following the update chain (READ COMMITTED) may end at a version whose key was changed
			// by an UPDATE: that row is not our key any more (the lock on it stays, as after a failed
			// EvalPlanQual recheck).  Look the key up again.
			if (!SlotHasKey(handle, handle->row)) {
				NextAttempt(handle);
				continue;
			}
			return true;
		case TM_Updated:
		case TM_Deleted:
			if (repeatable)
				SerializationFailure();
			NextAttempt(handle);
			continue; // changed or gone (or expired) meanwhile: look again
		case TM_SelfModified:
		case TM_Invisible:
		default:
			elog(ERROR, "unexpected row lock result %d in %s", static_cast<int>(result), handle->target->action);
		}
	}
}

TupleTableSlot *
NewRowSlot(Handle *handle, bool from_existing)
{
	Relation rel = handle->rel;
	TupleDesc desc = RelationGetDescr(rel);
	if (handle->new_row == nullptr) {
		// In the executor state's memory: it may be kept for the transaction (kv_cache.cpp).
		MemoryContext old = MemoryContextSwitchTo(handle->estate->es_query_cxt);
		handle->new_row = table_slot_create(rel, &handle->estate->es_tupleTable);
		MemoryContextSwitchTo(old);
	}
	TupleTableSlot *slot = handle->new_row;
	ExecClearTuple(slot);
	if (from_existing) {
		slot_getallattrs(handle->row);
		memcpy(slot->tts_values, handle->row->tts_values, sizeof(Datum) * desc->natts);
		memcpy(slot->tts_isnull, handle->row->tts_isnull, sizeof(bool) * desc->natts);
		return slot;
	}
	// A new row: the key, no expiry, the value field set by the caller, column defaults elsewhere.
	ExprContext *econtext = GetPerTupleExprContext(handle->estate);
	for (int i = 0; i < desc->natts; i++) {
		AttrNumber attno = i + 1;
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		slot->tts_values[i] = 0;
		slot->tts_isnull[i] = true;
		if (attr->attisdropped || attr->attgenerated != '\0' || attno == handle->expiry_attno)
			continue;
		if (attno == handle->key_attno) {
			slot->tts_values[i] = handle->key;
			slot->tts_isnull[i] = false;
			continue;
		}
		Node *expr = build_column_default(rel, attno);
		if (expr == nullptr)
			continue;
		ExprState *state = ExecPrepareExpr(reinterpret_cast<Expr *>(expr), handle->estate);
		slot->tts_values[i] = ExecEvalExprSwitchContext(state, econtext, &slot->tts_isnull[i]);
	}
	return slot;
}

WriteOutcome
InsertRow(Handle *handle, TupleTableSlot *slot)
{
	Relation rel = handle->rel;
	EState *estate = handle->estate;
	ResultRelInfo *rri = handle->rri;
	ExecStoreVirtualTuple(slot);

	if (rri->ri_TrigDesc && rri->ri_TrigDesc->trig_insert_before_row && !ExecBRInsertTriggers(estate, rri, slot))
		return WriteOutcome::Suppressed;
	CompleteNewRow(handle, slot, CMD_INSERT);

	TransactionId xid = GetCurrentTransactionId();
	uint32 token = SpeculativeInsertionLockAcquire(xid);
	table_tuple_insert_speculative(rel, slot, estate->es_output_cid, 0, nullptr, token);
	bool conflict = false;
	List *arbiters = list_make1_oid(RelationGetRelid(handle->pk_index));
	List *recheck = ExecInsertIndexTuples(rri, slot, estate, false, true, &conflict, arbiters);
	table_tuple_complete_speculative(rel, slot, token, !conflict);
	SpeculativeInsertionLockRelease(xid);
	if (conflict) {
		list_free(recheck);
		// The conflicting row has the key the row was stored with.  If a BEFORE trigger changed it,
		// that is the row to update now, as ON CONFLICT DO UPDATE would (looking the caller's key up
		// again would find it absent and insert again, for ever).
		if (!SlotHasKey(handle, slot)) {
			Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), handle->key_attno - 1);
			bool isnull = false;
			Datum key = slot_getattr(slot, handle->key_attno, &isnull);
			Assert(!isnull);
			handle->key = datumCopy(key, attr->attbyval, attr->attlen);
		}
		return WriteOutcome::Retry;
	}
	ExecARInsertTriggers(estate, rri, slot, recheck, nullptr);
	list_free(recheck);
	return WriteOutcome::Written;
}

WriteOutcome
UpdateRow(Handle *handle, TupleTableSlot *slot, bool locked)
{
	Relation rel = handle->rel;
	EState *estate = handle->estate;
	ResultRelInfo *rri = handle->rri;
	ItemPointerData tid = handle->row->tts_tid;
	ExecStoreVirtualTuple(slot);
	CheckCmdReplicaIdentity(rel, CMD_UPDATE);
	if (locked && rri->ri_TrigDesc && rri->ri_TrigDesc->trig_update_before_row) {
		EPQState epqstate;
		EvalPlanQualInit(&epqstate, estate, nullptr, NIL, -1);
		bool keep = ExecBRUpdateTriggers(estate, &epqstate, rri, &tid, nullptr, slot, nullptr);
		EvalPlanQualEnd(&epqstate);
		if (!keep)
			return WriteOutcome::Suppressed;
	}
	CompleteNewRow(handle, slot, CMD_UPDATE);

	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool update_indexes = false;
	TM_Result result;
	if (locked) {
		// Through the AM's callback: a BEFORE trigger may have changed the key (takeover, capture).
		result = table_tuple_update(rel, &tid, slot, estate->es_output_cid, estate->es_snapshot, InvalidSnapshot, true,
		                            &tmfd, &lockmode, &update_indexes);
		if (result == TM_SelfModified) {
			CheckSelfModified(tmfd, estate, "updated");
			return WriteOutcome::Suppressed;
		}
		if (result != TM_Ok)
			elog(ERROR, "unexpected update result %d of a locked row in %s", static_cast<int>(result),
			     handle->target->action);
	} else {
		// LookupRow found this version live and settled (not expired: the clock is fixed within the
		// statement) and the key is unchanged, so the AM need not read it again.
		result = tableam::UpdateLiveVersion(rel, &tid, slot, estate->es_output_cid, estate->es_snapshot, !no_wait,
		                                    &tmfd, &lockmode, &update_indexes);
		// Would-block mode: heap_update(wait = false) also answers TM_BeingModified when the only
		// locker is this transaction (a WATCHed row that EXEC locked, a row locked earlier in the
		// turn).  Updating through our own lock never waits, so update with waiting allowed.
		if (result == TM_BeingModified && TransactionIdIsValid(tmfd.xmax) &&
		    TransactionIdIsCurrentTransactionId(tmfd.xmax))
			result = tableam::UpdateLiveVersion(rel, &tid, slot, estate->es_output_cid, estate->es_snapshot, true,
			                                    &tmfd, &lockmode, &update_indexes);
		switch (result) {
		case TM_Ok:
			break;
		case TM_BeingModified: // would-block mode: another transaction has the row locked or is changing it
			RowWouldBlock(handle);
		case TM_Updated:
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				SerializationFailure();
			return WriteOutcome::Retry; // a concurrent writer got there first
		case TM_SelfModified:
			CheckSelfModified(tmfd, estate, "updated");
			return WriteOutcome::Suppressed;
		case TM_Invisible:
		default:
			elog(ERROR, "unexpected update result %d in %s", static_cast<int>(result), handle->target->action);
		}
	}
	List *recheck = NIL;
	if (rri->ri_NumIndices > 0 && update_indexes)
		recheck = ExecInsertIndexTuples(rri, slot, estate, true, false, nullptr, NIL);
	ExecARUpdateTriggers(estate, rri, nullptr, nullptr, &tid, nullptr, slot, recheck, nullptr, false);
	list_free(recheck);
	return WriteOutcome::Written;
}

bool
OverwriteRow(Handle *handle, TupleTableSlot *slot)
{
	Relation rel = handle->rel;
	if (RelationNeedsWAL(rel) || !TTS_IS_BUFFERTUPLE(handle->row))
		return false;
	HeapTuple old = reinterpret_cast<BufferHeapTupleTableSlot *>(handle->row)->base.tuple;
	if (old == nullptr)
		return false;
	ExecStoreVirtualTuple(slot);
	HeapTuple tuple = ExecCopySlotHeapTuple(slot);
	bool same_layout = tuple->t_len == old->t_len && tuple->t_data->t_hoff == old->t_data->t_hoff;
	if (same_layout) {
		tuple->t_self = handle->row->tts_tid;
		tuple->t_tableOid = RelationGetRelid(rel);
		heap_inplace_update(rel, tuple);
	}
	heap_freetuple(tuple);
	return same_layout;
}

bool
DeleteRow(Handle *handle)
{
	EState *estate = handle->estate;
	ResultRelInfo *rri = handle->rri;
	ItemPointerData tid = handle->row->tts_tid;
	CheckCmdReplicaIdentity(handle->rel, CMD_DELETE);
	if (rri->ri_TrigDesc && rri->ri_TrigDesc->trig_delete_before_row) {
		EPQState epqstate;
		EvalPlanQualInit(&epqstate, estate, nullptr, NIL, -1);
		bool keep = ExecBRDeleteTriggers(estate, &epqstate, rri, &tid, nullptr, nullptr);
		EvalPlanQualEnd(&epqstate);
		if (!keep)
			return false;
	}
	// As simple_table_tuple_delete, but a BEFORE DELETE trigger that already changed the row gets the
	// executor's error rather than an internal one.
	TM_FailureData tmfd;
	TM_Result result = table_tuple_delete(handle->rel, &tid, estate->es_output_cid, estate->es_snapshot,
	                                      InvalidSnapshot, true, &tmfd, false);
	if (result == TM_SelfModified) {
		CheckSelfModified(tmfd, estate, "deleted");
		return false;
	}
	if (result != TM_Ok)
		elog(ERROR, "unexpected delete result %d of a locked row in %s", static_cast<int>(result),
		     handle->target->action);
	ExecARDeleteTriggers(estate, rri, &tid, nullptr, nullptr, false);
	return true;
}

} // namespace nodedb_kv::kv
