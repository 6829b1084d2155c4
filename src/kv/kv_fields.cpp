// Multi-field rows of typed collections (kv_fields.hpp): several value columns of one key read or
// written in one operation, and a row as a JSON object for RESP's GET/SET.  Builds on kv_handle /
// kv_row / kv_value: the handle is opened on the first field named (its privileges are checked by
// OpenHandle), the other fields' column privileges here, as the executor would for the statement the
// operation stands for.  Writes lock the key's row first (one loop: lock, edit, update or insert; an
// insert that loses a race updates the winner's row on the next round).  Not here: single-field
// numbers (Incr / IncrFloat with Target::field), the Redis replies (resp_cmd_hash.cpp).
#include "nodedb_kv/kv/kv_fields.hpp"
#include "nodedb_kv/kv/kv_handle.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/table.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_relinfo.hpp"

namespace nodedb_kv::kv {
namespace {

// The value fields of a collection, found without OpenHandle (which needs the field named first).
struct Shape {
	bool ok;   // a kv table with a primary key (else OpenHandle reports what is wrong)
	int count; // number of value fields
	AttrNumber first;
};

bool
IsValueAttr(Form_pg_attribute attr, AttrNumber attno, const tableam::RelInfo *info)
{
	return !attr->attisdropped && attr->attgenerated == '\0' && attno != info->key_attno && attno != info->expiry_attno;
}

Shape
ShapeOf(uint32_t relid)
{
	Shape shape = {false, 0, InvalidAttrNumber};
	Relation rel = try_table_open(relid, AccessShareLock);
	if (rel == nullptr)
		return shape;
	if (rel->rd_rel->relkind == RELKIND_RELATION && tableam::IsKvRelation(rel)) {
		const tableam::RelInfo *info = tableam::GetRelInfo(rel);
		TupleDesc desc = RelationGetDescr(rel);
		shape.ok = OidIsValid(info->pk_index);
		for (int i = 0; i < desc->natts; i++) {
			if (IsValueAttr(TupleDescAttr(desc, i), i + 1, info)) {
				if (shape.count++ == 0)
					shape.first = i + 1;
			}
		}
	}
	table_close(rel, NoLock);
	return shape;
}

// The value field named name, or InvalidAttrNumber.
AttrNumber
FieldAttno(Handle *handle, Bytes name)
{
	TupleDesc desc = RelationGetDescr(handle->rel);
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		if (attr->attisdropped || attr->attgenerated != '\0' || i + 1 == handle->key_attno ||
		    i + 1 == handle->expiry_attno)
			continue;
		const char *attname = NameStr(attr->attname);
		if (strlen(attname) == name.len && memcmp(attname, name.data, name.len) == 0)
			return i + 1;
	}
	return InvalidAttrNumber;
}

void
UnknownField(Handle *handle, Bytes name, Status *status)
{
	SetStatus(status, Code::UnknownField, "collection \"%s\" has no value field \"%.*s\"",
	          RelationGetRelationName(handle->rel), static_cast<int>(Min(name.len, static_cast<size_t>(64))),
	          name.data);
}

FieldKind
KindOf(Oid base)
{
	switch (base) {
	case INT2OID:
	case INT4OID:
	case INT8OID:
	case FLOAT4OID:
	case FLOAT8OID:
	case NUMERICOID:
		return FieldKind::Number;
	case BOOLOID:
		return FieldKind::Boolean;
	case JSONOID:
	case JSONBOID:
		return FieldKind::Json;
	default:
		return FieldKind::Text;
	}
}

// Reads field attno of slot into *field (handle's field is switched to it: ReadValue reads that one).
void
ReadField(Handle *handle, TupleTableSlot *slot, AttrNumber attno, Field *field)
{
	Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(handle->rel), attno - 1);
	handle->field_attno = attno;
	handle->field_base_type = getBaseType(attr->atttypid);
	Value value;
	ReadValue(handle, slot, &value);
	const char *name = NameStr(attr->attname);
	field->name = {pstrdup(name), strlen(name)};
	field->isnull = value.isnull;
	field->value = value.isnull ? Bytes{nullptr, 0} : value.bytes;
	field->kind = KindOf(handle->field_base_type);
}

