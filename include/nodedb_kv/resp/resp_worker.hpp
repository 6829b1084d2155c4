#pragma once
// The RESP listener's background workers (the only PG-aware RESP layer).  nodedb_kv.resp_workers
// processes, started once the server reaches a consistent state (a standby serves reads), each running
// one resp/net loop whose turns execute the commands of every ready client in one transaction.
#include "nodedb_kv/pg/pg_bridge.hpp"

namespace nodedb_kv::resp {

// Registers the workers when nodedb_kv.resp_port (or NODEDB_PORT_RESP) is set.  Only from _PG_init,
// after guc::Define().
void RegisterWorkers();

} // namespace nodedb_kv::resp

// Background worker entry point (bgw_function_name); PG looks it up by name.
NODEDB_KV_EXPORT void nodedb_kv_resp_worker_main(Datum arg) noexcept;
