// Value encoding of the kv engine: reading a value field as an integer, a float or bytes, and
// making a datum of the field's (or key's) type from those.  Numeric column types convert
// numerically; text and bytea hold decimal text (rtypes_number.cpp), as in Redis.  Other types go through
// their input/output functions with the column's typmod, so varchar(n), numeric(p,s) and domain
// constraints are enforced as for SQL.  Also the expiry column <-> TTL milliseconds.
#include <cmath>

#include "nodedb_kv/rtypes/rtypes_number.hpp"
#include "nodedb_kv/ttl/ttl_duration.hpp"

#include "nodedb_kv/kv/kv_handle.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::kv {
namespace {

Form_pg_attribute
Attr(Handle *handle, AttrNumber attno)
{
	return TupleDescAttr(RelationGetDescr(handle->rel), attno - 1);
}

const char *
CollectionName(Handle *handle)
{
	return RelationGetRelationName(handle->rel);
}

// Text-like bytes of a text, varchar, bpchar (trailing blanks dropped) or bytea datum.
bool
TextBytes(Oid base_type, Datum datum, Bytes *bytes)
{
	if (base_type != TEXTOID && base_type != VARCHAROID && base_type != BPCHAROID && base_type != BYTEAOID)
		return false;
	struct varlena *value = PG_DETOAST_DATUM_PACKED(datum);
	bytes->data = VARDATA_ANY(value);
	bytes->len = VARSIZE_ANY_EXHDR(value);
	if (base_type == BPCHAROID)
		while (bytes->len > 0 && bytes->data[bytes->len - 1] == ' ')
			bytes->len--;
	return true;
}

// Datum of the column's type from text, with its typmod (input function; domains checked).
Datum
FromText(Handle *handle, AttrNumber attno, const char *text)
{
	Form_pg_attribute attr = Attr(handle, attno);
	Oid input;
	Oid ioparam;
	getTypeInputInfo(attr->atttypid, &input, &ioparam);
	return OidInputFunctionCall(input, const_cast<char *>(text), ioparam, attr->atttypmod);
}

// The value of an int2, int4 or int8 datum; false for any other type.
bool
IntegerDatum(Oid type, Datum datum, int64 *value)
{
	switch (type) {
	case INT2OID:
		*value = DatumGetInt16(datum);
		return true;
	case INT4OID:
		*value = DatumGetInt32(datum);
		return true;
	case INT8OID:
		*value = DatumGetInt64(datum);
		return true;
	default:
		return false;
	}
}

void
TypeMismatch(Handle *handle, Status *status, const char *what)
{
	SetStatus(status, Code::TypeMismatch, "type mismatch on %s: value is not %s", CollectionName(handle), what);
	Form_pg_attribute attr = Attr(handle, handle->field_attno);
	snprintf(status->detail, sizeof(status->detail), "Value field \"%s\" has type %s.", NameStr(attr->attname),
	         format_type_be(attr->atttypid));
}

void
OutOfRange(Handle *handle, Status *status, const char *what)
{
	SetStatus(status, Code::Overflow, "arithmetic overflow on %s", CollectionName(handle));
	Form_pg_attribute attr = Attr(handle, handle->field_attno);
	snprintf(status->detail, sizeof(status->detail), "Value field \"%s\" of type %s holds %s, beyond bigint.",
	         NameStr(attr->attname), format_type_be(attr->atttypid), what);
}

// Whether value converts to the float type exactly (beyond 2^24 for real, 2^53 for double precision
// not every integer does: storing the rounded value would lose the increment).
bool
ExactInFloat(Oid base_type, int64 value)
{
	if (base_type == FLOAT4OID) {
		float f = static_cast<float>(value);
		return f >= -9.2233720368547758e18f && f < 9.2233720368547758e18f && static_cast<int64>(f) == value;
	}
	if (base_type == FLOAT8OID) {
		double d = static_cast<double>(value);
		return d >= -9.2233720368547758e18 && d < 9.2233720368547758e18 && static_cast<int64>(d) == value;
	}
	return true;
}

} // namespace

bool
CheckNumberField(Handle *handle, Status *status)
{
	switch (handle->field_base_type) {
	case INT2OID:
	case INT4OID:
	case INT8OID:
	case NUMERICOID:
	case FLOAT4OID:
	case FLOAT8OID:
	case TEXTOID:
	case VARCHAROID:
	case BPCHAROID:
	case BYTEAOID:
		return true;
	default:
		break;
	}
	Form_pg_attribute attr = Attr(handle, handle->field_attno);
	SetStatus(status, Code::TypeMismatch, "type mismatch on %s: value field \"%s\" has type %s", CollectionName(handle),
	          NameStr(attr->attname), format_type_be(attr->atttypid));
	snprintf(status->detail, sizeof(status->detail),
	         "%s works on integer, numeric, real, double precision, text, varchar, char and bytea fields.",
	         handle->target->action);
	return false;
}

