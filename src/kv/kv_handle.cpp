// Opening a collection for one kv operation: the checks the executor would make (access method,
// row-level security, table privileges, read-only transaction / standby), value-field resolution,
// key conversion, and the EState/ResultRelInfo through which writes go.  Row access: kv_row.cpp.
#include <cstdarg>

#include "nodedb_kv/kv/kv_handle.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/detoast.h"
#include "access/genam.h"
#include "access/itup.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_relinfo.hpp"

namespace nodedb_kv::kv {

void
SetStatus(Status *status, Code code, const char *format, ...)
{
	status->code = code;
	status->detail[0] = '\0';
	va_list args;
	va_start(args, format);
	vsnprintf(status->message, sizeof(status->message), format, args);
	va_end(args);
}

namespace {

// True if attno is a value field: not dropped, not generated, not the key or expiry column.
bool
IsValueField(Relation rel, AttrNumber attno, AttrNumber key_attno, AttrNumber expiry_attno)
{
	Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), attno - 1);
	return !attr->attisdropped && attr->attgenerated == '\0' && attno != key_attno && attno != expiry_attno;
}

// Resolves the value field: the named column, or the only value field of a blob collection.
// field_unused: the operation neither reads nor writes the field (EXISTS, DEL, EXPIRE): any collection
// shape will do, the first value field stands in.
bool
ResolveField(Handle *handle, Status *status, bool field_unused)
{
	Relation rel = handle->rel;
	TupleDesc desc = RelationGetDescr(rel);
	const char *name = RelationGetRelationName(rel);
	if (handle->target->field != nullptr) {
		for (int i = 0; i < desc->natts; i++) {
			if (strcmp(NameStr(TupleDescAttr(desc, i)->attname), handle->target->field) == 0 &&
			    IsValueField(rel, i + 1, handle->key_attno, handle->expiry_attno)) {
				handle->field_attno = i + 1;
				return true;
			}
		}
		SetStatus(status, Code::UnknownField, "collection \"%s\" has no value field \"%s\"", name,
		          handle->target->field);
		return false;
	}
	int count = 0;
	for (int i = 0; i < desc->natts; i++) {
		if (IsValueField(rel, i + 1, handle->key_attno, handle->expiry_attno)) {
			handle->field_attno = i + 1;
			count++;
		}
	}
	if (count == 1 || (count > 1 && field_unused)) {
		for (int i = 0; count > 1 && i < desc->natts; i++) {
			if (IsValueField(rel, i + 1, handle->key_attno, handle->expiry_attno)) {
				handle->field_attno = i + 1;
				break;
			}
		}
		return true;
	}
	if (count == 0) {
		SetStatus(status, Code::UnknownField, "collection \"%s\" has no value field", name);
		snprintf(status->detail, sizeof(status->detail),
		         "Its only columns are the key and the expiry column; values need a column of their own.");
		return false;
	}
	SetStatus(status, Code::UnknownField, "collection \"%s\" has several value fields", name);
	snprintf(status->detail, sizeof(status->detail), "Name the value field with field => 'column'.");
	return false;
}

// Privileges as the executor checks them (ExecCheckRTEPerms): every privilege asked for must be held,
// either on the table or, for SELECT/INSERT/UPDATE, on each column asked for it.  DELETE exists only
// at table level.  pg_class_aclmask with ACLMASK_ALL tells which table privileges are held; columns
// are then checked one privilege at a time (pg_attribute_aclcheck succeeds when *any* of the
// requested privileges is held).
bool
CheckPrivileges(Handle *handle, const Privileges &privileges, Status *status)
{
	Oid relid = RelationGetRelid(handle->rel);
	Oid user = GetUserId();
	struct {
		AttrNumber attno;
		AclMode modes;
	} columns[] = {{handle->key_attno, privileges.key},
	               {handle->field_attno, privileges.field},
	               {handle->expiry_attno, handle->expiry_attno != InvalidAttrNumber ? privileges.expiry : 0}};
	AclMode needed = privileges.table;
	for (const auto &column : columns)
		needed |= column.modes;
	AclMode missing = needed & ~pg_class_aclmask(relid, user, needed, ACLMASK_ALL);
	bool allowed = (missing & ~(ACL_SELECT | ACL_INSERT | ACL_UPDATE)) == 0;
	static const AclMode kColumnPrivileges[] = {ACL_SELECT, ACL_INSERT, ACL_UPDATE};
	for (AclMode privilege : kColumnPrivileges) {
		if (!allowed || (missing & privilege) == 0)
			continue;
		for (const auto &column : columns) {
			if ((column.modes & privilege) != 0 &&
			    pg_attribute_aclcheck(relid, column.attno, user, privilege) != ACLCHECK_OK)
				allowed = false;
		}
	}
	// A row lock (SELECT ... FOR UPDATE) asks UPDATE of the table with no column named: the table's, or
	// any column's, suffices (ExecCheckRTEPerms with empty updatedCols).
	if (allowed && (privileges.table & missing & ACL_UPDATE) != 0 &&
	    pg_attribute_aclcheck_all(relid, user, ACL_UPDATE, ACLMASK_ANY) != ACLCHECK_OK)
		allowed = false;
	if (!allowed)
		SetStatus(status, Code::PermissionDenied, "permission denied for table %s",
		          RelationGetRelationName(handle->rel));
	return allowed;
}

