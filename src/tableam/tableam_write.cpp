// Write paths of the kv table AM.  Each calls heap's callback; around it: takeover of expired keys
// (tableam_takeover.cpp), the "expired target = already deleted" rule for update, delete and lock,
// and change capture (src/capture).  Truncation is captured here too.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/heapam.h"
#include "access/htup_details.h"
#include "catalog/pg_am_d.h"
#include "utils/datum.h"
#include "utils/snapmgr.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/tableam/tableam_scan.hpp"
#include "nodedb_kv/tableam/tableam_takeover.hpp"
#include "nodedb_kv/tableam/tableam_write.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"

namespace nodedb_kv::tableam {
namespace {

const TableAmRoutine *heap = nullptr;

// The row version an update or delete targets, read once for both the expiry rule and the key.
struct Target {
	bool expired;    // expired, and this backend is not exempt from the rule
	bool key_isnull; // no key (no primary key, or the version could not be read)
	Datum key;       // copied into the current memory context
};

// Reads the version at tid (any visibility; the caller's scan already judged it) and fills *target.
// If new_slot is given, *key_changed tells whether its key differs from the old one.
void
ReadTarget(Relation rel, ItemPointer tid, TupleTableSlot *new_slot, Target *target, bool *key_changed)
{
	const RelInfo *info = GetRelInfo(rel);
	target->expired = false;
	target->key_isnull = true;
	target->key = 0;
	if (key_changed)
		*key_changed = false;
	if (info->key_attno == InvalidAttrNumber && info->expiry_attno == InvalidAttrNumber)
		return;
	TupleTableSlot *old = table_slot_create(rel, nullptr);
	if (heap->tuple_fetch_row_version(rel, tid, SnapshotAny, old)) {
		if (info->expiry_attno != InvalidAttrNumber && !ttl::ExpiryBypassed())
			target->expired = ttl::SlotExpired(old, info->expiry_attno, ttl::Now());
		if (info->key_attno != InvalidAttrNumber) {
			Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), info->key_attno - 1);
			Datum key = slot_getattr(old, info->key_attno, &target->key_isnull);
			if (new_slot != nullptr && key_changed != nullptr) {
				bool new_isnull = false;
				Datum new_key = slot_getattr(new_slot, info->key_attno, &new_isnull);
				*key_changed = new_isnull != target->key_isnull ||
				               (!new_isnull && !datumIsEqual(key, new_key, attr->attbyval, attr->attlen));
			}
			if (!target->key_isnull)
				target->key = datumCopy(key, attr->attbyval, attr->attlen);
		}
	}
	ExecDropSingleTupleTableSlot(old);
}

// Reports an expired target the way heap reports a row deleted by a committed transaction.
TM_Result
ExpiredResult(ItemPointer tid, TM_FailureData *tmfd)
{
	tmfd->ctid = *tid;
	tmfd->xmax = InvalidTransactionId;
	tmfd->cmax = InvalidCommandId;
	tmfd->traversed = false;
	return TM_Deleted;
}

void
KvTupleInsert(Relation rel, TupleTableSlot *slot, CommandId cid, int options, BulkInsertState bistate)
{
	TakeOverExpiredKey(rel, slot, cid);
	heap->tuple_insert(rel, slot, cid, options, bistate);
	CaptureRow(rel, capture::ChangeOp::Insert, slot);
}

void
KvTupleInsertSpeculative(Relation rel, TupleTableSlot *slot, CommandId cid, int options, BulkInsertState bistate,
                         uint32 spec_token)
{
	TakeOverExpiredKey(rel, slot, cid);
	heap->tuple_insert_speculative(rel, slot, cid, options, bistate, spec_token);
}

// A speculative insertion is captured only once it is confirmed.
void
KvTupleCompleteSpeculative(Relation rel, TupleTableSlot *slot, uint32 spec_token, bool succeeded)
{
	heap->tuple_complete_speculative(rel, slot, spec_token, succeeded);
	if (succeeded)
		CaptureRow(rel, capture::ChangeOp::Insert, slot);
}

void
KvMultiInsert(Relation rel, TupleTableSlot **slots, int nslots, CommandId cid, int options, BulkInsertState bistate)
{
	for (int i = 0; i < nslots; i++)
		TakeOverExpiredKey(rel, slots[i], cid);
	heap->multi_insert(rel, slots, nslots, cid, options, bistate);
	for (int i = 0; i < nslots; i++)
		CaptureRow(rel, capture::ChangeOp::Insert, slots[i]);
}

TM_Result
KvTupleDelete(Relation rel, ItemPointer tid, CommandId cid, Snapshot snapshot, Snapshot crosscheck, bool wait,
              TM_FailureData *tmfd, bool changing_part)
{
	Target target;
	ReadTarget(rel, tid, nullptr, &target, nullptr);
	if (target.expired)
		return ExpiredResult(tid, tmfd);
	TM_Result result = heap->tuple_delete(rel, tid, cid, snapshot, crosscheck, wait, tmfd, changing_part);
	if (result == TM_Ok)
		CaptureKey(rel, ttl::ExpiryBypassed() ? capture::ChangeOp::Expire : capture::ChangeOp::Delete, target.key,
		           target.key_isnull);
	return result;
}

