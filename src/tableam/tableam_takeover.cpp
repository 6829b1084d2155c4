// Takeover of expired keys by new writes.  Looks the key up in the primary-key index with a dirty
// snapshot (it must see rows other transactions are writing), waits for transactions still writing
// a row of the key, and deletes settled expired rows with heap's tuple_delete.  Called before every
// insert (tuple_insert, speculative insert, multi_insert) and before an update that changes the key.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/genam.h"
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/rel.h"
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

// What one pass over the index entries of a key found.
struct PassResult {
	bool retry;               // look again (after waiting for wait_xid, when valid)
	TransactionId wait_xid;   // another transaction writing a candidate row
	uint32 wait_token;        // its speculative insertion token, or 0
	ItemPointerData wait_tid; // the candidate row (for the wait's error context)
};

// index_getnext_slot with expired rows visible: the dirty snapshot would hide the settled expired
// rows this lookup is after.  The bypass never outlives the call, not even on ERROR (a rolled-back
// subtransaction must not leave expiry hiding off for the rest of the transaction).
bool
NextCandidate(IndexScanDesc scan, TupleTableSlot *slot)
{
	bool found = false;
	auto next = [&found, scan, slot] { found = index_getnext_slot(scan, ForwardScanDirection, slot); };
	ttl::WithExpiryBypass(next);
	return found;
}

// One pass over the index entries for key: deletes the settled expired rows it finds.  Waits for
// nothing and raises nothing itself; the caller acts on the result once the scan is closed.
PassResult
TakeOverPass(Relation rel, Relation index, ScanKey scankey, CommandId cid, AttrNumber expiry_attno, Datum key,
             bool wait = true)
{
	PassResult result = {};
	SnapshotData dirty;
	InitDirtySnapshot(dirty);
	TupleTableSlot *found = table_slot_create(rel, nullptr);
	IndexScanDesc scan = index_beginscan(rel, index, &dirty, 1, 0);
	index_rescan(scan, scankey, 1, nullptr, 0);
	TimestampTz now = ttl::Now();

	while (NextCandidate(scan, found)) {
		// Inserted or being deleted by another transaction: its outcome decides whether an expired
		// row is left to take over, so wait for it and look again.  Skipping it would let the unique
		// check (which does wait) accept our row next to an expired row it then hides: two physical
		// rows for one key.
		if (TransactionIdIsValid(dirty.xmin) || TransactionIdIsValid(dirty.xmax)) {
			result.retry = true;
			result.wait_xid = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
			result.wait_token = dirty.speculativeToken;
			result.wait_tid = found->tts_tid;
			break;
		}
		if (!ttl::SlotExpired(found, expiry_attno, now))
			continue;
		// Written (already expired) earlier in this very command, e.g. the first of two rows of one
		// key in a multi-row INSERT: the key is absent, so the live row must win.  Heap refuses to
		// delete a row with the command that inserted it, so the delete is stamped with the next
		// command id.  Dirty and self snapshots (unique checks, arbitration, takeover) see a row
		// deleted by our own transaction as gone at once; MVCC readers of the next command would see
		// it for that one command, but it is expired, and "now" never moves backwards.
		CommandId delete_cid = cid;
		CommandId cmin = InvalidCommandId;
		if (InsertedByCommand(found, cid, &cmin))
			delete_cid = cmin + 1;
		TM_FailureData tmfd;
		TM_Result deleted = GetHeapamTableAmRoutine()->tuple_delete(rel, &found->tts_tid, delete_cid, InvalidSnapshot,
		                                                            InvalidSnapshot, wait, &tmfd, false);
		if (deleted == TM_Ok)
			CaptureKey(rel, capture::ChangeOp::Expire, key, false);
		else if (deleted == TM_Updated || deleted == TM_Deleted || deleted == TM_BeingModified) {
			result.retry = true; // changed under us after the wait: look again
			break;
		}
		// TM_SelfModified: this transaction already deleted or replaced it; nothing to take over.
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(found);
	return result;
}

// ---- lazy expiry ----
struct NotedKey {
	Oid relid;
	Datum key; // copied into TopTransactionContext
};
bool note_expired = false;
NotedKey noted[kMaxNotedExpiredKeys];
int noted_count = 0;

} // namespace

void
SetNoteExpiredKeys(bool on)
{
	note_expired = on;
	noted_count = 0;
}

void
ForgetNotedExpiredKeys()
{
	noted_count = 0;
}

void
NoteExpiredKey(Relation rel, TupleTableSlot *slot)
{
	if (!note_expired || noted_count == kMaxNotedExpiredKeys || rel->rd_amcache == nullptr)
		return;
	const RelInfo *info = static_cast<const RelInfo *>(rel->rd_amcache);
	if (info->key_attno == InvalidAttrNumber || !OidIsValid(info->pk_index) || info->transient)
		return;
	bool isnull = false;
	Datum key = slot_getattr(slot, info->key_attno, &isnull);
	if (isnull)
		return;
	Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), info->key_attno - 1);
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	noted[noted_count].relid = RelationGetRelid(rel);
	noted[noted_count].key = datumCopy(key, attr->attbyval, attr->attlen);
	noted_count++;
	MemoryContextSwitchTo(old);
}

void
ExpireNotedKeys()
{
	int count = noted_count;
	noted_count = 0;
	if (count == 0 || RecoveryInProgress() || XactReadOnly)
		return;
	CommandId cid = GetCurrentCommandId(true);
	for (int i = 0; i < count; i++) {
		Oid relid = noted[i].relid;
		// The deletes are the server's, as the expiry worker's, but only for a user who could delete
		// the row: otherwise the worker reports the key's expiry later.
		if (pg_class_aclcheck(relid, GetUserId(), ACL_DELETE) != ACLCHECK_OK ||
		    !ConditionalLockRelationOid(relid, RowExclusiveLock))
			continue;
		Relation rel = table_open(relid, NoLock);
		const RelInfo *info = GetRelInfo(rel);
		if (info->expiry_attno == InvalidAttrNumber || !OidIsValid(info->pk_index) || info->transient ||
		    !ConditionalLockRelationOid(info->pk_index, RowExclusiveLock)) {
			table_close(rel, NoLock);
			continue;
		}
		Oid eq_proc = info->key_eq_proc;
		Oid collation = info->key_collation;
		AttrNumber expiry_attno = info->expiry_attno;
		Relation index = index_open(info->pk_index, NoLock);
		ScanKeyData scankey;
		ScanKeyEntryInitialize(&scankey, 0, 1, BTEqualStrategyNumber, InvalidOid, collation, eq_proc, noted[i].key);
		(void)TakeOverPass(rel, index, &scankey, cid, expiry_attno, noted[i].key, false); // busy: left alone
		index_close(index, NoLock);
		table_close(rel, NoLock);
	}
}

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
		PassResult pass = TakeOverPass(rel, index, &scankey, cid, expiry_attno, key);
		if (!pass.retry)
			break;
		if (attempt > 1000)
			elog(ERROR, "could not take over expired key in \"%s\": too many concurrent changes",
			     RelationGetRelationName(rel));
		// The waits btree's unique check would make (_bt_doinsert), made before our row exists.
		if (pass.wait_token != 0)
			SpeculativeInsertionWait(pass.wait_xid, pass.wait_token);
		else if (TransactionIdIsValid(pass.wait_xid))
			XactLockTableWait(pass.wait_xid, rel, &pass.wait_tid, XLTW_InsertIndex);
		CHECK_FOR_INTERRUPTS();
	}
	index_close(index, NoLock);
}

} // namespace nodedb_kv::tableam
