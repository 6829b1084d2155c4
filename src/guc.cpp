// Every nodedb_kv.* configuration parameter, in one place.  Other files read the variables; only this
// file defines them and their bounds.
#include <climits>
#include <cstring>

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/guc.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"

namespace nodedb_kv::guc {
namespace {

// nodedb_kv.notify_keyspace_events takes Redis's flag letters only (their meaning: src/pubsub).
bool
CheckKeyspaceEvents(char **value, void **, GucSource)
{
	const char *text = *value ? *value : "";
	if (text[strspn(text, "Ag$lshzxeKEtmdn")] == '\0')
		return true;
	GUC_check_errmsg("invalid keyspace event class character");
	GUC_check_errhint("Use Redis's flag letters: Ag$lshzxeKEtmdn.");
	return false;
}

} // namespace

int ttl_interval_ms = 1000;
int ttl_batch_size = 5000;
bool ttl_enabled = true;
int members_vacuum_interval_ms = 60 * 1000;
int members_vacuum_batch = 1000;
int zset_node_cache_kb = 16 * 1024;
double test_clock_offset_s = 0;
int test_block_delay_ms = 0;
int test_lookup_pause = 0;
int test_sorted_apply_delay_ms = 0;
double test_clock_source_offset_s = 0;
double test_worker_clock_skew_s = 0;
int max_collections = 1024;
int sorted_memory_kb = 64 * 1024;
bool show_expired = false;
int max_write_attempts = 100;
int resp_port = 0;
char *resp_listen_addresses = nullptr;
char *resp_database = nullptr;
int resp_workers = 2;
int resp_max_clients = 10000;
int resp_max_bulk_len = 512 * 1024 * 1024;
int resp_timeout_s = 0;
char *resp_default_user = nullptr;
char *resp_anonymous_role = nullptr;
int resp_lock_wait_ms = 5000;
int pubsub_memory_kb = 16 * 1024;
int pubsub_client_buffer_kb = 32 * 1024;
int tracking_table_max_keys = 1000000;
int pubsub_client_buffer_soft_kb = 8 * 1024;
int pubsub_client_buffer_soft_s = 60;
char *pubsub_role = nullptr;
char *notify_keyspace_events = nullptr;
bool resp_flush_pipeline = true;

void
Define()
{
	DefineCustomIntVariable("nodedb_kv.ttl_interval", "Pause between two ticks of an expiry worker.", nullptr,
	                        &ttl_interval_ms, 1000, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
	                        nullptr);
	DefineCustomIntVariable("nodedb_kv.ttl_batch_size", "Expired rows an expiry worker deletes per transaction.",
	                        nullptr, &ttl_batch_size, 5000, 1, 1000000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomBoolVariable("nodedb_kv.ttl_enabled", "Whether expiry workers delete expired rows.",
	                         "Expired rows stay invisible either way.", &ttl_enabled, true, PGC_SIGHUP, 0, nullptr,
	                         nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.members_vacuum_interval",
	                        "Pause between two passes of an expiry worker over kv_members (0: no passes).",
	                        "Member rows of deleted spilled containers are reclaimed by these passes or by "
	                        "kv_members_vacuum(); the passes run only while nodedb_kv.ttl_enabled is on.",
	                        &members_vacuum_interval_ms, 60 * 1000, 0, 24 * 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
	                        nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.members_vacuum_batch",
	                        "Containers checked plus member rows deleted per transaction of the members vacuum.",
	                        nullptr, &members_vacuum_batch, 1000, 1, 1000000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomRealVariable("nodedb_kv.test_clock_offset",
	                         "Added to nodedb_kv's clock; lets tests make keys expire without sleeping.",
	                         "Never set this in production.", &test_clock_offset_s, 0, -1e9, 1e9, PGC_SUSET,
	                         GUC_UNIT_S | GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.test_block_delay",
	                        "Pause of a RESP worker between a blocking command's first snapshot and its registration "
	                        "as a waiter; lets tests race a push against a client that blocks.",
	                        "Never set this in production: the worker serves nobody meanwhile.", &test_block_delay_ms,
	                        0, 0, 10000, PGC_SIGHUP, GUC_UNIT_MS | GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.test_lookup_pause",
	                        "Advisory lock a kv write's key lookup waits for between the index and the row version; "
	                        "lets tests commit a concurrent update there (0 = off).",
	                        "Never set this in production.", &test_lookup_pause, 0, 0, INT_MAX, PGC_SUSET,
	                        GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.test_sorted_apply_delay",
	                        "Pause of a committing transaction between becoming visible and linking its kv_sorted "
	                        "entries; lets tests race a second writer of the same key against the first one's link.",
	                        "Never set this in production: the commit holds its locks meanwhile.",
	                        &test_sorted_apply_delay_ms, 0, 0, 10000, PGC_SUSET, GUC_UNIT_MS | GUC_NOT_IN_SAMPLE,
	                        nullptr, nullptr, nullptr);
	// Backwards only: a forward step would raise the shared high-water mark for every session, for good.
	DefineCustomRealVariable("nodedb_kv.test_clock_source_offset",
	                         "Steps the source of nodedb_kv's clock back; lets tests show the clock never goes back.",
	                         "Never set this in production.", &test_clock_source_offset_s, 0, -1e9, 0, PGC_SUSET,
	                         GUC_UNIT_S | GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
	DefineCustomRealVariable("nodedb_kv.test_worker_clock_skew",
	                         "Added to the instant a parallel worker computes itself instead of taking its leader's.",
	                         "Lets tests show that parallel workers use their leader's instant.  Never set this in "
	                         "production.",
	                         &test_worker_clock_skew_s, 0, -1e9, 1e9, PGC_SUSET, GUC_UNIT_S | GUC_NOT_IN_SAMPLE,
	                         nullptr, nullptr, nullptr);
	DefineCustomBoolVariable("nodedb_kv.show_expired",
	                         "Reads of this session return rows whose expiry has passed but that are still stored.",
	                         "For pg_dump and pg_restore, so that a dump keeps every stored row and foreign keys to "
	                         "expired keys validate; writes still treat expired rows as absent.",
	                         &show_expired, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.max_collections", "Collections whose change counters kv_stats can track.",
	                        nullptr, &max_collections, 1024, 16, 1 << 20, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.max_write_attempts",
	                        "Attempts of one kv write before it gives up on a key that keeps changing under it.",
	                        "Past it the write fails with SQLSTATE 40001 (a retryable serialization failure).",
	                        &max_write_attempts, 100, 1, 1000000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.sorted_memory", "Shared memory for the structures of kv_sorted indexes.",
	                        "An entry takes its size rounded up to 8 bytes (about 60 bytes for a short text key and a "
	                        "bigint score, see kv_sorted_stats); exhaustion fails the writing transaction with 53200.",
	                        &sorted_memory_kb, 64 * 1024, 1024, 1 << 30, PGC_POSTMASTER, GUC_UNIT_KB, nullptr, nullptr,
	                        nullptr);
	DefineCustomIntVariable("nodedb_kv.resp_port", "TCP port of the Redis-protocol (RESP) listener; 0 turns it off.",
	                        "The environment variable NODEDB_PORT_RESP overrides it.", &resp_port, 0, 0, 65535,
	                        PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("nodedb_kv.resp_listen_addresses",
	                           "Comma-separated host names or IP addresses the RESP listener binds (* = all IPv4).",
	                           nullptr, &resp_listen_addresses, "localhost", PGC_POSTMASTER, 0, nullptr, nullptr,
	                           nullptr);
	DefineCustomStringVariable("nodedb_kv.resp_database", "Database whose kv collections RESP clients see.", nullptr,
	                           &resp_database, "postgres", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.resp_workers", "RESP worker processes (they share the port).", nullptr,
	                        &resp_workers, 2, 1, 64, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.resp_max_clients", "Connections each RESP worker accepts.", nullptr,
	                        &resp_max_clients, 10000, 1, 1000000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.resp_max_bulk_len", "Longest RESP bulk string (argument) a client may send.",
	                        "Checked on the length header, before any byte of the bulk is buffered.",
	                        &resp_max_bulk_len, 512 * 1024 * 1024, 1024, INT_MAX, PGC_SIGHUP, GUC_UNIT_BYTE, nullptr,
	                        nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.resp_timeout", "Idle seconds after which a RESP client is disconnected.",
	                        "0 keeps idle clients forever.", &resp_timeout_s, 0, 0, INT_MAX / 1000, PGC_SIGHUP,
	                        GUC_UNIT_S, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("nodedb_kv.resp_default_user", "Role that AUTH <password> (without a user) checks.",
	                           "Empty: AUTH needs a user name.", &resp_default_user, "", PGC_SIGHUP, 0, nullptr,
	                           nullptr, nullptr);
	DefineCustomStringVariable("nodedb_kv.resp_anonymous_role", "Role RESP clients act as before AUTH.",
	                           "Empty: clients must AUTH first (-NOAUTH).", &resp_anonymous_role, "", PGC_SIGHUP, 0,
	                           nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.zset_node_cache",
	                        "Memory of a RESP worker's cache of the tree nodes of spilled sorted sets (0: no cache).",
	                        "A ZRANK or ZADD of a big sorted set then reads its member row and the leaf, not a row "
	                        "per tree level (src/rtypes/README.md \"Node cache\").",
	                        &zset_node_cache_kb, 16 * 1024, 0, 1024 * 1024 * 1024, PGC_SIGHUP, GUC_UNIT_KB, nullptr,
	                        nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.resp_lock_wait", "How long a RESP command waits for a busy row or table lock.",
	                        "The worker keeps serving other clients meanwhile; after this the command fails.",
	                        &resp_lock_wait_ms, 5000, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.pubsub_memory", "Shared memory of the pub/sub message ring.",
	                        "A message (channel and payload) may take at most a quarter of it; a RESP worker that "
	                        "falls a whole ring behind loses the oldest messages.",
	                        &pubsub_memory_kb, 16 * 1024, 256, 1 << 22, PGC_POSTMASTER, GUC_UNIT_KB, nullptr, nullptr,
	                        nullptr);
	DefineCustomIntVariable(
	    "nodedb_kv.pubsub_client_buffer", "Unsent output past which a subscribed RESP client is disconnected.",
	    "Redis's client-output-buffer-limit pubsub hard limit; the drop is counted.", &pubsub_client_buffer_kb,
	    32 * 1024, 64, INT_MAX / 1024, PGC_SIGHUP, GUC_UNIT_KB, nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
	    "nodedb_kv.pubsub_client_buffer_soft", "Unsent output a subscribed RESP client may keep only for a while.",
	    "Redis's client-output-buffer-limit pubsub soft limit: past it for "
	    "nodedb_kv.pubsub_client_buffer_soft_seconds, the client is disconnected (counted).",
	    &pubsub_client_buffer_soft_kb, 8 * 1024, 0, INT_MAX / 1024, PGC_SIGHUP, GUC_UNIT_KB, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.pubsub_client_buffer_soft_seconds",
	                        "How long a subscribed RESP client may stay past the soft output limit.",
	                        "0 disables the soft limit.", &pubsub_client_buffer_soft_s, 60, 0, INT_MAX / 1000,
	                        PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("nodedb_kv.pubsub_role",
	                           "Role whose members alone may publish to or subscribe to "
	                           "plain pub/sub channels.",
	                           "Empty: every client may.  A collection's change channel needs SELECT on it either way.",
	                           &pubsub_role, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("nodedb_kv.notify_keyspace_events", "Redis keyspace notifications (flag letters).",
	                           "Redis's notify-keyspace-events: K and/or E plus event classes (A = g$lshzxetd); empty: "
	                           "off.  CONFIG SET notify-keyspace-events overrides it until it changes here.",
	                           &notify_keyspace_events, "", PGC_SIGHUP, 0, CheckKeyspaceEvents, nullptr, nullptr);
	DefineCustomBoolVariable(
	    "nodedb_kv.resp_flush_pipeline",
	    "RESP workers commit without waiting for the WAL flush and release replies once it is done.",
	    "Off: each batch's commit waits for its flush (the loop stalls meanwhile).", &resp_flush_pipeline, true,
	    PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("nodedb_kv.tracking_table_max_keys",
	                        "Keys the RESP workers track for client-side caching (CLIENT TRACKING), each its share.",
	                        "Past it the oldest tracked keys are evicted with an invalidation, as Redis's "
	                        "tracking-table-max-keys; it also sizes the shared filter of tracked keys.",
	                        &tracking_table_max_keys, 1000000, 16, 1 << 26, PGC_POSTMASTER, 0, nullptr, nullptr,
	                        nullptr);
	MarkGUCPrefixReserved("nodedb_kv");
}

} // namespace nodedb_kv::guc
