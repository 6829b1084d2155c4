-- Page pruning of kv tables on index fetches (src/tableam/tableam_prune.cpp) and the storage of the
-- Redis keyspaces.
-- The keyspaces are created with fillfactor 75: room for the HOT versions that rewrites of small rows
-- leave, between two prunes (src/tableam/README.md, "Page pruning").
SELECT kv_create_db(7);
SELECT c.relname, c.reloptions FROM pg_class c
	WHERE c.relname IN ('kv_db0', 'kv_db7') ORDER BY c.relname;
DROP TABLE kv_db7;

-- Heap prunes a page on every visit once its free space is below the fillfactor reserve, and that is
-- where a page filled to its fillfactor sits: each update of a key then finds its previous version
-- already removed and reuses its line pointer.  kv prunes only when the room left is a few row
-- versions, so the first updates of a key add new line pointers (ctid offsets grow), and the page is
-- pruned before it runs out of room: every update stays on the page (HOT) and line pointers are
-- reused again.
CREATE TABLE prune_kv (key int PRIMARY KEY, n bigint) USING kv WITH (fillfactor = 90);
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
-- Eight new line pointers, none reused: no pruning yet (heap's rule would have pruned at each visit
-- and reused the pointer freed by the previous update).
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
