// The order-preserving encoding of kv_sorted entries and the definition loader.
//
// Encodings (memcmp order = the index order):
//  - int2/int4/int8, date, timestamp, timestamptz: 8 bytes big-endian with the sign bit flipped.
//  - float4/float8: the IEEE bits of the double, sign bit flipped for >= 0 and all bits for < 0
//    (-0 as 0, NaN above everything, as PostgreSQL orders them).
//  - text/varchar/bpchar/bytea: the bytes with 0x00 escaped as 0x00 0xFF, then 0x00 0x00 (prefix-free);
//    a text column with a non-C collation is prefixed by strxfrm() of the string (strcoll order, ties
//    then bytewise as varstr_cmp breaks them).
//  - uuid: its 16 bytes (uuid_cmp is memcmp).
//  - numeric: exact and prefix-free (EncodeNumericValue): a class byte (-Infinity, negative, zero,
//    positive, Infinity, NaN: numeric_cmp's order), then for a finite non-zero value 0.d1d2... x 10^e
//    (digits without leading or trailing zeros, so 1.0 and 1.00 encode alike) the exponent e as 4
//    bytes big-endian with the sign bit flipped, the digits in pairs (each pair + 1, a last odd
//    digit as a pair ending in 0) and a 0 byte; every byte after the class inverted when negative.
//  - DESC: every byte of the column's encoding inverted.
// The member's encoding (its type's order, ascending) ends every sort key: the final tiebreak.
#include <climits>
#include <cmath>
#include <cstring>

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/index.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/pg_locale.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/uuid.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/sortedindex/sortedindex_key.hpp"
#include "nodedb_kv/sortedindex/sortedindex_options.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::sortedindex {
namespace {

void
Reserve(Buf *buf, int more)
{
	if (buf->len + more <= buf->cap)
		return;
	int cap = Max(buf->cap * 2, buf->len + more + 64);
	buf->data = static_cast<char *>(repalloc(buf->data, cap));
	buf->cap = cap;
}

void
Append(Buf *buf, const void *bytes, int len)
{
	Reserve(buf, len);
	memcpy(buf->data + buf->len, bytes, len);
	buf->len += len;
}

void
AppendUint64(Buf *buf, uint64 v)
{
	unsigned char bytes[8];
	for (int i = 7; i >= 0; i--) {
		bytes[i] = static_cast<unsigned char>(v & 0xFF);
		v >>= 8;
	}
	Append(buf, bytes, 8);
}

void
AppendInt64(Buf *buf, int64 v)
{
	AppendUint64(buf, static_cast<uint64>(v) ^ (UINT64CONST(1) << 63));
}

uint64
DoubleBits(double d)
{
	if (std::isnan(d))
		return UINT64_MAX;
	if (d == 0)
		d = 0; // -0 sorts as 0
	uint64 bits;
	memcpy(&bits, &d, sizeof(bits));
	return (bits & (UINT64CONST(1) << 63)) ? ~bits : bits | (UINT64CONST(1) << 63);
}

double
BitsDouble(uint64 bits)
{
	if (bits == UINT64_MAX)
		return NAN;
	bits = (bits & (UINT64CONST(1) << 63)) ? bits & ~(UINT64CONST(1) << 63) : ~bits;
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

void
AppendEscaped(Buf *buf, const char *bytes, int len)
{
	Reserve(buf, len * 2 + 2);
	for (int i = 0; i < len; i++) {
		buf->data[buf->len++] = bytes[i];
		if (bytes[i] == '\0')
			buf->data[buf->len++] = static_cast<char>(0xFF);
	}
	buf->data[buf->len++] = '\0';
	buf->data[buf->len++] = '\0';
}

bool
IsTextLike(Oid type)
{
	return type == TEXTOID || type == VARCHAROID || type == BPCHAROID || type == BYTEAOID;
}

bool
IsNumeric(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID || type == FLOAT4OID || type == FLOAT8OID;
}

// numeric's encoding classes, in numeric_cmp's order.
enum NumericClass : unsigned char { kNegInf = 1, kNegative, kZero, kPositive, kPosInf, kNaN };

// Appends the ascending encoding of a numeric (see the file header), from its normalized text (no
// trailing fractional zeros).
void
EncodeNumericValue(Buf *buf, Numeric num)
{
	char *text = numeric_normalize(num);
	unsigned char head;
	if (strcmp(text, "NaN") == 0)
		head = kNaN;
	else if (strcmp(text, "Infinity") == 0)
		head = kPosInf;
	else if (strcmp(text, "-Infinity") == 0)
		head = kNegInf;
	else {
		bool negative = text[0] == '-';
		const char *p = text + (negative ? 1 : 0);
		// The digits without the point, and the exponent: the count of integer digits.
		int len = static_cast<int>(strlen(p));
		char *digits = static_cast<char *>(palloc(len + 1));
		int n = 0;
		int64 exponent = 0;
		bool integer_part = true;
		for (; *p != '\0'; p++) {
			if (*p == '.') {
				integer_part = false;
				continue;
			}
			if (n == 0 && *p == '0') { // a leading zero: before the point it does not count, after it
				if (!integer_part)     // the value is ten times smaller
					exponent--;
				continue;
			}
			digits[n++] = *p;
			if (integer_part)
				exponent++;
		}
		while (n > 0 && digits[n - 1] == '0')
			n--;
		head = n == 0 ? kZero : negative ? kNegative : kPositive;
		Append(buf, &head, 1);
		if (n > 0) {
			int from = buf->len;
			uint32 e = static_cast<uint32>(static_cast<int32>(exponent)) ^ 0x80000000u;
			unsigned char be[4] = {static_cast<unsigned char>(e >> 24), static_cast<unsigned char>(e >> 16),
			                       static_cast<unsigned char>(e >> 8), static_cast<unsigned char>(e)};
			Append(buf, be, 4);
			for (int i = 0; i < n; i += 2) {
				int pair = (digits[i] - '0') * 10 + (i + 1 < n ? digits[i + 1] - '0' : 0);
				unsigned char b = static_cast<unsigned char>(pair + 1);
				Append(buf, &b, 1);
			}
			unsigned char end = 0;
			Append(buf, &end, 1);
			if (negative)
				for (int i = from; i < buf->len; i++)
					buf->data[i] = static_cast<char>(~static_cast<unsigned char>(buf->data[i]));
		}
		pfree(digits);
		pfree(text);
		return;
	}
	Append(buf, &head, 1);
	pfree(text);
}

// The value of the numeric encoding at bytes as float8 (desc_flip 0xFF: the column is DESC, its bytes
// inverted).  Reads up to the encoding's end only.
double
DecodeNumericValue(const char *bytes, unsigned char desc_flip)
{
	auto at = [&](int i) { return static_cast<unsigned char>(static_cast<unsigned char>(bytes[i]) ^ desc_flip); };
	switch (at(0)) {
	case kNaN:
		return std::nan("");
	case kPosInf:
		return HUGE_VAL;
	case kNegInf:
		return -HUGE_VAL;
	case kZero:
		return 0;
	default:
		break;
	}
	unsigned char flip = at(0) == kNegative ? 0xFF : 0;
	uint32 e = 0;
	for (int i = 1; i <= 4; i++)
		e = (e << 8) | static_cast<unsigned char>(at(i) ^ flip);
	int32 exponent = static_cast<int32>(e ^ 0x80000000u);
	// The first 36 digits at most: later ones cannot move the double (but in ties far beyond its precision).
	char text[64];
	int n = 0;
	if (flip)
		text[n++] = '-';
	text[n++] = '0';
	text[n++] = '.';
	for (int i = 5; n < 40; i++) {
		int b = at(i) ^ flip;
		if (b == 0)
			break;
		text[n++] = static_cast<char>('0' + (b - 1) / 10);
		text[n++] = static_cast<char>('0' + (b - 1) % 10);
	}
	snprintf(text + n, sizeof(text) - n, "e%d", exponent);
	return strtod(text, nullptr);
}

// Appends the ascending encoding of value of type (see the file header).
void
EncodeAscending(Buf *buf, Oid type, bool c_collation, Oid collation, Datum value)
{
	switch (type) {
	case INT2OID:
		AppendInt64(buf, DatumGetInt16(value));
		return;
	case INT4OID:
		AppendInt64(buf, DatumGetInt32(value));
		return;
	case INT8OID:
		AppendInt64(buf, DatumGetInt64(value));
		return;
	case DATEOID:
		AppendInt64(buf, DatumGetDateADT(value));
		return;
	case TIMESTAMPOID:
	case TIMESTAMPTZOID:
		AppendInt64(buf, DatumGetInt64(value));
		return;
	case FLOAT4OID:
		AppendUint64(buf, DoubleBits(DatumGetFloat4(value)));
		return;
	case FLOAT8OID:
		AppendUint64(buf, DoubleBits(DatumGetFloat8(value)));
		return;
	case UUIDOID:
		Append(buf, DatumGetUUIDP(value)->data, UUID_LEN);
		return;
	case NUMERICOID:
		EncodeNumericValue(buf, DatumGetNumeric(value));
		return;
	default:
		break;
	}
	Assert(IsTextLike(type));
	struct varlena *v = PG_DETOAST_DATUM_PACKED(value);
	const char *bytes = VARDATA_ANY(v);
	int len = VARSIZE_ANY_EXHDR(v);
	if (type == BPCHAROID)
		while (len > 0 && bytes[len - 1] == ' ')
			len--;
	if (type != BYTEAOID && !c_collation) {
		// strcoll order via strxfrm (the database's collation or the column's libc locale).
		char *copy = pnstrdup(bytes, len);
		pg_locale_t locale = OidIsValid(collation) && collation != DEFAULT_COLLATION_OID
		                         ? pg_newlocale_from_collation(collation)
		                         : nullptr;
		size_t need;
		char small[256];
		if (locale != nullptr)
			need = strxfrm_l(small, copy, sizeof(small), locale->info.lt);
		else
			need = strxfrm(small, copy, sizeof(small));
		if (need < sizeof(small))
			Append(buf, small, static_cast<int>(need));
		else {
			char *big = static_cast<char *>(palloc(need + 1));
			if (locale != nullptr)
				strxfrm_l(big, copy, need + 1, locale->info.lt);
			else
				strxfrm(big, copy, need + 1);
			Append(buf, big, static_cast<int>(need));
			pfree(big);
		}
		char zero = 0;
		Append(buf, &zero, 1);
		pfree(copy);
	}
	AppendEscaped(buf, bytes, len);
}

// Checks that a text column's collation is one we can encode.
bool
CollationSupported(Oid collation, bool *c_collation)
{
	*c_collation = !OidIsValid(collation) || lc_collate_is_c(collation);
	if (*c_collation)
		return true;
	if (collation == DEFAULT_COLLATION_OID)
		return default_locale.provider != COLLPROVIDER_ICU;
	pg_locale_t locale = pg_newlocale_from_collation(collation);
	return locale != nullptr && locale->provider == COLLPROVIDER_LIBC && locale->deterministic;
}

ColumnDef
ColumnOf(Relation heap, AttrNumber attno, Oid collation, bool desc, const char *what)
{
	Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(heap), attno - 1);
	ColumnDef col = {};
	col.attno = attno;
	col.type = getBaseType(attr->atttypid);
	col.collation = OidIsValid(collation) ? collation : attr->attcollation;
	col.desc = desc;
	if (IsTextLike(col.type) && col.type != BYTEAOID && !CollationSupported(col.collation, &col.c_collation))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("kv_sorted does not support the collation of %s \"%s\"", what, NameStr(attr->attname)),
		                errhint("Use a deterministic libc collation or COLLATE \"C\".")));
	if (col.type == BYTEAOID)
		col.c_collation = true;
	return col;
}