// btree's limit on one index entry (BTMaxItemSize of a BLCKSZ page; 2704 bytes for 8 kB pages).
constexpr size_t kMaxIndexEntry =
    MAXALIGN_DOWN((BLCKSZ - MAXALIGN(SizeOfPageHeaderData + 3 * sizeof(ItemIdData) + 3 * sizeof(ItemPointerData)) -
                   MAXALIGN(sizeof(BTPageOpaqueData))) /
                  3);

// A key whose primary-key entry btree cannot store (it would fail with a raw 54000 "index row size"
// error at the insert): refused up front with 22023 and the limit.  The entry is formed as btree
// forms it (compressed if that helps), so only keys that really do not fit are refused.
bool
CheckKeySize(Handle *handle, Relation pk_index, Status *status)
{
	Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(handle->rel), handle->key_attno - 1);
	if (attr->attlen != -1 || toast_raw_datum_size(handle->key) + sizeof(IndexTupleData) <= kMaxIndexEntry)
		return true;
	bool isnull = false;
	IndexTuple entry = index_form_tuple(RelationGetDescr(pk_index), &handle->key, &isnull);
	size_t size = MAXALIGN(IndexTupleSize(entry));
	pfree(entry);
	if (size <= kMaxIndexEntry)
		return true;
	SetStatus(status, Code::InvalidArgument, "%s: key too long for collection \"%s\": at most %zu bytes in its index",
	          handle->target->action, RelationGetRelationName(handle->rel), kMaxIndexEntry);
	snprintf(status->detail, sizeof(status->detail),
	         "The key's entry in primary key \"%s\" would take %zu bytes (after compression); btree entries are "
	         "limited to %zu bytes.",
	         RelationGetRelationName(pk_index), size, kMaxIndexEntry);
	return false;
}

// Builds the executor state writes go through (as the logical replication apply worker does).
void
BeginExecutor(Handle *handle)
{
	EState *estate = CreateExecutorState();
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(handle->rel);
	rte->relkind = handle->rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(estate, list_make1(rte));
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, handle->rel, 1, nullptr, 0);
	estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, rri);
	estate->es_output_cid = GetCurrentCommandId(true);
	estate->es_snapshot = GetActiveSnapshot();
	// No speculative information: it serves ExecCheckIndexConstraints (ON CONFLICT's pre-check),
	// which InsertRow does not use; its conflict test is the insertion itself.
	ExecOpenIndices(rri, false);
	AfterTriggerBeginQuery();
	handle->estate = estate;
	handle->rri = rri;
}

} // namespace

