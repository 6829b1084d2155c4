-- Change capture as seen through kv_stats: counts per collection at commit; nothing for aborted
-- transactions or rolled-back savepoints; PREPARE TRANSACTION refused once a kv table was written
-- (COMMIT PREPARED runs no transaction callbacks), allowed for a transaction that only read.
CREATE TABLE cap_kv (key text PRIMARY KEY, val text, expires kv_expiry) USING kv;
CREATE TABLE cap_other (key int PRIMARY KEY) USING kv;
CREATE VIEW cap_stats AS
	SELECT collection, inserted, updated, deleted, expired, truncated FROM kv_stats
	WHERE collection IN ('cap_kv'::regclass, 'cap_other'::regclass) ORDER BY collection::text;
SELECT * FROM cap_stats;
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO cap_kv VALUES ('a', '1', NULL), ('b', '1', NULL), ('c', '1', kv_ttl(10)), ('d', '1', kv_ttl(10));
INSERT INTO cap_other SELECT generate_series(1, 3);
SELECT * FROM cap_stats;
UPDATE cap_kv SET val = '2' WHERE key IN ('a', 'b');
DELETE FROM cap_kv WHERE key = 'b';
SELECT * FROM cap_stats;
-- Statements that change nothing count nothing.
UPDATE cap_kv SET val = '3' WHERE key = 'zzz';
DELETE FROM cap_kv WHERE key = 'b';
INSERT INTO cap_kv VALUES ('a', 'x', NULL) ON CONFLICT DO NOTHING;
SELECT * FROM cap_stats;
-- Expired keys: no UPDATE or DELETE reaches them; takeover counts as 'expired' plus 'inserted'.
SET nodedb_kv.test_clock_offset = '20s';
UPDATE cap_kv SET val = 'x' WHERE key = 'c';
DELETE FROM cap_kv WHERE key = 'd';
INSERT INTO cap_kv VALUES ('c', 'new', NULL);
INSERT INTO cap_kv VALUES ('d', 'new', NULL) ON CONFLICT (key) DO UPDATE SET val = 'upd';
INSERT INTO cap_kv VALUES ('d', 'new', NULL) ON CONFLICT (key) DO UPDATE SET val = 'upd';
SELECT * FROM cap_stats;
-- Several tables in one transaction.
BEGIN;
INSERT INTO cap_kv VALUES ('e', '1', NULL);
DELETE FROM cap_other WHERE key = 1;
UPDATE cap_other SET key = 10 WHERE key = 2;
COMMIT;
SELECT * FROM cap_stats;

-- Rollback discards everything.
BEGIN;
INSERT INTO cap_kv VALUES ('f', '1', NULL);
UPDATE cap_kv SET val = '9';
DELETE FROM cap_other;
TRUNCATE cap_kv;
ROLLBACK;
SELECT * FROM cap_stats;
SELECT key, val FROM cap_kv ORDER BY key;
-- A failed statement counts nothing.
INSERT INTO cap_kv VALUES ('g', '1', NULL), ('a', 'dup', NULL);
SELECT * FROM cap_stats;
-- ROLLBACK TO SAVEPOINT discards what the subtransaction (and its children) wrote, nothing else.
BEGIN;
INSERT INTO cap_kv VALUES ('h', '1', NULL);
SAVEPOINT s1;
INSERT INTO cap_kv VALUES ('i', '1', NULL);
SAVEPOINT s2;
UPDATE cap_kv SET val = 'in s2' WHERE key = 'h';
ROLLBACK TO SAVEPOINT s1;
DELETE FROM cap_kv WHERE key = 'h';
SAVEPOINT s3;
INSERT INTO cap_kv VALUES ('j', '1', NULL);
RELEASE SAVEPOINT s3;
SAVEPOINT s4;
INSERT INTO cap_kv VALUES ('k', '1', NULL);
INSERT INTO cap_kv VALUES ('a', 'dup', NULL);
ROLLBACK TO SAVEPOINT s4;
COMMIT;
SELECT * FROM cap_stats;
SELECT key, val FROM cap_kv ORDER BY key;
-- A PL/pgSQL exception block is a subtransaction too.
DO $$
BEGIN
	INSERT INTO cap_kv VALUES ('l', '1', NULL);
	BEGIN
		INSERT INTO cap_kv VALUES ('m', '1', NULL);
		RAISE EXCEPTION 'undo m';
	EXCEPTION WHEN OTHERS THEN
		NULL;
	END;
END $$;
SELECT * FROM cap_stats;

-- TRUNCATE counts once per statement and table; in the creating transaction as well.
TRUNCATE cap_kv, cap_other;
SELECT * FROM cap_stats;
BEGIN;
CREATE TABLE cap_new (key int PRIMARY KEY) USING kv;
INSERT INTO cap_new VALUES (1);
TRUNCATE cap_new;
INSERT INTO cap_new VALUES (2);
COMMIT;
SELECT inserted, updated, deleted, expired, truncated FROM kv_stats WHERE collection = 'cap_new'::regclass;
-- Dropping a table drops its counters.
DROP TABLE cap_new;
SELECT count(*) FROM kv_stats_counters() s LEFT JOIN pg_class c ON c.oid = s.relid WHERE c.oid IS NULL;

-- Two-phase commit.
SHOW max_prepared_transactions;
BEGIN;
INSERT INTO cap_kv VALUES ('p', '1', NULL);
PREPARE TRANSACTION 'cap_write';
SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'cap_write';
SELECT key FROM cap_kv WHERE key = 'p';
BEGIN;
TRUNCATE cap_other;
PREPARE TRANSACTION 'cap_truncate';
-- Writes rolled back to a savepoint leave nothing to deliver: allowed.
BEGIN;
SAVEPOINT s;
INSERT INTO cap_kv VALUES ('q', '1', NULL);
ROLLBACK TO SAVEPOINT s;
PREPARE TRANSACTION 'cap_nothing_left';
ROLLBACK PREPARED 'cap_nothing_left';
-- Only reads: allowed.
BEGIN;
SELECT count(*) FROM cap_kv;
SELECT key FROM cap_kv WHERE key = 'zzz' FOR UPDATE;
PREPARE TRANSACTION 'cap_read';
SELECT gid FROM pg_prepared_xacts ORDER BY gid;
ROLLBACK PREPARED 'cap_read';
-- A heap-only write: allowed.
CREATE TABLE cap_heap (a int) USING heap;
BEGIN;
INSERT INTO cap_heap VALUES (1);
PREPARE TRANSACTION 'cap_heap';
COMMIT PREPARED 'cap_heap';
SELECT a FROM cap_heap;
SELECT * FROM cap_stats;

DROP VIEW cap_stats;
DROP TABLE cap_kv, cap_other, cap_heap;
