-- ALTER TABLE ... SET ACCESS METHOD kv / heap.  Converting needs a single-column primary key; live
-- data is preserved both ways; the expiry index is created on conversion to kv; rows whose expiry
-- has passed are absent in a kv table, so converting back to heap does not bring them back.
CREATE FUNCTION conv_am(regclass) RETURNS name LANGUAGE sql AS
	$$ SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = $1 $$;
CREATE FUNCTION conv_indexes(regclass) RETURNS TABLE (index regclass, def text) LANGUAGE sql AS
	$$ SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = $1
		ORDER BY indexrelid::regclass::text $$;

-- A heap table with a primary key and an expiry column (which means nothing in a heap table).
CREATE TABLE conv (key text PRIMARY KEY, val text, expires kv_expiry);
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO conv VALUES ('live', 'v1', kv_ttl(86400)), ('never', 'v2', NULL), ('soon', 'v3', kv_ttl(10)),
	('past', 'v4', '2000-01-01 00:00:00+00');
SET nodedb_kv.test_clock_offset = '20s';
SELECT key, val FROM conv ORDER BY key;
ALTER TABLE conv SET ACCESS METHOD kv;
SELECT conv_am('conv');
SELECT * FROM conv_indexes('conv');
SELECT key, val FROM conv ORDER BY key;
-- It behaves as a kv table: takeover of an expired key, duplicates of live keys refused.
INSERT INTO conv VALUES ('soon', 'v3 again', NULL);
INSERT INTO conv VALUES ('live', 'dup', NULL);
SELECT key, val FROM conv ORDER BY key;
-- The rewrite itself is no change of the collection: only the takeover and the insert count.
SELECT inserted, updated, deleted, expired, truncated FROM kv_stats WHERE collection = 'conv'::regclass;
-- Back to heap: the expired row ('past') is absent and stays absent.
ALTER TABLE conv SET ACCESS METHOD heap;
SELECT conv_am('conv');
SELECT * FROM conv_indexes('conv');
SET nodedb_kv.test_clock_offset = '-1h';
SELECT key, val FROM conv ORDER BY key;
SET nodedb_kv.test_clock_offset = '20s';
-- And to kv again: the existing index on the expiry column serves, no second one is created.
ALTER TABLE conv SET ACCESS METHOD kv;
SELECT * FROM conv_indexes('conv');
SELECT key, val FROM conv ORDER BY key;

-- Without a primary key: refused, and the table is left as it was.
CREATE TABLE conv_nopk (key text, val text, expires kv_expiry);
INSERT INTO conv_nopk VALUES ('a', 'x', NULL), ('b', 'y', '2000-01-01 00:00:00+00');
ALTER TABLE conv_nopk SET ACCESS METHOD kv;
SELECT conv_am('conv_nopk');
SELECT * FROM conv_indexes('conv_nopk');
SELECT key, val FROM conv_nopk ORDER BY key;
-- A composite primary key: refused too.
CREATE TABLE conv_pk2 (a int, b int, val text, PRIMARY KEY (a, b));
INSERT INTO conv_pk2 VALUES (1, 1, 'x');
ALTER TABLE conv_pk2 SET ACCESS METHOD kv;
SELECT conv_am('conv_pk2');
-- Two kv_expiry columns: refused.
CREATE TABLE conv_exp2 (key int PRIMARY KEY, e1 kv_expiry, e2 kv_expiry);
ALTER TABLE conv_exp2 SET ACCESS METHOD kv;
SELECT conv_am('conv_exp2');
-- Adding the key in the same statement works (the rules look at the result of the statement).
ALTER TABLE conv_nopk ADD PRIMARY KEY (key), SET ACCESS METHOD kv;
SELECT conv_am('conv_nopk');
SELECT * FROM conv_indexes('conv_nopk');
SELECT key, val FROM conv_nopk ORDER BY key;
-- Without an expiry column: a kv table whose keys never expire, no expiry index.
CREATE TABLE conv_noexp (key int PRIMARY KEY, val text);
INSERT INTO conv_noexp SELECT g, 'v' || g FROM generate_series(1, 5) g;
ALTER TABLE conv_noexp SET ACCESS METHOD kv;
SELECT conv_am('conv_noexp');
SELECT * FROM conv_indexes('conv_noexp');
SELECT count(*) FROM conv_noexp;
-- Adding an expiry column later creates its index.
ALTER TABLE conv_noexp ADD COLUMN expires kv_expiry;
SELECT * FROM conv_indexes('conv_noexp');
UPDATE conv_noexp SET expires = kv_ttl(-1) WHERE val = 'v2';
SELECT key, val FROM conv_noexp ORDER BY key;

DROP TABLE conv, conv_nopk, conv_pk2, conv_exp2, conv_noexp;
DROP FUNCTION conv_am(regclass), conv_indexes(regclass);