// A valid, immediate, non-partial unique btree index of heap on the single column attno, or InvalidOid.
Oid
UniqueIndexOn(Relation heap, AttrNumber attno)
{
	Oid found = InvalidOid;
	List *indexes = RelationGetIndexList(heap);
	ListCell *lc;
	foreach (lc, indexes) {
		HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		if (!HeapTupleIsValid(tuple))
			continue;
		auto *form = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
		bool ok = form->indisunique && form->indimmediate && form->indisvalid && form->indnkeyatts == 1 &&
		          form->indkey.values[0] == attno && heap_attisnull(tuple, Anum_pg_index_indpred, nullptr) &&
		          heap_attisnull(tuple, Anum_pg_index_indexprs, nullptr);
		ReleaseSysCache(tuple);
		if (ok) {
			found = lfirst_oid(lc);
			break;
		}
	}
	list_free(indexes);
	return found;
}

AttrNumber
ColumnByName(Relation heap, const char *name, const char *option)
{
	AttrNumber attno = get_attnum(RelationGetRelid(heap), name);
	if (attno <= 0)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
		                errmsg("column \"%s\" named by kv_sorted option \"%s\" does not exist in \"%s\"", name, option,
		                       RelationGetRelationName(heap))));
	return attno;
}

int64
FloorDiv(int64 a, int64 b)
{
	int64 q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

} // namespace

