#pragma once
// Redis-typed keys of a kv_db<n> keyspace (a kv table with a `type` column of kv_type and a bytea
// `value`): read a key's type and value together, and change both in one read-modify-write (the
// edit decides from the current row: keep, write a new type and value, or delete the key).  The
// container values are encoded by src/rtypes (rtypes_codec.hpp).  PG-free like kv_api.hpp; same
// error conventions.  Target::field must name the value column ("value").
#ifdef POSTGRES_H
static_assert(false, "kv_typed.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include "nodedb_kv/kv/kv_api.hpp"
#include "nodedb_kv/rtypes/rtypes_codec.hpp"

namespace nodedb_kv::kv {

// A key of a keyspace as stored.
struct TypedRow {
	bool found;
	rtypes::Type type;
	Bytes value;    // in the caller's memory context (a NULL value reads as empty)
	int64_t ttl_ms; // -1 = no expiry
};

enum class TypedAction : uint8_t {
	Keep,   // write nothing
	Write,  // store type and value (a missing key is created), then apply ttl
	Delete, // delete the key (an emptied container); nothing if it is missing
};

struct TypedWrite {
	TypedAction action;
	rtypes::Type type;
	Bytes value; // must stay valid until ModifyTyped returns
	Ttl ttl;     // Keep: an existing key keeps its expiry, a new one has none
};

// The edit of ModifyTyped: looks at current and fills *write.  It may run more than once (a retry
// after a concurrent writer); it must not raise PostgreSQL errors nor throw (pure C++ code).
// Returns false to stop without writing (the edit records why in arg).
typedef bool (*TypedEditFn)(const TypedRow *current, void *arg, TypedWrite *write);

// Reads key's type, value and time to live.  Needs SELECT.  A collection without a `type` column of
// kv_type: NotKvTable.
Status GetTyped(const Target &target, Bytes key, TypedRow *row);

// Read-modify-write of key's type and value (and expiry): current row, edit, write (as the other kv
// writes: row lock when needed, insert races retried, triggers and constraints).  *applied: a row
// was written or deleted.  Needs SELECT, INSERT and UPDATE (and DELETE to delete).
Status ModifyTyped(const Target &target, Bytes key, TypedEditFn edit, void *arg, bool *applied);

} // namespace nodedb_kv::kv
