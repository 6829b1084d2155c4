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

-- Atomic operations on kv collections (CONTRACT.md "Atomic operations").  Not STRICT: a NULL
-- collection, key or delta is an error, not a silent NULL.  They write: VOLATILE, PARALLEL UNSAFE.
CREATE FUNCTION kv_incr(collection regclass, key text, delta bigint, ttl bigint DEFAULT NULL, field text DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME', 'nodedb_kv_incr' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_incr(regclass, text, bigint, bigint, text) IS
	'atomically add delta to the integer value of key (missing = 0); ttl (seconds) sets the expiry';
CREATE FUNCTION kv_decr(collection regclass, key text, delta bigint, ttl bigint DEFAULT NULL, field text DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME', 'nodedb_kv_decr' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_decr(regclass, text, bigint, bigint, text) IS
	'atomically subtract delta from the integer value of key (missing = 0)';
CREATE FUNCTION kv_incr_float(collection regclass, key text, delta double precision, field text DEFAULT NULL)
	RETURNS double precision AS 'MODULE_PATHNAME', 'nodedb_kv_incr_float' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_incr_float(regclass, text, double precision, text) IS
	'atomically add delta to the numeric value of key; keeps the expiry';
CREATE FUNCTION kv_cas(collection regclass, key text, expected text, new_value text, field text DEFAULT NULL)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'nodedb_kv_cas' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_cas(regclass, text, text, text, text) IS
	'set key to new_value iff its value equals expected (missing key: expected = ''''); {"success", "current_value"}';
CREATE FUNCTION kv_getset(collection regclass, key text, new_value text, field text DEFAULT NULL)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'nodedb_kv_getset' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_getset(regclass, text, text, text) IS
	'set key to new_value and return {"old_value": base64 | null}; keeps the expiry';

-- bytea overloads: binary keys (a bytea collection's '\x00ff') and values.  The same C functions
-- read the bytes of either type; text literals still resolve to the text versions.
CREATE FUNCTION kv_incr(collection regclass, key bytea, delta bigint, ttl bigint DEFAULT NULL, field text DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME', 'nodedb_kv_incr' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_incr(regclass, bytea, bigint, bigint, text) IS
	'atomically add delta to the integer value of a binary key (missing = 0); ttl (seconds) sets the expiry';
CREATE FUNCTION kv_decr(collection regclass, key bytea, delta bigint, ttl bigint DEFAULT NULL, field text DEFAULT NULL)
	RETURNS bigint AS 'MODULE_PATHNAME', 'nodedb_kv_decr' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_decr(regclass, bytea, bigint, bigint, text) IS
	'atomically subtract delta from the integer value of a binary key (missing = 0)';
CREATE FUNCTION kv_incr_float(collection regclass, key bytea, delta double precision, field text DEFAULT NULL)
	RETURNS double precision AS 'MODULE_PATHNAME', 'nodedb_kv_incr_float' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_incr_float(regclass, bytea, double precision, text) IS
	'atomically add delta to the numeric value of a binary key; keeps the expiry';
CREATE FUNCTION kv_cas(collection regclass, key bytea, expected bytea, new_value bytea, field text DEFAULT NULL)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'nodedb_kv_cas' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_cas(regclass, bytea, bytea, bytea, text) IS
	'binary KV_CAS: set key to new_value iff the value''s bytes equal expected (missing key: expected = ''''::bytea)';
CREATE FUNCTION kv_getset(collection regclass, key bytea, new_value bytea, field text DEFAULT NULL)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'nodedb_kv_getset' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_getset(regclass, bytea, bytea, text) IS
	'binary KV_GETSET: set key to new_value and return {"old_value": base64 | null}; keeps the expiry';

-- Rate gates (CONTRACT.md "Rate gates").  Counters live in an unlogged kv collection owned by the
-- extension (they reset after a crash); EXECUTE on the RATE_* functions governs access.
CREATE UNLOGGED TABLE kv_rate_gates (key bytea PRIMARY KEY, hits bigint NOT NULL DEFAULT 0, expires kv_expiry)
	USING kv;
COMMENT ON TABLE kv_rate_gates IS 'rate gate counters (internal): key = gate || 0x00 || key, expires = window end';
REVOKE ALL ON kv_rate_gates FROM PUBLIC;
CREATE FUNCTION rate_check(gate text, key text, max_count integer, window_seconds integer)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'nodedb_kv_rate_check' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION rate_check(text, text, integer, integer) IS
	'count one hit of key at gate; error 54001 once more than max_count hits fall in the window';
CREATE FUNCTION rate_remaining(gate text, key text, max_count integer, window_seconds integer)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'nodedb_kv_rate_remaining' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION rate_remaining(text, text, integer, integer) IS
	'hits left in the current window of key at gate, without counting one';
CREATE FUNCTION rate_reset(gate text, key text)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'nodedb_kv_rate_reset' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION rate_reset(text, text) IS 'forget the counter of key at gate';

-- Sorted indexes (CONTRACT.md "Sorted indexes"): the kv_sorted index access method, whose relation
-- holds only a metapage; its order-statistic structure lives in shared memory.
CREATE FUNCTION nodedb_kv_sorted_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME', 'nodedb_kv_sorted_handler' LANGUAGE C STRICT;
CREATE ACCESS METHOD kv_sorted TYPE INDEX HANDLER nodedb_kv_sorted_handler;
COMMENT ON ACCESS METHOD kv_sorted IS 'leaderboards: O(log N) RANK, TOPK, RANGE and SORTED_COUNT over a kv table';
-- Default operator classes name each supported type's btree comparison (the order kv_sorted keeps).
CREATE OPERATOR CLASS kv_sorted_int2_ops DEFAULT FOR TYPE int2 USING kv_sorted AS FUNCTION 1 btint2cmp(int2, int2);
CREATE OPERATOR CLASS kv_sorted_int4_ops DEFAULT FOR TYPE int4 USING kv_sorted AS FUNCTION 1 btint4cmp(int4, int4);
CREATE OPERATOR CLASS kv_sorted_int8_ops DEFAULT FOR TYPE int8 USING kv_sorted AS FUNCTION 1 btint8cmp(int8, int8);
CREATE OPERATOR CLASS kv_sorted_float4_ops DEFAULT FOR TYPE float4 USING kv_sorted
	AS FUNCTION 1 btfloat4cmp(float4, float4);
CREATE OPERATOR CLASS kv_sorted_float8_ops DEFAULT FOR TYPE float8 USING kv_sorted
	AS FUNCTION 1 btfloat8cmp(float8, float8);
CREATE OPERATOR CLASS kv_sorted_numeric_ops DEFAULT FOR TYPE numeric USING kv_sorted
    AS FUNCTION 1 numeric_cmp(numeric, numeric);
CREATE OPERATOR CLASS kv_sorted_date_ops DEFAULT FOR TYPE date USING kv_sorted AS FUNCTION 1 date_cmp(date, date);
CREATE OPERATOR CLASS kv_sorted_timestamp_ops DEFAULT FOR TYPE timestamp USING kv_sorted
	AS FUNCTION 1 timestamp_cmp(timestamp, timestamp);
CREATE OPERATOR CLASS kv_sorted_timestamptz_ops DEFAULT FOR TYPE timestamptz USING kv_sorted
	AS FUNCTION 1 timestamptz_cmp(timestamptz, timestamptz);
CREATE OPERATOR CLASS kv_sorted_text_ops DEFAULT FOR TYPE text USING kv_sorted AS FUNCTION 1 bttextcmp(text, text);
CREATE OPERATOR CLASS kv_sorted_bpchar_ops DEFAULT FOR TYPE bpchar USING kv_sorted
	AS FUNCTION 1 bpcharcmp(bpchar, bpchar);
CREATE OPERATOR CLASS kv_sorted_bytea_ops DEFAULT FOR TYPE bytea USING kv_sorted AS FUNCTION 1 byteacmp(bytea, bytea);

-- Queries.  (text, text) and not (regclass, text): RANK('idx', 'key') with two unknown literals must
-- not be ambiguous with pg_catalog.rank(VARIADIC "any").  Not STRICT: NULL arguments are errors.
CREATE FUNCTION rank(index text, key text) RETURNS bigint
	AS 'MODULE_PATHNAME', 'nodedb_kv_rank' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION rank(text, text) IS '1-based rank of key in a kv_sorted index (NULL if absent)';
CREATE FUNCTION topk(index text, k integer) RETURNS TABLE (rank bigint, key text)
	AS 'MODULE_PATHNAME', 'nodedb_kv_topk' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION topk(text, integer) IS 'the first k entries of a kv_sorted index';
CREATE FUNCTION range(index text, lo double precision, hi double precision)
	RETURNS TABLE (rank bigint, key text, score double precision)
	AS 'MODULE_PATHNAME', 'nodedb_kv_range' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION range(text, double precision, double precision) IS
	'entries of a kv_sorted index with lo <= first column <= hi, in index order, with their ranks';
CREATE FUNCTION sorted_count(index text) RETURNS bigint
	AS 'MODULE_PATHNAME', 'nodedb_kv_sorted_count' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION sorted_count(text) IS 'entries in a kv_sorted index (its current window)';
CREATE FUNCTION kv_sorted_stats_rows(OUT indexrelid oid, OUT state text, OUT entries bigint, OUT bytes bigint,
									 OUT windows integer, OUT applied_lsn pg_lsn, OUT pool_used bigint,
									 OUT pool_total bigint)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'nodedb_kv_sorted_stats_rows' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
CREATE VIEW kv_sorted_stats AS
	SELECT s.indexrelid::regclass AS index, s.state, s.entries, s.bytes, s.windows, s.applied_lsn,
		   s.pool_used, s.pool_total
	FROM kv_sorted_stats_rows() s JOIN pg_catalog.pg_class c ON c.oid = s.indexrelid;
COMMENT ON VIEW kv_sorted_stats IS 'kv_sorted structures in shared memory: entries, bytes, state';

-- The Redis keyspace (CONTRACT.md "Collections"): kv_db0 is the collection RESP clients start on;
-- kv_create_db(n) makes kv_db<n> for SELECT n.  A key's Redis type is in `type`; a string's value is its
-- bytes.  kv_db0's rows are dumped by pg_dump (extension configuration table).
CREATE TYPE kv_type AS ENUM ('string', 'hash', 'zset', 'list', 'set');
COMMENT ON TYPE kv_type IS 'Redis type of a key in a kv_db<n> keyspace';
-- fillfactor 75: Redis keyspaces are rewritten all the time, mostly in small rows; the reserve keeps the
-- HOT versions of those rewrites on their page, so one prune reclaims many of them (src/tableam/README.md).
CREATE TABLE kv_db0 (key bytea PRIMARY KEY, type kv_type NOT NULL DEFAULT 'string', value bytea, expires kv_expiry)
	USING kv WITH (fillfactor = 75);
COMMENT ON TABLE kv_db0 IS 'Redis keyspace 0: the collection RESP clients start on';
SELECT pg_catalog.pg_extension_config_dump('kv_db0', '');
CREATE FUNCTION kv_create_db(n integer) RETURNS regclass LANGUAGE plpgsql VOLATILE STRICT
	SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF n < 0 THEN
		RAISE EXCEPTION 'database index must not be negative' USING ERRCODE = '22023';
	END IF;
	EXECUTE format('CREATE TABLE %I.%I (key bytea PRIMARY KEY, type %I.kv_type NOT NULL DEFAULT ''string'', '
	               'value bytea, expires %I.kv_expiry) USING kv WITH (fillfactor = 75)', '@extschema@', 'kv_db' || n,
	               '@extschema@', '@extschema@');
	RETURN format('%I.%I', '@extschema@', 'kv_db' || n)::regclass;
END
$$;
COMMENT ON FUNCTION kv_create_db(integer) IS 'create the Redis keyspace kv_db<n> (for RESP SELECT n)';
REVOKE ALL ON FUNCTION kv_create_db(integer) FROM PUBLIC;

-- Readers of the container values of kv_db<n> keys (hash, set, list, zset; encoding: src/rtypes/README.md).
-- SELECT f.field, f.value FROM kv_db0, kv_hash_entries(value) f WHERE key = 'user:1' AND type = 'hash';
CREATE FUNCTION kv_hash_entries(container bytea, OUT field bytea, OUT value bytea) RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'nodedb_kv_hash_entries' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv_hash_entries(bytea) IS 'the (field, value) pairs of a kv_db<n> hash value';
CREATE FUNCTION kv_set_members(container bytea) RETURNS SETOF bytea
	AS 'MODULE_PATHNAME', 'nodedb_kv_set_members' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv_set_members(bytea) IS 'the members of a kv_db<n> set value';
CREATE FUNCTION kv_list_entries(container bytea, OUT index bigint, OUT value bytea) RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'nodedb_kv_list_entries' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv_list_entries(bytea) IS 'the (index, element) pairs of a kv_db<n> list value, head first';
CREATE FUNCTION kv_zset_entries(container bytea, OUT member bytea, OUT score float8, OUT rank bigint)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'nodedb_kv_zset_entries' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv_zset_entries(bytea) IS 'the (member, score, rank) rows of a kv_db<n> sorted set value, ascending';

-- Spilled containers (src/rtypes/README.md "Spill"): a hash, list, set or zset past 128 items or 8 kB keeps
-- a 33-byte header in its kv_db<n> row and one row per field / element / member here, keyed by
-- (keyspace, key, generation, member).  Only the extension reads and writes it, after the privilege
-- checks on the keyspace row itself, so whoever may use a key of kv_db<n> may use its members and
-- no one has privileges on kv_members itself.  pg_dump dumps its rows (configuration table).
CREATE TABLE kv_members (key bytea PRIMARY KEY, value bytea NOT NULL) USING kv;
COMMENT ON TABLE kv_members IS 'member rows of the spilled containers of kv_db<n> keys (extension-internal)';
REVOKE ALL ON kv_members FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('kv_members', '');
-- The readers by key read a container in either form (needs SELECT on the keyspace):
-- SELECT * FROM kv_hash_entries('kv_db0', 'user:1');
CREATE FUNCTION kv_hash_entries(keyspace regclass, key bytea, OUT field bytea, OUT value bytea)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'nodedb_kv_hash_entries_key' LANGUAGE C STABLE STRICT
	PARALLEL RESTRICTED;
COMMENT ON FUNCTION kv_hash_entries(regclass, bytea) IS 'the (field, value) pairs of a kv_db<n> hash key, inline or spilled';
CREATE FUNCTION kv_set_members(keyspace regclass, key bytea) RETURNS SETOF bytea
	AS 'MODULE_PATHNAME', 'nodedb_kv_set_members_key' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION kv_set_members(regclass, bytea) IS 'the members of a kv_db<n> set key, inline or spilled';
CREATE FUNCTION kv_list_entries(keyspace regclass, key bytea, OUT index bigint, OUT value bytea)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'nodedb_kv_list_entries_key' LANGUAGE C STABLE STRICT
	PARALLEL RESTRICTED;
COMMENT ON FUNCTION kv_list_entries(regclass, bytea) IS 'the (index, element) pairs of a kv_db<n> list key, head first';
CREATE FUNCTION kv_zset_entries(keyspace regclass, key bytea, OUT member bytea, OUT score float8, OUT rank bigint)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'nodedb_kv_zset_entries_key' LANGUAGE C STABLE STRICT
	PARALLEL RESTRICTED;
COMMENT ON FUNCTION kv_zset_entries(regclass, bytea) IS 'the (member, score, rank) rows of a kv_db<n> sorted set key, ascending, inline or spilled';
-- Deletes the member rows whose container is gone (deleted, expired, overwritten or renamed key,
-- truncated or dropped keyspace); returns how many.
CREATE FUNCTION kv_members_vacuum() RETURNS bigint
	AS 'MODULE_PATHNAME', 'nodedb_kv_members_vacuum' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_members_vacuum() IS 'delete the member rows of spilled containers that are gone';
REVOKE ALL ON FUNCTION kv_members_vacuum() FROM PUBLIC;

-- Pub/sub (CONTRACT.md "RESP" -> "Change events"): a message for RESP subscribers of channel, delivered
-- when the transaction commits (never on rollback); returns the channel's current subscriber count.
CREATE FUNCTION kv_publish(channel text, message text) RETURNS bigint
	AS 'MODULE_PATHNAME', 'nodedb_kv_kv_publish_text' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_publish(text, text) IS 'publish a pub/sub message at commit; returns the subscriber count';
CREATE FUNCTION kv_publish(channel text, message bytea) RETURNS bigint
	AS 'MODULE_PATHNAME', 'nodedb_kv_kv_publish_bytea' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION kv_publish(text, bytea) IS 'publish a binary pub/sub message at commit; returns the subscriber count';
CREATE FUNCTION kv_pubsub_stats_row(OUT channels bigint, OUT patterns bigint, OUT subscriptions bigint,
									OUT messages_published bigint, OUT clients_dropped bigint,
									OUT messages_lost bigint, OUT ring_bytes bigint)
	RETURNS record AS 'MODULE_PATHNAME', 'nodedb_kv_kv_pubsub_stats_row' LANGUAGE C VOLATILE PARALLEL SAFE;
CREATE VIEW kv_pubsub_stats AS SELECT * FROM kv_pubsub_stats_row();
COMMENT ON VIEW kv_pubsub_stats IS 'pub/sub bus of the whole server: subscriptions now; messages, dropped slow subscribers and lost messages since start';
