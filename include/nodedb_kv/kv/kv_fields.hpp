#pragma once
// Multi-field rows of typed collections (a kv table with several value fields): read or write several
// value columns of one key in one operation, and a whole row as a JSON object.  RESP's hash commands
// (HSET, HGET, HGETALL, HDEL, ...) and GET/SET of a typed row use these; single-field numbers go
// through Incr / IncrFloat with Target::field.  PG-free like kv_api.hpp; same error conventions.
#ifdef POSTGRES_H
static_assert(false, "kv_fields.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>

#include "nodedb_kv/kv/kv_api.hpp"

namespace nodedb_kv::kv {

// How a field's text shows in JSON.
enum class FieldKind : uint8_t { Text, Number, Boolean, Json };

// One value field of a row.
struct Field {
	Bytes name;     // the column's name
	bool isnull;    // SQL NULL (Redis: the field does not exist)
	Bytes value;    // its text (text, varchar, bytea: the bytes; others: the output function's text)
	FieldKind kind; // from the column's type
};

// Reads the value fields `names` (nnames of them; names null: every value field in column order) of
// key's row.  *typed is false for a blob collection (one value field; nothing is read, status Ok).
// A name that is not a value field: UnknownField.  *fields is allocated in the current memory context
// (one entry per name, in order); *found false when the key has no live row.  Needs SELECT on the key
// and the fields read.
Status GetFields(const Target &target, Bytes key, const Bytes *names, size_t nnames, Field **fields, size_t *nfields,
                 bool *found, bool *typed);

// Whether target is a typed collection (several value fields).  A relation that is not a kv table
// with a primary key, or is gone, reads as not typed (the operation then reports what is wrong).
Status IsTypedCollection(const Target &target, bool *typed);

// What WriteFields does with the named fields.
enum class FieldWrite : uint8_t {
	Set,         // HSET: write them; a new row gets defaults elsewhere; the expiry is kept
	SetIfAbsent, // HSETNX: write them only if every one is NULL or the key is missing
	Replace,     // SET of a JSON object: write them, every other value field gets its default; ttl applies
	Clear,       // HDEL: set them NULL; the row is deleted when every value field is NULL
};

struct FieldAssign {
	Bytes name;
	Bytes value; // converted by the column's input function (typmod, domain checks)
	bool isnull; // write SQL NULL
};

// Writes fields of key's row (mode above).  options: only_if_absent / only_if_present / ttl for
// Replace (other modes keep the expiry).  *changed: Set counts fields that were NULL or absent,
// SetIfAbsent 1 if it wrote, Replace 1 if it wrote, Clear the fields that were not NULL.  *typed as
// for GetFields.  before (may be null): the row before the call as a JSON object (Replace's SET GET).
Status WriteFields(const Target &target, Bytes key, const FieldAssign *assigns, size_t nassigns, FieldWrite mode,
                   SetOptions options, int64_t *changed, bool *typed, Value *before);

// GET on a named collection: a blob collection's value (as Get), or a typed row as a JSON object of
// its non-null fields (numbers and booleans bare, json/jsonb columns inline, the rest as strings).
Status GetRowOrValue(const Target &target, Bytes key, Value *value);

// SET on a named collection: a blob collection's value (as Set), or, on a typed collection, value
// must be a JSON object whose members name value fields: they are written, the others defaulted
// (FieldWrite::Replace; a JSON null writes NULL, nested objects/arrays their JSON text).  before as
// for Set, a typed row's as JSON.  Invalid JSON or a non-object: InvalidArgument.
Status SetRowOrValue(const Target &target, Bytes key, Bytes value, SetOptions options, bool *written, Value *before);

} // namespace nodedb_kv::kv
