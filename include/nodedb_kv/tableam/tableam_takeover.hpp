#pragma once
// Takeover: before a row is written under key K, a settled, expired row with key K is deleted through
// heap's delete path (tuple locks, waits, WAL), so there is never more than one physically live row
// per key (PG15-PITFALLS §1 "Takeover").
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "executor/tuptable.h"
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::tableam {

// Deletes the expired row(s) holding the key of the row in slot, if any.  Rows whose inserter or
// deleter is still in progress are left alone (the unique check waits for them).  Records each
// deletion as capture::ChangeOp::Expire.  May wait on row locks; may ERROR.
void TakeOverExpiredKey(Relation rel, TupleTableSlot *slot, CommandId cid);

} // namespace nodedb_kv::tableam