TM_Result
KvTupleUpdate(Relation rel, ItemPointer otid, TupleTableSlot *slot, CommandId cid, Snapshot snapshot,
              Snapshot crosscheck, bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode, bool *update_indexes)
{
	Target target;
	bool key_changed = false;
	ReadTarget(rel, otid, slot, &target, &key_changed);
	if (target.expired)
		return ExpiredResult(otid, tmfd);
	if (key_changed)
		TakeOverExpiredKey(rel, slot, cid);

	AllowEntrylessHot(rel);
	TM_Result result =
	    heap->tuple_update(rel, otid, slot, cid, snapshot, crosscheck, wait, tmfd, lockmode, update_indexes);
	if (result == TM_Ok) {
		if (key_changed) {
			CaptureKey(rel, capture::ChangeOp::Delete, target.key, target.key_isnull);
			CaptureRow(rel, capture::ChangeOp::Insert, slot);
		} else
			CaptureRow(rel, capture::ChangeOp::Update, slot);
	}
	return result;
}

TM_Result
KvTupleLock(Relation rel, ItemPointer tid, Snapshot snapshot, TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
            LockWaitPolicy wait_policy, uint8 flags, TM_FailureData *tmfd)
{
	TM_Result result = heap->tuple_lock(rel, tid, snapshot, slot, cid, mode, wait_policy, flags, tmfd);
	if (result != TM_Ok || ttl::ExpiryBypassed())
		return result;
	AttrNumber attno = GetRelInfo(rel)->expiry_attno;
	if (attno != InvalidAttrNumber && ttl::SlotExpired(slot, attno, ttl::Now())) {
		// The newest version expired: for the caller it no longer exists.  Our row lock stays until
		// the end of the transaction, which only delays a concurrent takeover of this key.
		bool traversed = tmfd->traversed;
		ItemPointerData locked = slot->tts_tid;
		ExecClearTuple(slot);
		ExpiredResult(&locked, tmfd);
		tmfd->traversed = traversed;
		return TM_Deleted;
	}
	return result;
}

// TRUNCATE gives the table a new relfilenode; CREATE TABLE and rewrites do too, but for a relation
// created in this transaction (rd_createSubid set), which is not a truncation of existing rows.
void
KvSetNewFilenode(Relation rel, const RelFileNode *newrnode, char persistence, TransactionId *freeze_xid,
                 MultiXactId *minmulti)
{
	heap->relation_set_new_filenode(rel, newrnode, persistence, freeze_xid, minmulti);
	if (rel->rd_createSubid == InvalidSubTransactionId)
		CaptureKey(rel, capture::ChangeOp::Truncate, 0, true);
}

void
KvNontransactionalTruncate(Relation rel)
{
	heap->relation_nontransactional_truncate(rel);
	CaptureKey(rel, capture::ChangeOp::Truncate, 0, true);
}

// TOAST tables of kv tables are plain heap: heap's callback would make them kv (PG15-PITFALLS §1.2).
Oid
KvRelationToastAm(Relation)
{
	return HEAP_TABLE_AM_OID;
}

} // namespace

void
CaptureRow(Relation rel, capture::ChangeOp op, TupleTableSlot *slot)
{
	const RelInfo *info = GetRelInfo(rel);
	if (info->transient)
		return;
	bool isnull = true;
	Datum key = info->key_attno != InvalidAttrNumber ? slot_getattr(slot, info->key_attno, &isnull) : Datum(0);
	bool new_row = op == capture::ChangeOp::Insert || op == capture::ChangeOp::Update;
	capture::Record(rel, op, info->key_attno, key, isnull, new_row ? slot : nullptr);
}

void
CaptureKey(Relation rel, capture::ChangeOp op, Datum key, bool key_isnull)
{
	const RelInfo *info = GetRelInfo(rel);
	if (info->transient)
		return;
	capture::Record(rel, op, info->key_attno, key, key_isnull, nullptr);
}

TM_Result
UpdateLiveVersion(Relation rel, ItemPointer otid, TupleTableSlot *slot, CommandId cid, Snapshot snapshot, bool wait,
                  TM_FailureData *tmfd, LockTupleMode *lockmode, bool *update_indexes)
{
	AllowEntrylessHot(rel);
	TM_Result result =
	    heap->tuple_update(rel, otid, slot, cid, snapshot, InvalidSnapshot, wait, tmfd, lockmode, update_indexes);
	if (result == TM_Ok)
		CaptureRow(rel, capture::ChangeOp::Update, slot);
	return result;
}

void
InstallWriteCallbacks(TableAmRoutine *routine)
{
	heap = GetHeapamTableAmRoutine();
	routine->tuple_insert = KvTupleInsert;
	routine->tuple_insert_speculative = KvTupleInsertSpeculative;
	routine->tuple_complete_speculative = KvTupleCompleteSpeculative;
	routine->multi_insert = KvMultiInsert;
	routine->tuple_delete = KvTupleDelete;
	routine->tuple_update = KvTupleUpdate;
	routine->tuple_lock = KvTupleLock;
	routine->relation_set_new_filenode = KvSetNewFilenode;
	routine->relation_nontransactional_truncate = KvNontransactionalTruncate;
	routine->relation_toast_am = KvRelationToastAm;
}

} // namespace nodedb_kv::tableam
