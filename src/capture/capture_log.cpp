// The per-transaction change log of kv tables and its delivery to registered consumers at commit.
// It knows nothing about what consumers do, nor about the table AM that records into it.
//
// Log layout: one array of Change in a memory context under TopTransactionContext; keys and the
// requested column values are copied into the same context.  Subtransaction ids grow within a
// transaction and subtransactions nest, so the changes of an aborting subtransaction and its children
// are exactly the tail with subid >= the aborting id (their copies stay allocated until the end).
//
// Which columns to copy is decided per relation by asking every consumer once; the answer is cached
// in a backend-local hash cleared by relcache invalidation (creating or dropping an index invalidates
// its table; an invalidation of a relation we do not know, such as an index, clears the whole cache).
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/detoast.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"

namespace nodedb_kv::capture {
namespace {

constexpr int kMaxConsumers = 8;
Consumer consumers[kMaxConsumers];
int consumer_count = 0;

// ---- per-relation requested columns ----

struct ColumnsEntry {
	Oid relid;          // hash key
	uint64 generation;  // distinguishes fills of the same relation
	int ncolumns;       //
	AttrNumber *attnos; // in CacheMemoryContext, or nullptr
};

HTAB *columns_cache = nullptr;
uint64 columns_generation = 0;

// Frees every entry's array and the hash itself.
void
ClearColumnsCache()
{
	if (columns_cache == nullptr)
		return;
	HASH_SEQ_STATUS status;
	hash_seq_init(&status, columns_cache);
	ColumnsEntry *entry;
	while ((entry = static_cast<ColumnsEntry *>(hash_seq_search(&status))) != nullptr)
		if (entry->attnos != nullptr)
			pfree(entry->attnos);
	hash_destroy(columns_cache);
	columns_cache = nullptr;
}

void
RelcacheCallback(Datum, Oid relid)
{
	if (columns_cache == nullptr)
		return;
	ColumnsEntry *entry = OidIsValid(relid)
	                          ? static_cast<ColumnsEntry *>(hash_search(columns_cache, &relid, HASH_FIND, nullptr))
	                          : nullptr;
	if (entry == nullptr) {
		ClearColumnsCache();
		return;
	}
	if (entry->attnos != nullptr)
		pfree(entry->attnos);
	hash_search(columns_cache, &relid, HASH_REMOVE, nullptr);
}

// The columns consumers want from rel's new rows.  Asks the consumers on a cache miss (they may read
// catalogs, which may run invalidation callbacks: the cache is touched only afterwards).
const ColumnsEntry *
RequestedColumns(Relation rel)
{
	Oid relid = RelationGetRelid(rel);
	if (columns_cache != nullptr) {
		auto *entry = static_cast<ColumnsEntry *>(hash_search(columns_cache, &relid, HASH_FIND, nullptr));
		if (entry != nullptr)
			return entry;
	}
	Bitmapset *wanted = nullptr;
	for (int i = 0; i < consumer_count; i++)
		if (consumers[i].columns)
			consumers[i].columns(rel, &wanted);

	if (columns_cache == nullptr) {
		HASHCTL info = {};
		info.keysize = sizeof(Oid);
		info.entrysize = sizeof(ColumnsEntry);
		info.hcxt = CacheMemoryContext;
		columns_cache = hash_create("nodedb_kv capture columns", 64, &info, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	bool found = false;
	auto *entry = static_cast<ColumnsEntry *>(hash_search(columns_cache, &relid, HASH_ENTER, &found));
	entry->generation = ++columns_generation;
	entry->ncolumns = bms_num_members(wanted);
	entry->attnos = nullptr;
	if (entry->ncolumns > 0) {
		entry->attnos =
		    static_cast<AttrNumber *>(MemoryContextAlloc(CacheMemoryContext, sizeof(AttrNumber) * entry->ncolumns));
		int n = 0;
		for (int attno = -1; (attno = bms_next_member(wanted, attno)) >= 0;)
			entry->attnos[n++] = static_cast<AttrNumber>(attno);
	}
	bms_free(wanted);
	return entry;
}

// ---- the log ----

MemoryContext log_context = nullptr;
Change *log_changes = nullptr;
int log_count = 0;
int log_capacity = 0;
bool pre_committed = false;
// The attnos array of the last relation recorded, copied into the log (shared by its changes).
Oid memo_relid = InvalidOid;
uint64 memo_generation = 0;
const AttrNumber *memo_attnos = nullptr;

// Forgets the log; its memory goes with TopTransactionContext.
void
ResetLog()
{
	log_context = nullptr;
	log_changes = nullptr;
	log_count = 0;
	log_capacity = 0;
	pre_committed = false;
	memo_relid = InvalidOid;
	memo_attnos = nullptr;
}

// Appends a zeroed change, growing the array geometrically, and returns it.
Change *
Append()
{
	if (log_context == nullptr) {
		log_context = AllocSetContextCreate(TopTransactionContext, "nodedb_kv change log", ALLOCSET_DEFAULT_SIZES);
		log_capacity = 64;
		log_changes = static_cast<Change *>(MemoryContextAlloc(log_context, sizeof(Change) * log_capacity));
	} else if (log_count == log_capacity) {
		log_capacity *= 2;
		log_changes = static_cast<Change *>(repalloc_huge(log_changes, sizeof(Change) * log_capacity));
	}
	Change *change = &log_changes[log_count++];
	memset(change, 0, sizeof(Change));
	return change;
}

// Copies the requested columns of new_row into change (current context: the log's).  Varlena values
// are detoasted here: consumers run at commit, where fetching a TOAST value could fail.
// The cache entry is read before anything that could process invalidations (detoasting).
void
CopyColumns(Change *change, Relation rel, const ColumnsEntry *columns, TupleTableSlot *new_row)
{
	int ncolumns = columns->ncolumns;
	if (memo_relid != RelationGetRelid(rel) || memo_generation != columns->generation) {
		auto *attnos = static_cast<AttrNumber *>(palloc(sizeof(AttrNumber) * ncolumns));
		memcpy(attnos, columns->attnos, sizeof(AttrNumber) * ncolumns);
		memo_relid = RelationGetRelid(rel);
		memo_generation = columns->generation;
		memo_attnos = attnos;
	}
	auto *values = static_cast<Datum *>(palloc(sizeof(Datum) * ncolumns));
	auto *isnull = static_cast<bool *>(palloc(sizeof(bool) * ncolumns));
	change->ncolumns = ncolumns;
	change->attnos = memo_attnos;
	change->values = values;
	change->isnull = isnull;
	TupleDesc desc = RelationGetDescr(rel);
	for (int i = 0; i < ncolumns; i++) {
		AttrNumber attno = memo_attnos[i];
		values[i] = 0;
		isnull[i] = true;
		if (attno > desc->natts || TupleDescAttr(desc, attno - 1)->attisdropped)
			continue;
		Form_pg_attribute attr = TupleDescAttr(desc, attno - 1);
		Datum value = slot_getattr(new_row, attno, &isnull[i]);
		if (isnull[i])
			continue;
		if (attr->attlen == -1)
			value = PointerGetDatum(PG_DETOAST_DATUM_PACKED(value));
		values[i] = datumCopy(value, attr->attbyval, attr->attlen);
	}
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
		if (pre_committed) {
			CommitInfo info = {XactLastCommitEnd, GetCurrentTransactionStopTimestamp()};
			for (int i = 0; i < consumer_count; i++)
				if (consumers[i].commit)
					consumers[i].commit(log_changes, log_count, info);
		}
		ResetLog();
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
RegisterConsumer(const Consumer &consumer)
{
	if (consumer_count >= kMaxConsumers)
		elog(ERROR, "too many nodedb_kv change consumers");
	consumers[consumer_count++] = consumer;
}

namespace {
uint64 current_origin = 0; // SetOrigin
} // namespace

void
SetOrigin(uint64 origin)
{
	current_origin = origin;
}

void
Record(Relation rel, ChangeOp op, AttrNumber key_attno, Datum key, bool key_isnull, TupleTableSlot *new_row)
{
	const ColumnsEntry *columns = RequestedColumns(rel);
	bool watched = columns->ncolumns > 0;
	if (new_row == nullptr || (op != ChangeOp::Insert && op != ChangeOp::Update))
		columns = nullptr;

	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	Change *change = Append(); // creates log_context on first use
	MemoryContextSwitchTo(log_context);
	change->relid = RelationGetRelid(rel);
	change->op = op;
	change->watched = watched;
	change->subid = GetCurrentSubTransactionId();
	change->origin = current_origin;
	change->key_isnull = key_isnull || key_attno == InvalidAttrNumber;
	// Columns first: detoasting may process invalidations, which can free the cache entry.
	if (columns != nullptr && columns->ncolumns > 0)
		CopyColumns(change, rel, columns, new_row);
	if (!change->key_isnull) {
		Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), key_attno - 1);
		change->key_type = {attr->atttypid, attr->attcollation, attr->attlen, attr->attbyval};
		if (attr->attlen == -1)
			key = PointerGetDatum(PG_DETOAST_DATUM_PACKED(key));
		change->key = datumCopy(key, attr->attbyval, attr->attlen);
	}
	MemoryContextSwitchTo(old);
}

int
PendingChangeCount()
{
	return log_count;
}

const Change *
PendingChanges(int *count)
{
	*count = log_count;
	return log_changes;
}

void
InstallCallbacks()
{
	RegisterXactCallback(XactCallback, nullptr);
	RegisterSubXactCallback(SubXactCallback, nullptr);
	CacheRegisterRelcacheCallback(RelcacheCallback, 0);
}

} // namespace nodedb_kv::capture
