-- KV_INCR and KV_DECR (CONTRACT.md "Atomic operations"): results, blob and typed collections, the
-- numeric column types, the ttl argument, expired keys, overflow and type mismatch.

-- A blob collection (one value field) with an expiry column whose DEFAULT KV_INCR does not use.
CREATE TABLE atomic_counters (key text PRIMARY KEY, value bytea, expires kv_expiry DEFAULT kv_ttl(3600)) USING kv;
-- A missing key starts at 0; the result is the new value; bytea holds it as decimal text.
SELECT kv_incr('atomic_counters', 'a', 5);
SELECT kv_incr('atomic_counters', 'a', 10);
SELECT kv_decr('atomic_counters', 'a', 20);
SELECT kv_decr('atomic_counters', 'b', 3);
SELECT kv_incr('atomic_counters', 'c', 0);
SELECT kv_incr('atomic_counters', 'a', -1), kv_decr('atomic_counters', 'b', -10);
SELECT kv_incr('atomic_counters', 'a', 1, field => 'value') AS explicit_field;
-- Plain SELECT sees the results; a new key has no expiry although the column has a DEFAULT.
SELECT key, value, convert_from(value, 'UTF8') AS text, expires FROM atomic_counters ORDER BY key;
-- Several calls in one statement see each other's writes.
SELECT g, kv_incr('atomic_counters', 'multi', 10) FROM generate_series(1, 4) g ORDER BY g;
SELECT kv_incr('atomic_counters', 'm1', 1), kv_incr('atomic_counters', 'm1', 1), kv_decr('atomic_counters', 'm1', 5);
SELECT key, convert_from(value, 'UTF8') AS text FROM atomic_counters WHERE key IN ('multi', 'm1') ORDER BY key;
-- Keys are binary-safe text: case, spaces and the empty key are distinct keys.
SELECT kv_incr('atomic_counters', 'K', 1), kv_incr('atomic_counters', 'k ', 2), kv_incr('atomic_counters', '', 3);
SELECT key, convert_from(value, 'UTF8') AS text FROM atomic_counters WHERE key IN ('K', 'k ', '') ORDER BY key;

-- The stored value must be a canonical decimal integer (as in Redis): 42846 otherwise.
INSERT INTO atomic_counters (key, value, expires) VALUES
    ('bad_word', 'abc', NULL), ('bad_fraction', '1.5', NULL), ('bad_space', ' 5', NULL),
    ('bad_zero', '05', NULL), ('bad_plus', '+5', NULL), ('bad_empty', '', NULL), ('bad_exp', '1e3', NULL),
    ('bad_big', '9223372036854775808', NULL), ('null_value', NULL, NULL);
SELECT key, atomic_try(format('SELECT kv_incr(%L, %L, 1)', 'atomic_counters', key))
FROM atomic_counters WHERE key LIKE 'bad%' ORDER BY key;
SELECT atomic_try($$SELECT kv_decr('atomic_counters', 'bad_word', 1)$$);
-- The failed calls changed nothing.
SELECT key, convert_from(value, 'UTF8') AS text FROM atomic_counters WHERE key LIKE 'bad%' ORDER BY key;
-- A NULL value counts as 0.
SELECT kv_incr('atomic_counters', 'null_value', 4);

-- bigint overflow: 22003, and the value is unchanged.
SELECT kv_incr('atomic_counters', 'max', 9223372036854775807);
SELECT atomic_try($$SELECT kv_incr('atomic_counters', 'max', 1)$$);
SELECT atomic_try($$SELECT kv_decr('atomic_counters', 'max', -1)$$);
SELECT kv_decr('atomic_counters', 'min', 9223372036854775807), kv_decr('atomic_counters', 'min', 1);
SELECT atomic_try($$SELECT kv_decr('atomic_counters', 'min', 1)$$);
SELECT atomic_try($$SELECT kv_incr('atomic_counters', 'min', -1)$$);
-- DECR of the minimum bigint: -(-9223372036854775808) does not fit.
SELECT atomic_try($$SELECT kv_decr('atomic_counters', 'zero', -9223372036854775808)$$);
SELECT atomic_try($$SELECT kv_decr('atomic_counters', 'min', -9223372036854775808)$$);
SELECT kv_incr('atomic_counters', 'plus_min', -9223372036854775808);
SELECT key, convert_from(value, 'UTF8') AS text FROM atomic_counters
WHERE key IN ('max', 'min', 'zero', 'plus_min') ORDER BY key;

