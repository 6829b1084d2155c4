-- Issue 7, the table AM's part: hostile and careless uses of kv tables, each of which once failed
-- or misbehaved, kept so none of it comes back.  Runs before api_setup (alphabetical order): it
-- creates the extension and drops everything at the end.
CREATE EXTENSION nodedb_kv;

-- Materialized views and CREATE TABLE AS cannot declare a primary key: kv is refused for them,
-- whether asked for with USING kv or through default_table_access_method.
CREATE MATERIALIZED VIEW adv_mv USING kv AS SELECT 1 AS key;
SET default_table_access_method = kv;
CREATE MATERIALIZED VIEW adv_mv AS SELECT 1 AS key;
CREATE TABLE adv_ctas AS SELECT 1 AS key;
SELECT 1 AS key INTO adv_select_into;
RESET default_table_access_method;
SELECT to_regclass('adv_mv') AS mv, to_regclass('adv_ctas') AS ctas, to_regclass('adv_select_into') AS select_into;
-- A heap materialized view over a kv table is fine (and sees no expired rows).
CREATE TABLE adv_src (key int PRIMARY KEY, e kv_expiry) USING kv;
INSERT INTO adv_src VALUES (1, NULL), (2, kv_ttl(-1));
CREATE MATERIALIZED VIEW adv_mv AS SELECT key FROM adv_src;
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'adv_mv'::regclass;
SELECT key FROM adv_mv ORDER BY key;
DROP MATERIALIZED VIEW adv_mv;
DROP TABLE adv_src;

-- kv_ttl_remaining: 'infinity' is a legal never-expiring value, like NULL: both give NULL;
-- '-infinity' has long passed.
SELECT kv_ttl_remaining('infinity') IS NULL AS infinity_null, kv_ttl_remaining(NULL) IS NULL AS null_null,
       kv_ttl_remaining('-infinity') AS minus_infinity;
CREATE TABLE adv_inf (key text PRIMARY KEY, e kv_expiry) USING kv;
INSERT INTO adv_inf VALUES ('inf', 'infinity'), ('never', NULL), ('hour', kv_ttl(3600));
SELECT key, kv_ttl_remaining(e) IS NULL AS never, kv_ttl_remaining(e) > '59 min' AS about_an_hour
	FROM adv_inf ORDER BY key;
-- Thirty years later only the hour key is gone.
SET nodedb_kv.test_clock_offset = '946080000s';
SELECT key FROM adv_inf ORDER BY key;
RESET nodedb_kv.test_clock_offset;
DROP TABLE adv_inf;

-- A deferrable primary key is named as such (it used to be reported as missing).
CREATE TABLE adv_deferrable (key int PRIMARY KEY DEFERRABLE) USING kv;
CREATE TABLE adv_deferrable (key int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED) USING kv;
SET default_table_access_method = kv;
CREATE TABLE adv_deferrable (key int);
ALTER TABLE adv_deferrable ADD PRIMARY KEY (key) DEFERRABLE;
ALTER TABLE adv_deferrable ADD PRIMARY KEY (key);
RESET default_table_access_method;
\d adv_deferrable
DROP TABLE adv_deferrable;

-- A domain over kv_expiry would be an expiry column that never expires: refused on kv tables, by
-- every route (CREATE, ADD COLUMN, ALTER COLUMN TYPE, SET ACCESS METHOD); fine on heap tables.
CREATE DOMAIN adv_expiry AS kv_expiry;
CREATE DOMAIN adv_expiry_checked AS adv_expiry CHECK (VALUE > '2000-01-01');
CREATE TABLE adv_dom (key int PRIMARY KEY, e adv_expiry) USING kv;
CREATE TABLE adv_dom (key int PRIMARY KEY, e adv_expiry_checked) USING kv;
CREATE TABLE adv_dom (key int PRIMARY KEY, e timestamptz) USING kv;
ALTER TABLE adv_dom ADD COLUMN e2 adv_expiry;
ALTER TABLE adv_dom ALTER COLUMN e TYPE adv_expiry_checked;
CREATE TABLE adv_dom_heap (key int PRIMARY KEY, e adv_expiry);
ALTER TABLE adv_dom_heap SET ACCESS METHOD kv;
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
	WHERE c.relname IN ('adv_dom', 'adv_dom_heap') ORDER BY 1;
DROP TABLE adv_dom, adv_dom_heap;
DROP DOMAIN adv_expiry_checked, adv_expiry;

-- ALTERs that take the expiry property away (retype or drop the expiry column, convert to heap), and
-- ALTERs that rewrite the table, first delete the rows already expired as the expiry worker would:
-- kv_stats counts them as expired (and logical decoding shows the deletes).  The rest keep their
-- values; with the property gone, they never expire.
CREATE FUNCTION adv_expired(t regclass) RETURNS bigint LANGUAGE sql
	AS $$ SELECT coalesce(sum(expired), 0)::bigint FROM kv_stats WHERE collection = t $$;
CREATE TABLE adv_alter (key int PRIMARY KEY, val int, e kv_expiry) USING kv;
INSERT INTO adv_alter SELECT g, g, CASE WHEN g <= 3 THEN kv_ttl(-1) WHEN g <= 6 THEN kv_ttl(600) END
	FROM generate_series(1, 9) g;
