#pragma once
// Write-path callbacks of the kv table AM: takeover before inserts, expired targets treated as
// already deleted by update/delete/lock (PG15-PITFALLS §1.7), change capture of every write.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/tableam.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::tableam {

// Installs the write-path callbacks into the routine being built.
void InstallWriteCallbacks(TableAmRoutine *routine);

} // namespace nodedb_kv::tableam
