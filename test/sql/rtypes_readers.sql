-- The SQL readers of kv_db<n> container values (kv_hash_entries, kv_set_members, kv_list_entries,
-- kv_zset_entries) on
-- values in the rtypes encoding (src/rtypes/README.md): version 1, item count, length-prefixed items.
-- (RESP writes them; TAP 070 reads values written over RESP back through these functions.)
CREATE EXTENSION IF NOT EXISTS nodedb_kv;
INSERT INTO kv_db0 (key, type, value) VALUES
	('user:1', 'hash', '\x0104046e616d6505616c69636503616765023432'),   -- name=alice, age=42
	('tags', 'set', '\x0103037265640005677265656e'),                       -- red, "", green
	('queue', 'list', '\x0103026131026232026333'),                       -- a1, b2, c3
	('empty', 'list', '\x0100');
SELECT convert_from(f.field, 'UTF8') AS field, convert_from(f.value, 'UTF8') AS value
FROM kv_db0 d, kv_hash_entries(d.value) f WHERE d.key = 'user:1';
SELECT convert_from(m, 'UTF8') AS member FROM kv_db0 d, kv_set_members(d.value) m WHERE d.key = 'tags' ORDER BY 1;
SELECT kv_set_members(value) FROM kv_db0 WHERE key = 'tags' ORDER BY 1;
SELECT l.index, convert_from(l.value, 'UTF8') AS element FROM kv_db0 d, kv_list_entries(d.value) l
WHERE d.key = 'queue' ORDER BY l.index;
SELECT count(*) FROM kv_db0 d, kv_list_entries(d.value) WHERE d.key = 'empty';
-- Every container of the keyspace with its size, by type.
SELECT convert_from(key, 'UTF8') AS key, type,
	CASE type WHEN 'hash' THEN (SELECT count(*) FROM kv_hash_entries(value))
	          WHEN 'set' THEN (SELECT count(*) FROM kv_set_members(value))
	          WHEN 'list' THEN (SELECT count(*) FROM kv_list_entries(value)) END AS size
FROM kv_db0 ORDER BY key;
-- Values that are not containers: 22P03.
SELECT * FROM kv_hash_entries('\x0101016100');   -- a field without its value (count 1)
SELECT * FROM kv_set_members('plain text'::bytea);
SELECT * FROM kv_list_entries('\x01020131');  -- two items announced, one present
SELECT * FROM kv_hash_entries(NULL);
-- Sorted sets: member, 8-byte little-endian IEEE score; ascending by (score, member), rank from 0.
INSERT INTO kv_db0 (key, type, value) VALUES   -- c=-inf, a=1, b=2.5
	('lb', 'zset', '\x0106016308000000000000f0ff016108000000000000f03f0162080000000000000440');
SELECT convert_from(z.member, 'UTF8') AS member, z.score, z.rank FROM kv_db0 d, kv_zset_entries(d.value) z
WHERE d.key = 'lb' ORDER BY z.rank;
SELECT convert_from(member, 'UTF8') AS member, rank FROM kv_db0, kv_zset_entries(value)
WHERE key = 'lb' AND score > 0 ORDER BY score DESC;
SELECT count(*) FROM kv_zset_entries('\x0100');
SELECT * FROM kv_zset_entries('\x0106016108000000000000f03f0162080000000000000440016308000000000000f0ff');  -- out of order
SELECT * FROM kv_zset_entries('\x010201610131');  -- a score of one byte
SELECT * FROM kv_zset_entries('\x01010161');  -- a member without its score
SELECT * FROM kv_zset_entries('\x0102016108000000000000f87f');  -- NaN
DELETE FROM kv_db0;
