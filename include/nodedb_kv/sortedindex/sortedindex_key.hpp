#pragma once
// The definition of a kv_sorted index as the shared structure needs it, and the order-preserving
// byte encoding of its entries: an entry's sort key is the concatenation of its sort columns'
// encodings (bytes inverted for DESC) and its member's encoding, so plain memcmp gives the index
// order with "member ascending" as the final tiebreak.  Window arithmetic lives here too.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::sortedindex {

constexpr int kMaxColumns = 4;

enum class WindowKind : uint8 { None, Daily, Weekly, Monthly, Custom };

struct ColumnDef {
	AttrNumber attno; // heap attribute
	Oid type;         // base type
	Oid collation;    //
	bool desc;        //
	bool c_collation; // text compared bytewise (C/POSIX collation)
};

// Everything needed to turn a heap row into an entry; plain data, copied into shared memory.
struct IndexDef {
	int ncols;
	ColumnDef cols[kMaxColumns];
	ColumnDef key; // the member column (attno, type, collation; desc = false)
	// The unique index on the member column when `key` names a column other than the primary key
	// (entries are then kept up to date through the primary key), else InvalidOid.
	Oid member_index;
	int16 key_len; // pg_type.typlen of the member column
	bool key_byval;
	WindowKind window;
	AttrNumber window_attno;
	Oid window_type;
	TimestampTz window_start; // Custom: [start, end)
	TimestampTz window_end;
	AttrNumber expiry_attno; // the table's kv_expiry column, or InvalidAttrNumber
};

// A growable byte buffer in the current memory context.
struct Buf {
	char *data;
	int len;
	int cap;
};
void BufInit(Buf *buf);
void BufAppend(Buf *buf, const void *bytes, int len);

// Reads the definition of kv_sorted index `index` on heap (catalog access; may ERROR with a clear
// message when the definition is not supported: expression columns, unsupported types, bad options).
void LoadIndexDef(Relation index, Relation heap, IndexDef *def);

// The definition of index, cached in index->rd_amcache (freed by relcache invalidation: ALTER INDEX
// SET, or a change of the table's columns or key).  Catalog access on a miss; may ERROR as above.
void CachedIndexDef(Relation index, IndexDef *def);

// Hash of what makes two definitions of one index interchangeable (options, columns).
uint32 IndexDefHash(const IndexDef &def);

// True if values of type can be sort columns (numbers, timestamps, dates, text).
bool SortTypeSupported(Oid type);

// Appends the encoding of a non-NULL sort column value.  May ERROR (collation functions).
void EncodeColumn(Buf *buf, const ColumnDef &col, Datum value);

// Appends the member's raw bytes (what identifies it: varlena payload or the fixed-size value).
void MemberBytes(Buf *buf, const IndexDef &def, Datum member);

// Appends the member's order encoding (the tiebreak part of the sort key).
void EncodeMember(Buf *buf, const IndexDef &def, Datum member);

// The member as a Datum of its type, from its raw bytes (palloc'd when by reference).
Datum MemberDatum(const IndexDef &def, const char *bytes, int len);

// The member Datum from text (the SQL functions' argument): the member type's input function.
Datum MemberFromText(const IndexDef &def, const char *text);

// The member as text (output function).
char *MemberToText(const IndexDef &def, const char *bytes, int len);

// The window an instant belongs to; false when it is in none (Custom, outside [start, end)).
bool WindowOf(const IndexDef &def, TimestampTz ts, int32 *window);

// The window of the row's window column value (false: NULL or in none).  Window None: always 0.
bool RowWindow(const IndexDef &def, Datum value, bool isnull, int32 *window);

// The window queries read: the one nodedb_kv's clock falls in (daily, weekly, monthly), the custom
// window itself, or 0 without a window.
bool CurrentWindow(const IndexDef &def, int32 *window);

// Encoding of a numeric bound for the first column, for RANGE: lo/hi as the first column's type.
// False if the first column is not numeric.  The encoding has the first column's direction.
bool EncodeNumericBound(const IndexDef &def, double bound, bool is_lower, Buf *buf);

// Length of the first column's encoding in a sort key (numeric columns: 8 bytes).
int FirstColumnLength(const IndexDef &def);

// Decodes the first column of a sort key as float8 (numeric first columns only).
double DecodeFirstColumn(const IndexDef &def, const char *sortkey);

} // namespace nodedb_kv::sortedindex
