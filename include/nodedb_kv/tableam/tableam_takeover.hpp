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

// Lazy expiry (Redis's expireIfNeeded on a read), for the RESP worker's keyspace "expired" events.
// While on, an MVCC read that hides an expired row notes its key (at most kMaxNotedExpiredKeys per
// command, in TopTransactionContext).  Off by default: noting costs nothing then.
constexpr int kMaxNotedExpiredKeys = 32;
void SetNoteExpiredKeys(bool on);
void ForgetNotedExpiredKeys();
// Called by the scans when they hide an expired row from an MVCC reader.  Never errors but on out of
// memory; no catalog access (may run with a buffer pinned).
void NoteExpiredKey(Relation rel, TupleTableSlot *slot);
// Deletes the settled expired rows of the noted keys as takeover does (captured as Expire, so commit
// reports them and the expiry worker finds nothing left), then forgets the notes.  Only rows the user
// may DELETE, never in a read-only transaction, and never waiting: a key whose relation or row is
// busy, or being written by another transaction, is left to that writer or to the expiry worker.
void ExpireNotedKeys();

} // namespace nodedb_kv::tableam
