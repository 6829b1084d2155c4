#pragma once
// Configuration parameters (nodedb_kv.*).  Defined in src/guc.cpp, registered from _PG_init.

namespace nodedb_kv::guc {

extern int ttl_interval_ms;               // nodedb_kv.ttl_interval: pause between expiry worker ticks
extern int ttl_batch_size;                // nodedb_kv.ttl_batch_size: rows deleted per expiry transaction
extern bool ttl_enabled;                  // nodedb_kv.ttl_enabled: expiry workers delete expired rows
extern int members_vacuum_interval_ms;    // nodedb_kv.members_vacuum_interval: between kv_members passes
extern int members_vacuum_batch;          // nodedb_kv.members_vacuum_batch: work per members vacuum transaction
extern int test_block_delay_ms;           // nodedb_kv.test_block_delay (tests only, src/blocking/README.md)
extern int test_lookup_pause;             // nodedb_kv.test_lookup_pause: advisory lock a write lookup waits for
extern int test_sorted_apply_delay_ms;    // nodedb_kv.test_sorted_apply_delay (tests only, src/sortedindex)
extern double test_clock_offset_s;        // nodedb_kv.test_clock_offset: added to "now" (tests only)
extern double test_clock_source_offset_s; // nodedb_kv.test_clock_source_offset: steps the source back
extern double test_worker_clock_skew_s;   // nodedb_kv.test_worker_clock_skew: parallel worker's own instant
extern int sorted_memory_kb;              // nodedb_kv.sorted_memory: shared memory of kv_sorted structures
extern int max_collections;               // nodedb_kv.max_collections: shared-memory slots for kv_stats
extern int max_write_attempts;            // nodedb_kv.max_write_attempts: bound of the engine's retry loops
extern bool show_expired;                 // nodedb_kv.show_expired: MVCC reads keep expired rows (dump)
extern int resp_port;                     // nodedb_kv.resp_port: RESP listener port (0 = off)
extern char *resp_listen_addresses;       // nodedb_kv.resp_listen_addresses
extern char *resp_database;               // nodedb_kv.resp_database: database the RESP workers serve
extern int resp_workers;                  // nodedb_kv.resp_workers: worker processes sharing the port
extern int resp_max_clients;              // nodedb_kv.resp_max_clients: connections per worker
extern int resp_max_bulk_len;             // nodedb_kv.resp_max_bulk_len: bytes
extern int resp_timeout_s;                // nodedb_kv.resp_timeout: idle seconds (0 = none)
extern char *resp_default_user;           // nodedb_kv.resp_default_user: role of AUTH <password>
extern char *resp_anonymous_role;         // nodedb_kv.resp_anonymous_role: role before AUTH ("" = NOAUTH)
extern bool resp_flush_pipeline;          // nodedb_kv.resp_flush_pipeline: durable replies without stalling
extern int resp_lock_wait_ms;             // nodedb_kv.resp_lock_wait: how long a command may wait for a lock
extern int zset_node_cache_kb;            // nodedb_kv.zset_node_cache: a RESP worker's spilled-zset node cache
extern int pubsub_memory_kb;              // nodedb_kv.pubsub_memory: shared pub/sub message ring
extern int tracking_table_max_keys;       // nodedb_kv.tracking_table_max_keys: keys a RESP worker tracks
extern int pubsub_client_buffer_kb;       // nodedb_kv.pubsub_client_buffer: slow subscriber limit
extern int pubsub_client_buffer_soft_kb;  // nodedb_kv.pubsub_client_buffer_soft: soft limit ...
extern int pubsub_client_buffer_soft_s;   // ... nodedb_kv.pubsub_client_buffer_soft_seconds: ... held this long
extern char *pubsub_role;                 // nodedb_kv.pubsub_role: members alone use plain channels ("" = all)
extern char *notify_keyspace_events;      // nodedb_kv.notify_keyspace_events: Redis's flag letters

// Defines every nodedb_kv.* parameter.  Called once from _PG_init in the postmaster.
void Define();

} // namespace nodedb_kv::guc
