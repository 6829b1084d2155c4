-- KV_INCR_FLOAT (CONTRACT.md "Atomic operations"): float arithmetic on numeric columns and on
-- decimal text, Redis-style formatting of text results, the expiry kept, NaN/Infinity refused.

-- Blob collection holding text: a missing key starts at 0; results are stored as decimal text
-- without exponent or trailing zeros (Redis INCRBYFLOAT), and read back exactly.
CREATE TABLE atomic_floats (key text PRIMARY KEY, value text, expires kv_expiry DEFAULT kv_ttl(60)) USING kv;
SELECT kv_incr_float('atomic_floats', 'f', 10.5);
SELECT kv_incr_float('atomic_floats', 'f', 0.1);
SELECT kv_incr_float('atomic_floats', 'f', -10.6);
SELECT kv_incr_float('atomic_floats', 'g', 0.1), kv_incr_float('atomic_floats', 'g', 0.2);
SELECT kv_incr_float('atomic_floats', 'h', 5.0e3), kv_incr_float('atomic_floats', 'h', -2.5e-1);
SELECT kv_incr_float('atomic_floats', 'neg', -2.5), kv_incr_float('atomic_floats', 'neg', 2.5);
SELECT key, value, expires FROM atomic_floats ORDER BY key;
-- Integers stored by KV_INCR are numbers for KV_INCR_FLOAT; '1e3' is a float but not an integer.
SELECT kv_incr('atomic_floats', 'i', 41), kv_incr_float('atomic_floats', 'i', 1);
SELECT kv_incr('atomic_floats', 'i', 1) AS integer_again;
INSERT INTO atomic_floats VALUES ('exp', '1e3', NULL), ('lead', '.5', NULL), ('plus', '+1.5', NULL),
    ('space', ' 1.5', NULL), ('word', 'one', NULL), ('inf', 'inf', NULL), ('nan', 'nan', NULL), ('empty', '', NULL),
    ('null', NULL, NULL), ('Infinity', 'Infinity', NULL), ('-inf', '-inf', NULL), ('1e999', '1e999', NULL);
-- Stored infinities are numbers, as for Redis's INCRBYFLOAT: the infinite result is an overflow
-- (22003, like an infinite delta); NaN and out-of-range text are not numbers (42846).
SELECT key, atomic_try(format('SELECT kv_incr_float(%L, %L, 1)', 'atomic_floats', key))
FROM atomic_floats WHERE key IN ('exp', 'lead', 'plus', 'space', 'word', 'inf', 'nan', 'empty', 'null', 'Infinity',
    '-inf', '1e999') ORDER BY key;
SELECT key, value FROM atomic_floats WHERE key IN ('inf', 'Infinity', '-inf') ORDER BY key;
-- Large magnitudes are written in full and read back (a value INCR_FLOAT wrote is always a number).
SELECT kv_incr_float('atomic_floats', 'big', 1e300);
SELECT length(value) AS digits FROM atomic_floats WHERE key = 'big';
SELECT kv_incr_float('atomic_floats', 'big', 1e300);
SELECT kv_incr_float('atomic_floats', 'huge', 1.7976931348623157e308);
-- A NaN or infinite result is an overflow (22003); the value is unchanged.
SELECT atomic_try($$SELECT kv_incr_float('atomic_floats', 'huge', 1.7976931348623157e308)$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_floats', 'f', 'Infinity')$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_floats', 'f', '-Infinity')$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_floats', 'f', 'NaN')$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_floats', 'new', 'NaN')$$);
SELECT key, value FROM atomic_floats WHERE key IN ('f', 'huge', 'new') ORDER BY key;

-- The expiry is kept; a new key gets none; an expired key starts again at 0.
UPDATE atomic_floats SET expires = kv_ttl(30) WHERE key = 'neg';
SELECT expires AS neg_expires FROM atomic_floats WHERE key = 'neg' \gset
SELECT kv_incr_float('atomic_floats', 'neg', 1);
SELECT value, expires = :'neg_expires' AS expiry_kept FROM atomic_floats WHERE key = 'neg';
SET nodedb_kv.test_clock_offset = '30s';
SELECT kv_incr_float('atomic_floats', 'neg', 1.25);
SELECT value, expires FROM atomic_floats WHERE key = 'neg';
RESET nodedb_kv.test_clock_offset;

-- Typed collection: each column type keeps its type; integer columns accept only integral results.
CREATE TABLE atomic_float_typed (key text PRIMARY KEY, f8 float8, f4 float4, num numeric, num52 numeric(5, 2),
                                 i2 int2, i4 int4, i8 int8, raw bytea) USING kv;
SELECT atomic_try($$SELECT kv_incr_float('atomic_float_typed', 'k', 1)$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_float_typed', 'k', 1, field => 'nope')$$);
SELECT kv_incr_float('atomic_float_typed', 'k', 1.5, field => 'f8') AS f8,
       kv_incr_float('atomic_float_typed', 'k', 1.5, field => 'f4') AS f4,
       kv_incr_float('atomic_float_typed', 'k', 1.5, field => 'num') AS num,
       kv_incr_float('atomic_float_typed', 'k', 1.555, field => 'num52') AS num52,
       kv_incr_float('atomic_float_typed', 'k', 2, field => 'i2') AS i2,
       kv_incr_float('atomic_float_typed', 'k', 2, field => 'i4') AS i4,
       kv_incr_float('atomic_float_typed', 'k', 2, field => 'i8') AS i8,
       kv_incr_float('atomic_float_typed', 'k', 2.25, field => 'raw') AS raw;
SELECT key, f8, f4, num, num52, i2, i4, i8, convert_from(raw, 'UTF8') AS raw FROM atomic_float_typed ORDER BY key;
SELECT atomic_try($$SELECT kv_incr_float('atomic_float_typed', 'k', 0.5, field => 'i4')$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_float_typed', 'k', 40000, field => 'i2')$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_float_typed', 'k', 1e19, field => 'i8')$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_float_typed', 'k', 1e3, field => 'num52')$$);
SELECT atomic_try($$SELECT kv_incr_float('atomic_float_typed', 'k', 1e308, field => 'f4')$$);
-- An infinite float or numeric column is a number whose increment is infinite (22003); NaN is not a
-- number (42846).
UPDATE atomic_float_typed SET f8 = 'Infinity', f4 = '-Infinity', num = 'NaN', raw = 'abc' WHERE key = 'k';
SELECT f, atomic_try(format('SELECT kv_incr_float(%L, %L, 1, field => %L)', 'atomic_float_typed', 'k', f))
FROM unnest(ARRAY['f8', 'f4', 'num', 'raw']) f ORDER BY f;
UPDATE atomic_float_typed SET f8 = 'NaN', num = 'Infinity' WHERE key = 'k';
SELECT f, atomic_try(format('SELECT kv_incr_float(%L, %L, 1, field => %L)', 'atomic_float_typed', 'k', f))
FROM unnest(ARRAY['f8', 'num']) f ORDER BY f;
SELECT key, f8, f4, num, num52, i2, i4, i8, convert_from(raw, 'UTF8') AS raw FROM atomic_float_typed ORDER BY key;

DROP TABLE atomic_floats, atomic_float_typed;
