-- nodedb_kv 0.1.0: kv collections (table access method "kv") with per-key expiry.
\echo Use "CREATE EXTENSION nodedb_kv" to load this file. \quit

-- The table access method.  A kv table needs a single-column PRIMARY KEY (the key).
CREATE FUNCTION nodedb_kv_tableam_handler(internal) RETURNS table_am_handler
	AS 'MODULE_PATHNAME', 'nodedb_kv_tableam_handler' LANGUAGE C STRICT;
CREATE ACCESS METHOD kv TYPE TABLE HANDLER nodedb_kv_tableam_handler;
COMMENT ON ACCESS METHOD kv IS 'key-value collections: heap storage with per-key expiry';

-- The expiry column: absolute instant, NULL = never.  At most one per kv table.
CREATE DOMAIN kv_expiry AS timestamptz;
COMMENT ON DOMAIN kv_expiry IS 'expiry instant of a kv row (NULL = never expires)';

-- nodedb_kv's clock (statement time, never moving backwards).
CREATE FUNCTION kv_now() RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'nodedb_kv_now' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION kv_now() IS 'the instant nodedb_kv compares expiry columns with';

-- kv_ttl(seconds): the expiry instant "seconds from now".
CREATE FUNCTION kv_ttl(seconds double precision) RETURNS kv_expiry
	AS 'MODULE_PATHNAME', 'nodedb_kv_ttl' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv_ttl(double precision) IS 'expiry instant the given number of seconds from now';

-- kv_ttl_remaining(expiry): time left before the instant (0 when passed, NULL when never).
CREATE FUNCTION kv_ttl_remaining(expiry kv_expiry) RETURNS interval
	AS 'MODULE_PATHNAME', 'nodedb_kv_ttl_remaining' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv_ttl_remaining(kv_expiry) IS 'time left until the expiry instant, 0 once passed';

-- Change counters per collection since server start.
CREATE FUNCTION kv_stats_counters(OUT relid oid, OUT inserted bigint, OUT updated bigint, OUT deleted bigint,
								  OUT expired bigint, OUT truncated bigint)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'nodedb_kv_stats_counters' LANGUAGE C VOLATILE PARALLEL SAFE;
CREATE VIEW kv_stats AS
	SELECT c.oid::regclass AS collection, s.inserted, s.updated, s.deleted, s.expired, s.truncated
	FROM kv_stats_counters() s JOIN pg_catalog.pg_class c ON c.oid = s.relid;
COMMENT ON VIEW kv_stats IS 'keys inserted, updated, deleted and expired per kv collection since server start';
