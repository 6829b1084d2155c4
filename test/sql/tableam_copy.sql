-- COPY FROM (multi_insert: takeover and change capture per row, across batches) and COPY TO (a table
-- scan: expired rows are never emitted).
CREATE TABLE copy_kv (key text PRIMARY KEY, val text DEFAULT 'bulk', expires kv_expiry) USING kv;
-- copy_out: COPY <target> TO a file with <options> (the table-scan path of COPY, not a query), then
-- the file's lines in order, a CSV header first.  COPY of a table emits rows in physical order, which
-- no test should rely on.
CREATE FUNCTION copy_out(target text, options text DEFAULT '') RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	file text := current_setting('data_directory') || '/copy_out.txt';
BEGIN
	EXECUTE format('COPY %s TO %L %s', target, file, options);
	RETURN QUERY SELECT line FROM regexp_split_to_table(rtrim(pg_read_file(file), E'\n'), E'\n')
		WITH ORDINALITY l(line, n) ORDER BY options LIKE '%HEADER%' AND n = 1 DESC, line;
END $$;
SET nodedb_kv.test_clock_offset = 0;
COPY copy_kv FROM stdin;
a	live	2100-01-01 00:00:00+00
b	expires soon	\N
c	never	\N
d	long expired	2000-01-01 00:00:00+00
\.
UPDATE copy_kv SET expires = kv_ttl(10) WHERE key = 'b';
SET nodedb_kv.test_clock_offset = '20s';
-- The row written already expired and the one that expired since are not copied out.
SELECT copy_out('copy_kv');
SELECT copy_out('copy_kv (key, val)', 'WITH (FORMAT csv, HEADER)');
COPY (SELECT key FROM copy_kv ORDER BY key DESC) TO stdout;
-- COPY FROM over expired keys: taken over.
COPY copy_kv (key, val) FROM stdin WITH (FORMAT csv);
b,copied again
d,copied again
\.
SELECT copy_out('copy_kv (key, val)');
-- A live key: duplicate, and the whole COPY is rolled back.
COPY copy_kv (key, val) FROM stdin;
e	new
a	dup
\.
SELECT key, val FROM copy_kv ORDER BY key;
SELECT inserted, updated, deleted, expired, truncated FROM kv_stats WHERE collection = 'copy_kv'::regclass;

-- 3000 rows (several multi_insert batches), one in three over an expired key.
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO copy_kv SELECT g::text, 'old', kv_ttl(10) FROM generate_series(1, 3000, 3) g;
SET nodedb_kv.test_clock_offset = '20s';
SELECT count(*) FROM copy_kv;
COPY copy_kv (key) FROM PROGRAM 'seq 1 3000';
SELECT count(*), count(*) FILTER (WHERE val = 'bulk') AS bulk FROM copy_kv;
SELECT inserted, updated, deleted, expired, truncated FROM kv_stats WHERE collection = 'copy_kv'::regclass;
REINDEX TABLE copy_kv;
COPY (SELECT count(*) FROM copy_kv) TO stdout;

-- COPY FREEZE into a table truncated in the same transaction.
BEGIN;
TRUNCATE copy_kv;
COPY copy_kv FROM stdin WITH (FREEZE);
x	frozen	\N
y	frozen, expired	2000-01-01 00:00:00+00
\.
COMMIT;
SELECT copy_out('copy_kv (key, val)');
INSERT INTO copy_kv VALUES ('y', 'over a frozen expired row', NULL);
SELECT copy_out('copy_kv (key, val)');
REINDEX TABLE copy_kv;
SELECT inserted, updated, deleted, expired, truncated FROM kv_stats WHERE collection = 'copy_kv'::regclass;
DROP TABLE copy_kv;
DROP FUNCTION copy_out;
