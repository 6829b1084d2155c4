-- Expired rows leave every read of a kv_sorted index at the reader's instant (CONTRACT.md: expired
-- keys are absent for every reader), before the expiry worker (off here) or a takeover deletes them:
-- RANK / TOPK / RANGE / SORTED_COUNT equal row_number() over the rows live at kv_now(), the test clock
-- moving forward and back, for structures fed at commit and structures built from the table, with
-- and without a window.  sorted_check comes from sortedindex_basic.
CREATE TABLE ttl_scores (key text PRIMARY KEY, score bigint, at timestamptz DEFAULT kv_now(), expires kv_expiry) USING kv;
CREATE INDEX ttl_lb ON ttl_scores USING kv_sorted (score DESC);
CREATE INDEX ttl_daily ON ttl_scores USING kv_sorted (score) WITH (window = 'daily', window_column = 'at');
-- range_check: RANGE over the whole span equals the oracle too (ranks and keys).
CREATE FUNCTION range_check(idx text, ord text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM (SELECT key, row_number() OVER (ORDER BY %s) AS rn FROM ttl_scores
                    WHERE score IS NOT NULL) o FULL JOIN range(%L, -1e9, 1e9) r ON r.key = o.key AND r.rank = o.rn
                    WHERE r.key IS NULL OR o.key IS NULL', ord, idx) INTO bad;
    RETURN CASE WHEN bad = 0 THEN 'ok' ELSE format('range: %s mismatches', bad) END;
END
$$;
CREATE FUNCTION ttl_check() RETURNS text LANGUAGE sql AS $$
    SELECT 'lb ' || sorted_check('ttl_lb', 'ttl_scores', 'score DESC, key', 'score IS NOT NULL')
        || ', range ' || range_check('ttl_lb', 'score DESC, key')
        || ', daily ' || sorted_check('ttl_daily', 'ttl_scores', 'score, key',
               format('score IS NOT NULL AND at >= %L AND at < %L',
                      date_bin('1 day', kv_now(), timestamptz '2000-01-01 00:00Z'),
                      date_bin('1 day', kv_now(), timestamptz '2000-01-01 00:00Z') + interval '1 day'))
$$;
SET nodedb_kv.test_clock_offset = 0;
-- 200 rows: every 4th never expires, the others expire after 10, 20 or 30 seconds.
INSERT INTO ttl_scores (key, score, expires)
    SELECT 'k' || i, (i * 37) % 101, CASE WHEN i % 4 = 0 THEN NULL ELSE kv_ttl(10 * (i % 4)) END
    FROM generate_series(1, 200) i;
SELECT sorted_count('ttl_lb') AS all_live, ttl_check();
-- The clock moves on: the rows expired at each instant leave every answer.
SET nodedb_kv.test_clock_offset = 15;
SELECT sorted_count('ttl_lb') AS after_15s, sorted_count('ttl_daily') AS daily_after_15s, ttl_check();
SELECT rank('ttl_lb', 'k1') AS expired_rank, rank('ttl_lb', 'k2') AS live_rank_not_null,
       (SELECT count(*) FROM topk('ttl_lb', 1000) WHERE key = 'k1') AS expired_in_topk;
SET nodedb_kv.test_clock_offset = 25;
SELECT sorted_count('ttl_lb') AS after_25s, ttl_check();
SET nodedb_kv.test_clock_offset = 35;
SELECT sorted_count('ttl_lb') AS after_35s, ttl_check();
-- The clock goes back: rows live again at that instant come back.
SET nodedb_kv.test_clock_offset = 12;
SELECT sorted_count('ttl_lb') AS back_at_12s, ttl_check();
SET nodedb_kv.test_clock_offset = 0;
SELECT sorted_count('ttl_lb') AS back_at_0s, ttl_check();
-- Writes while some entries are in the expired set: a changed expiry (EXPIRE / PERSIST), a new score
-- of a live row, a delete, and takeovers of expired keys (INSERT and KV_INCR).
SET nodedb_kv.test_clock_offset = 15;
UPDATE ttl_scores SET expires = NULL WHERE key IN ('k2', 'k3');
UPDATE ttl_scores SET expires = kv_ttl(1) WHERE key IN ('k4', 'k8');
UPDATE ttl_scores SET score = score + 1000 WHERE key = 'k6';
DELETE FROM ttl_scores WHERE key = 'k7';
INSERT INTO ttl_scores (key, score) VALUES ('k5', 5000);
SELECT KV_INCR('ttl_scores', 'k9', 7, field => 'score');
SELECT sorted_count('ttl_lb') AS after_writes, ttl_check();
SELECT rank('ttl_lb', 'k5') AS taken_over_first, rank('ttl_lb', 'k9') IS NOT NULL AS incr_takeover_ranked;
SET nodedb_kv.test_clock_offset = 17;
SELECT rank('ttl_lb', 'k4') AS expired_after_expire, ttl_check();
SET nodedb_kv.test_clock_offset = 100;
SELECT sorted_count('ttl_lb') AS after_100s, ttl_check();
SET nodedb_kv.test_clock_offset = 0;
SELECT ttl_check();
-- A structure built from the table (REINDEX: first use rebuilds it) holds expired rows too and
-- answers for the reader's instant, forward and back.
SET nodedb_kv.test_clock_offset = 15;
REINDEX INDEX ttl_lb;
SELECT sorted_count('ttl_lb') AS rebuilt_at_15s, ttl_check();
SET nodedb_kv.test_clock_offset = 0;
SELECT sorted_count('ttl_lb') AS rebuilt_back_at_0s, ttl_check();
SET nodedb_kv.test_clock_offset = 40;
SELECT sorted_count('ttl_lb') AS rebuilt_at_40s, ttl_check();
-- The entries still take memory until deleted (the expiry worker's deletes free them).
SELECT entries FROM kv_sorted_stats WHERE index = 'ttl_lb'::regclass;
RESET nodedb_kv.test_clock_offset;
DROP TABLE ttl_scores;
DROP FUNCTION ttl_check();
DROP FUNCTION range_check(text, text);
