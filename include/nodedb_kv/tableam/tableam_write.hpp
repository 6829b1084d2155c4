#pragma once
// Write-path callbacks of the kv table AM: takeover before inserts, expired targets treated as
// already deleted by update/delete/lock (PG15-PITFALLS §1.7), change capture of every write.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/tableam.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"

namespace nodedb_kv::tableam {

// Records a write of rel for change capture (nothing for the transient target of a rewrite): the key
// read from slot, which is also the new row for Insert and Update.  May ERROR (memory).
void CaptureRow(Relation rel, capture::ChangeOp op, TupleTableSlot *slot);

// Same with an explicit key (key_isnull for Truncate); no new row.
void CaptureKey(Relation rel, capture::ChangeOp op, Datum key, bool key_isnull);

// Updates the version at otid of kv table rel, which the caller found live under this statement's
// clock (which does not move within a statement) and whose key slot keeps: heap's update and change
// capture, without reading the old version again as the tuple_update callback must.  With wait, waits
// for a concurrent writer or locker, as table_tuple_update(wait = true) does; otherwise returns
// TM_BeingModified at once.
TM_Result UpdateLiveVersion(Relation rel, ItemPointer otid, TupleTableSlot *slot, CommandId cid, Snapshot snapshot,
                            bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode, bool *update_indexes);

// Installs the write-path callbacks into the routine being built.
void InstallWriteCallbacks(TableAmRoutine *routine);

} // namespace nodedb_kv::tableam
