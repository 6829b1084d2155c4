-- kv_sorted indexes (CONTRACT.md "Sorted indexes"): definition checks, RANK / TOPK / RANGE /
-- SORTED_COUNT against row_number() over the live rows after every kind of change, errors,
-- committed-state reads, DROP / REINDEX / RENAME, and a planner that never uses the index.
--
-- sorted_check(index, table, order, condition) compares the index with the oracle
-- row_number() OVER (ORDER BY order) over the rows satisfying condition: the count, every rank of
-- TOPK(all), RANK of every key (and NULL for keys outside), RANGE over the whole first-column span.
CREATE FUNCTION sorted_check(idx text, tbl text, ord text, cond text DEFAULT 'true') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    c bigint;
    bad bigint;
    oracle text := format('SELECT key::text AS key, row_number() OVER (ORDER BY %s) AS rn FROM %s WHERE %s',
                          ord, tbl, cond);
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) o', oracle) INTO n;
    c := sorted_count(idx);
    IF c <> n THEN RETURN format('count %s, expected %s', c, n); END IF;
    EXECUTE format('SELECT count(*) FROM (%s) o FULL JOIN topk(%L, 100000) t ON t.key = o.key AND t.rank = o.rn
                    WHERE t.key IS NULL OR o.key IS NULL', oracle, idx) INTO bad;
    IF bad <> 0 THEN RETURN format('topk: %s mismatches', bad); END IF;
    EXECUTE format('SELECT count(*) FROM (%s) o WHERE rank(%L, o.key) IS DISTINCT FROM o.rn', oracle, idx) INTO bad;
    IF bad <> 0 THEN RETURN format('rank: %s mismatches', bad); END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE NOT coalesce(%s, false) AND rank(%L, key::text) IS NOT NULL',
                   tbl, cond, idx) INTO bad;
    IF bad <> 0 THEN RETURN format('rank: %s keys outside the index ranked', bad); END IF;
    RETURN 'ok';
END
$$;

CREATE TABLE player_scores (key text PRIMARY KEY, score bigint, updated_at timestamptz DEFAULT kv_now()) USING kv;
-- Only on kv tables; options checked; unsupported columns refused.
CREATE TABLE heap_scores (key text PRIMARY KEY, score bigint);
CREATE INDEX ON heap_scores USING kv_sorted (score);
CREATE INDEX ON player_scores USING kv_sorted (score) WITH (window = 'hourly', window_column = 'updated_at');
CREATE INDEX ON player_scores USING kv_sorted (score) WITH (window = 'daily');
CREATE INDEX ON player_scores USING kv_sorted (score) WITH (window = 'daily', window_column = 'nope');
CREATE INDEX ON player_scores USING kv_sorted (score) WITH (window = 'daily', window_column = 'score');
CREATE INDEX ON player_scores USING kv_sorted (score) WITH (window_column = 'updated_at');
CREATE INDEX ON player_scores USING kv_sorted (score)
    WITH (window = 'custom', window_column = 'updated_at', window_start = '2024-06-01 00:00Z', window_end = '2024-05-01 00:00Z');
CREATE INDEX ON player_scores USING kv_sorted (score) WITH (window = 'custom', window_column = 'updated_at');
CREATE INDEX ON player_scores USING kv_sorted (score) WITH (window_start = 'not a time');
CREATE INDEX ON player_scores USING kv_sorted (score) WITH (key = 'score');
CREATE INDEX ON player_scores USING kv_sorted (score) WITH (colour = 'red');
CREATE INDEX ON player_scores USING kv_sorted ((score + 1));
CREATE INDEX ON player_scores USING kv_sorted (score) WHERE score > 0;

CREATE INDEX lb_global ON player_scores USING kv_sorted (score DESC, updated_at ASC);
CREATE INDEX lb_asc ON player_scores USING kv_sorted (score) WITH (key = 'key');
CREATE INDEX lb_key_desc ON player_scores USING kv_sorted (key DESC);
CREATE INDEX lb_season ON player_scores USING kv_sorted (score DESC)
    WITH (window = 'custom', window_column = 'updated_at', window_start = '2024-05-01 00:00Z', window_end = '1717200000000');
SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
    WHERE i.indrelid = 'player_scores'::regclass AND c.relname LIKE 'lb%' ORDER BY 1;
SELECT pg_relation_size('lb_global') AS metapage_bytes;

INSERT INTO player_scores (key, score, updated_at)
    SELECT 'p' || i, (i * 37) % 101, timestamptz '2024-05-10 00:00Z' + i * interval '1 hour' FROM generate_series(1, 300) i;
INSERT INTO player_scores VALUES ('no-score', NULL, kv_now());
-- RANK with two unknown literals resolves despite pg_catalog.rank(VARIADIC "any").
SELECT RANK('lb_global', 'p1'), RANK('lb_global', 'absent'), RANK('lb_global', 'no-score');
SELECT * FROM TOPK('lb_global', 5);
SELECT * FROM TOPK('lb_asc', 3);
SELECT * FROM TOPK('lb_global', 0);
SELECT * FROM RANGE('lb_global', 99, 100);
SELECT * FROM RANGE('lb_asc', 0.5, 1.5);
SELECT * FROM RANGE('lb_asc', 5, 4);
SELECT SORTED_COUNT('lb_global'), SORTED_COUNT('lb_asc'), SORTED_COUNT('lb_key_desc'), SORTED_COUNT('lb_season');
SELECT sorted_check('lb_global', 'player_scores', 'score DESC, updated_at, key', 'score IS NOT NULL');
SELECT sorted_check('lb_asc', 'player_scores', 'score, key', 'score IS NOT NULL');
SELECT sorted_check('lb_key_desc', 'player_scores', 'key DESC');
SELECT sorted_check('lb_season', 'player_scores', 'score DESC, key',
    $$score IS NOT NULL AND updated_at >= '2024-05-01 00:00Z' AND updated_at < '2024-06-01 00:00Z'$$);
-- RANGE ranks are global ranks, in index order, lo <= score <= hi.
SELECT count(*) AS range_mismatches FROM RANGE('lb_global', 10, 20) r
    JOIN (SELECT key, score, row_number() OVER (ORDER BY score DESC, updated_at, key) AS rn
          FROM player_scores WHERE score IS NOT NULL) o ON o.key = r.key
    WHERE r.rank <> o.rn OR r.score <> o.score OR o.score NOT BETWEEN 10 AND 20;
SELECT count(*) = (SELECT count(*) FROM player_scores WHERE score BETWEEN 10 AND 20) AS range_complete
    FROM RANGE('lb_global', 10, 20);

-- Every kind of change reaches the index at commit.
UPDATE player_scores SET score = score + 50 WHERE key IN ('p1', 'p2', 'p3');
UPDATE player_scores SET updated_at = '2024-07-01 00:00Z' WHERE key = 'p4';   -- leaves the season
UPDATE player_scores SET score = NULL WHERE key = 'p5';                          -- leaves every index on score
UPDATE player_scores SET score = 7 WHERE key = 'no-score';                       -- enters
UPDATE player_scores SET key = 'p6-renamed' WHERE key = 'p6';
DELETE FROM player_scores WHERE key IN ('p7', 'p8');
SELECT KV_INCR('player_scores', 'p9', 1000, field => 'score');
SELECT KV_INCR('player_scores', 'new-via-incr', 3, field => 'score');
SELECT RANK('lb_global', 'p9'), RANK('lb_global', 'new-via-incr'), RANK('lb_global', 'p6'), RANK('lb_global', 'p6-renamed');
SELECT sorted_check('lb_global', 'player_scores', 'score DESC, updated_at, key', 'score IS NOT NULL');
SELECT sorted_check('lb_key_desc', 'player_scores', 'key DESC');
SELECT sorted_check('lb_season', 'player_scores', 'score DESC, key',
    $$score IS NOT NULL AND updated_at >= '2024-05-01 00:00Z' AND updated_at < '2024-06-01 00:00Z'$$);