void
BufAppend(Buf *buf, const void *bytes, int len)
{
	Append(buf, bytes, len);
}

void
BufInit(Buf *buf)
{
	buf->cap = 128;
	buf->len = 0;
	buf->data = static_cast<char *>(palloc(buf->cap));
}

bool
SortTypeSupported(Oid type)
{
	return IsNumeric(type) || type == NUMERICOID || type == DATEOID || type == TIMESTAMPOID || type == TIMESTAMPTZOID ||
	       IsTextLike(type);
}

void
LoadIndexDef(Relation index, Relation heap, IndexDef *def)
{
	memset(def, 0, sizeof(*def));
	if (!tableam::IsKvRelation(heap))
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("kv_sorted indexes are only supported on kv tables"),
		                errdetail("\"%s\" does not use the kv table access method.", RelationGetRelationName(heap))));
	int natts = IndexRelationGetNumberOfKeyAttributes(index);
	if (natts > kMaxColumns)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("kv_sorted indexes support at most %d columns", kMaxColumns)));
	if (index->rd_indpred != NIL || RelationGetIndexPredicate(index) != NIL)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("kv_sorted indexes cannot be partial")));
	def->ncols = natts;
	for (int i = 0; i < natts; i++) {
		AttrNumber attno = index->rd_index->indkey.values[i];
		if (attno <= 0)
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("kv_sorted indexes support plain columns only, not expressions")));
		bool desc = (index->rd_indoption[i] & INDOPTION_DESC) != 0;
		def->cols[i] = ColumnOf(heap, attno, index->rd_indcollation[i], desc, "column");
		if (!SortTypeSupported(def->cols[i].type))
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			         errmsg("kv_sorted does not support columns of type %s", format_type_be(def->cols[i].type))));
	}

	// The member: the primary key, or the column `key` names, which needs a unique index of its own
	// (entries are still tracked by primary key: sortedindex_capture.cpp).
	const tableam::RelInfo *info = tableam::GetRelInfo(heap);
	if (info->key_attno == InvalidAttrNumber)
		ereport(ERROR,
		        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		         errmsg("kv_sorted index on \"%s\" needs the table's primary key", RelationGetRelationName(heap))));
	AttrNumber key_attno = info->key_attno;
	def->expiry_attno = info->expiry_attno;
	if (const char *key = OptionValue(index, &SortedOptions::key)) {
		AttrNumber named = ColumnByName(heap, key, "key");
		if (named != key_attno) {
			def->member_index = UniqueIndexOn(heap, named);
			if (!OidIsValid(def->member_index))
				ereport(ERROR, (errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				                errmsg("kv_sorted option \"key\" names column \"%s\" of \"%s\", which has no unique "
				                       "index",
				                       key, RelationGetRelationName(heap)),
				                errdetail("The member column of a kv_sorted index identifies one row."),
				                errhint("Create a unique index (or UNIQUE constraint) on \"%s\" alone, without a "
				                        "predicate and not deferrable, or leave \"key\" out to use the primary key.",
				                        key)));
			key_attno = named;
		}
	}
	def->key = ColumnOf(heap, key_attno, InvalidOid, false, "key column");
	Form_pg_attribute key_attr = TupleDescAttr(RelationGetDescr(heap), key_attno - 1);
	def->key_len = key_attr->attlen;
	def->key_byval = key_attr->attbyval;
	Oid kt = def->key.type;
	if (!IsTextLike(kt) && kt != INT2OID && kt != INT4OID && kt != INT8OID && kt != UUIDOID)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("kv_sorted does not support keys of type %s", format_type_be(kt))));

	const char *window = OptionValue(index, &SortedOptions::window);
	const char *window_column = OptionValue(index, &SortedOptions::window_column);
	const char *start = OptionValue(index, &SortedOptions::window_start);
	const char *end = OptionValue(index, &SortedOptions::window_end);
	def->window = WindowKind::None;
	if (window == nullptr) {
		if (window_column != nullptr || start != nullptr || end != nullptr)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("kv_sorted options \"window_column\", \"window_start\" and \"window_end\" need "
			                       "\"window\"")));
		return;
	}
	if (strcmp(window, "daily") == 0)
		def->window = WindowKind::Daily;
	else if (strcmp(window, "weekly") == 0)
		def->window = WindowKind::Weekly;
	else if (strcmp(window, "monthly") == 0)
		def->window = WindowKind::Monthly;
	else
		def->window = WindowKind::Custom;
	if (window_column == nullptr)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("kv_sorted option \"window\" needs \"window_column\"")));
	def->window_attno = ColumnByName(heap, window_column, "window_column");
	def->window_type = getBaseType(TupleDescAttr(RelationGetDescr(heap), def->window_attno - 1)->atttypid);
	if (def->window_type != TIMESTAMPTZOID && def->window_type != TIMESTAMPOID && def->window_type != DATEOID)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
		                errmsg("kv_sorted window_column \"%s\" must be of type timestamptz, timestamp or date",
		                       window_column)));
	if (def->window == WindowKind::Custom) {
		if (start == nullptr || end == nullptr)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("kv_sorted window \"custom\" needs \"window_start\" and \"window_end\"")));
		def->window_start = ParseInstant(start);
		def->window_end = ParseInstant(end);
		if (def->window_start >= def->window_end)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("kv_sorted window_start must be before window_end")));
	} else if (start != nullptr || end != nullptr)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("kv_sorted options \"window_start\" and \"window_end\" need window \"custom\"")));
}

