// The per-transaction change log of kv tables and its delivery to consumers at commit.  It knows
// nothing about what consumers do (kv_stats counters today; sorted indexes and pub/sub later).
//
// Log layout: one array of Change in a memory context under TopTransactionContext.  Subtransaction
// ids grow within a transaction and subtransactions nest, so the changes of an aborting
// subtransaction and its children are exactly the tail with subid >= the aborting id.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "utils/datum.h"
#include "utils/memutils.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_capture.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/tableam/tableam_scan.hpp"

namespace nodedb_kv::tableam {
namespace {

constexpr int kMaxConsumers = 8;
ChangeConsumer consumers[kMaxConsumers];
int consumer_count = 0;

MemoryContext log_context = nullptr;
Change *log_changes = nullptr;
int log_count = 0;
int log_capacity = 0;
bool pre_committed = false;

// Forgets the log; its memory goes with TopTransactionContext.
void
ResetLog()
{
	log_context = nullptr;
	log_changes = nullptr;
	log_count = 0;
	log_capacity = 0;
	pre_committed = false;
}

// Appends one change, growing the array geometrically.
void
Append(const Change &change)
{
	if (log_context == nullptr) {
		log_context = AllocSetContextCreate(TopTransactionContext, "nodedb_kv change log", ALLOCSET_DEFAULT_SIZES);
		log_capacity = 64;
		log_changes = static_cast<Change *>(MemoryContextAlloc(log_context, sizeof(Change) * log_capacity));
	} else if (log_count == log_capacity) {
		log_capacity *= 2;
		log_changes = static_cast<Change *>(repalloc_huge(log_changes, sizeof(Change) * log_capacity));
	}
	log_changes[log_count++] = change;
}

void
XactCallback(XactEvent event, void *)
{
	switch (event) {
	case XACT_EVENT_PRE_COMMIT:
		for (int i = 0; i < consumer_count; i++)
			if (consumers[i].pre_commit)
				consumers[i].pre_commit(log_changes, log_count);
		pre_committed = true;
		break;
	case XACT_EVENT_COMMIT:
		if (pre_committed)
			for (int i = 0; i < consumer_count; i++)
				if (consumers[i].commit)
					consumers[i].commit();
		ResetLog();
		expiry_bypass = 0;
		break;
	case XACT_EVENT_PRE_PREPARE:
		// COMMIT PREPARED runs no transaction callbacks: the changes could never be delivered.
		if (log_count > 0)
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			         errmsg("cannot prepare a transaction that has written to a kv table"),
			         errhint("Commit the transaction normally; two-phase commit is not supported for kv tables.")));
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
	case XACT_EVENT_PREPARE:
		for (int i = 0; i < consumer_count; i++)
			if (consumers[i].abort)
				consumers[i].abort();
		ResetLog();
		expiry_bypass = 0;
		break;
	default:
		break;
	}
}

void
SubXactCallback(SubXactEvent event, SubTransactionId subid, SubTransactionId, void *)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (log_count > 0 && log_changes[log_count - 1].subid >= subid)
		log_count--;
}

} // namespace

void
RegisterChangeConsumer(const ChangeConsumer &consumer)
{
	if (consumer_count >= kMaxConsumers)
		elog(ERROR, "too many nodedb_kv change consumers");
	consumers[consumer_count++] = consumer;
}

void
CaptureChange(Relation rel, ChangeOp op, Datum key, bool key_isnull)
{
	const RelInfo *info = GetRelInfo(rel);
	if (info->transient)
		return;
	Change change = {};
	change.relid = RelationGetRelid(rel);
	change.op = op;
	change.subid = GetCurrentSubTransactionId();
	change.key_isnull = key_isnull || info->key_attno == InvalidAttrNumber;
	if (!change.key_isnull) {
		Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), info->key_attno - 1);
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
		Append(change); // creates log_context on first use
		MemoryContextSwitchTo(log_context);
		log_changes[log_count - 1].key = datumCopy(key, attr->attbyval, attr->attlen);
		MemoryContextSwitchTo(old);
		return;
	}
	Append(change);
}

void
CaptureSlotChange(Relation rel, ChangeOp op, TupleTableSlot *slot)
{
	const RelInfo *info = GetRelInfo(rel);
	if (info->transient)
		return;
	bool isnull = true;
	Datum key = info->key_attno != InvalidAttrNumber ? slot_getattr(slot, info->key_attno, &isnull) : Datum(0);
	CaptureChange(rel, op, key, isnull);
}

int
PendingChangeCount()
{
	return log_count;
}

void
InstallCaptureCallbacks()
{
	RegisterXactCallback(XactCallback, nullptr);
	RegisterSubXactCallback(SubXactCallback, nullptr);
}

} // namespace nodedb_kv::tableam