-- ttl => seconds sets the expiry to now + ttl on every call that passes it (kv_now() is fixed
-- within a statement, so the remaining time is exact here); without ttl the expiry is kept.
CREATE FUNCTION atomic_incr_ttl(k text, delta bigint, ttl bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result bigint;
    remaining interval;
BEGIN
    result := kv_incr('atomic_counters', k, delta, ttl => ttl);
    SELECT expires - kv_now() INTO remaining FROM atomic_counters WHERE key = k;
    RETURN result || ', expires in ' || coalesce(remaining::text, 'never');
END
$$;
SELECT atomic_incr_ttl('t', 1, 60);
SELECT atomic_incr_ttl('t', 1, 30);
SELECT atomic_incr_ttl('t', 1, 86400);
-- No ttl (NULL): the expiry stays exactly what the last call set (checked by a later statement,
-- whose snapshot sees the call's write).
SELECT expires AS t_expires FROM atomic_counters WHERE key = 't' \gset
SELECT kv_incr('atomic_counters', 't', 1, ttl => NULL) AS null_ttl;
SELECT convert_from(value, 'UTF8') AS text, expires = :'t_expires' AS null_ttl_keeps FROM atomic_counters WHERE key = 't';
SELECT kv_incr('atomic_counters', 't', 1), kv_decr('atomic_counters', 't', 1, ttl => NULL);
SELECT convert_from(value, 'UTF8') AS text, expires = :'t_expires' AS expiry_kept FROM atomic_counters WHERE key = 't';
-- ttl on a key without expiry gives it one; a key without ttl stays without.
SELECT kv_incr('atomic_counters', 'a', 1) AS a;
SELECT convert_from(value, 'UTF8') AS text, expires IS NULL AS never FROM atomic_counters WHERE key = 'a';
SELECT atomic_incr_ttl('a', 1, 5);
-- The ttl must be a number of seconds from 1 to 4500000000000 (a valid timestamp for millennia).
SELECT atomic_try($$SELECT kv_incr('atomic_counters', 't', 1, ttl => 0)$$);
SELECT atomic_try($$SELECT kv_incr('atomic_counters', 't', 1, ttl => -5)$$);
SELECT atomic_try($$SELECT kv_decr('atomic_counters', 't', 1, ttl => 9223372036854775807)$$);
SELECT atomic_try($$SELECT kv_incr('atomic_counters', 't', 1, ttl => 9223372036854775)$$);
SELECT convert_from(value, 'UTF8') AS text, expires = :'t_expires' AS expiry_kept FROM atomic_counters WHERE key = 't';

-- An expired key is absent: invisible to SELECT, and KV_INCR starts again at 0 with no expiry
-- (or the new ttl), whatever the expired row held.
UPDATE atomic_counters SET value = 'not a number' WHERE key = 'bad_word';
UPDATE atomic_counters SET expires = kv_ttl(10) WHERE key IN ('a', 't', 'bad_word', 'max');
SET nodedb_kv.test_clock_offset = '10s';
SELECT key FROM atomic_counters WHERE key IN ('a', 't', 'bad_word', 'max') ORDER BY key;
SELECT kv_incr('atomic_counters', 'a', 1) AS a, kv_decr('atomic_counters', 't', 2) AS t,
       kv_incr('atomic_counters', 'bad_word', 3) AS bad_word, kv_incr('atomic_counters', 'max', 1, ttl => 100) AS max;
SELECT key, convert_from(value, 'UTF8') AS text, expires IS NULL AS never, kv_ttl_remaining(expires) > '99s' AS ttl_100
FROM atomic_counters WHERE key IN ('a', 't', 'bad_word', 'max') ORDER BY key;
RESET nodedb_kv.test_clock_offset;
-- The boundary: a key expires when its expiry <= now.
CREATE FUNCTION atomic_expiry_edge() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before_edge bigint;
    at_edge bigint;
BEGIN
    PERFORM kv_incr('atomic_counters', 'edge', 5, ttl => 10);
    PERFORM set_config('nodedb_kv.test_clock_offset', '9.999', true);
    before_edge := kv_incr('atomic_counters', 'edge', 1);
    PERFORM set_config('nodedb_kv.test_clock_offset', '10', true);
    at_edge := kv_incr('atomic_counters', 'edge', 1);
    RETURN 'at 9.999s: ' || before_edge || ', at 10s: ' || at_edge;
END
$$;
SELECT atomic_expiry_edge();
SHOW nodedb_kv.test_clock_offset;

-- A collection without an expiry column: ttl is an error, the rest works.
CREATE TABLE atomic_plain (key text PRIMARY KEY, hits text) USING kv;
SELECT kv_incr('atomic_plain', 'p', 2), kv_decr('atomic_plain', 'p', 1);
SELECT atomic_try($$SELECT kv_incr('atomic_plain', 'p', 1, ttl => 60)$$);
SELECT * FROM atomic_plain ORDER BY key;

-- A typed collection (several value fields): field => names the one to change, and is required.
CREATE TABLE atomic_typed (id integer PRIMARY KEY, i2 int2, i4 int4, i8 int8, num numeric, num52 numeric(5, 2),
                           f8 float8, txt text, raw bytea, note varchar(10) DEFAULT 'new',
                           expires kv_expiry) USING kv;
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '1', 1)$$);
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '1', 1, field => 'missing')$$);
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '1', 1, field => 'I2')$$);
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '1', 1, field => 'id')$$);
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '1', 1, field => 'expires')$$);
SELECT atomic_try($$SELECT kv_incr('atomic_typed', 'one', 1, field => 'i4')$$);
-- Each numeric type adds numerically and keeps its type; text and bytea hold decimal text.
SELECT kv_incr('atomic_typed', '1', 7, field => 'i2') AS i2, kv_incr('atomic_typed', '1', 7, field => 'i4') AS i4,
       kv_incr('atomic_typed', '1', 7, field => 'i8') AS i8, kv_incr('atomic_typed', '1', 7, field => 'num') AS num,
       kv_incr('atomic_typed', '1', 7, field => 'num52') AS num52, kv_incr('atomic_typed', '1', 7, field => 'f8') AS f8,
       kv_incr('atomic_typed', '1', 7, field => 'txt') AS txt, kv_incr('atomic_typed', '1', 7, field => 'raw') AS raw;
