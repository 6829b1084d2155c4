-- kv_publish from SQL (issue 10): the count of current subscribers (none in pg_regress: RESP is off
-- here; delivery is tested over sockets in TAP 040), both overloads, an unknown-typed literal resolving
-- to text, and the clear errors.
SELECT kv_publish('chat:lobby', 'hello') AS receivers;
SELECT kv_publish('chat:lobby', '\x00ff'::bytea) AS receivers;
SELECT pg_typeof(kv_publish('c', 'm'));
SELECT kv_publish(NULL, 'm') IS NULL AS strict;
SELECT kv_publish('', 'm') AS empty_channel_allowed_as_in_redis;
SELECT kv_publish('big', repeat('x', 20 * 1024 * 1024));
BEGIN;
SELECT kv_publish('c', 'in a transaction') AS receivers;
PREPARE TRANSACTION 'p';
