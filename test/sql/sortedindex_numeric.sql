-- numeric sort columns (kv_sorted_numeric_ops): the exact numeric_cmp order across magnitudes, signs,
-- scales and trailing zeros (1.0 ties 1.00), NaN and infinities, ASC and DESC, as a later column, kept
-- through UPDATE / KV_INCR / DELETE; RANGE bounds and its float8 scores; a value too long for the sort
-- key.  sorted_check comes from sortedindex_basic.
CREATE TABLE num_scores (key text PRIMARY KEY, score numeric, tie numeric) USING kv;
INSERT INTO num_scores VALUES
    ('a', 0, 1), ('b', -0.0, 2), ('c', 1.0, 1), ('d', 1.00, 1.5), ('e', 10, 0), ('f', 9.99, 0),
    ('g', 100, 0), ('h', 0.1, 0), ('i', 0.09, 0), ('j', 0.10001, 0), ('k', -1, 0), ('l', -10, 0),
    ('m', -9.99, 0), ('n', -0.1, 0), ('o', -0.09, 0), ('p', 'NaN', 0), ('q', 'Infinity', 0),
    ('r', '-Infinity', 0), ('s', 123456789012345678901234567890.123456789, 0),
    ('t', 123456789012345678901234567890.123456788, 0), ('u', 1e-30, 0), ('v', -1e-30, 0),
    ('w', 1e30, 0), ('x', NULL, 0), ('y', 12, 0), ('z', 1.2, 0), ('aa', 120, 0), ('ab', 0.012, 0),
    ('ac', -120, 0), ('ad', -12, 0), ('ae', -1.2, 0), ('af', 1000000, NULL), ('ag', 999999.999, 0);
CREATE INDEX num_asc ON num_scores USING kv_sorted (score);
CREATE INDEX num_desc ON num_scores USING kv_sorted (score DESC);
CREATE INDEX num_two ON num_scores USING kv_sorted (tie DESC, score);
SELECT sorted_check('num_asc', 'num_scores', 'score, key', 'score IS NOT NULL') AS asc,
       sorted_check('num_desc', 'num_scores', 'score DESC, key', 'score IS NOT NULL') AS desc,
       sorted_check('num_two', 'num_scores', 'tie DESC, score, key', 'tie IS NOT NULL AND score IS NOT NULL') AS two;
-- The order itself, and equal values at another scale next to each other (then by key).
SELECT string_agg(key, ' ' ORDER BY rank) AS ascending FROM topk('num_asc', 100);
SELECT rank('num_asc', 'c') AS one_point_zero, rank('num_asc', 'd') AS one_point_zero_zero,
       rank('num_asc', 'a') AS zero, rank('num_asc', 'b') AS minus_zero, rank('num_asc', 'x') AS null_score;
-- RANGE: bounds as float8, scores reported as the nearest float8, ranks exact.
SELECT rank, key, score FROM range('num_asc', -10, 1) ORDER BY rank;
SELECT rank, key, score FROM range('num_desc', 1e29, 'Infinity') ORDER BY rank;
SELECT count(*) AS range_mismatches FROM range('num_asc', -1e31, 1e31) r
    JOIN (SELECT key, score, row_number() OVER (ORDER BY score, key) AS rn FROM num_scores
          WHERE score IS NOT NULL) o ON o.key = r.key
    WHERE r.rank <> o.rn OR r.score <> o.score::float8 OR o.score NOT BETWEEN -1e31 AND 1e31;
-- Writes reach the index at commit: 500 random values at random scales, then updates, KV_INCR and
-- deletes, each checked against the oracle.
SELECT setseed(0.42);
INSERT INTO num_scores
    SELECT 'r' || i, round((random() - 0.5)::numeric * 10::numeric ^ (random() * 40 - 20)::int, (random() * 25)::int), i % 3
    FROM generate_series(1, 500) i;
SELECT sorted_check('num_asc', 'num_scores', 'score, key', 'score IS NOT NULL') AS after_insert,
       sorted_check('num_two', 'num_scores', 'tie DESC, score, key', 'tie IS NOT NULL AND score IS NOT NULL') AS two;
UPDATE num_scores SET score = -score * 1.5 WHERE key LIKE 'r%' AND right(key, 1) IN ('1', '4', '7');
SELECT KV_INCR('num_scores', 'g', 7, field => 'score') AS incr, KV_INCR('num_scores', 'e', -30, field => 'score') AS decr,
       KV_INCR_FLOAT('num_scores', 'h', 0.25, field => 'score') AS incr_float;
DELETE FROM num_scores WHERE key LIKE 'r%' AND right(key, 1) = '5';
SELECT sorted_check('num_asc', 'num_scores', 'score, key', 'score IS NOT NULL') AS after_writes,
       sorted_check('num_desc', 'num_scores', 'score DESC, key', 'score IS NOT NULL') AS desc;
-- Rebuilt from the table (REINDEX): the same answers.
REINDEX INDEX num_asc;
SELECT sorted_check('num_asc', 'num_scores', 'score, key', 'score IS NOT NULL') AS after_reindex;
-- A value whose digits do not fit the sort key: 54000 at its write, nothing written.
INSERT INTO num_scores VALUES ('long', repeat('7', 600)::numeric, 0);
SELECT count(*) AS long_rows FROM num_scores WHERE key = 'long';
SELECT sorted_check('num_asc', 'num_scores', 'score, key', 'score IS NOT NULL') AS still;
-- A type without an operator class is still refused.
CREATE TABLE interval_scores (key text PRIMARY KEY, d interval) USING kv;
CREATE INDEX ON interval_scores USING kv_sorted (d);
DROP TABLE interval_scores;
DROP TABLE num_scores;