// Opens target on its first value field (or names[0]) after checking the shape, resolves names into
// attnos (palloc'd; all value fields when names is null) and checks their privileges.  Returns false
// with *status set, or with *typed false (a blob collection: status Ok).  CloseHandle either way.
bool
OpenFields(const Target &target, Bytes key, Access access, const Privileges &privileges, const Bytes *names,
           size_t nnames, Handle *handle, AttrNumber **attnos, size_t *nattnos, bool *typed, Status *status)
{
	memset(handle, 0, sizeof(*handle));
	status->code = Code::Ok;
	status->message[0] = status->detail[0] = '\0';
	*typed = true;
	Shape shape = ShapeOf(target.relid);
	if (shape.ok && shape.count == 1) {
		*typed = false;
		return false;
	}
	// Any value field will do for OpenHandle: every field used is checked below.
	Target opened = target;
	opened.field = nullptr;
	if (names != nullptr && nnames > 0)
		opened.field = pnstrdup(names[0].data, names[0].len);
	else if (shape.ok && shape.count > 1) {
		Relation rel = table_open(target.relid, NoLock);
		opened.field = pstrdup(NameStr(TupleDescAttr(RelationGetDescr(rel), shape.first - 1)->attname));
		table_close(rel, NoLock);
	}
	if (!OpenHandle(opened, key, access, handle, status, &privileges))
		return false;
	handle->target = &target;
	TupleDesc desc = RelationGetDescr(handle->rel);
	AttrNumber *list = static_cast<AttrNumber *>(palloc(sizeof(AttrNumber) * (names ? nnames + 1 : desc->natts + 1)));
	size_t n = 0;
	if (names == nullptr) {
		for (int i = 0; i < desc->natts; i++) {
			if (IsValueAttr(TupleDescAttr(desc, i), i + 1, tableam::GetRelInfo(handle->rel)))
				list[n++] = i + 1;
		}
	} else {
		for (size_t i = 0; i < nnames; i++) {
			AttrNumber attno = FieldAttno(handle, names[i]);
			if (attno == InvalidAttrNumber) {
				UnknownField(handle, names[i], status);
				return false;
			}
			list[n++] = attno;
		}
	}
	if (!target.internal) {
		for (size_t i = 0; i < n; i++) {
			if (!CheckColumn(handle, list[i], privileges.field, status))
				return false;
		}
	}
	*attnos = list;
	*nattnos = n;
	return true;
}

// The row in slot as a JSON object of its non-null value fields.
char *
RowJson(Handle *handle, TupleTableSlot *slot)
{
	StringInfoData buf;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	TupleDesc desc = RelationGetDescr(handle->rel);
	const tableam::RelInfo *info = tableam::GetRelInfo(handle->rel);
	bool first = true;
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		if (!IsValueAttr(attr, i + 1, info))
			continue;
		bool isnull = false;
		Datum datum = slot_getattr(slot, i + 1, &isnull);
		if (isnull)
			continue;
		Oid output;
		bool varlena;
		getTypeOutputInfo(attr->atttypid, &output, &varlena);
		char *text = OidOutputFunctionCall(output, datum);
		if (!first)
			appendStringInfoChar(&buf, ',');
		first = false;
		escape_json(&buf, NameStr(attr->attname));
		appendStringInfoChar(&buf, ':');
		FieldKind kind = KindOf(getBaseType(attr->atttypid));
		if (kind == FieldKind::Number && strcmp(text, "NaN") != 0 && strstr(text, "Infinity") == nullptr)
			appendStringInfoString(&buf, text);
		else if (kind == FieldKind::Boolean)
			appendStringInfoString(&buf, DatumGetBool(datum) ? "true" : "false");
		else if (kind == FieldKind::Json)
			appendStringInfoString(&buf, text);
		else
			escape_json(&buf, text);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

// Whether every value field of the row in slot is NULL.
bool
AllNull(Handle *handle, TupleTableSlot *slot)
{
	TupleDesc desc = RelationGetDescr(handle->rel);
	const tableam::RelInfo *info = tableam::GetRelInfo(handle->rel);
	for (int i = 0; i < desc->natts; i++) {
		if (IsValueAttr(TupleDescAttr(desc, i), i + 1, info) && !slot->tts_isnull[i])
			return false;
	}
	return true;
}

} // namespace

Status
IsTypedCollection(const Target &target, bool *typed)
{
	Status status;
	status.code = Code::Ok;
	status.message[0] = status.detail[0] = '\0';
	Shape shape = ShapeOf(target.relid);
	*typed = shape.ok && shape.count > 1;
	return status;
}

Status
GetFields(const Target &target, Bytes key, const Bytes *names, size_t nnames, Field **fields, size_t *nfields,
          bool *found, bool *typed)
{
	Handle handle;
	Status status;
	AttrNumber *attnos = nullptr;
	size_t n = 0;
	*fields = nullptr;
	*nfields = 0;
	*found = false;
	Privileges privileges = {ACL_SELECT, ACL_SELECT, 0, 0};
	if (OpenFields(target, key, Access::Read, privileges, names, nnames, &handle, &attnos, &n, typed, &status)) {
		*found = LookupRow(&handle, true);
		Field *out = static_cast<Field *>(palloc0(sizeof(Field) * (n + 1)));
		for (size_t i = 0; i < n; i++) {
			if (*found)
				ReadField(&handle, handle.row, attnos[i], &out[i]);
			else {
				const char *name = NameStr(TupleDescAttr(RelationGetDescr(handle.rel), attnos[i] - 1)->attname);
				out[i] = {{name, strlen(name)}, true, {nullptr, 0}, FieldKind::Text};
			}
		}
		*fields = out;
		*nfields = n;
	}
	CloseHandle(&handle);
	return status;
}

