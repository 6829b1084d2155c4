// The extension's entry: PG_MODULE_MAGIC and _PG_init, which refuses to load outside
// shared_preload_libraries and wires every hook, shared-memory area and worker.  No logic of its own.
#include "nodedb_kv/blocking/blocking.hpp"
#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/tracking/tracking_filter.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "miscadmin.h"
#pragma GCC visibility push(default)
PG_MODULE_MAGIC;
#pragma GCC visibility pop
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/capture/capture_stats.hpp"
#include "nodedb_kv/capture/capture_touch.hpp"
#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/pubsub/pubsub_changes.hpp"
#include "nodedb_kv/pubsub/pubsub_pending.hpp"
#include "nodedb_kv/resp/resp_worker.hpp"
#include "nodedb_kv/shmem/shmem.hpp"
#include "nodedb_kv/sortedindex/sortedindex_capture.hpp"
#include "nodedb_kv/sortedindex/sortedindex_options.hpp"
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"
#include "nodedb_kv/tableam/tableam_ddl.hpp"
#include "nodedb_kv/tracking/tracking_capture.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"
#include "nodedb_kv/ttlworker/ttlworker.hpp"

NODEDB_KV_EXPORT void _PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("nodedb_kv must be loaded via shared_preload_libraries"),
		                errhint("Add nodedb_kv to shared_preload_libraries in postgresql.conf and restart the "
		                        "server.")));
	using namespace nodedb_kv;
	guc::Define();
	ttl::RegisterClockShmem();
	ttl::InstallExpiryTypeCallback();
	capture::RegisterStats();
	capture::RegisterTouches();
	capture::InstallCallbacks();
	sortedindex::RegisterOptions();
	sortedindex::RegisterStore();
	sortedindex::RegisterSortedConsumer();
	pubsub::RegisterBus();
	pubsub::InstallPendingCallbacks();
	pubsub::RegisterChangeEvents();
	pubsub::RegisterKeyspace();
	tracking::RegisterFilter();
	tracking::RegisterTrackingConsumer();
	blocking::RegisterRegistry();
	blocking::RegisterBlockingConsumer();
	tableam::InstallDdlHooks();
	ttlworker::RegisterWorkers();
	resp::RegisterWorkers();
	shmem::InstallHooks();
}
