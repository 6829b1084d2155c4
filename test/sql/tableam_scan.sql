-- Every plan shape hides expired rows.  Even keys expire (kv_ttl(600), then the test clock moves
-- 20 min ahead); odd keys stay live (one day), and keys divisible by 5 never expire (NULL).  Each
-- section forces one plan shape and shows it with EXPLAIN before running the query.
CREATE TABLE scan_kv (key int PRIMARY KEY, val text, expires kv_expiry) USING kv WITH (autovacuum_enabled = off);
INSERT INTO scan_kv
	SELECT g, 'v' || g, CASE WHEN g % 5 = 0 THEN NULL WHEN g % 2 = 0 THEN kv_ttl(600) ELSE kv_ttl(86400) END
	FROM generate_series(1, 10000) g;
CREATE INDEX scan_kv_val ON scan_kv (val);
-- The same rows in a heap table, for contrast: there the expiry column means nothing.
CREATE TABLE scan_heap (key int PRIMARY KEY, val text, expires kv_expiry) WITH (autovacuum_enabled = off);
INSERT INTO scan_heap SELECT * FROM scan_kv;
ANALYZE scan_kv, scan_heap;
SELECT count(*) AS all_rows_before_expiry FROM scan_kv;
SET nodedb_kv.test_clock_offset = '20min';
-- Live keys: the odd ones and the multiples of 10 (even, but NULL expiry).
SELECT count(*) FILTER (WHERE g % 2 = 1 OR g % 5 = 0) AS live_keys FROM generate_series(1, 10000) g;
-- ANALYZE counts expired rows as dead, so estimates match what queries return.  ANALYZE sets the
-- live and dead counts at once; the INSERT's counts, still pending in this backend, are flushed first
-- (else they would be added on top of ANALYZE's whenever the next periodic flush comes).
SELECT pg_stat_force_next_flush();
ANALYZE scan_kv;
SELECT pg_stat_clear_snapshot();
SELECT relname, reltuples FROM pg_class WHERE oid IN ('scan_kv'::regclass, 'scan_heap'::regclass) ORDER BY 1;
SELECT n_live_tup, n_dead_tup FROM pg_stat_get_live_tuples('scan_kv'::regclass) n_live_tup,
	pg_stat_get_dead_tuples('scan_kv'::regclass) n_dead_tup;

-- Sequential scan.
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_kv;
SELECT count(*) FROM scan_kv;
SELECT count(*) FROM scan_heap;
SELECT key, val, expires IS NULL AS never FROM scan_kv WHERE key <= 12 ORDER BY key;
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_kv WHERE key % 2 = 0;
SELECT count(*) FROM scan_kv WHERE key % 2 = 0;

-- Parallel sequential scan: the workers use the leader's statement time and clock offset.  The
-- leader does not scan, so every row comes from the two workers (Workers Launched: 2).
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM scan_kv;
SELECT count(*) FROM scan_kv;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM scan_kv WHERE key % 2 = 0;
SELECT count(*) FROM scan_kv WHERE key % 2 = 0;
-- One instant per statement: workers use the instant their leader published, never one of their
-- own.  nodedb_kv.test_worker_clock_skew moves the instant a worker would compute itself an hour
-- ahead (as a worker starting late under load would see a later one): taken, it would hide every row
-- of the band below from the workers.  Rows expire 10 ms apart over 100 s; the clock is 50 s ahead.
-- scan_parallel_run runs a query under EXPLAIN ANALYZE within the calling statement (so with its
-- instant) and returns the workers launched and the rows the Gather returned.
CREATE FUNCTION scan_parallel_run(query text, OUT launched int, OUT gathered bigint) LANGUAGE plpgsql AS $$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || query INTO plan;
	launched := jsonb_path_query_first(plan, 'strict $.**."Workers Launched"');
	gathered := plan->0->'Plan'->'Actual Rows';
END $$;
SET nodedb_kv.test_clock_offset = 0;
SELECT kv_now() AS band_base \gset
CREATE TABLE scan_band (key int PRIMARY KEY, expires kv_expiry) USING kv WITH (autovacuum_enabled = off);
INSERT INTO scan_band SELECT g, :'band_base'::timestamptz + g * interval '10 ms' FROM generate_series(1, 10000) g;
ANALYZE scan_band;
SET nodedb_kv.test_clock_offset = '50s';
SET nodedb_kv.test_worker_clock_skew = '1h';
EXPLAIN (COSTS OFF) SELECT key FROM scan_band WHERE kv_now() = '-infinity';
-- The rows the workers return equal the leader's reckoning (from the band's formula, in the leader,
-- same statement) and lie strictly inside the band; and kv_now() evaluated in the workers' filter
-- (a one-time filter, evaluated in each worker under the Gather) equals the leader's kv_now().
SELECT all_rows.launched, all_rows.gathered = leader.live AS same_rows, leader.live > 0 AND leader.live < 10000 AS inside_band,
       at_leader_instant.launched AS launched_2, at_leader_instant.gathered = leader.live AS leaders_instant
	FROM (SELECT count(*) AS live FROM generate_series(1, 10000) g
	      WHERE :'band_base'::timestamptz + g * interval '10 ms' > kv_now()) leader,
	     scan_parallel_run('SELECT key FROM scan_band') all_rows,
	     scan_parallel_run(format('SELECT key FROM scan_band WHERE kv_now() = %L', kv_now())) at_leader_instant;