bool
ReadInt(Handle *handle, TupleTableSlot *slot, int64 *value, Status *status)
{
	bool isnull = false;
	Datum datum = slot_getattr(slot, handle->field_attno, &isnull);
	*value = 0;
	if (isnull)
		return true; // a NULL field counts as 0, like a missing key
	if (IntegerDatum(handle->field_base_type, datum, value))
		return true;
	Bytes bytes;
	switch (handle->field_base_type) {
	case FLOAT4OID:
	case FLOAT8OID: {
		double d = handle->field_base_type == FLOAT4OID ? DatumGetFloat4(datum) : DatumGetFloat8(datum);
		if (std::isnan(d) || (std::isfinite(d) && d != std::trunc(d)))
			break;
		if (d >= -9.2233720368547758e18 && d < 9.2233720368547758e18) {
			*value = static_cast<int64>(d);
			return true;
		}
		OutOfRange(handle, status, float8out_internal(d));
		return false;
	}
	case NUMERICOID: {
		if (numeric_is_nan(DatumGetNumeric(datum)))
			break;
		if (numeric_is_inf(DatumGetNumeric(datum))) {
			OutOfRange(handle, status, DatumGetCString(DirectFunctionCall1(numeric_out, datum)));
			return false;
		}
		Datum truncated = DirectFunctionCall2(numeric_trunc, datum, Int32GetDatum(0));
		if (DatumGetBool(DirectFunctionCall2(numeric_eq, datum, truncated))) {
			// The truncated value prints without a fraction: an integer, which may not fit in int64.
			char *text = DatumGetCString(DirectFunctionCall1(numeric_out, truncated));
			if (rtypes::ParseInt64(text, strlen(text), value))
				return true;
			OutOfRange(handle, status, text);
			return false;
		}
		break;
	}
	default:
		if (TextBytes(handle->field_base_type, datum, &bytes) && rtypes::ParseInt64(bytes.data, bytes.len, value))
			return true;
		break;
	}
	TypeMismatch(handle, status, "an integer");
	return false;
}

bool
MakeInt(Handle *handle, int64 value, Datum *datum, Status *status)
{
	Form_pg_attribute attr = Attr(handle, handle->field_attno);
	if (!ExactInFloat(handle->field_base_type, value)) {
		SetStatus(status, Code::Overflow, "arithmetic overflow on %s", CollectionName(handle));
		snprintf(status->detail, sizeof(status->detail),
		         "%lld is not exactly representable in value field \"%s\" of type %s: the increment would be lost.",
		         static_cast<long long>(value), NameStr(attr->attname), format_type_be(attr->atttypid));
		return false;
	}
	bool is_domain = attr->atttypid != handle->field_base_type;
	switch (is_domain ? InvalidOid : handle->field_base_type) {
	case INT2OID:
		if (value < PG_INT16_MIN || value > PG_INT16_MAX)
			break;
		*datum = Int16GetDatum(static_cast<int16>(value));
		return true;
	case INT4OID:
		if (value < PG_INT32_MIN || value > PG_INT32_MAX)
			break;
		*datum = Int32GetDatum(static_cast<int32>(value));
		return true;
	case INT8OID:
		*datum = Int64GetDatum(value);
		return true;
	case FLOAT8OID:
		*datum = Float8GetDatum(static_cast<double>(value));
		return true;
	case TEXTOID:
	case BYTEAOID: {
		char buffer[24];
		size_t len = rtypes::FormatInt64(value, buffer);
		*datum = PointerGetDatum(cstring_to_text_with_len(buffer, static_cast<int>(len)));
		return true;
	}
	default: {
		char buffer[24];
		rtypes::FormatInt64(value, buffer);
		*datum = FromText(handle, handle->field_attno, buffer); // numeric(p,s), varchar(n), domains...
		return true;
	}
	}
	SetStatus(status, Code::Overflow, "arithmetic overflow on %s", CollectionName(handle));
	snprintf(status->detail, sizeof(status->detail), "%lld does not fit value field \"%s\" of type %s.",
	         static_cast<long long>(value), NameStr(attr->attname), format_type_be(attr->atttypid));
	return false;
}

