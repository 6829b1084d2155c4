#pragma once
// Per-collection change counters in shared memory (keys inserted / updated / deleted / expired and
// truncations), fed by change capture at commit and shown by the kv_stats view.

namespace nodedb_kv::capture {

// Registers the shared-memory area, the change consumer and the drop hook.  Called from _PG_init.
void RegisterStats();

} // namespace nodedb_kv::capture
