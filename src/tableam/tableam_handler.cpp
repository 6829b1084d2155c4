// The kv table access method: its routine table and SQL-visible handler, nothing else.  The routine
// starts as a copy of heap's (same storage, WAL, VACUUM, TOAST, logical decoding) and replaces the
// callbacks listed in PG15-PITFALLS §1; each group lives in its own file.
#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/heapam.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_handler.hpp"
#include "nodedb_kv/tableam/tableam_index.hpp"
#include "nodedb_kv/tableam/tableam_scan.hpp"
#include "nodedb_kv/tableam/tableam_write.hpp"

namespace nodedb_kv::tableam {

const TableAmRoutine *
KvRoutine()
{
	static TableAmRoutine routine;
	static bool built = false;
	if (!built) {
		routine = *GetHeapamTableAmRoutine();
		InstallScanCallbacks(&routine);
		InstallWriteCallbacks(&routine);
		routine.index_build_range_scan = kvtam_index_build_range_scan;
		routine.index_validate_scan = kvtam_index_validate_scan;
		built = true;
	}
	return &routine;
}

} // namespace nodedb_kv::tableam

NODEDB_KV_FUNCTION(nodedb_kv_tableam_handler)
{
	PG_RETURN_POINTER(nodedb_kv::tableam::KvRoutine());
}