bool
ReadDouble(Handle *handle, TupleTableSlot *slot, double *value, Status *status)
{
	bool isnull = false;
	Datum datum = slot_getattr(slot, handle->field_attno, &isnull);
	*value = 0;
	if (isnull)
		return true;
	int64 integer = 0;
	if (IntegerDatum(handle->field_base_type, datum, &integer)) {
		*value = static_cast<double>(integer);
		return true;
	}
	Bytes bytes;
	switch (handle->field_base_type) {
	case FLOAT4OID:
		*value = DatumGetFloat4(datum);
		return !std::isnan(*value) || (TypeMismatch(handle, status, "numeric"), false);
	case FLOAT8OID:
		*value = DatumGetFloat8(datum);
		return !std::isnan(*value) || (TypeMismatch(handle, status, "numeric"), false);
	case NUMERICOID:
		*value = DatumGetFloat8(DirectFunctionCall1(numeric_float8, datum));
		return !std::isnan(*value) || (TypeMismatch(handle, status, "numeric"), false);
	default:
		if (TextBytes(handle->field_base_type, datum, &bytes) && rtypes::ParseDouble(bytes.data, bytes.len, value))
			return true;
		break;
	}
	TypeMismatch(handle, status, "numeric");
	return false;
}

bool
MakeDouble(Handle *handle, double value, Datum *datum, Status *status)
{
	Form_pg_attribute attr = Attr(handle, handle->field_attno);
	if (!std::isfinite(value)) {
		SetStatus(status, Code::Overflow, "arithmetic overflow on %s", CollectionName(handle));
		snprintf(status->detail, sizeof(status->detail), "The result would be NaN or infinity.");
		return false;
	}
	Oid type = attr->atttypid != handle->field_base_type ? InvalidOid : handle->field_base_type;
	if (type == FLOAT8OID) {
		*datum = Float8GetDatum(value);
		return true;
	}
	if (type == FLOAT4OID) {
		// Narrowed as SQL's float8 -> real assignment does, overflow reported the contract's way.
		float narrowed = static_cast<float>(value);
		if (std::isinf(narrowed)) {
			SetStatus(status, Code::Overflow, "arithmetic overflow on %s", CollectionName(handle));
			snprintf(status->detail, sizeof(status->detail), "%g does not fit value field \"%s\" of type real.", value,
			         NameStr(attr->attname));
			return false;
		}
		*datum = Float4GetDatum(narrowed);
		return true;
	}
	if (type == NUMERICOID) {
		// As SQL's float8 -> numeric assignment: the float's DBL_DIG-digit decimal form (0.1 + 0.2 is
		// 0.3, not 0.30000000000000004), then the column's typmod (may raise 22003).
		Datum number = DirectFunctionCall1(float8_numeric, Float8GetDatum(value));
		if (attr->atttypmod >= 0)
			number = DirectFunctionCall2(numeric, number, Int32GetDatum(attr->atttypmod));
		*datum = number;
		return true;
	}
	if (type == INT2OID || type == INT4OID || type == INT8OID) {
		if (value != std::trunc(value)) {
			TypeMismatch(handle, status, "an integer");
			snprintf(status->detail, sizeof(status->detail), "Value field \"%s\" of type %s cannot hold %g.",
			         NameStr(attr->attname), format_type_be(attr->atttypid), value);
			return false;
		}
		if (value < -9.2233720368547758e18 || value >= 9.2233720368547758e18) {
			SetStatus(status, Code::Overflow, "arithmetic overflow on %s", CollectionName(handle));
			return false;
		}
		return MakeInt(handle, static_cast<int64>(value), datum, status);
	}
	char buffer[400];
	size_t len = rtypes::FormatDouble(value, buffer, sizeof(buffer));
	if (len == 0) {
		SetStatus(status, Code::Overflow, "arithmetic overflow on %s", CollectionName(handle));
		return false;
	}
	if (type == TEXTOID || type == BYTEAOID)
		*datum = PointerGetDatum(cstring_to_text_with_len(buffer, static_cast<int>(len)));
	else
		*datum = FromText(handle, handle->field_attno, buffer); // domains, other types with an input function
	return true;
}

void
ReadValue(Handle *handle, TupleTableSlot *slot, Value *value)
{
	value->found = true;
	value->bytes = {nullptr, 0};
	value->ttl_ms = TtlMillis(handle, slot);
	Datum datum = slot_getattr(slot, handle->field_attno, &value->isnull);
	if (value->isnull)
		return;
	if (handle->field_base_type == TEXTOID || handle->field_base_type == BYTEAOID ||
	    handle->field_base_type == VARCHAROID) {
		// Copy: the row's buffer goes away with the handle.
		struct varlena *copy = PG_DETOAST_DATUM_COPY(datum);
		value->bytes = {VARDATA_ANY(copy), VARSIZE_ANY_EXHDR(copy)};
		return;
	}
	Oid output;
	bool varlena;
	getTypeOutputInfo(Attr(handle, handle->field_attno)->atttypid, &output, &varlena);
	char *text = OidOutputFunctionCall(output, datum);
	value->bytes = {text, strlen(text)};
}

