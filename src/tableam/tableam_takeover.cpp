// Takeover of expired keys by new writes.  Looks the key up in the primary-key index with a dirty
// snapshot (it must see rows other transactions are writing) and deletes settled expired rows with
// heap's tuple_delete; rows another transaction is still writing are waited for first (the unique
// check would wait for them anyway).  Called before every insert (tuple_insert, speculative insert,
// multi_insert) and before an update that changes the key.
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

// What a pass found another transaction writing, to be waited for before the next pass.
struct Wait {
	TransactionId xid; // InvalidTransactionId: nothing to wait for
	uint32 spec_token; // non-zero: a speculative insertion (ON CONFLICT / kv engine) in progress
	ItemPointerData tid;
};

// One pass over the index entries for key.  Returns true if the lookup must be repeated: a candidate
// row changed concurrently, or (*wait set) another transaction is still writing one.
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

	for (;;) {
		// Only the fetch needs the bypass (the dirty snapshot would hide the settled expired rows we
		// are looking for).  Nothing that can wait or fail runs under it: an ERROR caught by a
		// savepoint (lock_timeout in tuple_delete below) would otherwise leave the bypass raised,
		// and expired rows visible, until the end of the top transaction.
		expiry_bypass++;
		bool fetched = index_getnext_slot(scan, ForwardScanDirection, found);
		expiry_bypass--;
		if (!fetched)
			break;
		// Being inserted, updated or deleted by another transaction: wait for it to end, then look
		// again.  Skipping it is not safe: if that transaction leaves the row expired (an update
		// keeping an expiry that has passed meanwhile), the unique check of our insert, which ignores
		// settled expired rows, would then let a second live row of the key in.
		if (TransactionIdIsValid(dirty.xmin) || TransactionIdIsValid(dirty.xmax)) {
			wait->xid = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
			wait->spec_token = dirty.speculativeToken;
			wait->tid = found->tts_tid;
			retry = true;
			break;
		}
		if (!ttl::SlotExpired(found, expiry_attno, now))
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
	for (int attempt = 0;; attempt++) {
		Wait wait = {InvalidTransactionId, 0, {}};
		if (!TakeOverPass(rel, index, &scankey, cid, expiry_attno, key, &wait))
			break;
		// Wait as the unique check would (check_exclusion_or_unique_constraint), just earlier.
		if (wait.spec_token != 0)
			SpeculativeInsertionWait(wait.xid, wait.spec_token);
		else if (TransactionIdIsValid(wait.xid))
			XactLockTableWait(wait.xid, rel, &wait.tid, XLTW_InsertIndex);
		else if (attempt > 1000)
			elog(ERROR, "could not take over expired key in \"%s\": too many concurrent changes",
			     RelationGetRelationName(rel));
		CHECK_FOR_INTERRUPTS();
	}
	index_close(index, NoLock);
}

} // namespace nodedb_kv::tableam
