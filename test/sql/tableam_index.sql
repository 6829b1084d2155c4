-- Index builds on kv tables (PG15-PITFALLS §1.1: heap's build refuses a copied routine): CREATE
-- INDEX, CREATE UNIQUE INDEX, CREATE INDEX CONCURRENTLY, partial and expression indexes, REINDEX
-- after takeovers, VACUUM FULL and CLUSTER.  Every build indexes the physically present rows,
-- expired or not; queries through the new indexes still hide expired rows.
CREATE TABLE idx_kv (key int PRIMARY KEY, grp text, val text, expires kv_expiry) USING kv
	WITH (autovacuum_enabled = off);
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO idx_kv
	SELECT g, 'g' || (g % 10), 'v' || g, CASE WHEN g % 2 = 0 THEN kv_ttl(10) ELSE kv_ttl(86400) END
	FROM generate_series(1, 2000) g;
-- Some HOT-updated rows, so builds meet HOT chains.
UPDATE idx_kv SET val = val || '+' WHERE key <= 20;
SET nodedb_kv.test_clock_offset = '20s';
SELECT count(*) AS live FROM idx_kv;
-- Physical rows (every row inserted here is live an hour ago).
CREATE FUNCTION idx_physical() RETURNS bigint
	LANGUAGE sql SET nodedb_kv.test_clock_offset = '-1h' AS $$ SELECT count(*) FROM idx_kv $$;
SELECT idx_physical();

-- Re-insert half of the expired keys (takeover), then REINDEX: one row per key, so it succeeds.
INSERT INTO idx_kv SELECT g, 'g' || (g % 10), 'again' || g, NULL FROM generate_series(2, 1000, 2) g;
SELECT count(*) AS live FROM idx_kv;
SELECT idx_physical();
REINDEX TABLE idx_kv;
REINDEX INDEX idx_kv_pkey;
REINDEX TABLE CONCURRENTLY idx_kv;
SELECT indexrelid::regclass AS index, indisvalid, indisready FROM pg_index
	WHERE indrelid = 'idx_kv'::regclass ORDER BY indexrelid::regclass::text;

-- CREATE INDEX (plain, expression, partial, multi-column, other AMs).
CREATE INDEX idx_kv_grp ON idx_kv (grp);
CREATE INDEX idx_kv_lower ON idx_kv (lower(val));
CREATE INDEX idx_kv_part ON idx_kv (val) WHERE key > 1900;
CREATE INDEX idx_kv_multi ON idx_kv (grp, key);
CREATE INDEX idx_kv_hash ON idx_kv USING hash (val);
CREATE INDEX idx_kv_brin ON idx_kv USING brin (key);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT key FROM idx_kv WHERE lower(val) IN ('v3', 'v4', 'again4');
SELECT key FROM idx_kv WHERE lower(val) IN ('v3', 'v4', 'again4') ORDER BY key;
EXPLAIN (COSTS OFF) SELECT key, val FROM idx_kv WHERE key > 1900 AND val LIKE 'v199%';
SELECT key, val FROM idx_kv WHERE key > 1900 AND val LIKE 'v199%' ORDER BY key;
EXPLAIN (COSTS OFF) SELECT count(*) FROM idx_kv WHERE grp = 'g4';
SELECT count(*) FROM idx_kv WHERE grp = 'g4';
EXPLAIN (COSTS OFF) SELECT key FROM idx_kv WHERE val = 'v1002';
SELECT key FROM idx_kv WHERE val = 'v1002';
SELECT key FROM idx_kv WHERE val = 'v1003';
RESET enable_bitmapscan;
EXPLAIN (COSTS OFF) SELECT count(*) FROM idx_kv WHERE key BETWEEN 1001 AND 1100;
SELECT count(*) FROM idx_kv WHERE key BETWEEN 1001 AND 1100;
RESET enable_seqscan;

-- CREATE INDEX CONCURRENTLY (build + validation scan), also with rows written in between.
CREATE INDEX CONCURRENTLY idx_kv_val_cic ON idx_kv (val);
CREATE INDEX CONCURRENTLY idx_kv_expr_cic ON idx_kv ((key % 7)) WHERE grp <> 'g0';
SELECT indexrelid::regclass AS index, indisvalid FROM pg_index
	WHERE indrelid = 'idx_kv'::regclass AND indexrelid::regclass::text LIKE '%cic' ORDER BY indexrelid::regclass::text;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT key FROM idx_kv WHERE val = 'v1004';
SELECT key FROM idx_kv WHERE val = 'v1004';
SELECT key FROM idx_kv WHERE val = 'v1005';
EXPLAIN (COSTS OFF) SELECT count(*) FROM idx_kv WHERE key % 7 = 3 AND grp <> 'g0';
SELECT count(*) FROM idx_kv WHERE key % 7 = 3 AND grp <> 'g0';
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) FROM idx_kv WHERE key % 7 = 3 AND grp <> 'g0';

