#pragma once
// The change-capture consumer of client-side caching: at commit, an invalidation record on the bus for
// every changed key some RESP worker may track (tracking_filter.hpp), every key when a BCAST client
// exists, and a flush record for every TRUNCATE.  PG-native.

namespace nodedb_kv::tracking {

// Registers the capture consumer.  Called once from _PG_init.
void RegisterTrackingConsumer();

} // namespace nodedb_kv::tracking
