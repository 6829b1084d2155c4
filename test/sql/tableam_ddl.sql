-- Definition rules of kv tables: one single-column primary key (required with an explicit USING kv),
-- at most one kv_expiry column, no CREATE TABLE AS; the expiry index is created automatically.
-- Each refused statement leaves nothing behind.
CREATE TABLE ddl_nopk (key text, val text) USING kv;
SELECT to_regclass('ddl_nopk');
CREATE TABLE ddl_pk2 (a int, b int, val text, PRIMARY KEY (a, b)) USING kv;
SELECT to_regclass('ddl_pk2');
CREATE TABLE ddl_exp2 (key text PRIMARY KEY, e1 kv_expiry, e2 kv_expiry) USING kv;
SELECT to_regclass('ddl_exp2');
CREATE TABLE ddl_ctas USING kv AS SELECT 1 AS key;
SELECT to_regclass('ddl_ctas');
CREATE TABLE ddl_ctas USING kv AS SELECT 1 AS key WITH NO DATA;
SELECT to_regclass('ddl_ctas');
-- A unique constraint is not a primary key.
CREATE TABLE ddl_unique (key text UNIQUE NOT NULL, val text) USING kv;

-- Accepted shapes: key types, the expiry column anywhere, a default TTL, no expiry column at all.
CREATE TABLE ddl_text (key text PRIMARY KEY, val bytea, expires kv_expiry) USING kv;
CREATE TABLE ddl_bytea (key bytea PRIMARY KEY, expires kv_expiry DEFAULT kv_ttl(3600), val jsonb) USING kv;
CREATE TABLE ddl_int (id bigint, val text, PRIMARY KEY (id)) USING kv;
CREATE TABLE ddl_uuid (expires kv_expiry, id uuid CONSTRAINT ddl_uuid_key PRIMARY KEY, a int, b text) USING kv;
SELECT c.relname, a.amname,
	(SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY i.indexrelid::regclass::text)
		FROM pg_index i WHERE i.indrelid = c.oid) AS indexes
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam
	WHERE c.relname IN ('ddl_text', 'ddl_bytea', 'ddl_int', 'ddl_uuid') ORDER BY c.relname;
-- LIKE copies the primary key and the expiry index; no second expiry index is made.
CREATE TABLE ddl_like (LIKE ddl_text INCLUDING ALL) USING kv;
SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'ddl_like'::regclass ORDER BY 1;

-- ALTER TABLE on kv tables.
ALTER TABLE ddl_text DROP CONSTRAINT ddl_text_pkey;
ALTER TABLE ddl_text ADD COLUMN e2 kv_expiry;
ALTER TABLE ddl_text ADD COLUMN e2 timestamptz;
ALTER TABLE ddl_text ALTER COLUMN e2 TYPE kv_expiry;
ALTER TABLE ddl_text DROP COLUMN e2;
ALTER TABLE ddl_int DROP CONSTRAINT ddl_int_pkey, ADD PRIMARY KEY (id, val);
ALTER TABLE ddl_int DROP CONSTRAINT ddl_int_pkey, ADD PRIMARY KEY (val);
\d ddl_int
ALTER TABLE ddl_int ADD COLUMN expires kv_expiry;
\d ddl_int
-- Dropping the expiry column drops its index; the table stays a kv table without expiry.
ALTER TABLE ddl_uuid DROP COLUMN expires;
\d ddl_uuid
ALTER TABLE ddl_uuid ADD COLUMN ttl kv_expiry DEFAULT kv_ttl(60);
\d ddl_uuid

-- The pg_dump pattern: default_table_access_method = kv, a table without a primary key, data,
-- then the key and the indexes.
SET default_table_access_method = kv;
CREATE TABLE ddl_dump (key text NOT NULL, val text, expires kv_expiry);
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'ddl_dump'::regclass;
COPY ddl_dump FROM stdin;
k1	v1	\N
k2	v2	2000-01-01 00:00:00+00
\.
ALTER TABLE ONLY ddl_dump ADD CONSTRAINT ddl_dump_pkey PRIMARY KEY (key);
CREATE INDEX ddl_dump_expires_idx ON ddl_dump USING btree (expires);
\d ddl_dump
SELECT key, val FROM ddl_dump ORDER BY key;
INSERT INTO ddl_dump VALUES ('k2', 'v2 again', NULL);
SELECT key, val FROM ddl_dump ORDER BY key;
-- Once it has its key, the key cannot go; a composite key is refused even before.
ALTER TABLE ddl_dump DROP CONSTRAINT ddl_dump_pkey;
CREATE TABLE ddl_dump2 (a int, b int);
ALTER TABLE ddl_dump2 ADD PRIMARY KEY (a, b);
-- CREATE TABLE AS and SELECT INTO through the default access method: refused as well.
CREATE TABLE ddl_ctas2 AS SELECT 1 AS key;
SELECT 1 AS key INTO ddl_select_into;
SELECT to_regclass('ddl_ctas2'), to_regclass('ddl_select_into');
-- A table without an explicit USING and with a composite key: refused.
CREATE TABLE ddl_pk2b (a int, b int, PRIMARY KEY (a, b));
RESET default_table_access_method;

-- Partitions can be kv tables (a partitioned table itself has no access method).
CREATE TABLE ddl_part (key int PRIMARY KEY, val text, expires kv_expiry) PARTITION BY RANGE (key);
CREATE TABLE ddl_part1 PARTITION OF ddl_part FOR VALUES FROM (0) TO (100) USING kv;
CREATE TABLE ddl_part2 PARTITION OF ddl_part FOR VALUES FROM (100) TO (200);
SELECT c.relname, a.amname FROM pg_class c LEFT JOIN pg_am a ON a.oid = c.relam
	WHERE c.relname LIKE 'ddl_part%' AND c.relkind IN ('r', 'p') ORDER BY 1;
SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'ddl_part1'::regclass ORDER BY 1;
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO ddl_part VALUES (1, 'kv', kv_ttl(10)), (2, 'kv', NULL), (101, 'heap', kv_ttl(10));
SET nodedb_kv.test_clock_offset = '20s';
SELECT key, val FROM ddl_part ORDER BY key;
INSERT INTO ddl_part VALUES (1, 'kv again', NULL);
INSERT INTO ddl_part VALUES (101, 'heap again', NULL);
SELECT key, val FROM ddl_part ORDER BY key;

DROP TABLE ddl_text, ddl_bytea, ddl_int, ddl_uuid, ddl_like, ddl_dump, ddl_dump2, ddl_part;