Status
WriteFields(const Target &target, Bytes key, const FieldAssign *assigns, size_t nassigns, FieldWrite mode,
            SetOptions options, int64_t *changed, bool *typed, Value *before)
{
	Handle handle;
	Status status;
	AttrNumber *attnos = nullptr;
	size_t n = 0;
	*changed = 0;
	if (before != nullptr)
		*before = {false, true, {nullptr, 0}, -1};
	Bytes *names = static_cast<Bytes *>(palloc(sizeof(Bytes) * (nassigns + 1)));
	for (size_t i = 0; i < nassigns; i++)
		names[i] = assigns[i].name;
	// The statement each mode stands for: HSET / HSETNX / SET = INSERT ... ON CONFLICT DO UPDATE of the
	// fields (the key is read and inserted); HDEL = UPDATE t SET f = NULL WHERE key = $1 (and DELETE).
	bool replace = mode == FieldWrite::Replace;
	AclMode expiry = !replace || options.ttl.mode == TtlMode::Keep ? 0 : (ACL_INSERT | ACL_UPDATE);
	Privileges privileges = mode == FieldWrite::Clear
	                            ? Privileges{ACL_SELECT, ACL_SELECT | ACL_UPDATE, 0, 0}
	                            : Privileges{ACL_SELECT | ACL_INSERT, ACL_SELECT | ACL_INSERT | ACL_UPDATE, expiry, 0};
	Access access = mode == FieldWrite::Clear ? Access::Delete : Access::Write;
	if (mode == FieldWrite::Clear)
		privileges.table = 0; // DELETE is checked only when the row goes
	if (!OpenFields(target, key, access, privileges, names, nassigns, &handle, &attnos, &n, typed, &status)) {
		CloseHandle(&handle);
		return status;
	}
	// Replace resets every value field: it needs INSERT/UPDATE on all of them.
	if (replace && !target.internal) {
		TupleDesc desc = RelationGetDescr(handle.rel);
		const tableam::RelInfo *info = tableam::GetRelInfo(handle.rel);
		for (int i = 0; i < desc->natts && status.ok(); i++) {
			if (IsValueAttr(TupleDescAttr(desc, i), i + 1, info))
				CheckColumn(&handle, i + 1, ACL_INSERT | ACL_UPDATE, &status);
		}
		if (!status.ok()) {
			CloseHandle(&handle);
			return status;
		}
	}
	for (;;) {
		bool found = LookupRow(&handle, true);
		if (before != nullptr && found && replace) {
			char *json = RowJson(&handle, handle.row);
			*before = {true, false, {json, strlen(json)}, TtlMillis(&handle, handle.row)};
		}
		*changed = 0;
		if (mode == FieldWrite::Clear && !found)
			break;
		if (replace && ((options.only_if_absent && found) || (options.only_if_present && !found)))
			break;
		TupleTableSlot *slot = NewRowSlot(&handle, found && !replace);
		if (replace && found && handle.expiry_attno != InvalidAttrNumber) {
			// The fresh row keeps the old expiry unless the ttl says otherwise.
			bool isnull = false;
			Datum expires = slot_getattr(handle.row, handle.expiry_attno, &isnull);
			slot->tts_values[handle.expiry_attno - 1] = expires;
			slot->tts_isnull[handle.expiry_attno - 1] = isnull;
		}
		bool skip = false;
		for (size_t i = 0; i < n; i++) {
			int index = attnos[i] - 1;
			// Absent: the key is new (and the field not named before), or the field is NULL.
			bool was_null = found ? slot->tts_isnull[index] : true;
			for (size_t j = 0; j < i && was_null && !found; j++)
				was_null = attnos[j] != attnos[i];
			switch (mode) {
			case FieldWrite::SetIfAbsent:
				if (!was_null && found) {
					skip = true;
					break;
				}
				[[fallthrough]];
			case FieldWrite::Set:
			case FieldWrite::Replace:
				if (mode == FieldWrite::Set && was_null)
					(*changed)++;
				if (assigns[i].isnull) {
					slot->tts_values[index] = 0;
					slot->tts_isnull[index] = true;
				} else {
					if (!MakeValue(&handle, attnos[i], assigns[i].value, &slot->tts_values[index], &status))
						break;
					slot->tts_isnull[index] = false;
				}
				break;
			case FieldWrite::Clear:
				if (!slot->tts_isnull[index]) {
					(*changed)++;
					slot->tts_values[index] = 0;
					slot->tts_isnull[index] = true;
				}
				break;
			}
			if (skip || !status.ok())
				break;
		}
		if (skip || !status.ok() || (mode == FieldWrite::Clear && *changed == 0)) {
			*changed = 0;
			break;
		}
		if (mode == FieldWrite::Clear && AllNull(&handle, slot)) {
			// Redis's empty hash: the key goes.
			if (!target.internal &&
			    pg_class_aclcheck(RelationGetRelid(handle.rel), GetUserId(), ACL_DELETE) != ACLCHECK_OK) {
				SetStatus(&status, Code::PermissionDenied, "permission denied for table %s",
				          RelationGetRelationName(handle.rel));
				*changed = 0;
				break;
			}
			if (!DeleteRow(&handle))
				*changed = 0;
			break;
		}
		if (replace && !ApplyTtl(&handle, slot, options.ttl, !found, &status))
			break;
		WriteOutcome outcome = found ? UpdateRow(&handle, slot, true) : InsertRow(&handle, slot);
		if (outcome == WriteOutcome::Retry) {
			NextAttempt(&handle);
			continue;
		}
		if (outcome == WriteOutcome::Suppressed)
			*changed = 0;
		else if (mode != FieldWrite::Set && mode != FieldWrite::Clear)
			*changed = 1;
		break;
	}
	CloseHandle(&handle);
	return status;
}

