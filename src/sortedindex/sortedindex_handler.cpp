// The kv_sorted index access method's routine table.  The planner never uses the index: it has no
// gettuple/getbitmap (so no index or bitmap paths exist) and its cost estimate is disable_cost.
#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/amapi.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/sortedindex/sortedindex_am.hpp"
#include "nodedb_kv/sortedindex/sortedindex_options.hpp"

NODEDB_KV_FUNCTION(nodedb_kv_sorted_handler)
{
	using namespace nodedb_kv::sortedindex;
	IndexAmRoutine *routine = makeNode(IndexAmRoutine);
	routine->amstrategies = 0;
	routine->amsupport = 1; // the type's btree comparison function (documents the order; unused)
	routine->amoptsprocnum = 0;
	routine->amcanorder = true; // accepts ASC/DESC; without gettuple no ordered scans exist
	routine->amcanorderbyop = false;
	routine->amcanbackward = false;
	routine->amcanunique = false;
	routine->amcanmulticol = true;
	routine->amoptionalkey = true;
	routine->amsearcharray = false;
	routine->amsearchnulls = false;
	routine->amstorage = false;
	routine->amclusterable = false;
	routine->ampredlocks = false;
	routine->amcanparallel = false;
	routine->amcaninclude = false;
	routine->amusemaintenanceworkmem = false;
	routine->amparallelvacuumoptions = 0;
	routine->amkeytype = InvalidOid;
	routine->ambuild = kvsorted_build;
	routine->ambuildempty = kvsorted_buildempty;
	routine->aminsert = kvsorted_insert;
	routine->ambulkdelete = kvsorted_bulkdelete;
	routine->amvacuumcleanup = kvsorted_vacuumcleanup;
	routine->amcanreturn = nullptr;
	routine->amcostestimate = kvsorted_costestimate;
	routine->amoptions = ParseOptions;
	routine->amproperty = nullptr;
	routine->ambuildphasename = nullptr;
	routine->amvalidate = kvsorted_validate;
	routine->amadjustmembers = nullptr;
	routine->ambeginscan = kvsorted_beginscan;
	routine->amrescan = kvsorted_rescan;
	routine->amgettuple = nullptr;
	routine->amgetbitmap = nullptr;
	routine->amendscan = kvsorted_endscan;
	routine->ammarkpos = nullptr;
	routine->amrestrpos = nullptr;
	routine->amestimateparallelscan = nullptr;
	routine->aminitparallelscan = nullptr;
	routine->amparallelrescan = nullptr;
	PG_RETURN_POINTER(routine);
}