bool
MakeValue(Handle *handle, AttrNumber attno, Bytes bytes, Datum *datum, Status *status)
{
	Form_pg_attribute attr = Attr(handle, attno);
	Oid base = getBaseType(attr->atttypid);
	if (base == BYTEAOID && base == attr->atttypid) {
		*datum = PointerGetDatum(cstring_to_text_with_len(bytes.data, static_cast<int>(bytes.len)));
		return true;
	}
	if (bytes.len > MaxAllocSize - VARHDRSZ - 1) {
		SetStatus(status, Code::InvalidArgument, "value too large for column \"%s\"", NameStr(attr->attname));
		return false;
	}
	// Text types cannot hold NUL and must be valid in the database encoding.
	if (memchr(bytes.data, '\0', bytes.len) != nullptr) {
		SetStatus(status, Code::InvalidArgument, "value for column \"%s\" of type %s contains a NUL byte",
		          NameStr(attr->attname), format_type_be(attr->atttypid));
		return false;
	}
	pg_verifymbstr(bytes.data, static_cast<int>(bytes.len), false);
	if (base == TEXTOID && base == attr->atttypid) {
		*datum = PointerGetDatum(cstring_to_text_with_len(bytes.data, static_cast<int>(bytes.len)));
		return true;
	}
	*datum = FromText(handle, attno, pnstrdup(bytes.data, bytes.len));
	return true;
}

namespace {

// Milliseconds until the expiry instant in datum (rounded up), -1 for none.
int64
MillisUntil(Datum datum, bool isnull)
{
	if (isnull)
		return -1;
	TimestampTz expiry = DatumGetTimestampTz(datum);
	TimestampTz now = ttl::Now();
	if (TIMESTAMP_IS_NOEND(expiry))
		return -1;
	return expiry > now ? (expiry - now + 999) / 1000 : 0;
}

} // namespace

int64
TtlMillis(Handle *handle, TupleTableSlot *slot)
{
	if (handle->expiry_attno == InvalidAttrNumber)
		return -1;
	bool isnull = false;
	Datum datum = slot_getattr(slot, handle->expiry_attno, &isnull);
	return MillisUntil(datum, isnull);
}

int64
ExpiryMillis(Handle *handle, TupleTableSlot *slot)
{
	if (handle->expiry_attno == InvalidAttrNumber)
		return -1;
	return MillisUntil(slot->tts_values[handle->expiry_attno - 1], slot->tts_isnull[handle->expiry_attno - 1]);
}

bool
ApplyTtl(Handle *handle, TupleTableSlot *slot, Ttl ttl, bool is_new, Status *status)
{
	bool sets = ttl.mode == TtlMode::Set || ttl.mode == TtlMode::At || (ttl.mode == TtlMode::SetIfNew && is_new);
	if (handle->expiry_attno == InvalidAttrNumber) {
		if (!sets)
			return true;
		SetStatus(status, Code::InvalidArgument, "collection \"%s\" has no kv_expiry column", CollectionName(handle));
		snprintf(status->detail, sizeof(status->detail), "Add one to give keys a time to live.");
		return false;
	}
	int index = handle->expiry_attno - 1;
	if (ttl.mode == TtlMode::Clear || (is_new && !sets)) {
		slot->tts_values[index] = 0;
		slot->tts_isnull[index] = true;
		return true;
	}
	if (!sets)
		return true; // keep the existing expiry
	int64 micros = 0;
	int64 expiry = 0;
	// At: Unix milliseconds; PostgreSQL's epoch is 2000-01-01.
	constexpr int64 kUnixToPostgresMicros =
	    static_cast<int64>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC;
	TimestampTz base = ttl.mode == TtlMode::At ? -kUnixToPostgresMicros : ttl::Now();
	if (__builtin_mul_overflow(ttl.millis, static_cast<int64>(1000), &micros) ||
	    !ttl::AddMicros(base, micros, &expiry) || !IS_VALID_TIMESTAMP(expiry)) {
		// Later than PostgreSQL's last timestamp (year 294276): kept as that instant, as Redis keeps
		// any expiry up to 2^63 ms; an instant before its first one stays an error.
		if (ttl.millis <= 0) {
			SetStatus(status, Code::InvalidArgument, "invalid expire time in %s", handle->target->action);
			return false;
		}
		expiry = END_TIMESTAMP - 1;
	}
	slot->tts_values[index] = TimestampTzGetDatum(expiry);
	slot->tts_isnull[index] = false;
	return true;
}

} // namespace nodedb_kv::kv
