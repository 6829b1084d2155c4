-- kv tables among PostgreSQL's integrity features: foreign keys referencing a kv table, triggers
-- around takeover, temporary kv tables, KV_* writes to tables with generated columns and foreign
-- keys, and the contrib tools that insist on heap.
SET nodedb_kv.test_clock_offset = 0;

-- Foreign keys referencing a kv table.  An expired key is absent: a new row cannot reference it.
-- A SQL DELETE runs the ON DELETE action; a takeover delete is storage-level and runs none (the
-- referencing row outlives the expired key, and then references the new row of that key).
CREATE TABLE integ_parent (k int PRIMARY KEY, v text, exp kv_expiry) USING kv;
CREATE TABLE integ_child (id int PRIMARY KEY, k int REFERENCES integ_parent ON DELETE CASCADE);
CREATE TABLE integ_kvchild (id int PRIMARY KEY, k int REFERENCES integ_parent ON DELETE SET NULL) USING kv;
INSERT INTO integ_parent VALUES (1, 'live', NULL), (2, 'expiring', kv_ttl(10)), (3, 'deleted', NULL);
INSERT INTO integ_child VALUES (10, 1), (20, 2), (30, 3);
INSERT INTO integ_kvchild VALUES (10, 1), (20, 2), (30, 3);
SET nodedb_kv.test_clock_offset = '20s';
SELECT atomic_try($$INSERT INTO integ_child VALUES (21, 2) RETURNING id$$);
SELECT atomic_try($$INSERT INTO integ_kvchild VALUES (21, 2) RETURNING id$$);
SELECT atomic_try($$UPDATE integ_child SET k = 2 WHERE id = 10 RETURNING id$$);
DELETE FROM integ_parent WHERE k = 3;
INSERT INTO integ_parent VALUES (2, 'taken over', NULL);
SELECT c.id, c.k, p.v FROM integ_child c LEFT JOIN integ_parent p USING (k) ORDER BY c.id;
SELECT c.id, c.k, p.v FROM integ_kvchild c LEFT JOIN integ_parent p USING (k) ORDER BY c.id;
-- A referenced live key cannot be deleted away under a RESTRICT foreign key, expired or not.
CREATE TABLE integ_strict (id int PRIMARY KEY, k int REFERENCES integ_parent ON DELETE RESTRICT);
INSERT INTO integ_strict VALUES (1, 1);
SELECT atomic_try($$DELETE FROM integ_parent WHERE k = 1 RETURNING k$$);
DROP TABLE integ_strict, integ_child, integ_kvchild;

-- Takeover fires no DELETE trigger (it is not a DELETE of the statement); the INSERT fires its own.
CREATE TABLE integ_fired (what text);
CREATE FUNCTION integ_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO integ_fired VALUES (TG_NAME || ' ' || TG_OP || ' ' || TG_LEVEL);
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TABLE integ_trig (key text PRIMARY KEY, n bigint, exp kv_expiry) USING kv;
CREATE TRIGGER b_del BEFORE DELETE ON integ_trig FOR EACH ROW EXECUTE FUNCTION integ_note();
CREATE TRIGGER a_del AFTER DELETE ON integ_trig FOR EACH ROW EXECUTE FUNCTION integ_note();
CREATE TRIGGER s_del AFTER DELETE ON integ_trig FOR EACH STATEMENT EXECUTE FUNCTION integ_note();
CREATE TRIGGER a_ins AFTER INSERT ON integ_trig FOR EACH ROW EXECUTE FUNCTION integ_note();
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO integ_trig VALUES ('ins', 1, kv_ttl(10)), ('upsert', 1, kv_ttl(10)), ('copy', 1, kv_ttl(10)),
    ('kv', 1, kv_ttl(10));
SET nodedb_kv.test_clock_offset = '20s';
TRUNCATE integ_fired;
INSERT INTO integ_trig VALUES ('ins', 2, NULL);
INSERT INTO integ_trig VALUES ('upsert', 2, NULL) ON CONFLICT (key) DO UPDATE SET n = 99;
COPY integ_trig (key, n) FROM stdin;
copy	2
\.
SELECT kv_incr('integ_trig', 'kv', 2, field => 'n');
SELECT what, count(*) FROM integ_fired GROUP BY what ORDER BY what;
SELECT key, n FROM integ_trig ORDER BY key;
SELECT expired FROM kv_stats WHERE collection = 'integ_trig'::regclass;
DROP TABLE integ_trig, integ_fired;
DROP FUNCTION integ_note();

