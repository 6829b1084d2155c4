// Whole-collection operations of the kv engine: resolving a collection by name, scanning keys in
// primary-key order from a cursor key (SCAN, KEYS), counting live keys (DBSIZE), a random key read
// from random heap pages (RANDOMKEY), the keyspace figures of INFO from a sample of pages, the Redis
// keyspaces (kv_db<n>) and emptying a collection (FLUSHDB, FLUSHALL).  Reads go through the kv AM with
// the active MVCC snapshot, so expired keys are absent; privileges are checked like the executor
// would (SELECT, TRUNCATE).
#include <algorithm>

#include "nodedb_kv/kv/kv_handle.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/genam.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/tablecmds.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/varlena.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::kv {
namespace {

// An open collection for a whole-collection read.
struct Opened {
	Relation rel;
	const tableam::RelInfo *info;
};

// What a lock held elsewhere does to a whole-collection operation in would-block mode: raise 55P03
// (the RESP worker parks the command and retries it), or return WouldBlock (INFO leaves the collection
// out instead of waiting).
enum class Busy { Raise, Report };

// Takes relid's lock: at once or raising 55P03 in would-block mode (LockCollection), or with
// Busy::Report false when it would wait.  Outside would-block mode it waits, as table_open does.
bool
LockForRead(Oid relid, LOCKMODE lockmode, Busy busy)
{
	if (busy == Busy::Report && NoWait())
		return ConditionalLockRelationOid(relid, lockmode);
	LockCollection(relid, lockmode);
	return true;
}

// Opens the primary key of an open collection (locked as LockForRead does; REINDEX holds it), or
// nullptr with Busy::Report when its lock would wait.
Relation
OpenPrimaryKey(const Opened &opened, Busy busy = Busy::Raise)
{
	if (!LockForRead(opened.info->pk_index, AccessShareLock, busy))
		return nullptr;
	return index_open(opened.info->pk_index, AccessShareLock);
}

// Opens target for reading with the executor's checks: a kv table with a primary key, no row-level
// security, and `privilege` on the table (or, for SELECT, on the key column).  The table is locked
// first, without waiting in would-block mode (ALTER TABLE or LOCK TABLE in a long transaction must not
// stall the RESP worker): see Busy.
bool
OpenCollection(const Target &target, AclMode privilege, LOCKMODE lockmode, Opened *opened, Status *status,
               Busy busy = Busy::Raise)
{
	status->code = Code::Ok;
	if (!LockForRead(target.relid, lockmode, busy)) {
		SetStatus(status, Code::WouldBlock, "could not obtain lock on relation with OID %u", target.relid);
		return false;
	}
	opened->rel = try_table_open(target.relid, lockmode);
	if (opened->rel == nullptr) {
		SetStatus(status, Code::NoSuchCollection, "relation with OID %u does not exist", target.relid);
		return false;
	}
	Relation rel = opened->rel;
	const char *name = RelationGetRelationName(rel);
	if (rel->rd_rel->relkind != RELKIND_RELATION || !tableam::IsKvRelation(rel)) {
		SetStatus(status, Code::NotKvTable, "\"%s\" is not a kv table", name);
		return false;
	}
	opened->info = tableam::GetRelInfo(rel);
	if (!OidIsValid(opened->info->pk_index)) {
		SetStatus(status, Code::NotKvTable, "kv table \"%s\" has no primary key", name);
		return false;
	}
	if (target.internal)
		return true;
	if (check_enable_rls(target.relid, InvalidOid, true) == RLS_ENABLED) {
		SetStatus(status, Code::Unsupported, "%s does not support row-level security, which is enabled on \"%s\"",
		          target.action, name);
		return false;
	}
	Oid user = GetUserId();
	bool allowed = pg_class_aclcheck(target.relid, user, privilege) == ACLCHECK_OK ||
	               (privilege == ACL_SELECT &&
	                pg_attribute_aclcheck(target.relid, opened->info->key_attno, user, ACL_SELECT) == ACLCHECK_OK);
	if (!allowed) {
		SetStatus(status, Code::PermissionDenied, "permission denied for table %s", name);
		return false;
	}
	return true;
}

void
CloseCollection(Opened *opened, LOCKMODE lockmode)
{
	if (opened->rel != nullptr)
		table_close(opened->rel, NoLock);
	opened->rel = nullptr;
	(void)lockmode;
}

// The key datum as bytes (copied into the current memory context).
Bytes
KeyBytes(Form_pg_attribute attr, Datum datum)
{
	Oid base = getBaseType(attr->atttypid);
	if (base == BYTEAOID || base == TEXTOID || base == VARCHAROID || base == BPCHAROID) {
		struct varlena *copy = PG_DETOAST_DATUM_COPY(datum);
		return {VARDATA_ANY(copy), VARSIZE_ANY_EXHDR(copy)};
	}
	Oid output;
	bool varlena;
	getTypeOutputInfo(attr->atttypid, &output, &varlena);
	char *text = OidOutputFunctionCall(output, datum);
	return {text, strlen(text)};
}

// Bytes back into a key datum (the inverse of KeyBytes, for a cursor key).
Datum
KeyDatum(Form_pg_attribute attr, Bytes bytes)
{
	Oid base = getBaseType(attr->atttypid);
	if (base == BYTEAOID || base == TEXTOID || base == VARCHAROID || base == BPCHAROID)
		return PointerGetDatum(cstring_to_text_with_len(bytes.data, static_cast<int>(bytes.len)));
	Oid input, ioparam;
	getTypeInputInfo(attr->atttypid, &input, &ioparam);
	return OidInputFunctionCall(input, pnstrdup(bytes.data, bytes.len), ioparam, attr->atttypmod);
}

// RANDOMKEY reads at most this many random pages before it falls back to the primary key; a collection
// of at most this many pages is read page by page from a random one, so a key present is always found.
constexpr BlockNumber kRandomKeyPages = 64;
// INFO keyspace: a collection of at most this many pages is counted exactly, a larger one estimated
// from this many random pages.
constexpr BlockNumber kExactStatsPages = 32;
constexpr int kSampledPages = 32;

pg_prng_state prng;
bool prng_seeded = false;

// A uniform random integer in [low, high].
uint64
RandomBetween(uint64 low, uint64 high)
{
	if (!prng_seeded) {
		if (!pg_prng_strong_seed(&prng))
			pg_prng_seed(&prng, static_cast<uint64>(GetCurrentTimestamp()) ^ static_cast<uint64>(MyProcPid));
		prng_seeded = true;
	}
	return pg_prng_uint64_range(&prng, low, high);
}

// Reads the live rows of single heap pages: a TID range scan (the kv AM hides expired rows) moved from
// page to page.
struct PageReader {
	TableScanDesc scan;
	TupleTableSlot *slot;