SELECT kv_decr('atomic_typed', '1', 10, field => 'i2') AS i2, kv_decr('atomic_typed', '1', 10, field => 'num') AS num,
       kv_decr('atomic_typed', '1', 10, field => 'f8') AS f8, kv_decr('atomic_typed', '1', 10, field => 'txt') AS txt;
-- The new row got the other columns' defaults (note) and no expiry.
SELECT * FROM atomic_typed ORDER BY id;
SELECT pg_typeof(i2), pg_typeof(num), pg_typeof(f8), pg_typeof(txt) FROM atomic_typed WHERE id = 1;
-- Overflow of the column type: 22003.
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '2', 32768, field => 'i2')$$);
SELECT kv_incr('atomic_typed', '2', 32767, field => 'i2'), kv_decr('atomic_typed', '3', 32768, field => 'i2');
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '2', 1, field => 'i2')$$);
SELECT atomic_try($$SELECT kv_decr('atomic_typed', '3', 1, field => 'i2')$$);
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '2', 2147483648, field => 'i4')$$);
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '2', 1000, field => 'num52')$$);
SELECT kv_incr('atomic_typed', '2', 9223372036854775807, field => 'num');
SELECT atomic_try($$SELECT kv_incr('atomic_typed', '2', 1, field => 'num')$$);
-- Values that are not integers: 42846.
UPDATE atomic_typed SET num = 2.5, num52 = 1.25, f8 = 1.5, txt = '7.0', raw = 'x' WHERE id = 1;
SELECT f, atomic_try(format('SELECT kv_incr(%L, %L, 1, field => %L)', 'atomic_typed', '1', f))
FROM unnest(ARRAY['num', 'num52', 'f8', 'txt', 'raw']) f ORDER BY f;
-- Integers beyond bigint: out of range (22003), not "not an integer".
UPDATE atomic_typed SET num = 1e30, f8 = 1e300, num52 = 12.00 WHERE id = 1;
SELECT f, atomic_try(format('SELECT kv_incr(%L, %L, 1, field => %L)', 'atomic_typed', '1', f))
FROM unnest(ARRAY['num', 'num52', 'f8']) f ORDER BY f;
SELECT * FROM atomic_typed ORDER BY id;

DROP FUNCTION atomic_expiry_edge();
DROP FUNCTION atomic_incr_ttl(text, bigint, bigint);
DROP TABLE atomic_counters, atomic_plain, atomic_typed;
