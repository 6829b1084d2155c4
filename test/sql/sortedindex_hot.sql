-- kv_sorted indexes keep no entry per row version (capture feeds them at commit), so an update that
-- changes only their columns may be HOT: no new primary-key entry per KV_INCR of the score.  Another
-- index using the column (a btree, an expression, a predicate) still blocks HOT; the answers stay
-- exact either way.  sorted_check comes from sortedindex_basic.
CREATE TABLE hot_scores (key text PRIMARY KEY, score bigint, other bigint) USING kv;
INSERT INTO hot_scores SELECT 'h' || i, i, i FROM generate_series(1, 20) i;
CREATE INDEX hot_lb ON hot_scores USING kv_sorted (score DESC);
-- Three score updates (UPDATE and KV_INCR): how many were HOT, counted in this transaction; then,
-- committed, the index against the oracle.
CREATE FUNCTION hot_probe() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    u0 bigint := pg_stat_get_xact_tuples_updated('hot_scores'::regclass);
    h0 bigint := pg_stat_get_xact_tuples_hot_updated('hot_scores'::regclass);
BEGIN
    UPDATE hot_scores SET score = score + 10 WHERE key IN ('h1', 'h2');
    PERFORM KV_INCR('hot_scores', 'h3', 100, field => 'score');
    RETURN format('%s updated, %s HOT', pg_stat_get_xact_tuples_updated('hot_scores'::regclass) - u0,
                  pg_stat_get_xact_tuples_hot_updated('hot_scores'::regclass) - h0);
END
$$;
SELECT hot_probe() AS only_kv_sorted;
SELECT sorted_check('hot_lb', 'hot_scores', 'score DESC, key', 'score IS NOT NULL') AS exact;
SELECT sorted_check('hot_lb', 'hot_scores', 'score DESC, key', 'score IS NOT NULL'),
       (SELECT score FROM hot_scores WHERE key = 'h3') AS h3_by_key, rank('hot_lb', 'h3');
CREATE INDEX hot_other ON hot_scores (other);
SELECT hot_probe() AS btree_on_another_column;
SELECT sorted_check('hot_lb', 'hot_scores', 'score DESC, key', 'score IS NOT NULL') AS exact;
CREATE INDEX hot_expr ON hot_scores ((score % 7));
SELECT hot_probe() AS expression_on_score;
SELECT sorted_check('hot_lb', 'hot_scores', 'score DESC, key', 'score IS NOT NULL') AS exact;
DROP INDEX hot_expr;
CREATE INDEX hot_pred ON hot_scores (other) WHERE score > 0;
SELECT hot_probe() AS predicate_on_score;
SELECT sorted_check('hot_lb', 'hot_scores', 'score DESC, key', 'score IS NOT NULL') AS exact;
DROP INDEX hot_pred;
CREATE INDEX hot_btree ON hot_scores (score);
SELECT hot_probe() AS btree_on_score;
SELECT sorted_check('hot_lb', 'hot_scores', 'score DESC, key', 'score IS NOT NULL') AS exact;
DROP INDEX hot_btree;
SELECT hot_probe() AS after_drop;
SELECT sorted_check('hot_lb', 'hot_scores', 'score DESC, key', 'score IS NOT NULL') AS exact;
SELECT sorted_check('hot_lb', 'hot_scores', 'score DESC, key', 'score IS NOT NULL'),
       (SELECT count(*) FROM hot_scores WHERE key LIKE 'h%') AS rows_by_scan,
       (SELECT string_agg(key || '=' || score, ',' ORDER BY key) FROM hot_scores WHERE key IN ('h1', 'h2', 'h3')) AS by_key;
DROP TABLE hot_scores;
DROP FUNCTION hot_probe();
