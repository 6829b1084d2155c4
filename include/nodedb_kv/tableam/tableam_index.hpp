#pragma once
// The kv AM's table scans for index builds: CREATE INDEX / REINDEX / the implicit primary key
// (index_build_range_scan) and the validation pass of CREATE INDEX CONCURRENTLY (index_validate_scan).
// Heap's versions refuse a copied routine (heap_getnext checks rd_tableam, PG15-PITFALLS §1.1), so these
// re-implement them over heap_getnextslot with heap's semantics.  They index every physically live
// tuple, expired or not: expiry is a read-time filter and never applies here.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/tableam.h"
#include "catalog/index.h"
#include "nodes/execnodes.h"
NODEDB_KV_PG_INCLUDE_END

extern "C" {

// TableAmRoutine.index_build_range_scan: feeds every tuple of table_rel (or of the block range
// [start_blockno, start_blockno + numblocks) when !allow_sync) that an index built now must contain to
// callback, under the TID of its HOT-chain root.  Uses SnapshotAny plus HeapTupleSatisfiesVacuum, or the
// MVCC snapshot of a concurrent build; scan, when given, is a parallel scan that this function ends.
// Returns the number of live tuples (as ANALYZE counts them).  May wait for in-progress transactions;
// may ereport.
double kvtam_index_build_range_scan(Relation table_rel, Relation index_rel, IndexInfo *index_info, bool allow_sync,
                                    bool anyvisible, bool progress, BlockNumber start_blockno, BlockNumber numblocks,
                                    IndexBuildCallback callback, void *callback_state, TableScanDesc scan) noexcept;

// TableAmRoutine.index_validate_scan: merges the tuples of table_rel visible to snapshot against the
// sorted index TIDs in state->tuplesort and inserts the missing ones into index_rel (CREATE INDEX
// CONCURRENTLY, phase 3).  Updates state->htups and state->tups_inserted.  May ereport.
void kvtam_index_validate_scan(Relation table_rel, Relation index_rel, IndexInfo *index_info, Snapshot snapshot,
                               ValidateIndexState *state) noexcept;

} // extern "C"
