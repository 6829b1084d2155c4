#pragma once
// Key touches: how many times the keys of a hashed slot (database, relation, key) were changed, for
// RESP's WATCH of a key that is absent (a created then deleted key leaves no row version to compare,
// yet Redis counts it as changed).  A fixed array of atomic counters in shared memory; every change
// capture records (insert, update, delete; not the deletion of an already expired row, nor TRUNCATE)
// bumps its key's slot at PRE_COMMIT and again at COMMIT, and Touches adds this transaction's own
// pending changes of the key (twice each), so the sum a WATCH reads only moves when the key (or one
// hashing to the same slot: a spurious EXEC abort, never a missed change) is changed.
// Design notes: src/capture/README.md ("Key touches").  PG-native.
#include "nodedb_kv/pg/pg_compat.hpp"

namespace nodedb_kv::capture {

// The touch sum of key (a value of relid's key column, of the column's typlen / typbyval) in the
// current database: committed changes of its slot plus this transaction's pending ones.  May ERROR
// (detoasting the key).
uint64 Touches(Oid relid, Datum key, int16 typlen, bool typbyval);

// Registers the shared-memory counters and the change consumer.  Called from _PG_init.
void RegisterTouches();

} // namespace nodedb_kv::capture
