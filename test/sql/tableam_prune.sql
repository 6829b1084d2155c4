-- Storage defaults and page pruning of kv tables (src/tableam/tableam_prune.hpp).
-- A new kv table gets fillfactor 90 unless the statement names one; other tables are untouched.
CREATE TABLE prune_default (key int PRIMARY KEY, n bigint) USING kv;
CREATE TABLE prune_named (key int PRIMARY KEY, n bigint) USING kv WITH (fillfactor = 70);
CREATE TABLE prune_other (key int PRIMARY KEY, n bigint) USING kv WITH (autovacuum_enabled = off);
CREATE TABLE prune_heap (key int PRIMARY KEY, n bigint);
SET default_table_access_method = kv;
CREATE TABLE prune_by_default (key int PRIMARY KEY, n bigint);
-- A partitioned table takes no storage parameters: nothing is added (no error); its partitions get it.
CREATE TABLE prune_parted (key int PRIMARY KEY, n bigint) PARTITION BY RANGE (key);
CREATE TABLE prune_part1 PARTITION OF prune_parted FOR VALUES FROM (0) TO (100);
RESET default_table_access_method;
SELECT c.relname, a.amname, c.reloptions FROM pg_class c LEFT JOIN pg_am a ON a.oid = c.relam
	WHERE c.relname LIKE 'prune\_%' AND c.relkind IN ('r', 'p') ORDER BY c.relname;
-- ALTER TABLE ... SET keeps working on the default.
ALTER TABLE prune_default SET (fillfactor = 80);
SELECT reloptions FROM pg_class WHERE relname = 'prune_default';
ALTER TABLE prune_default RESET (fillfactor);
SELECT reloptions FROM pg_class WHERE relname = 'prune_default';
DROP TABLE prune_named, prune_other, prune_heap, prune_by_default, prune_parted;

-- Pruning on index fetches.  Heap prunes a page on every visit once its free space is below the
-- fillfactor reserve: each update of a key then finds its previous version already removed and
-- reuses its line pointer.  kv prunes only when the room left is a few row versions, so the first
-- updates of a key add new line pointers (ctid offsets grow), and the page is pruned before it
-- runs out of room: every update stays on the page (HOT) and line pointers are reused again.
CREATE TABLE prune_kv (key int PRIMARY KEY, n bigint) USING kv;
-- Fill page 0 to the fillfactor (about 167 rows of 40 bytes); the rest goes to later pages.
INSERT INTO prune_kv SELECT i, 0 FROM generate_series(1, 400) i;
SELECT max((ctid::text::point)[1]) BETWEEN 150 AND 180 AS page0_rows FROM prune_kv WHERE (ctid::text::point)[0] = 0;
CREATE TABLE prune_log (i int, version tid);
-- One transaction per update (a version is prunable once its updater committed); index fetches.
CREATE PROCEDURE prune_updates(first int, count int) LANGUAGE plpgsql AS $$
DECLARE
	c tid;
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	FOR i IN first .. first + count - 1 LOOP
		UPDATE prune_kv SET n = n + 1 WHERE key = 1 RETURNING ctid INTO c;
		INSERT INTO prune_log VALUES (i, c);
		COMMIT;
		SET LOCAL enable_seqscan = off;
		SET LOCAL enable_bitmapscan = off;
	END LOOP;
END
$$;
CALL prune_updates(1, 8);
-- Eight new line pointers, none reused: no pruning yet.
SELECT count(DISTINCT version) AS distinct_ctids, bool_and((version::text::point)[0] = 0) AS on_page0,
	min((version::text::point)[1]) > 150 AS after_the_loaded_rows
	FROM prune_log;
CALL prune_updates(9, 52);
-- Sixty updates: all on page 0 (HOT, the primary key index did not grow), line pointers reused.
SELECT count(*) AS updates, bool_and((version::text::point)[0] = 0) AS on_page0,
	count(DISTINCT version) < 40 AS pointers_reused
	FROM prune_log;
SELECT n FROM prune_kv WHERE key = 1;
SELECT pg_stat_force_next_flush();
SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'prune_kv';
-- KV_INCR goes through the same fetch path.
SELECT kv_incr('prune_kv', '2', 5), kv_incr('prune_kv', '2', 5);
SELECT n FROM prune_kv WHERE key = 2;
DROP PROCEDURE prune_updates;
DROP TABLE prune_kv, prune_log;