RESET nodedb_kv.test_worker_clock_skew;
SET nodedb_kv.test_clock_offset = '20min';
DROP TABLE scan_band;
DROP FUNCTION scan_parallel_run;
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
RESET enable_indexscan;
RESET enable_bitmapscan;

-- Index scan (primary key, secondary index, backward).
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT key, val FROM scan_kv WHERE key = 2;
SELECT key, val FROM scan_kv WHERE key = 2;
SELECT key, val FROM scan_kv WHERE key = 3;
EXPLAIN (COSTS OFF) SELECT key FROM scan_kv WHERE key BETWEEN 1 AND 12 ORDER BY key;
SELECT key FROM scan_kv WHERE key BETWEEN 1 AND 12 ORDER BY key;
EXPLAIN (COSTS OFF) SELECT key FROM scan_kv WHERE key BETWEEN 1 AND 12 ORDER BY key DESC;
SELECT key FROM scan_kv WHERE key BETWEEN 1 AND 12 ORDER BY key DESC;
EXPLAIN (COSTS OFF) SELECT key FROM scan_kv WHERE val IN ('v4', 'v5', 'v7', 'v10');
SELECT key FROM scan_kv WHERE val IN ('v4', 'v5', 'v7', 'v10') ORDER BY key;
-- Parameterized index scan on the inner side of a nested loop.
SET enable_hashjoin = off;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF)
	SELECT h.key FROM scan_heap h JOIN scan_kv k ON k.key = h.key WHERE h.key <= 12 ORDER BY h.key;
SELECT h.key FROM scan_heap h JOIN scan_kv k ON k.key = h.key WHERE h.key <= 12 ORDER BY h.key;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- Bitmap heap scan, exact and (with a tiny work_mem) lossy pages.
SET enable_seqscan = off;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_kv WHERE key <= 100;
SELECT count(*) FROM scan_kv WHERE key <= 100;
-- One row per page, more pages than a 64kB bitmap can track exactly.
CREATE TABLE scan_wide (key int PRIMARY KEY, pad text, expires kv_expiry) USING kv WITH (fillfactor = 10);
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO scan_wide SELECT g, repeat('x', 900), CASE WHEN g % 2 = 0 THEN kv_ttl(600) END
	FROM generate_series(1, 1500) g;
SET nodedb_kv.test_clock_offset = '20min';
ANALYZE scan_wide;
SET work_mem = '64kB';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM scan_wide WHERE key <= 1400;
SELECT count(*), count(*) FILTER (WHERE key % 2 = 0) AS expired FROM scan_wide WHERE key <= 1400;
RESET work_mem;
DROP TABLE scan_wide;
RESET enable_seqscan;
RESET enable_indexscan;

