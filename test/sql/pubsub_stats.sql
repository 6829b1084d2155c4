-- kv_pubsub_stats (issue 10): the bus's counters as a view, the same numbers INFO's stats section shows
-- over RESP.  RESP is off in pg_regress, so nobody subscribes; the published count moves by exactly the
-- committed messages (a rolled-back kv_publish never reaches the bus).  Slow subscribers being dropped
-- is tested over sockets in TAP 040.
SELECT channels, patterns, subscriptions, clients_dropped, messages_lost, ring_bytes FROM kv_pubsub_stats;
SELECT pg_typeof(messages_published) FROM kv_pubsub_stats;
CREATE TEMP TABLE published_before AS SELECT messages_published AS n FROM kv_pubsub_stats;
SELECT kv_publish('stats', 'one') AS receivers, kv_publish('stats', 'two') AS receivers;
BEGIN;
SELECT kv_publish('stats', 'rolled back') AS receivers;
ROLLBACK;
SELECT s.messages_published - b.n AS published_since FROM kv_pubsub_stats s, published_before b;
-- Like kv_stats, not readable by every role until granted.
CREATE ROLE pubsub_stats_reader;
SET ROLE pubsub_stats_reader;
SELECT count(*) FROM kv_pubsub_stats;
RESET ROLE;
GRANT SELECT ON kv_pubsub_stats TO pubsub_stats_reader;
SET ROLE pubsub_stats_reader;
SELECT count(*) FROM kv_pubsub_stats;
RESET ROLE;
REVOKE SELECT ON kv_pubsub_stats FROM pubsub_stats_reader;
DROP ROLE pubsub_stats_reader;
SELECT obj_description('kv_pubsub_stats'::regclass, 'pg_class') IS NOT NULL AS documented;
