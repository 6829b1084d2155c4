#pragma once
// The callbacks of the kv_sorted index access method, split by phase like pgvector's: build
// (sortedindex_build.cpp: metapage, definition checks), insert (sortedindex_insert.cpp: nothing,
// capture feeds the structure at commit), vacuum and cost (sortedindex_vacuum.cpp).  The handler
// (sortedindex_handler.cpp) holds only the routine table.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/amapi.h"
#include "access/genam.h"
#include "nodes/pathnodes.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::sortedindex {

IndexBuildResult *kvsorted_build(Relation heap, Relation index, IndexInfo *info);
void kvsorted_buildempty(Relation index);
bool kvsorted_insert(Relation index, Datum *values, bool *isnull, ItemPointer tid, Relation heap,
                     IndexUniqueCheck check, bool indexUnchanged, IndexInfo *info);
IndexBulkDeleteResult *kvsorted_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                           IndexBulkDeleteCallback callback, void *state);
IndexBulkDeleteResult *kvsorted_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);
void kvsorted_costestimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *startup, Cost *total,
                           Selectivity *selectivity, double *correlation, double *pages);
bool kvsorted_validate(Oid opclassoid);
IndexScanDesc kvsorted_beginscan(Relation index, int nkeys, int norderbys);
void kvsorted_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
void kvsorted_endscan(IndexScanDesc scan);

} // namespace nodedb_kv::sortedindex