-- Index-only scans are never offered on kv tables, not even once VACUUM made every page
-- all-visible (the visibility map knows nothing about expiry): the heap table gets an Index Only
-- Scan, the kv table an Index Scan that hides expired rows.
VACUUM scan_kv, scan_heap;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT key FROM scan_heap WHERE key <= 12;
EXPLAIN (COSTS OFF) SELECT key FROM scan_kv WHERE key <= 12;
SELECT key FROM scan_kv WHERE key <= 12 ORDER BY key;
-- Queries that need no column at all: heap's planner would answer them from the index alone.
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_heap;
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_kv;
SELECT count(*) FROM scan_kv;
EXPLAIN (COSTS OFF) SELECT EXISTS (SELECT FROM scan_kv);
SELECT EXISTS (SELECT FROM scan_kv);
CREATE INDEX scan_kv_low ON scan_kv (key) WHERE key <= 4;
CREATE INDEX scan_heap_low ON scan_heap (key) WHERE key <= 4;
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_heap WHERE key <= 4;
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_kv WHERE key <= 4;
SELECT count(*) FROM scan_kv WHERE key <= 4;
RESET enable_seqscan;
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_kv;
SELECT count(*) FROM scan_kv;
SET enable_seqscan = off;
DROP INDEX scan_kv_low, scan_heap_low;
-- The expiry column's own index cannot return values either.
SELECT indexrelid::regclass AS expiry_index FROM pg_index
	WHERE indrelid = 'scan_kv'::regclass AND indkey[0] = 3;
EXPLAIN (COSTS OFF) SELECT count(expires) FROM scan_kv WHERE expires IS NOT NULL;
SELECT count(expires) FROM scan_kv WHERE expires IS NOT NULL;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- TID scan and TID range scan.  The first rows sit at (0,1), (0,2), ... (shown before expiry).
SET nodedb_kv.test_clock_offset = 0;
SELECT ctid, key FROM scan_kv WHERE ctid IN ('(0,1)', '(0,2)', '(0,3)') ORDER BY key;
SET nodedb_kv.test_clock_offset = '20min';
EXPLAIN (COSTS OFF) SELECT key FROM scan_kv WHERE ctid = '(0,2)';
SELECT key FROM scan_kv WHERE ctid = '(0,2)';
SELECT key FROM scan_kv WHERE ctid = '(0,3)';
SELECT key FROM scan_kv WHERE ctid = ANY (ARRAY['(0,1)', '(0,2)', '(0,3)', '(0,4)']::tid[]) ORDER BY key;
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_kv WHERE ctid < '(10,0)';
SELECT count(*) AS in_range, count(*) FILTER (WHERE key % 2 = 0 AND key % 5 <> 0) AS expired_in_range
	FROM scan_kv WHERE ctid < '(10,0)';
SET nodedb_kv.test_clock_offset = 0;
SELECT count(*) AS in_range_before_expiry FROM scan_kv WHERE ctid < '(10,0)';
SET nodedb_kv.test_clock_offset = '20min';
EXPLAIN (COSTS OFF) SELECT key FROM scan_kv WHERE ctid > '(0,0)' AND ctid <= '(0,4)' ORDER BY ctid DESC;
SELECT key FROM scan_kv WHERE ctid > '(0,0)' AND ctid <= '(0,4)' ORDER BY ctid DESC;

-- TABLESAMPLE: SYSTEM and BERNOULLI at 100 percent see every live row and nothing else.
EXPLAIN (COSTS OFF) SELECT count(*) FROM scan_kv TABLESAMPLE SYSTEM (100);
SELECT count(*) FROM scan_kv TABLESAMPLE SYSTEM (100);
SELECT count(*) FROM scan_kv TABLESAMPLE BERNOULLI (100) REPEATABLE (1);
SELECT count(*) FILTER (WHERE key % 2 = 0 AND key % 5 <> 0) AS expired_sampled
	FROM scan_kv TABLESAMPLE SYSTEM (50) REPEATABLE (7);