bool
OpenHandle(const Target &target, Bytes key, Access access, Handle *handle, Status *status, const Privileges *privileges)
{
	bool write = access != Access::Read;
	memset(handle, 0, sizeof(*handle));
	status->code = Code::Ok;
	handle->target = &target;
	handle->write = write;

	if (write) {
		// Read-only transactions and standbys: refuse before taking any lock or XID.
		if (RecoveryInProgress()) {
			SetStatus(status, Code::ReadOnly, "cannot execute %s during recovery", target.action);
			return false;
		}
		if (XactReadOnly) {
			SetStatus(status, Code::ReadOnly, "cannot execute %s in a read-only transaction", target.action);
			return false;
		}
		PreventCommandIfParallelMode(target.action);
	}

	// The transaction may hold this collection open already (kv_cache.cpp): then the checks of the
	// relation itself (kind, access method, primary key) passed when it was opened, under the same lock.
	CacheEntry *cache = CacheTake(target.relid, write);
	handle->cache = cache;
	bool cached = cache != nullptr && CacheFilled(cache);
	Relation rel;
	if (cached) {
		CacheApply(cache, handle);
		rel = handle->rel;
	} else {
		// A regclass argument can hold any OID (a stale one after DROP TABLE, or a literal number):
		// report it like PG's own regclass-taking functions do, not as an internal error.
		LOCKMODE mode = write ? RowExclusiveLock : AccessShareLock;
		LockCollection(target.relid, mode); // in would-block mode, at once or 55P03
		rel = try_table_open(target.relid, mode);
		if (rel == nullptr) {
			SetStatus(status, Code::NoSuchCollection, "relation with OID %u does not exist", target.relid);
			return false;
		}
		handle->rel = rel;
	}
	const char *name = RelationGetRelationName(rel);
	// A standby has no data for unlogged collections (the rate gates): reading one would fail on the
	// missing file, so refuse the way writes are refused there.
	if (RecoveryInProgress() && !RelationIsPermanent(rel)) {
		SetStatus(status, Code::ReadOnly, "cannot execute %s during recovery", target.action);
		snprintf(status->detail, sizeof(status->detail), "Unlogged table \"%s\" cannot be read on a standby.", name);
		return false;
	}
	if (!cached && (rel->rd_rel->relkind != RELKIND_RELATION || !tableam::IsKvRelation(rel))) {
		SetStatus(status, Code::NotKvTable, "\"%s\" is not a kv table", name);
		return false;
	}
	const tableam::RelInfo *info = tableam::GetRelInfo(rel);
	if (!OidIsValid(info->pk_index)) {
		SetStatus(status, Code::NotKvTable, "kv table \"%s\" has no primary key", name);
		return false;
	}
	handle->key_attno = info->key_attno;
	handle->expiry_attno = info->expiry_attno;
	handle->key_eq_proc = info->key_eq_proc;
	handle->key_collation = info->key_collation;
	Oid pk_index = info->pk_index;
	if (!ResolveField(handle, status, privileges != nullptr && privileges->field == 0))
		return false;
	if (!CacheBaseType(cache, handle->field_attno, &handle->field_base_type)) {
		handle->field_base_type = getBaseType(TupleDescAttr(RelationGetDescr(rel), handle->field_attno - 1)->atttypid);
		CacheSetBaseType(cache, handle->field_attno, handle->field_base_type);
	}

	if (!target.internal) {
		Oid user = GetUserId();
		if (!CacheRlsOff(cache, user)) {
			if (check_enable_rls(target.relid, InvalidOid, true) == RLS_ENABLED) {
				SetStatus(status, Code::Unsupported,
				          "%s does not support row-level security, which is enabled on \"%s\"", target.action, name);
				return false;
			}
			CacheSetRlsOff(cache, user);
		}
		AclMode all = access == Access::Read     ? ACL_SELECT
		              : access == Access::Delete ? ACL_SELECT
		                                         : (ACL_SELECT | ACL_INSERT | ACL_UPDATE);
		AclMode table = access == Access::Delete ? ACL_DELETE : 0;
		Privileges by_access = {all, all, all, table};
		const Privileges &needed = privileges != nullptr ? *privileges : by_access;
		int known = CachePrivileges(cache, user, needed, handle->field_attno);
		if (known == 0) {
			SetStatus(status, Code::PermissionDenied, "permission denied for table %s", name);
			return false;
		}
		if (known < 0) {
			bool allowed = CheckPrivileges(handle, needed, status);
			CacheSetPrivileges(cache, user, needed, handle->field_attno, allowed);
			if (!allowed)
				return false;
		}
	}
	if (!MakeValue(handle, handle->key_attno, key, &handle->key, status))
		return false;

	if (write) {
		// Our own earlier writes in this statement must be visible, and a later one must not collide
		// with them (two calls in one SELECT); the caller's snapshot is left untouched.
		CommandCounterIncrement();
		// A copy of the caller's snapshot with the new command id: lookups use a dirty snapshot and
		// row locks anyway, so a fresh snapshot (a ProcArray scan per call) would buy nothing.
		if (ActiveSnapshotSet()) {
			PushCopiedSnapshot(GetActiveSnapshot());
			UpdateActiveSnapshotCommandId();
		} else
			PushActiveSnapshot(GetTransactionSnapshot());
		handle->snapshot_pushed = true;
	}
	if (cached) {
		if (write) {
			// The kept executor state, for this operation's command and snapshot.
			handle->estate->es_output_cid = GetCurrentCommandId(true);
			handle->estate->es_snapshot = GetActiveSnapshot();
			AfterTriggerBeginQuery();
		}
	} else {
		// What is kept lives until the transaction ends; otherwise until CloseHandle.
		MemoryContext old = MemoryContextSwitchTo(cache != nullptr ? TopTransactionContext : CurrentMemoryContext);
		if (write) {
			BeginExecutor(handle);
			// The executor opened every index of the table: use its primary-key descriptor.
			for (int i = 0; i < handle->rri->ri_NumIndices; i++) {
				if (RelationGetRelid(handle->rri->ri_IndexRelationDescs[i]) == pk_index)
					handle->pk_index = handle->rri->ri_IndexRelationDescs[i];
			}
			handle->pk_index_owned = handle->pk_index == nullptr;
		} else
			handle->pk_index_owned = true;
		if (handle->pk_index_owned)
			handle->pk_index = index_open(pk_index, write ? RowExclusiveLock : AccessShareLock);
		handle->row = table_slot_create(rel, handle->estate ? &handle->estate->es_tupleTable : nullptr);
		MemoryContextSwitchTo(old);
		// Collections with triggers are not kept: their executor state must not span operations.
		if (cache != nullptr && (handle->rri == nullptr || handle->rri->ri_TrigDesc == nullptr))
			CacheFill(cache, handle);
	}
	// A key too long to be stored cannot be written (and, being absent, is found by no read).
	return access != Access::Write || CheckKeySize(handle, handle->pk_index, status);
}

