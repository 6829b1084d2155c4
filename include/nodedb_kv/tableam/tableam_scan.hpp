#pragma once
// Read-path callbacks of the kv table AM: heap's, plus the expiry filter under the snapshot rule of
// PG15-PITFALLS §1 ("Snapshot rule for hiding expired rows").
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/relscan.h"
#include "access/tableam.h"
#include "utils/snapshot.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::tableam {

// True if a tuple just fetched under `snapshot` must be hidden when expired.  For dirty snapshots
// only settled tuples (no in-progress inserter or deleter recorded in the snapshot) are hidden.
bool SnapshotHidesExpired(Snapshot snapshot);

// True if the heap tuple in slot was inserted by this transaction at command cid or later (heap
// refuses to delete such a tuple with cid); *cmin, if given, receives its inserting command.  Reads
// the tuple header only: safe under buffer locks.
bool InsertedByCommand(TupleTableSlot *slot, CommandId cid, CommandId *cmin = nullptr);

// Installs the read-path callbacks into the routine being built.
void InstallScanCallbacks(TableAmRoutine *routine);

} // namespace nodedb_kv::tableam
