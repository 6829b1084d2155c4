-- Builds from the table (the first use after CREATE INDEX, REINDEX) sort the entries by their encoded
-- sort keys with an 8-byte numeric prefix compared first and the whole keys only on equal prefixes
-- (sortedindex_load.cpp), then link each kept window's tree at once.  Cases: text sort keys sharing
-- long prefixes, keys shorter than 8 bytes and empty ones, ASC and DESC, C and default collation,
-- equal scores (the member breaks ties), and a daily index whose build holds several future days
-- that become current as the test clock moves.  sorted_check comes from sortedindex_basic.
CREATE TABLE build_names (key text PRIMARY KEY, name text COLLATE "C", dname text, score int) USING kv;
INSERT INTO build_names SELECT 'k' || i, n, n || (i % 3), i % 4
    FROM generate_series(1, 3000) i,
    LATERAL (SELECT CASE i % 6 WHEN 0 THEN 'player-' || lpad((i * 37 % 1000)::text, 6, '0')
                               WHEN 1 THEN 'player-' || lpad((i * 37 % 1000)::text, 6, '0') || '-x'
                               WHEN 2 THEN substr('player-', 1, i % 8)
                               WHEN 3 THEN 'player-000' || (i % 3)
                               WHEN 4 THEN NULL
                               ELSE 'pla' || chr(1 + i % 3) END AS n) x;
CREATE INDEX b_name ON build_names USING kv_sorted (name);
CREATE INDEX b_name_desc ON build_names USING kv_sorted (name DESC, score);
CREATE INDEX b_dname ON build_names USING kv_sorted (dname DESC);
CREATE INDEX b_score ON build_names USING kv_sorted (score DESC);
CREATE FUNCTION check_names() RETURNS text LANGUAGE sql AS $$
    SELECT sorted_check('b_name', 'build_names', 'name, key', 'name IS NOT NULL')
        || ', ' || sorted_check('b_name_desc', 'build_names', 'name DESC, score, key', 'name IS NOT NULL')
        || ', ' || sorted_check('b_dname', 'build_names', 'dname DESC, key', 'dname IS NOT NULL')
        || ', ' || sorted_check('b_score', 'build_names', 'score DESC, key', 'score IS NOT NULL')
$$;
SELECT check_names() AS built;
SELECT count(DISTINCT substr(name, 1, 8)) < count(DISTINCT name) AS prefixes_shared,
       count(*) FILTER (WHERE length(name) < 8) > 0 AS short_keys,
       count(*) FILTER (WHERE name = '') > 0 AS empty_key
    FROM build_names;
SELECT * FROM TOPK('b_name_desc', 4);
REINDEX TABLE build_names;
SELECT check_names() AS rebuilt;
-- A daily board built at noon on 2030-03-10: rows from two days before to three days after; the
-- build links today's tree and the future days' trees, which serve as the clock moves on.
CREATE FUNCTION build_clock(ts timestamptz) RETURNS void LANGUAGE sql AS $$
    SELECT set_config('nodedb_kv.test_clock_offset', (extract(epoch FROM ts - statement_timestamp()))::text, false)
$$;
CREATE FUNCTION check_day(day timestamptz) RETURNS text LANGUAGE sql AS $$
    SELECT sorted_check('b_daily', 'build_days', 'score DESC, key',
                        format('at >= %L AND at < %L', day, day + interval '1 day'))
$$;
CREATE TABLE build_days (key text PRIMARY KEY, score int, at timestamptz) USING kv;
INSERT INTO build_days SELECT 'd' || i, i % 50,
        timestamptz '2030-03-10 00:00Z' + ((i % 6) - 2) * interval '1 day' + (i % 24) * interval '1 hour'
    FROM generate_series(1, 1200) i;
CREATE INDEX b_daily ON build_days USING kv_sorted (score DESC) WITH (window = 'daily', window_column = 'at');
SELECT build_clock('2030-03-10 12:00Z');
SELECT check_day('2030-03-10 00:00Z') AS day0, sorted_count('b_daily') AS n0;
SELECT build_clock('2030-03-11 12:00Z');
SELECT check_day('2030-03-11 00:00Z') AS day1, sorted_count('b_daily') AS n1;
SELECT build_clock('2030-03-13 01:00Z');
SELECT check_day('2030-03-13 00:00Z') AS day3, sorted_count('b_daily') AS n3;
SELECT build_clock('2030-03-14 01:00Z');
SELECT check_day('2030-03-14 00:00Z') AS day4, sorted_count('b_daily') AS n4;
RESET nodedb_kv.test_clock_offset;
DROP TABLE build_names, build_days;
DROP FUNCTION check_names(), check_day(timestamptz), build_clock(timestamptz);
