// Whole-collection operations of the kv engine: resolving a collection by name, scanning keys in
// primary-key order from a cursor key (SCAN, KEYS), counting live keys (DBSIZE) and emptying a
// collection (FLUSHDB).  Reads go through the kv AM with the active MVCC snapshot, so expired keys are
// absent; privileges are checked like the executor would (SELECT, TRUNCATE).
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
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/varlena.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_relinfo.hpp"

namespace nodedb_kv::kv {
namespace {

// An open collection for a whole-collection read.
struct Opened {
	Relation rel;
	const tableam::RelInfo *info;
};

// Opens target for reading with the executor's checks: a kv table with a primary key, no row-level
// security, and `privilege` on the table (or, for SELECT, on the key column).
bool
OpenCollection(const Target &target, AclMode privilege, LOCKMODE lockmode, Opened *opened, Status *status)
{
	status->code = Code::Ok;
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

} // namespace

Status
FindCollection(const char *name, uint32_t *relid, bool *found, bool *keyspace)
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
	Relation index = index_open(opened.info->pk_index, AccessShareLock);
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
	Relation index = index_open(opened.info->pk_index, AccessShareLock);
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
	Status status;
	status.code = Code::Ok;
	status.message[0] = status.detail[0] = '\0';
	*flushed = 0;
	// The names first (kv_db followed by digits only), then each resolved as SELECT n resolves it.
	List *names = NIL;
	Relation pg_class = table_open(RelationRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(pg_class, InvalidOid, false, nullptr, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = systable_getnext(scan)) != nullptr) {
		Form_pg_class form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
		const char *name = NameStr(form->relname);
		if (form->relkind != RELKIND_RELATION || strncmp(name, "kv_db", 5) != 0 || name[5] == '\0' ||
		    strspn(name + 5, "0123456789") != strlen(name + 5))
			continue;
		names = lappend(names, pstrdup(name));
	}
	systable_endscan(scan);
	table_close(pg_class, AccessShareLock);
	ListCell *cell;
	foreach (cell, names) {
		uint32_t relid = 0;
		bool found = false, keyspace = false;
		status = FindCollection(static_cast<const char *>(lfirst(cell)), &relid, &found, &keyspace);
		if (!status.ok() || !found || !keyspace) {
			status.code = Code::Ok; // not a keyspace SELECT n would use: not FLUSHALL's either
			continue;
		}
		if (pg_class_aclcheck(relid, GetUserId(), ACL_TRUNCATE) != ACLCHECK_OK)
			continue;
		Target target = {relid, nullptr, action, false};
		status = Truncate(target);
		if (!status.ok())
			return status;
		(*flushed)++;
	}
	status.code = Code::Ok;
	status.message[0] = status.detail[0] = '\0';
	return status;
}

} // namespace nodedb_kv::kv