-- No rewrite: the expiry column becomes a plain timestamptz (binary coercible).
ALTER TABLE adv_alter ALTER COLUMN e TYPE timestamptz;
SELECT adv_expired('adv_alter') AS expired_counted;
SELECT key, e IS NULL AS no_expiry FROM adv_alter ORDER BY key;
-- Without the property, a clock far ahead hides nothing.
SET nodedb_kv.test_clock_offset = '1h';
SELECT count(*) AS rows_an_hour_later FROM adv_alter;
RESET nodedb_kv.test_clock_offset;
DROP TABLE adv_alter;
-- A rewrite of another column: the expired rows are counted, the live ones stay and still expire.
CREATE TABLE adv_rewrite (key int PRIMARY KEY, val int, e kv_expiry) USING kv;
INSERT INTO adv_rewrite SELECT g, g, CASE WHEN g <= 3 THEN kv_ttl(-1) WHEN g <= 6 THEN kv_ttl(600) END
	FROM generate_series(1, 9) g;
SELECT relfilenode AS before_rewrite FROM pg_class WHERE oid = 'adv_rewrite'::regclass \gset
ALTER TABLE adv_rewrite ALTER COLUMN val TYPE bigint;
SELECT relfilenode <> :before_rewrite AS rewritten FROM pg_class WHERE oid = 'adv_rewrite'::regclass;
SELECT adv_expired('adv_rewrite') AS expired_counted;
SELECT key FROM adv_rewrite ORDER BY key;
SET nodedb_kv.test_clock_offset = '20min';
SELECT key FROM adv_rewrite ORDER BY key;
RESET nodedb_kv.test_clock_offset;
-- Rolled back with the ALTER: the deletes and their count go too.
SET nodedb_kv.test_clock_offset = '20min';
BEGIN;
ALTER TABLE adv_rewrite DROP COLUMN e;
ROLLBACK;
SELECT adv_expired('adv_rewrite') AS still_counted_once;
-- Dropping the expiry column, and converting to heap.
ALTER TABLE adv_rewrite DROP COLUMN e;
SELECT adv_expired('adv_rewrite') AS expired_counted;
RESET nodedb_kv.test_clock_offset;
SELECT key FROM adv_rewrite ORDER BY key;
DROP TABLE adv_rewrite;
CREATE TABLE adv_to_heap (key int PRIMARY KEY, e kv_expiry) USING kv;
INSERT INTO adv_to_heap SELECT g, CASE WHEN g <= 2 THEN kv_ttl(-1) END FROM generate_series(1, 4) g;
ALTER TABLE adv_to_heap SET ACCESS METHOD heap;
SELECT adv_expired('adv_to_heap') AS expired_counted;
SELECT key FROM adv_to_heap ORDER BY key;
DROP TABLE adv_to_heap;
DROP FUNCTION adv_expired;

-- "Now" is per statement, also in REPEATABLE READ: a SCROLL cursor re-reads its rows at each FETCH
-- with that FETCH's instant, so a key that expires between two FETCHes is gone from the second
-- (documented in the README's rules on "now").  The test clock stands in for time passing.
CREATE TABLE adv_cursor (key int PRIMARY KEY, e kv_expiry) USING kv;
INSERT INTO adv_cursor SELECT g, CASE WHEN g % 2 = 0 THEN kv_ttl(600) END FROM generate_series(1, 6) g;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
DECLARE adv_c SCROLL CURSOR FOR SELECT key FROM adv_cursor ORDER BY key;
FETCH ALL FROM adv_c;
SET LOCAL nodedb_kv.test_clock_offset = '20min';
FETCH BACKWARD ALL FROM adv_c;
COMMIT;
DROP TABLE adv_cursor;

-- currtid2() follows a row's update chain: when the newest version has expired, the row is gone,
-- and (as heap does for a deleted row) the TID given comes back.
CREATE TABLE adv_tid (key int PRIMARY KEY, val text, e kv_expiry) USING kv;
INSERT INTO adv_tid VALUES (1, 'first', NULL);
SELECT ctid AS first_tid FROM adv_tid WHERE key = 1 \gset
UPDATE adv_tid SET val = 'second', e = kv_ttl(600) WHERE key = 1;
SELECT currtid2('adv_tid', :'first_tid') = ctid AS follows_to_live_version FROM adv_tid WHERE key = 1;
SET nodedb_kv.test_clock_offset = '20min';
SELECT currtid2('adv_tid', :'first_tid') = :'first_tid' AS expired_version_not_returned;
RESET nodedb_kv.test_clock_offset;
DROP TABLE adv_tid;

-- nodedb_kv.show_expired (for pg_dump and pg_restore, see TAP 014): reads of this session return
-- stored expired rows, every plan shape; writes still treat them as absent.  Superuser only (or
-- GRANT SET ON PARAMETER).
CREATE TABLE adv_show (key int PRIMARY KEY, e kv_expiry) USING kv;
INSERT INTO adv_show VALUES (1, kv_ttl(-1)), (2, NULL), (3, kv_ttl(-1));
SELECT key FROM adv_show ORDER BY key;
SET nodedb_kv.show_expired = on;
SELECT key, e IS NOT NULL AND e <= kv_now() AS expired FROM adv_show ORDER BY key;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT key FROM adv_show WHERE key = 1;
SELECT key FROM adv_show WHERE key = 1;
RESET enable_seqscan;
RESET enable_bitmapscan;
UPDATE adv_show SET e = NULL WHERE key = 1;
DELETE FROM adv_show WHERE key = 3;
INSERT INTO adv_show VALUES (1, NULL) RETURNING key;
SELECT key, e IS NULL AS never FROM adv_show ORDER BY key;
RESET nodedb_kv.show_expired;
SELECT key FROM adv_show ORDER BY key;
CREATE ROLE adv_plain;
SET ROLE adv_plain;
SET nodedb_kv.show_expired = on;
RESET ROLE;
DROP ROLE adv_plain;
DROP TABLE adv_show;

DROP EXTENSION nodedb_kv;
