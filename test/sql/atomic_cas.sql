-- KV_CAS and KV_GETSET (CONTRACT.md "Atomic operations"): the jsonb result shapes (base64 of the
-- value before the call), byte-exact comparison, missing / NULL / expired keys, expiry kept,
-- typed collections and the field's type.

CREATE TABLE atomic_cas_blob (key text PRIMARY KEY, value bytea, expires kv_expiry DEFAULT kv_ttl(60)) USING kv;
-- A missing key matches only expected = '' and is then created (without expiry).
SELECT kv_cas('atomic_cas_blob', 'a', 'x', 'first');
SELECT count(*) AS created FROM atomic_cas_blob;
SELECT kv_cas('atomic_cas_blob', 'a', '', 'first');
SELECT key, value, expires FROM atomic_cas_blob ORDER BY key;
-- current_value is the value before the call, on success and on failure.
SELECT kv_cas('atomic_cas_blob', 'a', '', 'second');
SELECT kv_cas('atomic_cas_blob', 'a', 'First', 'second');
SELECT kv_cas('atomic_cas_blob', 'a', 'first ', 'second');
SELECT kv_cas('atomic_cas_blob', 'a', 'first', 'second');
SELECT convert_from(decode(kv_cas('atomic_cas_blob', 'a', 'second', 'third') ->> 'current_value', 'base64'), 'UTF8')
    AS decoded_current_value;
SELECT jsonb_typeof(r -> 'success') AS success_type, jsonb_typeof(r -> 'current_value') AS current_value_type
FROM kv_cas('atomic_cas_blob', 'a', 'no', 'no') r;
-- The empty value: a present key holding '' matches expected = '' and reports "" (not null).
SELECT kv_cas('atomic_cas_blob', 'a', 'third', '');
SELECT kv_cas('atomic_cas_blob', 'a', '', 'fourth');
-- Bytes are compared exactly: bytea holds the text's bytes (UTF-8 here), raw bytes compare raw.
SELECT kv_cas('atomic_cas_blob', 'utf8', '', 'é');
SELECT value FROM atomic_cas_blob WHERE key = 'utf8';
SELECT kv_cas('atomic_cas_blob', 'utf8', 'e', 'x'), kv_cas('atomic_cas_blob', 'utf8', 'é', 'ê');
INSERT INTO atomic_cas_blob VALUES ('binary', '\x00ff0a'::bytea, NULL);
SELECT kv_cas('atomic_cas_blob', 'binary', '', 'x');
-- A NULL value compares like a missing key (expected = '') and is reported as null.
INSERT INTO atomic_cas_blob VALUES ('null', NULL, NULL), ('null2', NULL, NULL);
SELECT kv_cas('atomic_cas_blob', 'null', 'x', 'y');
SELECT kv_cas('atomic_cas_blob', 'null', '', 'y');
SELECT key, value FROM atomic_cas_blob WHERE key IN ('null', 'null2', 'binary', 'utf8') ORDER BY key;

-- KV_GETSET: always writes, returns {"old_value": base64 or null}.
SELECT kv_getset('atomic_cas_blob', 'g', 'one');
SELECT kv_getset('atomic_cas_blob', 'g', 'two');
SELECT kv_getset('atomic_cas_blob', 'g', '');
SELECT kv_getset('atomic_cas_blob', 'g', 'three');
SELECT kv_getset('atomic_cas_blob', 'null2', 'was null');
SELECT kv_getset('atomic_cas_blob', 'binary', 'text now');
SELECT key, value, expires FROM atomic_cas_blob WHERE key IN ('g', 'null2', 'binary') ORDER BY key;

-- Both keep the expiry of an existing key.
UPDATE atomic_cas_blob SET expires = kv_ttl(30) WHERE key IN ('a', 'g');
SELECT key, expires AS old_expires INTO TEMP atomic_cas_expiry FROM atomic_cas_blob WHERE key IN ('a', 'g');
SELECT kv_cas('atomic_cas_blob', 'a', 'fourth', 'fifth'), kv_getset('atomic_cas_blob', 'g', 'four');
SELECT b.key, convert_from(b.value, 'UTF8') AS value, b.expires = e.old_expires AS expiry_kept
FROM atomic_cas_blob b JOIN atomic_cas_expiry e USING (key) ORDER BY b.key;
-- An expired key is absent: CAS matches only '' (and creates the key without expiry), GETSET
-- reports null.
SET nodedb_kv.test_clock_offset = '30s';
SELECT kv_cas('atomic_cas_blob', 'a', 'fifth', 'stale');
SELECT kv_cas('atomic_cas_blob', 'a', '', 'reborn');
SELECT kv_getset('atomic_cas_blob', 'g', 'reborn');
SELECT key, convert_from(value, 'UTF8') AS value, expires FROM atomic_cas_blob WHERE key IN ('a', 'g') ORDER BY key;
RESET nodedb_kv.test_clock_offset;

-- A text value field.
CREATE TABLE atomic_cas_text (key text PRIMARY KEY, value text) USING kv;
SELECT kv_getset('atomic_cas_text', 't', 'hello'), kv_cas('atomic_cas_text', 't', 'hello', 'world');
SELECT * FROM atomic_cas_text ORDER BY key;

-- Typed collection: field => is required and names the column; the comparison is on the column's
-- text output; the new value goes through the column's input function (and typmod).
CREATE TABLE atomic_cas_typed (id bigint PRIMARY KEY, n integer, amount numeric(6, 2), tag varchar(3),
                               doc jsonb, expires kv_expiry) USING kv;
SELECT atomic_try($$SELECT kv_cas('atomic_cas_typed', '1', '', '5')$$);
SELECT atomic_try($$SELECT kv_getset('atomic_cas_typed', '1', '5')$$);
SELECT atomic_try($$SELECT kv_cas('atomic_cas_typed', '1', '', '5', field => 'nope')$$);
SELECT atomic_try($$SELECT kv_getset('atomic_cas_typed', '1', '5', field => 'expires')$$);
SELECT kv_cas('atomic_cas_typed', '1', '', '5', field => 'n');
SELECT kv_cas('atomic_cas_typed', '1', '05', '6', field => 'n');
SELECT kv_cas('atomic_cas_typed', '1', '5', '06', field => 'n');
SELECT kv_cas('atomic_cas_typed', '1', '', '1.5', field => 'amount');
SELECT kv_cas('atomic_cas_typed', '1', '1.5', '2', field => 'amount');
SELECT kv_cas('atomic_cas_typed', '1', '1.50', '2', field => 'amount');
SELECT kv_getset('atomic_cas_typed', '1', 'abc', field => 'tag');
SELECT kv_getset('atomic_cas_typed', '1', '{"b": 1, "a": [true]}', field => 'doc');
SELECT * FROM atomic_cas_typed ORDER BY id;
SELECT atomic_try($$SELECT kv_cas('atomic_cas_typed', '1', '6', 'six', field => 'n')$$);
SELECT atomic_try($$SELECT kv_getset('atomic_cas_typed', '1', 'abcd', field => 'tag')$$);
SELECT atomic_try($$SELECT kv_getset('atomic_cas_typed', '1', '{', field => 'doc')$$);
SELECT atomic_try($$SELECT kv_getset('atomic_cas_typed', 'one', '1', field => 'n')$$);
SELECT * FROM atomic_cas_typed ORDER BY id;

DROP TABLE atomic_cas_blob, atomic_cas_text, atomic_cas_typed, atomic_cas_expiry;
