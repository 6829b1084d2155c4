// VACUUM, cost estimate, validation and the (unused) scan callbacks of kv_sorted.  The relation holds
// a metapage only, so VACUUM has nothing to remove; the shared structure drops deleted rows at commit.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "optimizer/cost.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/sortedindex/sortedindex_am.hpp"

namespace nodedb_kv::sortedindex {

IndexBulkDeleteResult *
kvsorted_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, IndexBulkDeleteCallback, void *)
{
	if (stats == nullptr)
		stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
	return stats;
}

IndexBulkDeleteResult *
kvsorted_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == nullptr)
		stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	stats->estimated_count = true;
	stats->num_index_tuples = info->num_heap_tuples;
	return stats;
}

// Never chosen: no scan path exists (no gettuple/getbitmap); if one were asked for, it costs disable_cost.
void
kvsorted_costestimate(PlannerInfo *, IndexPath *, double, Cost *startup, Cost *total, Selectivity *selectivity,
                      double *correlation, double *pages)
{
	*startup = disable_cost;
	*total = disable_cost;
	*selectivity = 1.0;
	*correlation = 0;
	*pages = 1;
}

bool
kvsorted_validate(Oid)
{
	return true;
}

IndexScanDesc
kvsorted_beginscan(Relation index, int, int)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
	                errmsg("kv_sorted index \"%s\" cannot be scanned", RelationGetRelationName(index)),
	                errhint("Query it with RANK, TOPK, RANGE or SORTED_COUNT.")));
	return nullptr;
}

void
kvsorted_rescan(IndexScanDesc, ScanKey, int, ScanKey, int)
{
}

void
kvsorted_endscan(IndexScanDesc)
{
}

} // namespace nodedb_kv::sortedindex
