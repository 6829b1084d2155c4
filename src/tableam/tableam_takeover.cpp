// Takeover of expired keys by new writes.  Looks the key up in the primary-key index with a dirty
// snapshot (it must see rows other transactions are writing) and deletes settled expired rows with
// heap's tuple_delete.  A candidate another transaction is still inserting or deleting is waited for
// first: once settled it may be an expired row (inserted already expired, or its deleter aborted),
// and the btree unique check, which waits for it too, would then hide it and let a second live row
// of the key in.  Called before every insert (tuple_insert, speculative insert, multi_insert) and
// before an update that changes the key.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/genam.h"
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/snapmgr.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_capture.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/tableam/tableam_scan.hpp"
#include "nodedb_kv/tableam/tableam_takeover.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"

namespace nodedb_kv::tableam {
namespace {

// A transaction the next pass must wait for (xid invalid: none).
struct Wait {
	TransactionId xid;
	uint32 spec_token; // speculative insertion of xid to wait for, or 0
	ItemPointerData tid;
};

// One pass over the index entries for key.  Returns true if the lookup must be repeated: a candidate
// changed concurrently, or *wait names a transaction to wait for first.
bool
TakeOverPass(Relation rel, Relation index, ScanKey scankey, CommandId cid, AttrNumber expiry_attno, Datum key,
             Wait *wait)
{
	SnapshotData dirty;
	InitDirtySnapshot(dirty);
	TupleTableSlot *found = table_slot_create(rel, nullptr);
	IndexScanDesc scan = index_beginscan(rel, index, &dirty, 1, 0);
	index_rescan(scan, scankey, 1, nullptr, 0);
	TimestampTz now = ttl::Now();
	bool retry = false;
	wait->xid = InvalidTransactionId;

	expiry_bypass++;
	while (index_getnext_slot(scan, ForwardScanDirection, found)) {
		// Inserted or being deleted by another transaction: wait until it settles, then look again.
		if (TransactionIdIsValid(dirty.xmin) || TransactionIdIsValid(dirty.xmax)) {
			wait->xid = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
			wait->spec_token = dirty.speculativeToken;
			wait->tid = found->tts_tid;
			retry = true;
			break;
		}
		// Heap cannot delete a row of the current command; the unique check reports the duplicate.
		if (!ttl::SlotExpired(found, expiry_attno, now) || InsertedByCurrentCommand(found))
			continue;
		TM_FailureData tmfd;
		TM_Result result = GetHeapamTableAmRoutine()->tuple_delete(rel, &found->tts_tid, cid, InvalidSnapshot,
		                                                           InvalidSnapshot, true, &tmfd, false);
		if (result == TM_Ok)
			CaptureChange(rel, ChangeOp::Expire, key, false);
		else if (result == TM_Updated || result == TM_Deleted) {
			retry = true; // changed under us after the wait: look again
			break;
		}
		// TM_SelfModified: this transaction already deleted or replaced it; nothing to take over.
	}
	expiry_bypass--;
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(found);
	return retry;
}

} // namespace

void
TakeOverExpiredKey(Relation rel, TupleTableSlot *slot, CommandId cid)
{
	const RelInfo *info = GetRelInfo(rel);
	if (info->expiry_attno == InvalidAttrNumber || !OidIsValid(info->pk_index) || info->transient)
		return;
	bool isnull = false;
	Datum key = slot_getattr(slot, info->key_attno, &isnull);
	if (isnull)
		return;

	// Copy what we need: opening the index can process invalidations that free rd_amcache.
	Oid pk_index = info->pk_index;
	Oid eq_proc = info->key_eq_proc;
	Oid collation = info->key_collation;
	AttrNumber expiry_attno = info->expiry_attno;

	Relation index = index_open(pk_index, RowExclusiveLock);
	ScanKeyData scankey;
	ScanKeyEntryInitialize(&scankey, 0, 1, BTEqualStrategyNumber, InvalidOid, collation, eq_proc, key);
	Wait wait;
	int changed = 0;
	while (TakeOverPass(rel, index, &scankey, cid, expiry_attno, key, &wait)) {
		// The index scan has ended: no buffer is locked or pinned while we wait (as in
		// check_exclusion_or_unique_constraint).
		if (TransactionIdIsValid(wait.xid)) {
			if (wait.spec_token != 0)
				SpeculativeInsertionWait(wait.xid, wait.spec_token);
			else
				XactLockTableWait(wait.xid, rel, &wait.tid, XLTW_InsertIndexUnique);
		} else if (++changed > 1000)
			elog(ERROR, "could not take over expired key in \"%s\": too many concurrent changes",
			     RelationGetRelationName(rel));
		CHECK_FOR_INTERRUPTS();
	}
	index_close(index, NoLock);
}

} // namespace nodedb_kv::tableam