-- Rolled back: nothing; savepoints: only what survived.
BEGIN;
UPDATE player_scores SET score = 5000 WHERE key = 'p10';
DELETE FROM player_scores WHERE key = 'p11';
ROLLBACK;
BEGIN;
UPDATE player_scores SET score = 4000 WHERE key = 'p12';
SAVEPOINT s1;
UPDATE player_scores SET score = 6000 WHERE key = 'p13';
DELETE FROM player_scores WHERE key = 'p14';
ROLLBACK TO SAVEPOINT s1;
INSERT INTO player_scores VALUES ('p-sp', 3000, kv_now());
-- A transaction does not see its own uncommitted changes in RANK.
SELECT RANK('lb_global', 'p12') AS own_update_invisible, RANK('lb_global', 'p-sp') AS own_insert_invisible;
COMMIT;
SELECT RANK('lb_global', 'p10'), RANK('lb_global', 'p11') IS NOT NULL AS p11_kept, RANK('lb_global', 'p12'),
       RANK('lb_global', 'p-sp'), RANK('lb_global', 'p13') > 1 AS p13_not_top, RANK('lb_global', 'p14') IS NOT NULL AS p14_kept;
SELECT sorted_check('lb_global', 'player_scores', 'score DESC, updated_at, key', 'score IS NOT NULL');
-- COPY.
COPY player_scores (key, score, updated_at) FROM stdin;
c1	42	2024-05-20 00:00:00+00
c2	\N	2024-05-20 00:00:00+00
c3	1001	2024-05-21 00:00:00+00
\.
SELECT RANK('lb_global', 'c3'), RANK('lb_global', 'c2');
SELECT sorted_check('lb_asc', 'player_scores', 'score, key', 'score IS NOT NULL');
SELECT sorted_check('lb_season', 'player_scores', 'score DESC, key',
    $$score IS NOT NULL AND updated_at >= '2024-05-01 00:00Z' AND updated_at < '2024-06-01 00:00Z'$$);

-- Errors: unknown index, not a kv_sorted index, negative k, NULLs, RANGE on a text column; privileges.
SELECT RANK('nope', 'p1');
SELECT RANK('player_scores_pkey', 'p1');
SELECT RANK('player_scores', 'p1');
SELECT * FROM TOPK('lb_global', -1);
SELECT RANK(NULL, 'p1');
SELECT * FROM RANGE('lb_key_desc', 1, 2);
CREATE ROLE sorted_reader;
SET ROLE sorted_reader;
SELECT RANK('lb_global', 'p1');
RESET ROLE;
GRANT SELECT ON player_scores TO sorted_reader;
SET ROLE sorted_reader;
SELECT RANK('lb_global', 'p1') > 0 AS allowed;
RESET ROLE;
REVOKE SELECT ON player_scores FROM sorted_reader;
DROP ROLE sorted_reader;

-- The planner never uses the index.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT key FROM player_scores WHERE score = 7 ORDER BY score DESC, updated_at;
RESET enable_seqscan;

-- TRUNCATE empties, rows written after it are found (the structure is rebuilt from the table).
BEGIN;
TRUNCATE player_scores;
INSERT INTO player_scores VALUES ('t1', 1, kv_now()), ('t2', 2, kv_now());
COMMIT;
SELECT * FROM TOPK('lb_global', 10);
SELECT SORTED_COUNT('lb_global'), SORTED_COUNT('lb_season');

-- RENAME, REINDEX, DROP: the stats view follows; DROP frees the structure.
ALTER INDEX lb_asc RENAME TO lb_ascending;
SELECT * FROM TOPK('lb_ascending', 1);
REINDEX INDEX lb_global;
SELECT * FROM TOPK('lb_global', 1);
SELECT index, state, entries, bytes > 0 AS has_bytes FROM kv_sorted_stats ORDER BY index::text;
DROP INDEX lb_ascending;
SELECT index, entries FROM kv_sorted_stats ORDER BY index::text;
DROP TABLE player_scores;
SELECT count(*) AS structures_left FROM kv_sorted_stats;
DROP TABLE heap_scores;