void
CachedIndexDef(Relation index, IndexDef *def)
{
	if (index->rd_amcache == nullptr) {
		Relation heap = relation_open(index->rd_index->indrelid, AccessShareLock);
		IndexDef loaded;
		LoadIndexDef(index, heap, &loaded);
		relation_close(heap, AccessShareLock);
		void *cache = MemoryContextAlloc(index->rd_indexcxt, sizeof(IndexDef));
		memcpy(cache, &loaded, sizeof(IndexDef));
		index->rd_amcache = cache;
	}
	memcpy(def, index->rd_amcache, sizeof(IndexDef));
}

uint32
IndexDefHash(const IndexDef &def)
{
	return hash_bytes(reinterpret_cast<const unsigned char *>(&def), sizeof(def));
}

void
EncodeColumn(Buf *buf, const ColumnDef &col, Datum value)
{
	int from = buf->len;
	EncodeAscending(buf, col.type, col.c_collation, col.collation, value);
	if (col.desc)
		for (int i = from; i < buf->len; i++)
			buf->data[i] = static_cast<char>(~static_cast<unsigned char>(buf->data[i]));
}

void
MemberBytes(Buf *buf, const IndexDef &def, Datum member)
{
	if (def.key_len == -1) {
		struct varlena *v = PG_DETOAST_DATUM_PACKED(member);
		Append(buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	} else if (def.key_byval) {
		int64 v = def.key_len == 2   ? DatumGetInt16(member)
		          : def.key_len == 4 ? DatumGetInt32(member)
		                             : DatumGetInt64(member);
		Append(buf, &v, sizeof(v));
	} else
		Append(buf, DatumGetPointer(member), def.key_len);
}

void
EncodeMember(Buf *buf, const IndexDef &def, Datum member)
{
	EncodeAscending(buf, def.key.type, def.key.c_collation, def.key.collation, member);
}

Datum
MemberDatum(const IndexDef &def, const char *bytes, int len)
{
	if (def.key_len == -1) {
		auto *v = static_cast<struct varlena *>(palloc(VARHDRSZ + len));
		SET_VARSIZE(v, VARHDRSZ + len);
		memcpy(VARDATA(v), bytes, len);
		return PointerGetDatum(v);
	}
	if (def.key_byval) {
		int64 v;
		memcpy(&v, bytes, sizeof(v));
		return def.key_len == 2   ? Int16GetDatum(static_cast<int16>(v))
		       : def.key_len == 4 ? Int32GetDatum(static_cast<int32>(v))
		                          : Int64GetDatum(v);
	}
	char *copy = static_cast<char *>(palloc(len));
	memcpy(copy, bytes, len);
	return PointerGetDatum(copy);
}

Datum
MemberFromText(const IndexDef &def, const char *text)
{
	if (def.key.type == TEXTOID || def.key.type == VARCHAROID)
		return CStringGetTextDatum(text);
	Oid input;
	Oid ioparam;
	getTypeInputInfo(def.key.type, &input, &ioparam);
	return OidInputFunctionCall(input, const_cast<char *>(text), ioparam, -1);
}

char *
MemberToText(const IndexDef &def, const char *bytes, int len)
{
	if (def.key.type == TEXTOID || def.key.type == VARCHAROID || def.key.type == BPCHAROID)
		return pnstrdup(bytes, len);
	Oid output;
	bool varlena;
	getTypeOutputInfo(def.key.type, &output, &varlena);
	return OidOutputFunctionCall(output, MemberDatum(def, bytes, len));
}

bool
WindowOf(const IndexDef &def, TimestampTz ts, int32 *window)
{
	int64 day = FloorDiv(ts, USECS_PER_DAY);
	switch (def.window) {
	case WindowKind::None:
		*window = 0;
		return true;
	case WindowKind::Daily:
		*window = static_cast<int32>(day);
		return true;
	case WindowKind::Weekly:
		// 2000-01-01 (day 0) was a Saturday: Monday 2000-01-03 is day 2.
		*window = static_cast<int32>(FloorDiv(day - 2, 7));
		return true;
	case WindowKind::Monthly: {
		int year, month, mday;
		j2date(static_cast<int>(day + POSTGRES_EPOCH_JDATE), &year, &month, &mday);
		*window = year * 12 + (month - 1);
		return true;
	}
	case WindowKind::Custom:
		*window = 0;
		return ts >= def.window_start && ts < def.window_end;
	}
	return false;
}

bool
RowWindow(const IndexDef &def, Datum value, bool isnull, int32 *window)
{
	if (def.window == WindowKind::None) {
		*window = 0;
		return true;
	}
	if (isnull)
		return false;
	TimestampTz ts;
	if (def.window_type == DATEOID) {
		DateADT d = DatumGetDateADT(value);
		if (DATE_NOT_FINITE(d))
			return false;
		ts = static_cast<TimestampTz>(d) * USECS_PER_DAY;
	} else {
		ts = DatumGetTimestampTz(value);
		if (TIMESTAMP_NOT_FINITE(ts))
			return false;
	}
	return WindowOf(def, ts, window);
}

bool
CurrentWindow(const IndexDef &def, int32 *window)
{
	// A custom window is fixed (a season's board stays readable after the season); the calendar
	// windows are the ones "now" falls in.
	if (def.window == WindowKind::Custom) {
		*window = 0;
		return true;
	}
	return WindowOf(def, ttl::Now(), window);
}

bool
EncodeNumericBound(const IndexDef &def, double bound, bool is_lower, Buf *buf)
{
	const ColumnDef &col = def.cols[0];
	if (!IsNumeric(col.type) && col.type != NUMERICOID)
		return false;
	int from = buf->len;
	if (col.type == NUMERICOID) // float8_numeric: exact for integers, 15 significant digits otherwise
		EncodeNumericValue(buf, DatumGetNumeric(DirectFunctionCall1(float8_numeric, Float8GetDatum(bound))));
	else if (col.type == FLOAT4OID || col.type == FLOAT8OID)
		AppendUint64(buf, DoubleBits(bound));
	else {
		double v = is_lower ? std::ceil(bound) : std::floor(bound);
		int64 lim_lo = col.type == INT2OID ? PG_INT16_MIN : col.type == INT4OID ? PG_INT32_MIN : PG_INT64_MIN;
		int64 lim_hi = col.type == INT2OID ? PG_INT16_MAX : col.type == INT4OID ? PG_INT32_MAX : PG_INT64_MAX;
		int64 i = std::isnan(v)                      ? lim_hi
		          : v <= static_cast<double>(lim_lo) ? lim_lo
		          : v >= static_cast<double>(lim_hi) ? lim_hi
		                                             : static_cast<int64>(v);
		AppendInt64(buf, i);
	}
	if (col.desc)
		for (int i = from; i < buf->len; i++)
			buf->data[i] = static_cast<char>(~static_cast<unsigned char>(buf->data[i]));
	return true;
}

int
FirstColumnLength(const IndexDef &def)
{
	return IsNumeric(def.cols[0].type) ? 8 : -1;
}

double
DecodeFirstColumn(const IndexDef &def, const char *sortkey)
{
	if (def.cols[0].type == NUMERICOID)
		return DecodeNumericValue(sortkey, def.cols[0].desc ? 0xFF : 0);
	uint64 bits = 0;
	for (int i = 0; i < 8; i++) {
		unsigned char b = static_cast<unsigned char>(sortkey[i]);
		if (def.cols[0].desc)
			b = static_cast<unsigned char>(~b);
		bits = (bits << 8) | b;
	}
	if (def.cols[0].type == FLOAT4OID || def.cols[0].type == FLOAT8OID)
		return BitsDouble(bits);
	return static_cast<double>(static_cast<int64>(bits ^ (UINT64CONST(1) << 63)));
}

} // namespace nodedb_kv::sortedindex