-- Temporary kv tables: the same expiry, takeover and KV_* behaviour (the expiry worker leaves them
-- alone: TAP 012).
CREATE TEMP TABLE integ_temp (key text PRIMARY KEY, n bigint, exp kv_expiry) USING kv;
SELECT a.amname, c.relpersistence FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'integ_temp'::regclass;
SET nodedb_kv.test_clock_offset = 0;
INSERT INTO integ_temp VALUES ('live', 1, NULL), ('expiring', 2, kv_ttl(10));
SET nodedb_kv.test_clock_offset = '20s';
SELECT key, n FROM integ_temp ORDER BY key;
INSERT INTO integ_temp VALUES ('expiring', 3, NULL);
SELECT kv_incr('integ_temp', 'live', 10), kv_incr('pg_temp.integ_temp', 'new', 5);
SELECT key, n FROM integ_temp ORDER BY key;
SET nodedb_kv.test_clock_offset = '-1h';
SELECT key, count(*) FROM integ_temp GROUP BY key ORDER BY key;
REINDEX TABLE integ_temp;
SELECT atomic_try($$CREATE TEMP TABLE integ_temp_nokey (key text, n bigint) USING kv$$);
DROP TABLE integ_temp;
SET nodedb_kv.test_clock_offset = 0;

-- KV_* writes to a table with a generated column and foreign keys: the generated column follows,
-- the foreign key is checked (a new key gets the column defaults, which must reference a row).
CREATE TABLE integ_owner (id int PRIMARY KEY);
INSERT INTO integ_owner VALUES (1);
CREATE TABLE integ_gen (
    key text PRIMARY KEY,
    n bigint,
    doubled bigint GENERATED ALWAYS AS (n * 2) STORED,
    owner int NOT NULL DEFAULT 1 REFERENCES integ_owner,
    parent int REFERENCES integ_parent,
    exp kv_expiry) USING kv;
SELECT kv_incr('integ_gen', 'a', 5, field => 'n'), kv_incr('integ_gen', 'a', 1, field => 'n');
SELECT kv_cas('integ_gen', 'a', '6', '20', field => 'n') ->> 'success' AS cas;
SELECT kv_incr_float('integ_gen', 'a', 2, field => 'n');
SELECT kv_getset('integ_gen', 'a', '7', field => 'n') ->> 'old_value' AS old;
SELECT key, n, doubled, owner FROM integ_gen ORDER BY key;
-- A generated column cannot be the value field.
SELECT atomic_try($$SELECT kv_incr('integ_gen', 'a', 1, field => 'doubled')$$);
-- The foreign key is checked for a field the operation writes and for the defaults of a new key.
SELECT atomic_try($$SELECT kv_getset('integ_gen', 'a', '42', field => 'parent')$$);
SELECT atomic_try($$SELECT kv_getset('integ_gen', 'a', '1', field => 'parent')$$);
ALTER TABLE integ_gen ALTER COLUMN owner SET DEFAULT 2;
SELECT atomic_try($$SELECT kv_incr('integ_gen', 'b', 1, field => 'n')$$);
INSERT INTO integ_owner VALUES (2);
SELECT kv_incr('integ_gen', 'b', 1, field => 'n');
-- The referenced side: a referenced owner cannot go while a kv row points at it.
SELECT atomic_try($$DELETE FROM integ_owner WHERE id = 2 RETURNING id$$);
SELECT key, n, doubled, owner, parent FROM integ_gen ORDER BY key;
DROP TABLE integ_gen, integ_owner, integ_parent;

-- Contrib tools that require heap refuse kv tables with their own error, 0A000 "only heap AM is
-- supported" (PG15-PITFALLS §1.10): pgstattuple, amcheck's verify_heapam, pg_surgery, pgrowlocks.
-- pageinspect reads raw pages of any relation (heap_page_items over get_raw_page works: a kv page
-- is a heap page) and pg_visibility reads the visibility map: both work on kv tables.
CREATE EXTENSION pgstattuple;
CREATE EXTENSION pageinspect;
CREATE EXTENSION amcheck;
CREATE EXTENSION pg_surgery;
CREATE EXTENSION pgrowlocks;
CREATE EXTENSION pg_visibility;
CREATE TABLE integ_tools (key int PRIMARY KEY, v text) USING kv;
INSERT INTO integ_tools VALUES (1, 'one');
SELECT atomic_try($$SELECT tuple_count FROM pgstattuple('integ_tools')$$);
SELECT atomic_try($$SELECT approx_tuple_count FROM pgstattuple_approx('integ_tools')$$);
SELECT atomic_try($$SELECT count(*) FROM verify_heapam('integ_tools')$$);
SELECT atomic_try($$SELECT heap_force_kill('integ_tools', ARRAY['(0,1)']::tid[])$$);
SELECT atomic_try($$SELECT count(*) FROM pgrowlocks('integ_tools')$$);
SELECT atomic_try($$SELECT count(*) FROM pg_visibility('integ_tools')$$);
SELECT count(*) AS raw_page_items FROM heap_page_items(get_raw_page('integ_tools', 0));
-- The primary-key index is a plain btree: amcheck checks it.
SELECT bt_index_check('integ_tools_pkey', true);
SELECT key, v FROM integ_tools ORDER BY key;
DROP TABLE integ_tools;
DROP EXTENSION pgstattuple, pageinspect, amcheck, pg_surgery, pgrowlocks, pg_visibility;