-- A rolled-back CREATE INDEX leaves nothing behind, even once used.
CREATE TABLE tmp_scores (key int PRIMARY KEY, score float8) USING kv;
INSERT INTO tmp_scores SELECT i, i / 3.0 FROM generate_series(1, 10) i;
BEGIN;
CREATE INDEX lb_tmp ON tmp_scores USING kv_sorted (score DESC);
SELECT * FROM TOPK('lb_tmp', 2);
SELECT count(*) AS structures FROM kv_sorted_stats_rows();
ROLLBACK;
SELECT count(*) AS structures FROM kv_sorted_stats_rows();
-- Integer keys, float scores, NaN and infinities order as PostgreSQL orders them.
CREATE INDEX lb_float ON tmp_scores USING kv_sorted (score);
INSERT INTO tmp_scores VALUES (11, 'NaN'), (12, '-Infinity'), (13, 'Infinity'), (14, '-0'), (15, 0);
SELECT * FROM TOPK('lb_float', 4);
SELECT RANK('lb_float', '11') AS nan_rank, SORTED_COUNT('lb_float');
SELECT sorted_check('lb_float', 'tmp_scores', 'score, key');
SELECT * FROM RANGE('lb_float', '-Infinity', 0);
DROP TABLE tmp_scores;

-- Memory: an entry is one block of 8-byte units (a 24-byte header, 16 more bytes on tables with a
-- kv_expiry column, then the sort key and the member bytes) plus its 4-byte member-hash bucket;
-- kv_sorted_stats.bytes counts both.  Key 'm01' (C collation) and a bigint score: sort key 8 + 3 + 2
-- (escaped, terminated), member 3: 24 + 16 = 40, + 4 = 44.
CREATE TABLE mem_scores (key text COLLATE "C" PRIMARY KEY, score bigint) USING kv;
INSERT INTO mem_scores SELECT 'm' || lpad(i::text, 2, '0'), i FROM generate_series(1, 99) i;
CREATE INDEX mem_lb ON mem_scores USING kv_sorted (score DESC);
SELECT SORTED_COUNT('mem_lb');
SELECT entries, bytes, bytes / entries AS per_entry FROM kv_sorted_stats WHERE index = 'mem_lb'::regclass;
UPDATE mem_scores SET score = score * 1000;  -- same sizes: blocks are reused
DELETE FROM mem_scores WHERE score <= 9000;
SELECT entries, bytes, bytes / entries AS per_entry FROM kv_sorted_stats WHERE index = 'mem_lb'::regclass;
INSERT INTO mem_scores VALUES ('m100', 1);       -- 24 + 8 + 6 + 4 = 42 -> 48 + 4
INSERT INTO mem_scores VALUES ('m1000000', 0);   -- 24 + 8 + 10 + 8 = 50 -> 56 + 4
SELECT entries, bytes FROM kv_sorted_stats WHERE index = 'mem_lb'::regclass;
SELECT * FROM TOPK('mem_lb', 2);
SELECT RANK('mem_lb', 'm100'), RANK('mem_lb', 'm1000000'), RANK('mem_lb', 'm99');
-- A table with a kv_expiry column: 40 + 16 = 56, + 4 = 60.
CREATE TABLE mem_ttl (key text COLLATE "C" PRIMARY KEY, score bigint, expires kv_expiry) USING kv;
INSERT INTO mem_ttl SELECT 'm' || lpad(i::text, 2, '0'), i, NULL FROM generate_series(1, 10) i;
CREATE INDEX mem_ttl_lb ON mem_ttl USING kv_sorted (score);
SELECT SORTED_COUNT('mem_ttl_lb');
SELECT entries, bytes, bytes / entries AS per_entry FROM kv_sorted_stats WHERE index = 'mem_ttl_lb'::regclass;
-- Entries up to 255 bytes of member and of sort key (here 8 + 240 + 2); a longer one fails the write
-- (54000) and leaves table and index as they were.
INSERT INTO mem_scores VALUES (repeat('x', 240), 5);
SELECT RANK('mem_lb', repeat('x', 240)) AS long_rank, SORTED_COUNT('mem_lb');
INSERT INTO mem_scores VALUES (repeat('y', 250), 5);
\set VERBOSITY sqlstate
INSERT INTO mem_scores VALUES (repeat('y', 250), 5);
\set VERBOSITY default
SELECT count(*), SORTED_COUNT('mem_lb') FROM mem_scores;
SELECT sorted_check('mem_lb', 'mem_scores', 'score DESC, key');
DROP TABLE mem_scores, mem_ttl;
