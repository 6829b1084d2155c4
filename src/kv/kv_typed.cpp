// Redis-typed keys of a kv_db<n> keyspace (kv_typed.hpp): the key's `type` (kv_type) and `value`
// read together, and one read-modify-write loop over both whose edit is pure C++ code given the
// current row.  The loop is the one of kv_ops.cpp (ReadModifyWrite): look up (locking only when
// BEFORE UPDATE triggers need it), edit, update or insert with speculative insertion, and on a lost
// race look again.  Deleting (an emptied container) needs the row locked: the loop then looks again,
// locking.  The container encoding itself is src/rtypes.
#include "nodedb_kv/kv/kv_typed.hpp"

#include "nodedb_kv/kv/kv_handle.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::kv {
namespace {

// The `type` column of a keyspace, or InvalidAttrNumber with *status NotKvTable.
AttrNumber
TypeColumn(Handle *handle, Status *status)
{
	TupleDesc desc = RelationGetDescr(handle->rel);
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		if (!attr->attisdropped && strcmp(NameStr(attr->attname), "type") == 0 &&
		    get_typtype(attr->atttypid) == TYPTYPE_ENUM && i + 1 != handle->field_attno)
			return static_cast<AttrNumber>(i + 1);
	}
	SetStatus(status, Code::NotKvTable, "\"%s\" is not a Redis keyspace (no \"type\" column of kv_type)",
	          RelationGetRelationName(handle->rel));
	return InvalidAttrNumber;
}

// Reads the row in slot as a TypedRow (value copied into the current memory context).
void
ReadTyped(Handle *handle, AttrNumber type_attno, TupleTableSlot *slot, TypedRow *row)
{
	Value value;
	ReadValue(handle, slot, &value);
	row->found = true;
	row->value = value.isnull ? Bytes{"", 0} : value.bytes;
	row->ttl_ms = value.ttl_ms;
	row->type = rtypes::Type::String;
	bool isnull = false;
	Datum datum = slot_getattr(slot, type_attno, &isnull);
	if (isnull)
		return;
	Oid output;
	bool varlena;
	getTypeOutputInfo(TupleDescAttr(RelationGetDescr(handle->rel), type_attno - 1)->atttypid, &output, &varlena);
	char *label = OidOutputFunctionCall(output, datum);
	rtypes::ParseTypeName(label, &row->type);
	pfree(label);
}

} // namespace

Status
GetTyped(const Target &target, Bytes key, TypedRow *row)
{
	Handle handle;
	Status status;
	*row = {false, rtypes::Type::String, {"", 0}, -1};
	Privileges privileges = {ACL_SELECT, ACL_SELECT, ACL_SELECT, 0};
	if (OpenHandle(target, key, Access::Read, &handle, &status, &privileges)) {
		AttrNumber type_attno = TypeColumn(&handle, &status);
		if (type_attno != InvalidAttrNumber && CheckColumn(&handle, type_attno, ACL_SELECT, &status) &&
		    LookupRow(&handle, true))
			ReadTyped(&handle, type_attno, handle.row, row);
	}
	CloseHandle(&handle);
	return status;
}

Status
ModifyTyped(const Target &target, Bytes key, TypedEditFn edit, void *arg, bool *applied)
{
	Handle handle;
	Status status;
	*applied = false;
	// INSERT (key, type, value, expires) ... ON CONFLICT (key) DO UPDATE ... RETURNING type, value.
	AclMode all = ACL_SELECT | ACL_INSERT | ACL_UPDATE;
	Privileges privileges = {ACL_SELECT | ACL_INSERT, all, all, 0};
	if (!OpenHandle(target, key, Access::Write, &handle, &status, &privileges)) {
		CloseHandle(&handle);
		return status;
	}
	AttrNumber type_attno = TypeColumn(&handle, &status);
	if (type_attno == InvalidAttrNumber || !CheckColumn(&handle, type_attno, all, &status)) {
		CloseHandle(&handle);
		return status;
	}
	TriggerDesc *triggers = handle.rri->ri_TrigDesc;
	bool lock_first = triggers != nullptr && triggers->trig_update_before_row;
	for (;;) {
		bool found = LookupRow(&handle, lock_first);
		TypedRow current = {false, rtypes::Type::String, {"", 0}, -1};
		if (found)
			ReadTyped(&handle, type_attno, handle.row, &current);
		TypedWrite write = {TypedAction::Keep, rtypes::Type::String, {"", 0}, {TtlMode::Keep, 0}};
		if (!edit(&current, arg, &write) || write.action == TypedAction::Keep ||
		    (write.action == TypedAction::Delete && !found))
			break;
		if (write.action == TypedAction::Delete) {
			if (!lock_first) {
				lock_first = true; // deleting needs the newest version locked: look again (not a retry)
				continue;
			}
			if (pg_class_aclcheck(RelationGetRelid(handle.rel), GetUserId(), ACL_DELETE) != ACLCHECK_OK &&
			    !target.internal) {
				SetStatus(&status, Code::PermissionDenied, "permission denied for table %s",
				          RelationGetRelationName(handle.rel));
				break;
			}
			*applied = DeleteRow(&handle);
			break;
		}
		TupleTableSlot *slot = NewRowSlot(&handle, found);
		Datum type_datum, value_datum;
		const char *label = rtypes::TypeName(write.type);
		if (!MakeValue(&handle, type_attno, {label, strlen(label)}, &type_datum, &status) ||
		    !MakeValue(&handle, handle.field_attno, write.value, &value_datum, &status) ||
		    !ApplyTtl(&handle, slot, write.ttl, !found, &status))
			break;
		slot->tts_values[type_attno - 1] = type_datum;
		slot->tts_isnull[type_attno - 1] = false;
		slot->tts_values[handle.field_attno - 1] = value_datum;
		slot->tts_isnull[handle.field_attno - 1] = false;
		WriteOutcome outcome = found ? UpdateRow(&handle, slot, lock_first) : InsertRow(&handle, slot);
		if (outcome == WriteOutcome::Retry) {
			if (found)
				lock_first = true;
			NextAttempt(&handle);
			continue;
		}
		*applied = outcome == WriteOutcome::Written;
		break;
	}
	CloseHandle(&handle);
	return status;
}

} // namespace nodedb_kv::kv
