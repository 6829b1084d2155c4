# Sorted sets as keys of kv_db0 over RESP (issue 12): every Z-command's reply equals a real
# redis-server's byte for byte (RESP2 and RESP3; random picks by their properties); an oracle of random
# ZADD / ZINCRBY / ZREM against a sorted copy and redis-server; WRONGTYPE, TYPE, OBJECT ENCODING, SCAN
# TYPE, RENAME / COPY / EXPIRE, SET over a zset, emptied zsets deleted; the SQL reader
# kv_zset_entries; CLIENT TRACKING of zset keys; zsets intact after a crash and restart.
use strict;
use warnings;

use Test::More;
use NodedbKv;

NodedbKv::run_rtypes_test('rzset', 'rtypes_zset_check.py', qw(resp2 resp3 random oracle keys tracking sql restart-write));
done_testing();
