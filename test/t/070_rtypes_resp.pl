# Redis-typed keys in kv_db0 over RESP (issue 12): hashes, sets and lists as keys of the default
# keyspace.  Every reply of the scripted commands equals a real redis-server's byte for byte (RESP2
# and RESP3; sets of strings as multisets, random picks by their properties); the WRONGTYPE matrix;
# type changes by SET / DEL / RENAME / COPY; emptied containers deleted; expiry of containers (the
# test clock, no sleeping); the SQL readers; containers intact after a crash and restart.
use strict;
use warnings;

use Test::More;
use NodedbKv;

NodedbKv::run_rtypes_test('rtypes', 'rtypes_check.py', qw(keys hash set list restart-write));
done_testing();
