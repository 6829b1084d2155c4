-- kv_sorted's `key` option: a member column other than the primary key, which needs a unique index
-- of its own (clear error otherwise; dropping that index needs CASCADE).  Entries follow the member
-- through inserts, updates of the member and of the score, swaps of members between rows, deletes,
-- several changes of one row in a transaction, rollbacks and savepoints, KV_INCR, expiry and
-- takeover, REINDEX and TRUNCATE; numeric member columns.  After each step the index equals
-- row_number() over the live rows (keyed_check, like sortedindex_basic's sorted_check but with the
-- member column as a parameter).
CREATE FUNCTION keyed_check(idx text, tbl text, member text, ord text, cond text DEFAULT 'true') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    c bigint;
    bad bigint;
    oracle text := format('SELECT %I::text AS m, row_number() OVER (ORDER BY %s) AS rn FROM %s
                           WHERE %I IS NOT NULL AND (%s)', member, ord, tbl, member, cond);
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) o', oracle) INTO n;
    c := sorted_count(idx);
    IF c <> n THEN RETURN format('count %s, expected %s', c, n); END IF;
    EXECUTE format('SELECT count(*) FROM (%s) o FULL JOIN topk(%L, 100000) t ON t.key = o.m AND t.rank = o.rn
                    WHERE t.key IS NULL OR o.m IS NULL', oracle, idx) INTO bad;
    IF bad <> 0 THEN RETURN format('topk: %s mismatches', bad); END IF;
    EXECUTE format('SELECT count(*) FROM (%s) o WHERE rank(%L, o.m) IS DISTINCT FROM o.rn', oracle, idx) INTO bad;
    IF bad <> 0 THEN RETURN format('rank: %s mismatches', bad); END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NOT NULL AND NOT coalesce(%s, false)
                    AND rank(%L, %I::text) IS NOT NULL', tbl, member, cond, idx, member) INTO bad;
    IF bad <> 0 THEN RETURN format('rank: %s members outside the index ranked', bad); END IF;
    RETURN 'ok';
END
$$;

CREATE TABLE players (id bigint PRIMARY KEY, handle text COLLATE "C", score int, expires kv_expiry) USING kv;
INSERT INTO players SELECT i, 'h' || i, i % 7 FROM generate_series(1, 20) i;
-- The member column needs a unique index on it alone, without predicate, not deferrable.
CREATE INDEX ON players USING kv_sorted (score DESC) WITH (key = 'handle');
CREATE UNIQUE INDEX players_handle_part ON players (handle) WHERE score > 0;
CREATE INDEX ON players USING kv_sorted (score DESC) WITH (key = 'handle');
DROP INDEX players_handle_part;
CREATE UNIQUE INDEX players_handle_pair ON players (handle, score);
CREATE INDEX ON players USING kv_sorted (score DESC) WITH (key = 'handle');
DROP INDEX players_handle_pair;
CREATE INDEX ON players USING kv_sorted (score DESC) WITH (key = 'nope');
CREATE UNIQUE INDEX players_handle ON players (handle);
CREATE INDEX lb_handle ON players USING kv_sorted (score DESC) WITH (key = 'handle');
-- `key` naming the primary key is the default.
CREATE INDEX lb_id ON players USING kv_sorted (score DESC) WITH (key = 'id');
SELECT * FROM TOPK('lb_handle', 5);
SELECT * FROM TOPK('lb_id', 2);
SELECT RANK('lb_handle', 'h6') AS by_handle, RANK('lb_handle', '6') AS by_id, RANK('lb_id', '6') AS lb_id;
SELECT * FROM RANGE('lb_handle', 5, 6);
SELECT keyed_check('lb_handle', 'players', 'handle', 'score DESC, handle', 'score IS NOT NULL');

-- A rename: the old member leaves, the new one takes its place.
UPDATE players SET handle = 'renamed' WHERE id = 6;
SELECT RANK('lb_handle', 'h6') AS old, RANK('lb_handle', 'renamed') AS new;
-- Two rows swap members in one transaction.
BEGIN;
UPDATE players SET handle = 'tmp' WHERE id = 13;
UPDATE players SET handle = 'h13' WHERE id = 20;
UPDATE players SET handle = 'h20' WHERE id = 13;
COMMIT;
SELECT RANK('lb_handle', 'h13') AS h13, RANK('lb_handle', 'h20') AS h20, RANK('lb_handle', 'tmp') AS tmp;
SELECT keyed_check('lb_handle', 'players', 'handle', 'score DESC, handle', 'score IS NOT NULL');
-- Deletes carry only the primary key: the member is found all the same.
DELETE FROM players WHERE id IN (5, 12);
SELECT RANK('lb_handle', 'h5') AS h5, RANK('lb_handle', 'h12') AS h12;
-- A NULL member or a NULL score is not indexed.
UPDATE players SET handle = NULL WHERE id = 4;
UPDATE players SET score = NULL WHERE id = 11;
SELECT RANK('lb_handle', 'h4') AS h4, RANK('lb_handle', 'h11') AS h11, SORTED_COUNT('lb_handle');
UPDATE players SET handle = 'h4' WHERE id = 4;
-- KV_INCR goes by primary key.
SELECT KV_INCR('players', '8', 100, field => 'score');
SELECT * FROM TOPK('lb_handle', 1);
-- Several changes of one row in one transaction; delete and re-insert; rollback; savepoints.
BEGIN;
UPDATE players SET handle = 'x1' WHERE id = 9;
UPDATE players SET handle = 'x2', score = 50 WHERE id = 9;
DELETE FROM players WHERE id = 10;
INSERT INTO players VALUES (10, 'h10b', 3);
INSERT INTO players VALUES (30, 'new30', 4);
UPDATE players SET handle = 'new30b' WHERE id = 30;
INSERT INTO players VALUES (31, 'new31', 4);
DELETE FROM players WHERE id = 31;
COMMIT;
SELECT RANK('lb_handle', 'x1') AS x1, RANK('lb_handle', 'x2') AS x2, RANK('lb_handle', 'h10') AS h10,
       RANK('lb_handle', 'h10b') AS h10b, RANK('lb_handle', 'new30') AS new30, RANK('lb_handle', 'new30b') AS new30b,
       RANK('lb_handle', 'new31') AS new31;
BEGIN;
UPDATE players SET handle = 'gone' WHERE id = 14;
ROLLBACK;
BEGIN;
SAVEPOINT a;
UPDATE players SET handle = 'sp' WHERE id = 15;
ROLLBACK TO a;
UPDATE players SET score = 99 WHERE id = 15;
COMMIT;
SELECT RANK('lb_handle', 'gone') AS gone, RANK('lb_handle', 'sp') AS sp, RANK('lb_handle', 'h14') AS h14,
       RANK('lb_handle', 'h15') AS h15;
-- A transaction does not see its own changes in RANK (committed state).
BEGIN;
UPDATE players SET handle = 'uncommitted' WHERE id = 16;
SELECT RANK('lb_handle', 'h16') IS NOT NULL AS old_still, RANK('lb_handle', 'uncommitted') AS new;
COMMIT;
SELECT keyed_check('lb_handle', 'players', 'handle', 'score DESC, handle', 'score IS NOT NULL');
SELECT sorted_count('lb_id');

-- Expiry: an expired row leaves every read at once; its takeover by a new row of the same primary
-- key replaces the old member.
SET nodedb_kv.test_clock_offset = 0;
UPDATE players SET expires = kv_ttl(5) WHERE id IN (17, 18);
SET nodedb_kv.test_clock_offset = 10;
SELECT RANK('lb_handle', 'h17') AS h17, RANK('lb_handle', 'h18') AS h18;
SELECT keyed_check('lb_handle', 'players', 'handle', 'score DESC, handle', 'score IS NOT NULL');
INSERT INTO players VALUES (17, 'h17new', 6);
SET nodedb_kv.test_clock_offset = 0;
SELECT RANK('lb_handle', 'h17') AS h17, RANK('lb_handle', 'h17new') IS NOT NULL AS h17new,
       RANK('lb_handle', 'h18') IS NOT NULL AS h18_back;
UPDATE players SET expires = NULL WHERE id = 18;
SELECT keyed_check('lb_handle', 'players', 'handle', 'score DESC, handle', 'score IS NOT NULL');

-- Built from the table (REINDEX): the same answers.
REINDEX INDEX lb_handle;
SELECT keyed_check('lb_handle', 'players', 'handle', 'score DESC, handle', 'score IS NOT NULL');
-- The unique index cannot go while the kv_sorted index relies on it.
DROP INDEX players_handle;
-- COPY and TRUNCATE.
COPY players (id, handle, score) FROM stdin;
100	copied100	5
101	copied101	6
\.
SELECT RANK('lb_handle', 'copied101') IS NOT NULL AS copied;
SELECT keyed_check('lb_handle', 'players', 'handle', 'score DESC, handle', 'score IS NOT NULL');
BEGIN;
TRUNCATE players;
INSERT INTO players VALUES (1, 'only', 1);
COMMIT;
SELECT * FROM TOPK('lb_handle', 5);
SELECT keyed_check('lb_handle', 'players', 'handle', 'score DESC, handle', 'score IS NOT NULL');
DROP INDEX players_handle CASCADE;
-- lb_id stays.
SELECT count(*) AS kv_sorted_left FROM pg_indexes WHERE tablename = 'players' AND indexdef LIKE '%kv_sorted%';
DROP TABLE players;

-- Numeric member columns (int4 here), with a text primary key; a UNIQUE constraint serves too.
CREATE TABLE games (name text PRIMARY KEY, player_no int UNIQUE, points float8) USING kv;
INSERT INTO games SELECT 'g' || i, i * 10, (i * 37) % 11 FROM generate_series(1, 12) i;
CREATE INDEX lb_no ON games USING kv_sorted (points DESC) WITH (key = 'player_no');
SELECT * FROM TOPK('lb_no', 3);
SELECT RANK('lb_no', '40') AS no40;
SELECT RANK('lb_no', 'g4') AS by_name;  -- the primary key is not a member (not even an integer)
SELECT * FROM RANGE('lb_no', 9, 10);
UPDATE games SET player_no = 1000 WHERE name = 'g4';
DELETE FROM games WHERE name = 'g5';
SELECT RANK('lb_no', '40') AS no40, RANK('lb_no', '1000') IS NOT NULL AS no1000, RANK('lb_no', '50') AS no50;
SELECT keyed_check('lb_no', 'games', 'player_no', 'points DESC, player_no');
-- Member types kv_sorted cannot encode are refused.
CREATE TABLE floats (k text PRIMARY KEY, x float8 UNIQUE, s int) USING kv;
CREATE INDEX ON floats USING kv_sorted (s) WITH (key = 'x');
DROP TABLE games, floats;
DROP FUNCTION keyed_check;
