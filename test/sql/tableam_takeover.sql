-- Takeover: every write path that creates a key deletes a settled expired row of that key first, so
-- the table keeps one physical row per key.  The proof, for each path: kv_stats counts the takeover
-- as 'expired'; a negative clock offset (which makes the old row live again if it were still there)
-- shows one row per key; REINDEX (a unique build over every physically live row) succeeds.
CREATE TABLE take_kv (key text PRIMARY KEY, val text, expires kv_expiry) USING kv;
CREATE VIEW take_stats AS
	SELECT inserted, updated, deleted, expired, truncated FROM kv_stats WHERE collection = 'take_kv'::regclass;
-- Physical rows per key, seen from an hour ago (every row inserted by this test is live then).
CREATE FUNCTION take_rows() RETURNS TABLE (key text, versions bigint, vals text)
	LANGUAGE sql SET nodedb_kv.test_clock_offset = '-1h' AS $$
	SELECT t.key, count(*), string_agg(t.val, ',' ORDER BY t.val) FROM take_kv t GROUP BY t.key ORDER BY t.key
$$;
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO take_kv VALUES
	('ins', 'old', kv_ttl(10)), ('nothing', 'old', kv_ttl(10)), ('upsert', 'old', kv_ttl(10)),
	('copy1', 'old', kv_ttl(10)), ('copy2', 'old', kv_ttl(10)), ('rekey', 'old', kv_ttl(10)),
	('sel1', 'old', kv_ttl(10)), ('sel2', 'old', kv_ttl(10)), ('sel3', 'old', kv_ttl(10)),
	('live', 'old', kv_ttl(86400)), ('source', 'src', kv_ttl(86400));
SELECT * FROM take_stats;
SET nodedb_kv.test_clock_offset = '20s';
SELECT key, val FROM take_kv ORDER BY key;

-- Plain INSERT.
INSERT INTO take_kv VALUES ('ins', 'new', NULL);
-- INSERT ... ON CONFLICT DO NOTHING: the expired key is absent, so the row goes in.
INSERT INTO take_kv VALUES ('nothing', 'new', NULL) ON CONFLICT DO NOTHING RETURNING key, val;
-- INSERT ... ON CONFLICT DO UPDATE: inserted, not updated (the expired row is not the conflict).
INSERT INTO take_kv AS t VALUES ('upsert', 'new', NULL)
	ON CONFLICT (key) DO UPDATE SET val = t.val || '+updated' RETURNING key, val;
SELECT * FROM take_stats;
-- COPY FROM (multi_insert).
COPY take_kv (key, val) FROM stdin;
copy1	new
copy2	new
copy3	new
\.
SELECT * FROM take_stats;
-- UPDATE that moves a live row onto an expired key.
UPDATE take_kv SET key = 'rekey', val = 'new' WHERE key = 'source';
-- Multi-row INSERT ... SELECT.
INSERT INTO take_kv SELECT 'sel' || g, 'new', NULL FROM generate_series(1, 4) g;
SELECT * FROM take_stats;
SELECT key, val FROM take_kv ORDER BY key;
SELECT * FROM take_rows();
REINDEX TABLE take_kv;

-- A live key is never taken over: every path reports the conflict.
INSERT INTO take_kv VALUES ('live', 'dup', NULL);
INSERT INTO take_kv VALUES ('live', 'dup', NULL) ON CONFLICT DO NOTHING RETURNING key;
INSERT INTO take_kv AS t VALUES ('live', 'dup', NULL) ON CONFLICT (key) DO UPDATE SET val = 'upd' RETURNING key, val;
COPY take_kv (key, val) FROM stdin;
live	dup
\.
UPDATE take_kv SET key = 'live' WHERE key = 'ins';
SELECT * FROM take_stats;