void
CloseHandle(Handle *handle)
{
	if (handle->cache != nullptr) {
		CacheEntry *cache = handle->cache;
		handle->cache = nullptr;
		if (CacheFilled(cache)) {
			// This operation's part: its AFTER triggers' query level, its rows (buffer pins), its snapshot.
			if (handle->estate != nullptr && handle->snapshot_pushed) { // the query level began
				AfterTriggerEndQuery(handle->estate);
				ResetPerTupleExprContext(handle->estate);
			}
			ExecClearTuple(handle->row);
			if (handle->new_row != nullptr)
				ExecClearTuple(handle->new_row);
			CacheFill(cache, handle); // new_row may be new
			if (handle->snapshot_pushed) {
				PopActiveSnapshot();
				handle->snapshot_pushed = false;
			}
		}
		if (CacheRelease(cache, handle, true)) {
			memset(handle, 0, sizeof(*handle));
			return;
		}
	}
	if (handle->estate != nullptr) {
		AfterTriggerEndQuery(handle->estate);
		ExecCloseIndices(handle->rri);
		ExecResetTupleTable(handle->estate->es_tupleTable, false);
		FreeExecutorState(handle->estate);
		handle->estate = nullptr;
	} else if (handle->row != nullptr)
		ExecDropSingleTupleTableSlot(handle->row);
	handle->row = nullptr;
	if (handle->snapshot_pushed) {
		PopActiveSnapshot();
		handle->snapshot_pushed = false;
	}
	if (handle->pk_index != nullptr && handle->pk_index_owned)
		index_close(handle->pk_index, NoLock);
	if (handle->rel != nullptr)
		table_close(handle->rel, NoLock);
	handle->pk_index = nullptr;
	handle->rel = nullptr;
}

bool
CheckColumn(Handle *handle, AttrNumber attno, AclMode modes, Status *status)
{
	if (handle->target->internal)
		return true;
	Oid relid = RelationGetRelid(handle->rel);
	Oid user = GetUserId();
	AclMode missing = modes & ~pg_class_aclmask(relid, user, modes, ACLMASK_ALL);
	static const AclMode kColumnPrivileges[] = {ACL_SELECT, ACL_INSERT, ACL_UPDATE};
	for (AclMode privilege : kColumnPrivileges) {
		if ((missing & privilege) != 0 && pg_attribute_aclcheck(relid, attno, user, privilege) != ACLCHECK_OK) {
			SetStatus(status, Code::PermissionDenied, "permission denied for table %s",
			          RelationGetRelationName(handle->rel));
			return false;
		}
	}
	return true;
}

} // namespace nodedb_kv::kv
