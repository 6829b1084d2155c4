-- Issue 7, the engine's part: what a hostile or careless caller of the KV functions tried, kept so
-- none of it comes back.  Runs before api_setup (alphabetical order): it creates the extension and
-- its own helpers, and drops everything at the end.
CREATE EXTENSION nodedb_kv;
-- adv_try: the query's result, or "ERROR <SQLSTATE>: message" (and DETAIL).
CREATE FUNCTION adv_try(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
    state text;
    message text;
    detail text;
BEGIN
    EXECUTE query INTO result;
    RETURN result;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN 'ERROR ' || state || ': ' || message || CASE WHEN detail <> '' THEN ' DETAIL: ' || detail ELSE '' END;
END
$$;

-- 1. A BEFORE INSERT trigger that changes the key: the insert of 'User1' lands on the existing
-- 'user1', so the write goes to that row, as INSERT ... ON CONFLICT DO UPDATE would (it used to
-- retry for ever: the caller's key stays absent, the trigger's key always conflicts).
CREATE TABLE adv_lower (key text PRIMARY KEY, v bigint, f float8, label text) USING kv;
CREATE FUNCTION adv_lower_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.key := lower(NEW.key);
    RETURN NEW;
END
$$;
CREATE TRIGGER adv_lower_key BEFORE INSERT ON adv_lower FOR EACH ROW EXECUTE FUNCTION adv_lower_key();
SET statement_timeout = '20s'; -- a regression would fail here instead of hanging the suite
SELECT kv_incr('adv_lower', 'user1', 1, field => 'v');
SELECT kv_incr('adv_lower', 'User1', 1, field => 'v');
SELECT kv_decr('adv_lower', 'USER1', 5, field => 'v');
SELECT kv_incr_float('adv_lower', 'uSer1', 1.5, field => 'f');
SELECT kv_getset('adv_lower', 'User1', 'g', field => 'label');
SELECT kv_cas('adv_lower', 'User1', 'g', 'c', field => 'label'); -- 'User1' is absent: no insert, no match
SELECT kv_cas('adv_lower', 'User1', '', 'never', field => 'label'); -- 'user1' exists: its value is not ''
SELECT kv_cas('adv_lower', 'New', '', 'created', field => 'label');  -- a new key: stored lower-cased
SELECT key, v, f, label FROM adv_lower ORDER BY key;
-- The bound: that write needs two attempts (the insert, then the update of the trigger's key); with
-- one allowed it gives up with a retryable 40001 instead of looping.
SET nodedb_kv.max_write_attempts = 1;
SELECT adv_try($$SELECT kv_incr('adv_lower', 'User1', 1, field => 'v')$$);
SELECT adv_try($$SELECT kv_getset('adv_lower', 'User1', 'x', field => 'label')$$);
SELECT adv_try($$SELECT kv_cas('adv_lower', 'User1', '', 'x', field => 'label')$$);
SELECT adv_try($$SELECT kv_incr_float('adv_lower', 'User1', 1, field => 'f')$$);
SELECT kv_incr('adv_lower', 'user1', 1, field => 'v') AS one_attempt_is_enough_without_a_key_change;
-- A denied RATE_CHECK locks the counter before counting in place: not a retry, still one attempt.
SELECT rate_check('adv', 'k', 1, 60) ->> 'current' AS allowed;
SELECT adv_try($$SELECT rate_check('adv', 'k', 1, 60)$$) LIKE 'ERROR 54001: rate limit exceeded%' AS denied;
SELECT rate_remaining('adv', 'k', 1, 60) ->> 'current' AS denied_hit_counted;
RESET nodedb_kv.max_write_attempts;
SHOW nodedb_kv.max_write_attempts;
SELECT key, v, f, label FROM adv_lower ORDER BY key;
RESET statement_timeout;

-- 4. KV_INCR on real / double precision fields past 2^24 / 2^53: a result the column cannot hold
-- exactly would be stored rounded (the increment silently lost): 22003 instead.  Representable
-- results are fine, and a domain over a float type is the float type.
CREATE DOMAIN adv_double AS float8;
CREATE TABLE adv_float (key text PRIMARY KEY, r real, d float8, dd adv_double) USING kv;
INSERT INTO adv_float VALUES ('k', 16777216, 9007199254740992, 9007199254740992);
SELECT adv_try($$SELECT kv_incr('adv_float', 'k', 1, field => 'r')$$);
SELECT kv_incr('adv_float', 'k', 2, field => 'r') AS r_plus_2;
SELECT adv_try($$SELECT kv_incr('adv_float', 'k', 1, field => 'd')$$);
SELECT kv_incr('adv_float', 'k', 2, field => 'd') AS d_plus_2;
SELECT adv_try($$SELECT kv_decr('adv_float', 'k', -1, field => 'dd')$$);
SELECT adv_try($$SELECT kv_incr('adv_float', 'new', 16777217, field => 'r')$$);
SELECT kv_incr('adv_float', 'new', 16777216, field => 'r') AS new_r;
SELECT key, r::bigint AS r, d::bigint AS d, dd::bigint AS dd FROM adv_float ORDER BY key;

-- 12. Value fields of types that hold no number: refused up front with 42846 naming the type (the
-- first call used to write '1' through the type's input function), and nothing is written.
CREATE TABLE adv_types (key text PRIMARY KEY, m money, o oid, c "char", b bool, ts timestamptz, j jsonb,
                        num numeric, f float8, vc varchar(30), bp char(30)) USING kv;
SELECT adv_try($$SELECT kv_incr('adv_types', 'k', 1, field => 'm')$$);
SELECT adv_try($$SELECT kv_incr('adv_types', 'k', 1, field => 'o')$$);
SELECT adv_try($$SELECT kv_decr('adv_types', 'k', 1, field => 'c')$$);
SELECT adv_try($$SELECT kv_incr('adv_types', 'k', 1, field => 'b')$$);
SELECT adv_try($$SELECT kv_incr('adv_types', 'k', 1, field => 'ts')$$);
SELECT adv_try($$SELECT kv_incr_float('adv_types', 'k', 1, field => 'j')$$);
SELECT adv_try($$SELECT kv_incr_float('adv_types', 'k', 1, field => 'm')$$);
SELECT count(*) AS rows_written FROM adv_types;
-- Numbers beyond bigint in numeric and float fields: 22003 (out of range), not "not an integer";
-- fractions and NaN stay 42846.
INSERT INTO adv_types (key, num, f) VALUES ('big', 1e30, 1e30), ('neg', -9223372036854775809, -1e19),
    ('inf', 'Infinity', '-Infinity'), ('nan', 'NaN', 'NaN'), ('frac', 1.5, 1.5),
    ('max', 9223372036854775807, 9223372036854774784);
SELECT key, adv_try(format('SELECT kv_incr(%L, %L, 0, field => %L)', 'adv_types', key, 'num')) AS num,
       adv_try(format('SELECT kv_incr(%L, %L, 0, field => %L)', 'adv_types', key, 'f')) AS f
FROM adv_types ORDER BY key;
-- Text, varchar and char fields hold decimal text.
SELECT kv_incr('adv_types', 't', 7, field => 'vc') AS vc, kv_incr('adv_types', 't', 8, field => 'bp') AS bp;

-- 8. Column privileges: a KV function asks for what the executor asks for the same write, INSERT
-- (key, field[, expiry]) ... ON CONFLICT (key) DO UPDATE SET field = ...[, expiry = ...] RETURNING
-- field: SELECT and INSERT on the key (never UPDATE), SELECT, INSERT and UPDATE on the field, and on
-- the expiry column INSERT and UPDATE only when ttl is passed.
CREATE TABLE adv_priv (key text PRIMARY KEY, n bigint, note text, e kv_expiry) USING kv;
CREATE ROLE adv_col;
GRANT SELECT (key, n), INSERT (key, n), UPDATE (n) ON adv_priv TO adv_col;
SET ROLE adv_col;
SELECT kv_incr('adv_priv', 'a', 1, field => 'n') AS created, kv_incr('adv_priv', 'a', 1, field => 'n') AS updated;
SELECT kv_cas('adv_priv', 'a', '2', '5', field => 'n') AS cas, kv_getset('adv_priv', 'a', '7', field => 'n') AS getset;
SELECT kv_incr_float('adv_priv', 'a', 1, field => 'n') AS incr_float;
-- The same write in SQL is allowed; what is refused below is refused in SQL too.
INSERT INTO adv_priv AS t (key, n) VALUES ('b', 1) ON CONFLICT (key) DO UPDATE SET n = t.n + 1 RETURNING n;
SELECT adv_try($$SELECT kv_incr('adv_priv', 'a', 1, ttl => 60, field => 'n')$$); -- writes the expiry
SELECT adv_try($$INSERT INTO adv_priv AS t (key, n, e) VALUES ('a', 1, kv_ttl(60))
                 ON CONFLICT (key) DO UPDATE SET n = t.n + 1, e = excluded.e RETURNING n$$);
SELECT adv_try($$SELECT kv_incr('adv_priv', 'a', 1, field => 'note')$$);          -- no privilege on note
RESET ROLE;
GRANT INSERT (e), UPDATE (e) ON adv_priv TO adv_col;
SET ROLE adv_col;
SELECT kv_incr('adv_priv', 'a', 1, ttl => 60, field => 'n') AS with_ttl;
RESET ROLE;
-- The result is the field's value: without SELECT on it, refused (as RETURNING n would be).
REVOKE SELECT (n) ON adv_priv FROM adv_col;
SET ROLE adv_col;
SELECT adv_try($$SELECT kv_incr('adv_priv', 'a', 1, field => 'n')$$);
SELECT adv_try($$INSERT INTO adv_priv AS t (key, n) VALUES ('a', 1) ON CONFLICT (key) DO UPDATE SET n = 5 RETURNING n$$);
RESET ROLE;
-- Table-level privileges still suffice (they cover every column).
REVOKE ALL ON adv_priv FROM adv_col;
GRANT SELECT, INSERT, UPDATE ON adv_priv TO adv_col;
SET ROLE adv_col;
SELECT kv_incr('adv_priv', 'c', 3, ttl => 60, field => 'n') AS table_level;
RESET ROLE;
SELECT key, n, e IS NOT NULL AS has_expiry FROM adv_priv ORDER BY key;
REVOKE ALL ON adv_priv FROM adv_col;
DROP ROLE adv_col;

-- 9. Keys too long for the primary key's btree: 22023 with the limit, from every KV function and
-- RATE_CHECK, before anything is written (the insert used to fail with a raw 54000).  The limit is
-- on the index entry as btree stores it: a long key that compresses well is fine.  Reads of such a
-- key find nothing.
CREATE FUNCTION adv_long_key() RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT string_agg(md5(i::text), '') FROM generate_series(1, 100) i $$; -- 3200 bytes, incompressible
CREATE TABLE adv_keys (key text PRIMARY KEY, v text, n bigint, f float8) USING kv;
SELECT adv_try($$SELECT kv_incr('adv_keys', adv_long_key(), 1, field => 'n')$$);
SELECT adv_try($$SELECT kv_decr('adv_keys', adv_long_key(), 1, field => 'n')$$);
SELECT adv_try($$SELECT kv_incr_float('adv_keys', adv_long_key(), 1, field => 'f')$$);
SELECT adv_try($$SELECT kv_cas('adv_keys', adv_long_key(), '', 'v', field => 'v')$$);
SELECT adv_try($$SELECT kv_getset('adv_keys', adv_long_key(), 'v', field => 'v')$$);
SELECT adv_try($$SELECT rate_check('g', adv_long_key(), 5, 60)$$);
SELECT rate_remaining('g', adv_long_key(), 5, 60) ->> 'remaining' AS remaining,
       rate_reset('g', adv_long_key()) ->> 'reset' AS reset;
SELECT kv_incr('adv_keys', repeat('k', 100000), 1, field => 'n') AS compressible_long_key;
SELECT length(key), n FROM adv_keys ORDER BY key;

-- 11. TTL arguments: the messages state the allowed range and print the number given exactly (no
-- "9.22337e+12").  A ttl up to the limit works.
CREATE TABLE adv_ttl (key text PRIMARY KEY, n bigint, e kv_expiry) USING kv;
SELECT adv_try($$SELECT kv_incr('adv_ttl', 'k', 1, ttl => 9223372036854775807)$$);
SELECT adv_try($$SELECT kv_incr('adv_ttl', 'k', 1, ttl => 4500000000001)$$);
SELECT adv_try($$SELECT kv_decr('adv_ttl', 'k', 1, ttl => 0)$$);
SELECT adv_try($$SELECT kv_incr('adv_ttl', 'k', 1, ttl => -9223372036854775808)$$);
SELECT kv_incr('adv_ttl', 'k', 1, ttl => 4500000000000) AS longest_ttl;
SELECT e > now() + interval '142000 years' AS far_future, kv_ttl_remaining(e) > interval '52000000 days' AS remaining
FROM adv_ttl;
SELECT adv_try($$SELECT kv_ttl(9223372036854)$$);
SELECT adv_try($$SELECT kv_ttl(1e300)$$);
SELECT adv_try($$SELECT kv_ttl(-4500000000000.5)$$);
SELECT adv_try($$SELECT kv_ttl('-Infinity')$$);
SELECT adv_try($$SELECT kv_ttl(-4500000000000)$$);
SELECT kv_ttl(4500000000000) > now() + interval '142000 years' AS longest_kv_ttl, kv_ttl(-1) < kv_now() AS negative_is_past;

-- 10. bytea overloads of the KV functions: binary keys and values (NUL, CR, LF, invalid UTF-8) are
-- reachable from SQL.  A text literal still picks the text version.
CREATE TABLE adv_bin (key bytea PRIMARY KEY, value bytea, n bigint, f float8) USING kv;
SELECT kv_incr('adv_bin', '\x00ff'::bytea, 5, field => 'n') AS incr,
       kv_decr('adv_bin', '\x00ff'::bytea, 2, field => 'n') AS decr,
       kv_incr_float('adv_bin', '\x00ff'::bytea, 0.5, field => 'f') AS incr_float;
SELECT kv_cas('adv_bin', '\x00ff'::bytea, ''::bytea, '\x000d0aff'::bytea, field => 'value') AS created;
SELECT kv_cas('adv_bin', '\x00ff'::bytea, '\x00'::bytea, '\x01'::bytea, field => 'value') AS mismatch;
SELECT kv_cas('adv_bin', '\x00ff'::bytea, '\x000d0aff'::bytea, '\x00'::bytea, field => 'value') AS swapped;
SELECT kv_getset('adv_bin', '\x00ff'::bytea, '\xfe'::bytea, field => 'value') AS getset;
SELECT kv_getset('adv_bin', '\x'::bytea, '\x'::bytea, field => 'value') AS empty_key_and_value;
SELECT kv_incr('adv_bin', '\x00ff', 1, field => 'n') AS text_version; -- the key is the 6 characters \x00ff
SELECT key, value, n, f FROM adv_bin ORDER BY key;
SELECT pg_get_function_identity_arguments(p.oid) AS arguments
FROM pg_proc p WHERE proname IN ('kv_incr', 'kv_cas') ORDER BY proname, 1;
-- Into text columns the bytes must be text: no NUL (22023), valid in the database encoding (22021).
CREATE TABLE adv_txt (key text PRIMARY KEY, value text) USING kv;
SELECT adv_try($$SELECT kv_getset('adv_txt', 'k'::bytea, '\x006b'::bytea)$$);
SELECT adv_try($$SELECT kv_getset('adv_txt', 'k'::bytea, '\xff'::bytea)$$);
SELECT adv_try($$SELECT kv_incr('adv_txt', '\x6b00'::bytea, 1)$$);
SELECT kv_getset('adv_txt', convert_to('clé', 'UTF8'), convert_to('välue', 'UTF8')) AS utf8_bytes;
SELECT key, value FROM adv_txt ORDER BY key;

-- Clean up: the extension and the helpers go, so api_setup starts from nothing.
DROP TABLE adv_lower, adv_float, adv_types, adv_priv, adv_keys, adv_ttl, adv_bin, adv_txt;
DROP FUNCTION adv_long_key();
DROP DOMAIN adv_double;
DROP FUNCTION adv_lower_key();
DELETE FROM kv_rate_gates;
DROP FUNCTION adv_try(text);
DROP EXTENSION nodedb_kv;