	explicit PageReader(Relation rel)
	{
		ItemPointerData first, last;
		ItemPointerSet(&first, 0, FirstOffsetNumber);
		ItemPointerSet(&last, 0, MaxOffsetNumber);
		scan = table_beginscan_tidrange(rel, GetActiveSnapshot(), &first, &last);
		slot = table_slot_create(rel, nullptr);
	}

	void
	Page(BlockNumber block)
	{
		ItemPointerData first, last;
		ItemPointerSet(&first, block, FirstOffsetNumber);
		ItemPointerSet(&last, block, MaxOffsetNumber);
		table_rescan_tidrange(scan, &first, &last);
	}

	bool
	Next()
	{
		return table_scan_getnextslot_tidrange(scan, ForwardScanDirection, slot);
	}

	void
	End()
	{
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
	}
};

// The first live key of the primary key from `from` (inclusive) in direction dir, or from the start
// (end) when from is nullptr.
bool
EdgeKey(Relation rel, Relation index, Form_pg_attribute key_attr, AttrNumber key_attno, const Bytes *from,
        ScanDirection dir, Bytes *key)
{
	ScanKeyData scankey;
	int nscankeys = 0;
	if (from != nullptr) {
		Oid op = get_opfamily_member(index->rd_opfamily[0], index->rd_opcintype[0], index->rd_opcintype[0],
		                             BTGreaterEqualStrategyNumber);
		if (!OidIsValid(op))
			elog(ERROR, "no >= operator for the primary key of \"%s\"", RelationGetRelationName(rel));
		ScanKeyEntryInitialize(&scankey, 0, 1, BTGreaterEqualStrategyNumber, InvalidOid, index->rd_indcollation[0],
		                       get_opcode(op), KeyDatum(key_attr, *from));
		nscankeys = 1;
	}
	IndexScanDesc scan = index_beginscan(rel, index, GetActiveSnapshot(), nscankeys, 0);
	index_rescan(scan, nscankeys ? &scankey : nullptr, nscankeys, nullptr, 0);
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	bool found = false;
	while (!found && index_getnext_slot(scan, dir, slot)) {
		bool isnull = false;
		Datum datum = slot_getattr(slot, key_attno, &isnull);
		if (!isnull) {
			*key = KeyBytes(key_attr, datum);
			found = true;
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	return found;
}

// RANDOMKEY's last resort, when random pages held no live row (a sparse collection): the first live
// key at a random position of the primary key.  For a bytea key (Redis keyspaces) the position is a
// random byte string between the first and the last key; other key types start at the first key.
bool
RandomKeyByIndex(const Opened &opened, Bytes *key)
{
	Relation rel = opened.rel;
	Relation index = OpenPrimaryKey(opened);
	AttrNumber key_attno = opened.info->key_attno;
	Form_pg_attribute key_attr = TupleDescAttr(RelationGetDescr(rel), key_attno - 1);
	Bytes first = {nullptr, 0}, last = {nullptr, 0};
	bool found = EdgeKey(rel, index, key_attr, key_attno, nullptr, ForwardScanDirection, &first);
	*key = first;
	if (found && getBaseType(key_attr->atttypid) == BYTEAOID &&
	    EdgeKey(rel, index, key_attr, key_attno, nullptr, BackwardScanDirection, &last)) {
		// first <= position <= last in bytewise order: the common prefix, then a byte between theirs.
		size_t common = 0;
		while (common < first.len && common < last.len && first.data[common] == last.data[common])
			common++;
		if (common < last.len) {
			int low = common < first.len ? static_cast<unsigned char>(first.data[common]) : 0;
			int high = static_cast<unsigned char>(last.data[common]);
			char *position = static_cast<char *>(palloc(common + 9));
			memcpy(position, last.data, common);
			position[common] = static_cast<char>(RandomBetween(low, high));
			for (int i = 1; i <= 8; i++)
				position[common + i] = static_cast<char>(RandomBetween(0, 255));
			Bytes from = {position, common + 9};
			Bytes at = {nullptr, 0};
			if (EdgeKey(rel, index, key_attr, key_attno, &from, ForwardScanDirection, &at))
				*key = at;
		}
	}
	index_close(index, NoLock);
	return found;
}

} // namespace

namespace {

// FindCollection; a relation locked elsewhere in would-block mode: see Busy.
Status
FindCollectionLocking(const char *name, uint32_t *relid, bool *found, bool *keyspace, Busy busy)
{
	Status status;
	status.code = Code::Ok;
	status.message[0] = status.detail[0] = '\0';
	*found = false;
	*keyspace = false;
	List *names = stringToQualifiedNameList(name);
	Oid oid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
	if (!OidIsValid(oid))
		return status;
	*found = true;
	*relid = oid;
	if (!LockForRead(oid, AccessShareLock, busy)) {
		SetStatus(&status, Code::WouldBlock, "could not obtain lock on relation \"%s\"", name);
		return status;
	}
	Relation rel = try_table_open(oid, AccessShareLock);
	if (rel == nullptr) {
		*found = false;
		return status;
	}
	if (rel->rd_rel->relkind != RELKIND_RELATION || !tableam::IsKvRelation(rel))
		SetStatus(&status, Code::NotKvTable, "\"%s\" is not a kv table", RelationGetRelationName(rel));
	else {
		TupleDesc desc = RelationGetDescr(rel);
		bool has_type = false, has_value = false;
		for (int i = 0; i < desc->natts; i++) {
			Form_pg_attribute attr = TupleDescAttr(desc, i);
			if (attr->attisdropped)
				continue;
			if (strcmp(NameStr(attr->attname), "type") == 0 && type_is_enum(attr->atttypid) &&
			    strcmp(format_type_be(attr->atttypid), "kv_type") == 0)
				has_type = true;
			if (strcmp(NameStr(attr->attname), "value") == 0)
				has_value = true;
		}
		*keyspace = has_type && has_value;
	}
	table_close(rel, NoLock);
	return status;
}

} // namespace

Status
FindCollection(const char *name, uint32_t *relid, bool *found, bool *keyspace)
{
	return FindCollectionLocking(name, relid, found, keyspace, Busy::Raise);
}

Status
ScanKeys(const Target &target, Bytes after, bool from_start, size_t count, Bytes **keys, size_t *nkeys, bool *done)
{
	Status status;
	Opened opened = {nullptr, nullptr};
	*keys = nullptr;
	*nkeys = 0;
	*done = true;
	if (!OpenCollection(target, ACL_SELECT, AccessShareLock, &opened, &status)) {
		CloseCollection(&opened, AccessShareLock);
		return status;
	}
	Relation rel = opened.rel;
	Relation index = OpenPrimaryKey(opened);
	Form_pg_attribute key_attr = TupleDescAttr(RelationGetDescr(rel), opened.info->key_attno - 1);
	ScanKeyData scankey;
	int nscankeys = 0;
	if (!from_start) {
		// key > after, with the index's own ordering operator (so the order is the index's).
		Oid opfamily = index->rd_opfamily[0];
		Oid opcintype = index->rd_opcintype[0];
		Oid op = get_opfamily_member(opfamily, opcintype, opcintype, BTGreaterStrategyNumber);
		if (!OidIsValid(op))
			elog(ERROR, "no > operator for the primary key of \"%s\"", RelationGetRelationName(rel));
		ScanKeyEntryInitialize(&scankey, 0, 1, BTGreaterStrategyNumber, InvalidOid, index->rd_indcollation[0],
		                       get_opcode(op), KeyDatum(key_attr, after));
		nscankeys = 1;
	}
	Snapshot snapshot = GetActiveSnapshot();
	IndexScanDesc scan = index_beginscan(rel, index, snapshot, nscankeys, 0);
	index_rescan(scan, nscankeys ? &scankey : nullptr, nscankeys, nullptr, 0);
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	Bytes *out = static_cast<Bytes *>(palloc(sizeof(Bytes) * (count > 0 ? count : 1)));
	size_t n = 0;
	while (n < count && index_getnext_slot(scan, ForwardScanDirection, slot)) {
		bool isnull = false;
		Datum datum = slot_getattr(slot, opened.info->key_attno, &isnull);
		if (!isnull)
			out[n++] = KeyBytes(key_attr, datum);
	}
	// One more look tells whether the iteration is complete (so SCAN can return cursor 0 at once).
	*done = n < count || !index_getnext_slot(scan, ForwardScanDirection, slot);
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(index, NoLock);
	CloseCollection(&opened, AccessShareLock);
	*keys = out;
	*nkeys = n;
	return status;
}

Status
ScanEntries(const Target &target, Bytes from, Bytes end, size_t count, Bytes **keys, Bytes **values, size_t *nkeys,
            bool *done)
{
	Status status;
	Opened opened = {nullptr, nullptr};
	*keys = *values = nullptr;
	*nkeys = 0;
	*done = true;
	if (!OpenCollection(target, ACL_SELECT, AccessShareLock, &opened, &status)) {
		CloseCollection(&opened, AccessShareLock);
		return status;
	}
	Relation rel = opened.rel;
	AttrNumber value_attno =
	    target.field != nullptr ? get_attnum(RelationGetRelid(rel), target.field) : InvalidAttrNumber;
	if (value_attno == InvalidAttrNumber) {
		SetStatus(&status, Code::UnknownField, "kv table \"%s\" has no column \"%s\"", RelationGetRelationName(rel),
		          target.field != nullptr ? target.field : "");
		CloseCollection(&opened, AccessShareLock);
		return status;
	}
	Relation index = OpenPrimaryKey(opened);
	Form_pg_attribute key_attr = TupleDescAttr(RelationGetDescr(rel), opened.info->key_attno - 1);
	// from <= key [< end], with the index's own ordering operators.
	Oid opfamily = index->rd_opfamily[0];
	Oid opcintype = index->rd_opcintype[0];
	ScanKeyData scankeys[2];
	int nscankeys = 0;
	const StrategyNumber strategies[2] = {BTGreaterEqualStrategyNumber, BTLessStrategyNumber};
	const Bytes bounds[2] = {from, end};
	for (int i = 0; i < 2; i++) {
		if (i == 1 && end.len == 0)
			break;
		Oid op = get_opfamily_member(opfamily, opcintype, opcintype, strategies[i]);
		if (!OidIsValid(op))
			elog(ERROR, "no ordering operator for the primary key of \"%s\"", RelationGetRelationName(rel));
		ScanKeyEntryInitialize(&scankeys[nscankeys++], 0, 1, strategies[i], InvalidOid, index->rd_indcollation[0],
		                       get_opcode(op), KeyDatum(key_attr, bounds[i]));
	}
	IndexScanDesc scan = index_beginscan(rel, index, GetActiveSnapshot(), nscankeys, 0);
	index_rescan(scan, scankeys, nscankeys, nullptr, 0);
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	Bytes *out_keys = static_cast<Bytes *>(palloc(sizeof(Bytes) * (count > 0 ? count : 1)));
	Bytes *out_values = static_cast<Bytes *>(palloc(sizeof(Bytes) * (count > 0 ? count : 1)));
	size_t n = 0;
	while (n < count && index_getnext_slot(scan, ForwardScanDirection, slot)) {
		bool isnull = false;
		Datum datum = slot_getattr(slot, opened.info->key_attno, &isnull);
		if (isnull)
			continue;
		out_keys[n] = KeyBytes(key_attr, datum);
		datum = slot_getattr(slot, value_attno, &isnull);
		out_values[n] = isnull ? Bytes{"", 0} : KeyBytes(TupleDescAttr(RelationGetDescr(rel), value_attno - 1), datum);
		n++;
	}
	*done = n < count || !index_getnext_slot(scan, ForwardScanDirection, slot);
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(index, NoLock);
	CloseCollection(&opened, AccessShareLock);
	*keys = out_keys;
	*values = out_values;
	*nkeys = n;
	return status;
}

Status
CountKeys(const Target &target, int64_t *count)
{
	Status status;
	Opened opened = {nullptr, nullptr};
	*count = 0;
	if (OpenCollection(target, ACL_SELECT, AccessShareLock, &opened, &status)) {
		TableScanDesc scan = table_beginscan(opened.rel, GetActiveSnapshot(), 0, nullptr);
		TupleTableSlot *slot = table_slot_create(opened.rel, nullptr);
		int64_t n = 0;
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
			n++;
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
		*count = n;
	}
	CloseCollection(&opened, AccessShareLock);
	return status;
}

Status
RandomKey(const Target &target, Bytes *key, bool *found)
{
	Status status;
	Opened opened = {nullptr, nullptr};
	*found = false;
	*key = {nullptr, 0};
	if (!OpenCollection(target, ACL_SELECT, AccessShareLock, &opened, &status)) {
		CloseCollection(&opened, AccessShareLock);
		return status;
	}
	Relation rel = opened.rel;
	AttrNumber key_attno = opened.info->key_attno;
	Form_pg_attribute key_attr = TupleDescAttr(RelationGetDescr(rel), key_attno - 1);
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	if (nblocks > 0) {
		// A small collection: every page once, from a random one; a large one: random pages.
		bool every_page = nblocks <= kRandomKeyPages;
		BlockNumber start = static_cast<BlockNumber>(RandomBetween(0, nblocks - 1));
		BlockNumber tries = every_page ? nblocks : kRandomKeyPages;
		PageReader reader(rel);
		for (BlockNumber i = 0; i < tries && !*found; i++) {
			reader.Page(every_page ? (start + i) % nblocks : static_cast<BlockNumber>(RandomBetween(0, nblocks - 1)));
			// One of the page's live keys, each with the same chance (reservoir sampling).
			uint64 seen = 0;
			while (reader.Next()) {
				bool isnull = false;
				Datum datum = slot_getattr(reader.slot, key_attno, &isnull);
				if (isnull || RandomBetween(0, seen++) != 0)
					continue;
				*key = KeyBytes(key_attr, datum);
				*found = true;
			}
		}
		reader.End();
		if (!*found && !every_page)
			*found = RandomKeyByIndex(opened, key);
	}
	CloseCollection(&opened, AccessShareLock);
	return status;
}

Status
KeyspaceStats(const Target &target, KeyspaceFigures *figures)
{
	Status status;
	Opened opened = {nullptr, nullptr};
	*figures = {0, 0, 0, false};
	if (!OpenCollection(target, ACL_SELECT, AccessShareLock, &opened, &status, Busy::Report)) {
		CloseCollection(&opened, AccessShareLock);
		return status;
	}
	Relation rel = opened.rel;
	AttrNumber key_attno = opened.info->key_attno;
	AttrNumber expiry_attno = opened.info->expiry_attno;
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	bool exact = nblocks <= kExactStatsPages;
	int pages = exact ? static_cast<int>(nblocks) : kSampledPages;
	TimestampTz now = ttl::Now();
	int64 keys = 0, expires = 0;
	double ttl_sum = 0;
	if (nblocks > 0) {
		PageReader reader(rel);
		for (int i = 0; i < pages; i++) {
			reader.Page(exact ? static_cast<BlockNumber>(i) : static_cast<BlockNumber>(RandomBetween(0, nblocks - 1)));
			while (reader.Next()) {
				bool isnull = false;
				(void)slot_getattr(reader.slot, key_attno, &isnull);
				if (isnull)
					continue;
				keys++;
				if (expiry_attno == InvalidAttrNumber)
					continue;
				Datum datum = slot_getattr(reader.slot, expiry_attno, &isnull);
				if (isnull || TIMESTAMP_IS_NOEND(DatumGetTimestampTz(datum)))
					continue;
				expires++;
				TimestampTz expiry = DatumGetTimestampTz(datum);
				ttl_sum += expiry > now ? static_cast<double>((expiry - now + 999) / 1000) : 0;
			}
		}
		reader.End();
	}
	double scale = exact || pages == 0 ? 1.0 : static_cast<double>(nblocks) / pages;
	if (!exact && keys == 0) {
		// Random pages of a sparse collection may all be empty: a live key found through the primary key
		// counts, so that a collection holding keys is never reported empty.
		Bytes any = {nullptr, 0};
		Relation index = OpenPrimaryKey(opened, Busy::Report);
		if (index == nullptr) {
			SetStatus(&status, Code::WouldBlock, "could not obtain lock on the primary key of \"%s\"",
			          RelationGetRelationName(rel));
			CloseCollection(&opened, AccessShareLock);
			return status;
		}
		keys = EdgeKey(rel, index, TupleDescAttr(RelationGetDescr(rel), key_attno - 1), key_attno, nullptr,
		               ForwardScanDirection, &any)
		           ? 1
		           : 0;
		index_close(index, NoLock);
		scale = 1.0;
	}
	CloseCollection(&opened, AccessShareLock);
	figures->keys = static_cast<int64_t>(keys * scale + 0.5);
	figures->expires = static_cast<int64_t>(expires * scale + 0.5);
	figures->avg_ttl_ms = expires > 0 ? static_cast<int64_t>(ttl_sum / static_cast<double>(expires) + 0.5) : 0;
	figures->estimated = !exact;
	return status;
}

Status
ListKeyspaces(Keyspace **keyspaces, size_t *count, bool skip_busy)
{
	Status status;
	status.code = Code::Ok;
	status.message[0] = status.detail[0] = '\0';
	*keyspaces = nullptr;
	*count = 0;
	// The names first (kv_db followed by a decimal number as SELECT n spells it), then each resolved
	// as SELECT n resolves it.
	List *names = NIL;
	Relation pg_class = table_open(RelationRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(pg_class, InvalidOid, false, nullptr, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = systable_getnext(scan)) != nullptr) {
		Form_pg_class form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
		const char *name = NameStr(form->relname);
		const char *digits = name + 5;
		size_t ndigits = strlen(digits);
		if (form->relkind != RELKIND_RELATION || strncmp(name, "kv_db", 5) != 0 || ndigits == 0 || ndigits > 18 ||
		    strspn(digits, "0123456789") != ndigits || (digits[0] == '0' && ndigits > 1))
			continue;
		names = lappend(names, pstrdup(name));
	}
	systable_endscan(scan);
	table_close(pg_class, AccessShareLock);
	auto *out = static_cast<Keyspace *>(palloc(sizeof(Keyspace) * (list_length(names) + 1)));
	size_t n = 0;
	ListCell *cell;
	foreach (cell, names) {
		const char *name = static_cast<const char *>(lfirst(cell));
		uint32_t relid = 0;
		bool found = false, keyspace = false;
		Status found_status =
		    FindCollectionLocking(name, &relid, &found, &keyspace, skip_busy ? Busy::Report : Busy::Raise);
		if (!found_status.ok() || !found || !keyspace)
			continue; // not a keyspace SELECT n would use
		out[n].db = strtoll(name + 5, nullptr, 10);
		out[n].relid = relid;
		n++;
	}
	std::sort(out, out + n, [](const Keyspace &a, const Keyspace &b) { return a.db < b.db; });
	*keyspaces = out;
	*count = n;
	return status;
}

Status
Truncate(const Target &target)
{
	Status status;
	Opened opened = {nullptr, nullptr};
	bool ok = OpenCollection(target, ACL_TRUNCATE, AccessShareLock, &opened, &status);
	if (ok && RecoveryInProgress()) {
		SetStatus(&status, Code::ReadOnly, "cannot execute %s during recovery", target.action);
		ok = false;
	}
	if (ok && XactReadOnly) {
		SetStatus(&status, Code::ReadOnly, "cannot execute %s in a read-only transaction", target.action);
		ok = false;
	}
	RangeVar *rv = nullptr;
	if (ok)
		rv = makeRangeVar(get_namespace_name(RelationGetNamespace(opened.rel)),
		                  pstrdup(RelationGetRelationName(opened.rel)), -1);
	CloseCollection(&opened, AccessShareLock);
	if (!ok)
		return status;
	CloseCachedHandles();                              // TRUNCATE refuses a table this session holds open
	LockCollection(target.relid, AccessExclusiveLock); // in would-block mode, at once or 55P03
	TruncateStmt *stmt = makeNode(TruncateStmt);
	stmt->relations = list_make1(rv);
	stmt->restart_seqs = false;
	stmt->behavior = DROP_RESTRICT;
	ExecuteTruncate(stmt);
	return status;
}

Status
TruncateKeyspaces(const char *action, int64_t *flushed)
{
	*flushed = 0;
	Keyspace *keyspaces = nullptr;
	size_t count = 0;
	Status status = ListKeyspaces(&keyspaces, &count);
	for (size_t i = 0; i < count && status.ok(); i++) {
		if (pg_class_aclcheck(keyspaces[i].relid, GetUserId(), ACL_TRUNCATE) != ACLCHECK_OK)
			continue;
		Target target = {keyspaces[i].relid, nullptr, action, false};
		status = Truncate(target);
		if (status.ok())
			(*flushed)++;
	}
	return status;
}

} // namespace nodedb_kv::kv
