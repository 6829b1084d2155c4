-- Errors common to the atomic functions (CONTRACT.md "Atomic operations"): not a kv table (42809),
-- unknown field (42703), NULL arguments, read-only transactions (25006), missing privileges (42501),
-- row-level security; and how the functions are declared.
-- Every atomic function, as a query template over (collection, key).
CREATE TABLE atomic_calls (name text PRIMARY KEY, template text);
INSERT INTO atomic_calls VALUES
    ('kv_incr', 'SELECT kv_incr(%s, %L, 1)'),
    ('kv_decr', 'SELECT kv_decr(%s, %L, 1)'),
    ('kv_incr_float', 'SELECT kv_incr_float(%s, %L, 1.5)'),
    ('kv_cas', 'SELECT kv_cas(%s, %L, '''', ''1'')'),
    ('kv_getset', 'SELECT kv_getset(%s, %L, ''1'')');
GRANT SELECT ON atomic_calls TO PUBLIC;

-- Volatility, strictness and parallel safety, chosen on purpose: the writers are VOLATILE and
-- PARALLEL UNSAFE; none is STRICT, so a NULL argument is an error rather than a silent NULL.
SELECT p.oid::regprocedure AS function, p.provolatile AS volatile, p.proisstrict AS strict,
       p.proparallel AS parallel, p.prorettype::regtype AS returns
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'nodedb_kv'
WHERE p.proname IN ('kv_incr', 'kv_decr', 'kv_incr_float', 'kv_cas', 'kv_getset',
                    'rate_check', 'rate_remaining', 'rate_reset')
ORDER BY p.oid::regprocedure::text COLLATE "C";

-- Not a kv table: 42809.
CREATE TABLE atomic_heap (key text PRIMARY KEY, value text);
CREATE VIEW atomic_view AS SELECT 'k'::text AS key, 'v'::text AS value;
CREATE SEQUENCE atomic_seq;
CREATE TABLE atomic_parted (key text PRIMARY KEY, value text) PARTITION BY LIST (key);
SELECT c.name, r.rel, atomic_try(format(c.template, quote_literal(r.rel), 'k'))
FROM atomic_calls c, unnest(ARRAY['atomic_heap', 'atomic_view', 'atomic_seq', 'atomic_parted', 'pg_class',
                                  'atomic_heap_pkey']) r(rel)
ORDER BY r.rel, c.name;
-- A collection that does not exist: the regclass cast, or a stale OID.
SELECT atomic_try($$SELECT kv_incr('atomic_missing', 'k', 1)$$);
SELECT atomic_try(format(c.template, '0', 'k')) FROM atomic_calls c ORDER BY c.name;
CREATE TABLE atomic_gone (key text PRIMARY KEY, value text) USING kv;
SELECT 'atomic_gone'::regclass::oid AS gone_oid \gset
DROP TABLE atomic_gone;
SELECT replace(atomic_try(format('SELECT kv_incr(%s, %L, 1)', :gone_oid, 'k')), :'gone_oid', '<oid>') AS dropped;
SELECT count(*) AS untouched FROM atomic_heap;

-- Unknown or ambiguous value field: 42703.
CREATE TABLE atomic_blob (key text PRIMARY KEY, value text, expires kv_expiry) USING kv;
CREATE TABLE atomic_typed (key text PRIMARY KEY, a bigint, b text, expires kv_expiry) USING kv;
CREATE TABLE atomic_keyonly (key text PRIMARY KEY, expires kv_expiry) USING kv;
SELECT c.name, atomic_try(format(c.template, '''atomic_typed''', 'k')) FROM atomic_calls c ORDER BY c.name;
SELECT c.name, atomic_try(format(c.template, '''atomic_keyonly''', 'k')) FROM atomic_calls c ORDER BY c.name;
SELECT c.name, atomic_try(replace(format(c.template, '''atomic_blob''', 'k'), ')', ', field => ''other'')'))
FROM atomic_calls c ORDER BY c.name;
SELECT c.name, atomic_try(replace(format(c.template, '''atomic_typed''', 'k'), ')', ', field => ''key'')'))
FROM atomic_calls c ORDER BY c.name;
SELECT count(*) AS untouched FROM atomic_typed;

-- NULL arguments: a clear error naming the argument (22004); NULL ttl / field mean "not given".
SELECT atomic_try($$SELECT kv_incr(NULL, 'k', 1)$$);
SELECT atomic_try($$SELECT kv_incr('atomic_blob', NULL, 1)$$);
SELECT atomic_try($$SELECT kv_incr('atomic_blob', 'k', NULL)$$);
SELECT atomic_try($$SELECT kv_decr(NULL, 'k', 1)$$);
SELECT atomic_try($$SELECT kv_decr('atomic_blob', NULL, 1)$$);
SELECT atomic_try($$SELECT kv_decr('atomic_blob', 'k', NULL)$$);
SELECT atomic_try($$SELECT kv_incr_float(NULL, 'k', 1)$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_blob', NULL, 1)$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_blob', 'k', NULL)$$);
SELECT atomic_try($$SELECT kv_cas(NULL, 'k', '', 'v')$$);
SELECT atomic_try($$SELECT kv_cas('atomic_blob', NULL, '', 'v')$$);
SELECT atomic_try($$SELECT kv_cas('atomic_blob', 'k', NULL, 'v')$$);
SELECT atomic_try($$SELECT kv_cas('atomic_blob', 'k', '', NULL)$$);
SELECT atomic_try($$SELECT kv_getset(NULL, 'k', 'v')$$);
SELECT atomic_try($$SELECT kv_getset('atomic_blob', NULL, 'v')$$);
SELECT atomic_try($$SELECT kv_getset('atomic_blob', 'k', NULL)$$);
SELECT count(*) AS untouched FROM atomic_blob;
SELECT kv_incr('atomic_blob', 'k', 1, NULL, NULL) AS null_ttl_and_field,
       kv_incr_float('atomic_blob', 'k', 1, NULL) AS null_field,
       kv_cas('atomic_blob', 'k', '2', '3', NULL) AS cas_null_field,
       kv_getset('atomic_blob', 'k', '4', field => NULL) AS getset_null_field;
SELECT * FROM atomic_blob ORDER BY key;

-- Read-only transactions: 25006, before anything is written.
BEGIN READ ONLY;
SELECT c.name, atomic_try(format(c.template, '''atomic_blob''', 'k')) FROM atomic_calls c ORDER BY c.name;
ROLLBACK;
SET default_transaction_read_only = on;
SELECT c.name, atomic_try(format(c.template, '''atomic_blob''', 'new')) FROM atomic_calls c ORDER BY c.name;
RESET default_transaction_read_only;
BEGIN;
SET TRANSACTION READ ONLY;
SELECT atomic_try($$SELECT kv_incr('atomic_blob', 'k', 1, ttl => 5)$$);
ROLLBACK;
SELECT * FROM atomic_blob ORDER BY key;

-- Privileges: the executor's checks and message (42501).  A writer needs SELECT, INSERT and UPDATE
-- on the collection (or on the key, value and expiry columns).
CREATE ROLE atomic_reader;
CREATE ROLE atomic_writer;
GRANT SELECT ON atomic_blob TO atomic_reader;
GRANT SELECT, INSERT, UPDATE ON atomic_blob TO atomic_writer;
SET ROLE atomic_reader;
SELECT * FROM atomic_blob ORDER BY key;
SELECT c.name, atomic_try(format(c.template, '''atomic_blob''', 'k')) FROM atomic_calls c ORDER BY c.name;
SELECT c.name, atomic_try(format(c.template, '''atomic_blob''', 'new')) FROM atomic_calls c ORDER BY c.name;
SELECT c.name, atomic_try(format(c.template, '''atomic_typed''', 'k')) FROM atomic_calls c ORDER BY c.name;
RESET ROLE;
SELECT * FROM atomic_blob ORDER BY key;
-- Any one of the three privileges missing is enough to refuse, for an existing or a new key.
INSERT INTO atomic_typed (key, a) VALUES ('k', 10);
GRANT INSERT, UPDATE ON atomic_typed TO atomic_reader;
SET ROLE atomic_reader;
SELECT atomic_try($$SELECT kv_incr('atomic_typed', 'k', 1, field => 'a')$$) AS no_select;
RESET ROLE;
REVOKE ALL ON atomic_typed FROM atomic_reader;
GRANT SELECT, UPDATE ON atomic_typed TO atomic_reader;
SET ROLE atomic_reader;
SELECT atomic_try($$SELECT kv_incr('atomic_typed', 'k', 1, field => 'a')$$) AS no_insert;
RESET ROLE;
REVOKE ALL ON atomic_typed FROM atomic_reader;
GRANT SELECT, INSERT ON atomic_typed TO atomic_reader;
SET ROLE atomic_reader;
SELECT atomic_try($$SELECT kv_incr('atomic_typed', 'new', 1, field => 'a')$$) AS no_update;
RESET ROLE;
SELECT key, a FROM atomic_typed ORDER BY key;
SET ROLE atomic_writer;
SELECT c.name, atomic_try(format(c.template, '''atomic_blob''', 'w')) FROM atomic_calls c ORDER BY c.name;
RESET ROLE;
SELECT * FROM atomic_blob ORDER BY key;
-- Column privileges covering the key, the value field and the expiry column are enough.
GRANT SELECT (key, a, expires), INSERT (key, a, expires), UPDATE (key, a, expires) ON atomic_typed TO atomic_writer;
SET ROLE atomic_writer;
SELECT atomic_try($$SELECT kv_incr('atomic_typed', 'k', 1, field => 'a')$$);
SELECT atomic_try($$SELECT kv_incr('atomic_typed', 'k', 1, field => 'b')$$);
RESET ROLE;
REVOKE UPDATE (a) ON atomic_typed FROM atomic_writer;
SET ROLE atomic_writer;
SELECT atomic_try($$SELECT kv_incr('atomic_typed', 'k', 1, field => 'a')$$);
RESET ROLE;
SELECT key, a, b FROM atomic_typed ORDER BY key;
-- EXECUTE on the function itself can be revoked like any other.
REVOKE EXECUTE ON FUNCTION kv_getset(regclass, text, text, text) FROM PUBLIC;
SET ROLE atomic_writer;
SELECT atomic_try($$SELECT kv_getset('atomic_blob', 'w', 'x')$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION kv_getset(regclass, text, text, text) TO PUBLIC;

-- Row-level security enabled for the caller: refused (0A000) rather than bypassed; the owner,
-- whom the policies do not apply to, may call.
ALTER TABLE atomic_blob ENABLE ROW LEVEL SECURITY;
CREATE POLICY atomic_all ON atomic_blob USING (true);
SET ROLE atomic_writer;
SELECT atomic_try($$SELECT kv_incr('atomic_blob', 'w', 1)$$);
RESET ROLE;
SELECT kv_incr('atomic_blob', 'k', 1) AS owner_may;
ALTER TABLE atomic_blob DISABLE ROW LEVEL SECURITY;

DROP OWNED BY atomic_reader, atomic_writer;
DROP ROLE atomic_reader, atomic_writer;
DROP TABLE atomic_calls, atomic_heap, atomic_parted, atomic_blob, atomic_typed, atomic_keyonly;
DROP VIEW atomic_view;
DROP SEQUENCE atomic_seq;