Status
GetRowOrValue(const Target &target, Bytes key, Value *value)
{
	*value = {false, true, {nullptr, 0}, -1};
	Handle handle;
	Status status;
	AttrNumber *attnos = nullptr;
	size_t n = 0;
	bool typed = true;
	Privileges privileges = {ACL_SELECT, ACL_SELECT, ACL_SELECT, 0};
	if (OpenFields(target, key, Access::Read, privileges, nullptr, 0, &handle, &attnos, &n, &typed, &status) &&
	    LookupRow(&handle, true)) {
		char *json = RowJson(&handle, handle.row);
		*value = {true, false, {json, strlen(json)}, TtlMillis(&handle, handle.row)};
	}
	CloseHandle(&handle);
	if (!typed)
		return Get(target, key, value);
	return status;
}

Status
SetRowOrValue(const Target &target, Bytes key, Bytes value, SetOptions options, bool *written, Value *before)
{
	*written = false;
	Shape shape = ShapeOf(target.relid);
	if (!shape.ok || shape.count <= 1)
		return Set(target, key, value, options, written, before);
	// The members of a JSON object (jsonb's parser: its errors are PostgreSQL's, a later duplicate wins).
	Status status;
	status.code = Code::Ok;
	status.message[0] = status.detail[0] = '\0';
	Jsonb *json = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(value.data, value.len))));
	if (!JB_ROOT_IS_OBJECT(json) || JB_ROOT_IS_SCALAR(json)) {
		SetStatus(&status, Code::InvalidArgument, "a value of typed collection must be a JSON object");
		return status;
	}
	size_t count = JB_ROOT_COUNT(json);
	FieldAssign *assigns = static_cast<FieldAssign *>(palloc0(sizeof(FieldAssign) * (count + 1)));
	size_t n = 0;
	JsonbIterator *it = JsonbIteratorInit(&json->root);
	JsonbValue v;
	JsonbIteratorToken token;
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
		if (token == WJB_KEY) {
			assigns[n].name = {pnstrdup(v.val.string.val, v.val.string.len), static_cast<size_t>(v.val.string.len)};
			continue;
		}
		if (token != WJB_VALUE)
			continue;
		FieldAssign &assign = assigns[n++];
		const char *text = nullptr;
		size_t len = 0;
		switch (v.type) {
		case jbvNull:
			assign.isnull = true;
			break;
		case jbvString:
			text = v.val.string.val;
			len = v.val.string.len;
			break;
		case jbvNumeric:
			text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
			len = strlen(text);
			break;
		case jbvBool:
			text = v.val.boolean ? "true" : "false";
			len = strlen(text);
			break;
		case jbvBinary:
			text = JsonbToCString(nullptr, v.val.binary.data, v.val.binary.len);
			len = strlen(text);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", static_cast<int>(v.type));
		}
		assign.value = {text, len};
	}
	int64_t changed = 0;
	bool typed = true;
	status = WriteFields(target, key, assigns, n, FieldWrite::Replace, options, &changed, &typed, before);
	*written = changed > 0;
	return status;
}

} // namespace nodedb_kv::kv