-- Within one transaction: the taken-over key is live again, so a second insert conflicts; a
-- rollback brings the expired row back (still expired, still counted nowhere).
UPDATE take_kv SET expires = kv_ttl(10) WHERE key IN ('ins', 'sel4');
SET nodedb_kv.test_clock_offset = '40s';
BEGIN;
INSERT INTO take_kv VALUES ('ins', 'tx', NULL);
INSERT INTO take_kv VALUES ('ins', 'tx2', NULL);
ROLLBACK;
BEGIN;
INSERT INTO take_kv VALUES ('sel4', 'tx', NULL);
SAVEPOINT s;
INSERT INTO take_kv VALUES ('sel4', 'tx2', NULL);
ROLLBACK TO SAVEPOINT s;
DELETE FROM take_kv WHERE key = 'sel4';
INSERT INTO take_kv VALUES ('sel4', 'tx3', NULL);
COMMIT;
SELECT * FROM take_stats;
SELECT * FROM take_rows() WHERE key IN ('ins', 'sel4');
SELECT key, val FROM take_kv WHERE key IN ('ins', 'sel4') ORDER BY key;

-- A row updated to an already-passed expiry disappears at once and can be taken over.
UPDATE take_kv SET expires = kv_ttl(-1) WHERE key = 'copy3';
SELECT key FROM take_kv WHERE key = 'copy3';
INSERT INTO take_kv VALUES ('copy3', 'again', NULL);
SELECT * FROM take_rows() WHERE key = 'copy3';

-- The same key twice in one statement, the first row already expired when written: the expired key
-- is absent for every writer, so the live row wins (takeover deletes the first row even though this
-- very command wrote it); never two physical rows for one key, never the expired row kept instead.
INSERT INTO take_kv VALUES ('twice', 'first', kv_ttl(-1)), ('twice', 'second', NULL);
SELECT * FROM take_rows() WHERE key = 'twice';
-- COPY is the exception: rows of one multi_insert batch get their index entries only after the whole
-- batch is in the heap, so the second row cannot find the first one: a unique violation, nothing kept.
COPY take_kv FROM stdin;
twice2	first	2000-01-01 00:00:00+00
twice2	second	\N
\.
SELECT * FROM take_rows() WHERE key = 'twice2';
-- ON CONFLICT: the expired row its own statement wrote is no conflict; the live row goes in (both
-- rows were inserted, so RETURNING shows both).
INSERT INTO take_kv VALUES ('twice3', 'first', kv_ttl(-1)), ('twice3', 'second', NULL)
	ON CONFLICT DO NOTHING RETURNING key, val;
INSERT INTO take_kv VALUES ('twice4', 'first', kv_ttl(-1)), ('twice4', 'second', NULL)
	ON CONFLICT (key) DO UPDATE SET val = 'updated' RETURNING key, val;
-- The other order: the live row is there first, the expired one conflicts with it (DO NOTHING skips
-- it, plain INSERT reports the duplicate, as on heap).
INSERT INTO take_kv VALUES ('twice8', 'first', NULL), ('twice8', 'second', kv_ttl(-1))
	ON CONFLICT DO NOTHING RETURNING key, val;
INSERT INTO take_kv VALUES ('twice9', 'first', NULL), ('twice9', 'second', kv_ttl(-1));
SELECT * FROM take_rows() WHERE key LIKE 'twice%';
-- The failed statement, rolled back to a savepoint, leaves expired rows hidden for the rest of the
-- transaction ('ins' expired above).
BEGIN;
SAVEPOINT s;
INSERT INTO take_kv VALUES ('twice7', 'first', kv_ttl(-1)), ('twice7', 'second', NULL), ('live', 'dup', NULL);
ROLLBACK TO SAVEPOINT s;
SELECT key FROM take_kv WHERE key = 'ins';
SELECT count(*) FROM take_kv WHERE key >= 'ins';
COMMIT;
-- A later statement of the same transaction takes such a row over.
BEGIN;
INSERT INTO take_kv VALUES ('twice5', 'first', kv_ttl(-1));
INSERT INTO take_kv VALUES ('twice5', 'second', NULL);
INSERT INTO take_kv VALUES ('twice6', 'first', kv_ttl(-1));
INSERT INTO take_kv VALUES ('twice6', 'second', NULL) ON CONFLICT (key) DO UPDATE SET val = 'updated';
COMMIT;
SELECT key, val FROM take_kv WHERE key LIKE 'twice%' ORDER BY key;
SELECT * FROM take_rows() WHERE key LIKE 'twice%';

REINDEX TABLE take_kv;
SELECT * FROM take_stats;
DROP TABLE take_kv CASCADE;
DROP FUNCTION take_rows();
