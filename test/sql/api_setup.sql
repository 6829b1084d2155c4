-- This instance preloads the extension (the refusal without shared_preload_libraries is TAP 011);
-- the extension installs its objects, and every SQL function answers once.
CREATE EXTENSION nodedb_kv;
-- atomic_try, used by the atomic_* tests that follow: runs a query and prints its result, or
-- "ERROR <SQLSTATE>: message" (and DETAIL).
CREATE FUNCTION atomic_try(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
    state text;
    message text;
    detail text;
BEGIN
    EXECUTE query INTO result;
    RETURN result;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN 'ERROR ' || state || ': ' || message || CASE WHEN detail <> '' THEN ' DETAIL: ' || detail ELSE '' END;
END
$$;
SELECT amname, amtype FROM pg_am WHERE amname = 'kv';
SELECT typname, format_type(typbasetype, NULL) FROM pg_type WHERE typname = 'kv_expiry';
SET nodedb_kv.test_clock_offset = 0;
SELECT kv_now() = statement_timestamp() AS now_is_statement_time;
SELECT kv_ttl(60) = statement_timestamp() + interval '60 seconds' AS ttl_adds_seconds;
SELECT kv_ttl(0.5) - kv_now() AS half_second;
SELECT kv_ttl_remaining(kv_ttl(90)) AS remaining;
SELECT kv_ttl_remaining((now() - interval '1 hour')::kv_expiry) AS remaining_after_expiry;
SELECT kv_ttl_remaining(NULL) AS never;
SELECT * FROM kv_stats;
-- The test clock moves kv's "now" (superuser only) without sleeping.
SET nodedb_kv.test_clock_offset = '1h';
SELECT kv_now() - statement_timestamp() AS offset_applied;
RESET nodedb_kv.test_clock_offset;
-- Bad input
SELECT kv_ttl('NaN');
SELECT kv_ttl('Infinity');
SELECT kv_ttl(1e300);
SELECT kv_ttl_remaining('infinity'::timestamptz::kv_expiry);
CREATE ROLE kv_plain_user;
SET ROLE kv_plain_user;
SET nodedb_kv.test_clock_offset = '1h';
RESET ROLE;
DROP ROLE kv_plain_user;
-- Atomic operations and rate gates: one call each (details in atomic_*.sql and gate_rate.sql).
CREATE TABLE api_counters (key text PRIMARY KEY, value text) USING kv;
SELECT kv_incr('api_counters', 'n', 5) AS incr, kv_decr('api_counters', 'n', 2) AS decr,
       kv_incr_float('api_counters', 'n', 0.5) AS incr_float;
SELECT kv_cas('api_counters', 'n', '3.5', 'x') AS cas, kv_getset('api_counters', 'n', 'y') AS getset;
SELECT rate_check('api', 'k', 2, 60) AS rate_check;
SELECT rate_remaining('api', 'k', 2, 60) - 'resets_in_ms' AS rate_remaining;
SELECT rate_reset('api', 'k') AS rate_reset;
DROP TABLE api_counters;
-- Sorted indexes: one call each (details in sortedindex_*.sql).
CREATE TABLE api_scores (key text PRIMARY KEY, score bigint) USING kv;
INSERT INTO api_scores VALUES ('a', 10), ('b', 30), ('c', 20);
CREATE INDEX api_lb ON api_scores USING kv_sorted (score DESC);
SELECT rank('api_lb', 'c') AS rank, sorted_count('api_lb') AS sorted_count;
SELECT * FROM topk('api_lb', 2);
SELECT * FROM range('api_lb', 15, 30);
SELECT index, state, entries FROM kv_sorted_stats WHERE index = 'api_lb'::regclass;
DROP TABLE api_scores;
-- The Redis keyspace and pub/sub: one call each (details in TAP 030-040 and pubsub_publish.sql).
SELECT kv_create_db(1) AS created;
SELECT convert_from(key, 'UTF8') AS key, type, value FROM kv_db1;
-- The container readers (encoding: src/rtypes/README.md; details in rtypes_readers.sql).
INSERT INTO kv_db1 VALUES ('user:1', 'hash', '\x0104046e616d6505616c69636503616765023432'),
    ('tags', 'set', '\x010201610162'), ('queue', 'list', '\x010201780179');
SELECT convert_from(f.field, 'UTF8') AS field, convert_from(f.value, 'UTF8') AS value
FROM kv_db1 d, kv_hash_entries(d.value) f WHERE d.key = 'user:1';
SELECT convert_from(m, 'UTF8') AS member FROM kv_db1 d, kv_set_members(d.value) m WHERE d.key = 'tags' ORDER BY 1;
SELECT l.index, convert_from(l.value, 'UTF8') AS element FROM kv_db1 d, kv_list_entries(d.value) l
WHERE d.key = 'queue' ORDER BY 1;
DROP TABLE kv_db1;
SELECT kv_publish('api', 'text') AS text_receivers, kv_publish('api', '\x00ff'::bytea) AS bytea_receivers;
SELECT ring_bytes > 0 AS bus FROM kv_pubsub_stats_row();