-- Unique indexes.  Live rows with distinct values: fine; live duplicates: refused.
CREATE UNIQUE INDEX idx_kv_val_u ON idx_kv (val);
CREATE UNIQUE INDEX CONCURRENTLY idx_kv_val_u2 ON idx_kv (val, grp);
UPDATE idx_kv SET val = 'v1+' WHERE key = 3;
-- 'v1002' belongs to an expired row only: free to take, and the index still rebuilds.
UPDATE idx_kv SET val = 'v1002' WHERE key = 3;
REINDEX INDEX idx_kv_val_u;
REINDEX INDEX CONCURRENTLY idx_kv_val_u2;
DROP INDEX idx_kv_val_u, idx_kv_val_u2;
CREATE TABLE idx_d (key int PRIMARY KEY, email text, expires kv_expiry) USING kv;
INSERT INTO idx_d VALUES (1, 'x', NULL), (2, 'x', kv_ttl(86400));
CREATE UNIQUE INDEX idx_d_email ON idx_d (email);
CREATE UNIQUE INDEX CONCURRENTLY idx_d_email ON idx_d (email);
SELECT indexrelid::regclass AS index, indisvalid FROM pg_index WHERE indexrelid = 'idx_d_email'::regclass;
DROP TABLE idx_d;
-- A value shared by a live row and an expired row: the expired row is absent for the unique check
-- of an INSERT, so the build must not count it either.
CREATE TABLE idx_u (key int PRIMARY KEY, email text, expires kv_expiry) USING kv;
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO idx_u VALUES (1, 'a@x', kv_ttl(10)), (2, 'b@x', NULL);
SET nodedb_kv.test_clock_offset = '20s';
CREATE UNIQUE INDEX idx_u_email ON idx_u (email);
INSERT INTO idx_u VALUES (3, 'a@x', NULL);
INSERT INTO idx_u VALUES (4, 'b@x', NULL);
REINDEX TABLE idx_u;
CREATE UNIQUE INDEX idx_u_email2 ON idx_u (email);
CREATE UNIQUE INDEX CONCURRENTLY idx_u_email3 ON idx_u (email);
SELECT key, email FROM idx_u ORDER BY key;

-- VACUUM FULL and CLUSTER rewrite the table: expired rows stay (until the expiry worker removes
-- them), stay hidden, and the rebuilt indexes work.
VACUUM FULL idx_kv;
SELECT count(*) AS live FROM idx_kv;
SELECT idx_physical();
CLUSTER idx_kv USING idx_kv_pkey;
SELECT count(*) AS live FROM idx_kv;
SELECT idx_physical();
SET enable_seqscan = off;
SELECT key, val FROM idx_kv WHERE key BETWEEN 1 AND 6 ORDER BY key;
RESET enable_seqscan;
-- Nothing of the rewrite counts as a change of the collection.
SELECT inserted, updated, deleted, expired, truncated FROM kv_stats WHERE collection = 'idx_kv'::regclass;

DROP TABLE idx_kv, idx_u;
DROP FUNCTION idx_physical();
