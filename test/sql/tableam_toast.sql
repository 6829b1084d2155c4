-- Values of several MB round-trip through TOAST; the TOAST table of a kv table is a heap table
-- (heap's TOAST code would refuse a kv one).  The values are hex digests: pglz cannot shrink them,
-- so they really go out of line.
CREATE TABLE toast_kv (key text PRIMARY KEY, val text, bin bytea, expires kv_expiry) USING kv;
SELECT a.amname AS toast_am, t.relkind
	FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid JOIN pg_am a ON a.oid = t.relam
	WHERE c.oid = 'toast_kv'::regclass;
-- Source values (seed -> text of mb megabytes) and their digests, computed once.
CREATE TEMP TABLE toast_src AS
	SELECT seed, string_agg(md5(seed::text || ':' || g), '' ORDER BY g) AS v
	FROM (VALUES (1, 3), (2, 2), (3, 2), (4, 4), (5, 3), (6, 1), (7, 2)) s(seed, mb),
		generate_series(1, mb * 32768) g GROUP BY seed;
CREATE FUNCTION toast_text(int) RETURNS text LANGUAGE sql AS $$ SELECT v FROM toast_src WHERE seed = $1 $$;
CREATE FUNCTION toast_md5(int) RETURNS text LANGUAGE sql AS $$ SELECT md5(v) FROM toast_src WHERE seed = $1 $$;
CREATE FUNCTION toast_bin_md5(int) RETURNS text LANGUAGE sql AS
	$$ SELECT md5(decode(v, 'hex')) FROM toast_src WHERE seed = $1 $$;
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO toast_kv VALUES
	('big', toast_text(1), decode(toast_text(2), 'hex'), NULL),
	('expiring', toast_text(3), NULL, kv_ttl(10));
SELECT key, length(val) AS val_len, md5(val) = toast_md5(1) AS val_ok,
	length(bin) AS bin_len, md5(bin) = toast_bin_md5(2) AS bin_ok,
	pg_column_size(val) = length(val) AS stored_uncompressed
	FROM toast_kv WHERE key = 'big';
SELECT pg_relation_size(reltoastrelid) > 5000000 AS toasted FROM pg_class WHERE oid = 'toast_kv'::regclass;
-- Updating another column keeps the TOASTed values; updating the value replaces them.
UPDATE toast_kv SET expires = kv_ttl(86400) WHERE key = 'big';
SELECT key, md5(val) = toast_md5(1) AS val_ok, md5(bin) = toast_bin_md5(2) AS bin_ok FROM toast_kv WHERE key = 'big';
UPDATE toast_kv SET val = toast_text(4) WHERE key = 'big';
SELECT length(val), md5(val) = toast_md5(4) AS val_ok, md5(bin) = toast_bin_md5(2) AS bin_ok
	FROM toast_kv WHERE key = 'big';
-- An expired large value is hidden, taken over by a new large value, and the new one reads back.
SET nodedb_kv.test_clock_offset = '20s';
SELECT key FROM toast_kv ORDER BY key;
INSERT INTO toast_kv VALUES ('expiring', toast_text(5), decode(toast_text(6), 'hex'), NULL);
SELECT key, length(val) AS val_len, length(bin) AS bin_len,
	md5(val) = CASE key WHEN 'big' THEN toast_md5(4) ELSE toast_md5(5) END AS val_ok,
	md5(bin) = CASE key WHEN 'big' THEN toast_bin_md5(2) ELSE toast_bin_md5(6) END AS bin_ok
	FROM toast_kv ORDER BY key;
-- Through COPY TO / FROM as well.
CREATE TEMP TABLE toast_copy (val text);
COPY (SELECT val FROM toast_kv WHERE key = 'expiring') TO PROGRAM 'cat > /dev/null';
INSERT INTO toast_copy SELECT val FROM toast_kv WHERE key = 'expiring';
SELECT md5(val) = toast_md5(5) AS copy_ok FROM toast_copy;
-- VACUUM (which processes the TOAST table with the heap AM) and a rewrite keep them intact.
VACUUM toast_kv;
VACUUM FULL toast_kv;
SELECT a.amname AS toast_am FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid JOIN pg_am a ON a.oid = t.relam
	WHERE c.oid = 'toast_kv'::regclass;
SELECT key, md5(val) = CASE key WHEN 'big' THEN toast_md5(4) ELSE toast_md5(5) END AS val_ok,
	md5(bin) = CASE key WHEN 'big' THEN toast_bin_md5(2) ELSE toast_bin_md5(6) END AS bin_ok
	FROM toast_kv ORDER BY key;
-- Converting a heap table with TOASTed values to kv: its TOAST table stays heap.
CREATE TABLE toast_conv (key int PRIMARY KEY, val text);
INSERT INTO toast_conv VALUES (1, toast_text(7));
ALTER TABLE toast_conv SET ACCESS METHOD kv;
SELECT a.amname AS am, ta.amname AS toast_am
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam JOIN pg_class t ON t.oid = c.reltoastrelid
	JOIN pg_am ta ON ta.oid = t.relam WHERE c.oid = 'toast_conv'::regclass;
SELECT md5(val) = toast_md5(7) AS val_ok FROM toast_conv;
DROP TABLE toast_kv, toast_conv;
DROP FUNCTION toast_text(int), toast_md5(int), toast_bin_md5(int);
