-- kv_now(), kv_ttl(), kv_ttl_remaining() with kv tables: boundaries, NULL = never, a DEFAULT TTL,
-- and the test clock.  Intervals are shown rounded or compared, never raw timestamps.
CREATE TABLE ttl_kv (key text PRIMARY KEY, val text, expires kv_expiry DEFAULT kv_ttl(3600)) USING kv;
SET nodedb_kv.test_clock_offset = 0;
-- kv_ttl is statement time + seconds, the same value for every row of a statement.
INSERT INTO ttl_kv (key, val) SELECT 'd' || g, 'default' FROM generate_series(1, 3) g;
SELECT count(DISTINCT expires) AS distinct_expiry FROM ttl_kv;
SELECT key, kv_ttl_remaining(expires) BETWEEN '59 min' AND '1 hour' AS about_an_hour FROM ttl_kv ORDER BY key;
INSERT INTO ttl_kv VALUES ('never', 'null expiry', NULL), ('explicit', 'ten minutes', kv_ttl(600));
INSERT INTO ttl_kv VALUES ('zero', 'expires at once', kv_ttl(0)) RETURNING key, kv_ttl_remaining(expires);
INSERT INTO ttl_kv VALUES ('negative', 'in the past', kv_ttl(-5)) RETURNING key, kv_ttl_remaining(expires);
-- An expiry equal to "now" is expired (expiry <= now).
SELECT key FROM ttl_kv WHERE key IN ('zero', 'negative');
SELECT key, kv_ttl_remaining(expires) IS NULL AS never FROM ttl_kv WHERE key = 'never';
SELECT kv_ttl(10) > kv_now() AS future, kv_ttl(-10) < kv_now() AS past, kv_ttl(0) = kv_now() AS now;
SELECT kv_ttl(1.5) - kv_now() AS fractional, kv_ttl(86400 * 365) - kv_now() AS a_year;
-- pg_typeof and casts: kv_expiry is a timestamptz domain.
SELECT pg_typeof(kv_ttl(1)), pg_typeof(kv_now()), pg_typeof(kv_ttl_remaining(kv_ttl(1)));
SELECT '2000-01-01 00:00:00+00'::kv_expiry < kv_now() AS long_ago;
SELECT kv_ttl_remaining('2000-01-01 00:00:00+00') AS remaining;

-- Moving the clock: the offset is added to kv_now(), kv_ttl() and every expiry decision.
SET nodedb_kv.test_clock_offset = '590s';
SELECT kv_now() - statement_timestamp() AS offset;
SELECT key FROM ttl_kv ORDER BY key;
SELECT kv_ttl_remaining(expires) BETWEEN '1 s' AND '10 s' AS ten_seconds_left FROM ttl_kv WHERE key = 'explicit';
SET nodedb_kv.test_clock_offset = '601s';
SELECT key FROM ttl_kv ORDER BY key;
SELECT kv_ttl_remaining(expires) BETWEEN '49 min' AND '50 min' AS fifty_minutes_left FROM ttl_kv WHERE key = 'd1';
SET nodedb_kv.test_clock_offset = '3500s';
SELECT key FROM ttl_kv ORDER BY key;
SET nodedb_kv.test_clock_offset = '3700s';
SELECT key FROM ttl_kv ORDER BY key;
-- NULL never expires, however far the clock moves.
SET nodedb_kv.test_clock_offset = 1e9;
SELECT key FROM ttl_kv ORDER BY key;
SET nodedb_kv.test_clock_offset = '-1h';
SELECT key FROM ttl_kv ORDER BY key;
SET nodedb_kv.test_clock_offset = '1e10';
SET nodedb_kv.test_clock_offset = 'soon';
RESET nodedb_kv.test_clock_offset;

-- The offset is a per-session setting (transaction-scoped with SET LOCAL).
BEGIN;
SET LOCAL nodedb_kv.test_clock_offset = '2h';
SELECT key FROM ttl_kv ORDER BY key;
COMMIT;
SHOW nodedb_kv.test_clock_offset;
SELECT key FROM ttl_kv ORDER BY key;

-- Extending and removing a TTL with UPDATE; PERSIST = set NULL.
SET nodedb_kv.test_clock_offset = 0;
UPDATE ttl_kv SET expires = kv_ttl(7200) WHERE key = 'd1';
UPDATE ttl_kv SET expires = NULL WHERE key = 'd2';
SET nodedb_kv.test_clock_offset = '3700s';
SELECT key, expires IS NULL AS persistent FROM ttl_kv ORDER BY key;
-- A DEFAULT TTL applies to rows inserted without one, COPY included, and takeover rows get it too.
COPY ttl_kv (key, val) FROM stdin;
d3	copied
\.
SELECT key, val, kv_ttl_remaining(expires) BETWEEN '59 min' AND '1 hour' AS about_an_hour
	FROM ttl_kv WHERE key = 'd3';
-- STRICT: NULL in, NULL out.
SELECT kv_ttl(NULL) IS NULL AS ttl_null, kv_ttl_remaining(NULL) IS NULL AS remaining_null;
-- kv_now() is stable within a statement.
SELECT count(DISTINCT kv_now()) FROM generate_series(1, 1000);
-- kv_now() never runs backwards, even when its source (the statement start time) steps back, and
-- rows that expired do not come back: a shared high-water mark holds the clock.  The test-only
-- nodedb_kv.test_clock_source_offset steps the source back an hour.  'stepped' expires at the
-- instant it is written, so it is expired at once.
SET nodedb_kv.test_clock_offset = 0;
CREATE TEMP TABLE ttl_times AS SELECT kv_now() AS t;
INSERT INTO ttl_kv VALUES ('stepped', 'expired before the step', kv_now());
SELECT count(*) AS stepped_visible FROM ttl_kv WHERE key = 'stepped';
SET nodedb_kv.test_clock_source_offset = '-1h';
-- Held at the mark: not back, and behind this statement's start time (which it follows otherwise).
SELECT kv_now() >= t AS not_backwards, kv_now() < statement_timestamp() AS held_at_the_mark FROM ttl_times;
SELECT count(*) AS stepped_visible FROM ttl_kv WHERE key = 'stepped';
SELECT kv_ttl(60) >= t + interval '60 s' AS ttl_from_the_mark FROM ttl_times;
-- The row is still stored: the offset added after the mark (which is allowed to look back) shows it.
SET nodedb_kv.test_clock_offset = '-1h';
SELECT key FROM ttl_kv WHERE key = 'stepped';
SET nodedb_kv.test_clock_offset = 0;
RESET nodedb_kv.test_clock_source_offset;
-- Only backwards steps: a forward one would raise the shared mark for every session, for good.
SET nodedb_kv.test_clock_source_offset = '1s';
DROP TABLE ttl_kv;
