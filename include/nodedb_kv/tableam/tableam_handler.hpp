#pragma once
// The kv table access method's routine table.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/tableam.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::tableam {

// The routine of the kv AM (heap's, with kv's overrides).  Built on first use; never freed.
const TableAmRoutine *KvRoutine();

} // namespace nodedb_kv::tableam