-- Cursors: forward, backward and absolute fetches, and WHERE CURRENT OF.
BEGIN;
DECLARE c_seq SCROLL CURSOR FOR SELECT key FROM scan_kv WHERE key <= 12 ORDER BY key;
FETCH 3 FROM c_seq;
FETCH BACKWARD 2 FROM c_seq;
FETCH LAST FROM c_seq;
FETCH ABSOLUTE 4 FROM c_seq;
CLOSE c_seq;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
DECLARE c_idx SCROLL CURSOR FOR SELECT key FROM scan_kv WHERE key BETWEEN 1 AND 12 ORDER BY key;
FETCH ALL FROM c_idx;
FETCH BACKWARD ALL FROM c_idx;
CLOSE c_idx;
DECLARE c_upd CURSOR FOR SELECT key FROM scan_kv WHERE key BETWEEN 2 AND 4 ORDER BY key FOR UPDATE;
FETCH NEXT FROM c_upd;
UPDATE scan_kv SET val = 'via cursor' WHERE CURRENT OF c_upd;
FETCH NEXT FROM c_upd;
CLOSE c_upd;
COMMIT;
SELECT key, val FROM scan_kv WHERE key BETWEEN 2 AND 4 ORDER BY key;

-- SELECT FOR UPDATE / FOR SHARE skip expired rows; UPDATE and DELETE of expired rows affect none.
SELECT key FROM scan_kv WHERE key <= 6 ORDER BY key FOR UPDATE;
SELECT key FROM scan_kv WHERE key <= 6 ORDER BY key FOR SHARE;
SELECT key FROM scan_kv WHERE key = 4 FOR NO KEY UPDATE;
UPDATE scan_kv SET val = 'changed' WHERE key = 4;
UPDATE scan_kv SET val = 'changed' WHERE key IN (2, 3, 4) RETURNING key, val;
DELETE FROM scan_kv WHERE key = 6;
DELETE FROM scan_kv WHERE key IN (6, 7, 8) RETURNING key;
-- The expired rows are still there, untouched (a negative offset looks back an hour).
SET nodedb_kv.test_clock_offset = '-1h';
SELECT key, val FROM scan_kv WHERE key BETWEEN 2 AND 8 ORDER BY key;
SET nodedb_kv.test_clock_offset = '20min';

-- Unique checks and ON CONFLICT treat an expired key as absent and a live key as present.
INSERT INTO scan_kv VALUES (2, 'new 2', kv_ttl(86400));
INSERT INTO scan_kv VALUES (3, 'dup 3', kv_ttl(86400));
INSERT INTO scan_kv VALUES (4, 'new 4', NULL), (5, 'dup 5', NULL) ON CONFLICT DO NOTHING RETURNING key, val;
INSERT INTO scan_kv VALUES (6, 'new 6', NULL), (9, 'dup 9', NULL) ON CONFLICT (key) DO NOTHING RETURNING key, val;
INSERT INTO scan_kv AS t VALUES (8, 'new 8', NULL), (11, 'new 11', NULL)
	ON CONFLICT (key) DO UPDATE SET val = 'updated ' || t.key RETURNING key, val;
SELECT key, val FROM scan_kv WHERE key <= 12 ORDER BY key;

-- A new session whose first read of the table is an index scan (no sequential scan has told this
-- backend which column is the expiry column yet).
\c -
SET nodedb_kv.test_clock_offset = '20min';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT key, val FROM scan_kv WHERE key = 12;
SELECT key, val FROM scan_kv WHERE key = 12;
SELECT key, val FROM scan_kv WHERE key IN (12, 13, 14) ORDER BY key;
\c -
SET nodedb_kv.test_clock_offset = '20min';
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_index_scan_size = 0;
SET min_parallel_table_scan_size = 0;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET parallel_leader_participation = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM scan_kv WHERE key BETWEEN 100 AND 9000;
SELECT count(*) FROM scan_kv WHERE key BETWEEN 100 AND 9000;

DROP TABLE scan_kv, scan_heap;
