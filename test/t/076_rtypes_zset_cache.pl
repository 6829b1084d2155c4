# The node cache of spilled sorted sets (issue 12; src/rtypes/README.md "Node cache"): each RESP worker
# keeps the decoded tree nodes of the sets it reads, named by the set's member prefix (keyspace, key,
# generation) and the stamp of the tree's state, so a ZRANK of a big set reads its member row and not a
# row per level.  Clients on both workers write and check one set while a trigger fails some writes
# (rolled back, alone and inside MULTI/EXEC: their stamps are taken again by other writers) and SQL
# holds the header row now and then; every check of a client (one MULTI snapshot: ZCARD, ZRANGE, ZRANK,
# ZSCORE and the client's own members) agrees, and at the end every connection reads the oracle's set.
# DEL, SQL DELETE, SET over, RENAME, COPY, FLUSHDB and re-created sets of the same shape are read anew.
# ZRANDMEMBER with a count of a big spilled set picks by position: a few rows read, not every member.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/rtypes_zcache_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('zcache',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\n"
	  . "nodedb_kv.resp_anonymous_role = 'postgres'");
ok(NodedbKv::resp_workers_run($node), 'the RESP workers run');
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, $_, $port, @psql) for qw(concurrent lifecycle randmember);

NodedbKv::check_no_crash([$node]);
done_testing();
