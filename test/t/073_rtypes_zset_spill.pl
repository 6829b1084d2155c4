# Spilled sorted sets of kv_db<n> (issue 12): a zset past 128 members or 8 kB keeps a 33-byte header in
# its row, one row per member (its score) and a counted B+tree of node rows in kv_members, so ZRANK /
# ZADD / ZSCORE are O(log N).  Oracle checks against a sorted copy in Python and byte for byte against a
# real redis-server; DEL, SET over, RENAME, COPY, expiry, FLUSHDB, TRUNCATE and DROP as for the other
# spilled containers; kv_zset_entries by key and its privileges; a command failing half way (alone or
# inside MULTI/EXEC) rolls back whole; concurrent writers; a crash keeps the set.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/rtypes_zspill_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('zspill',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'postgres'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'app';
	GRANT ALL ON kv_db0 TO app;
	CREATE ROLE nobody LOGIN;
	GRANT nobody TO app;
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'the RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
for my $mode (qw(oracle lifecycle sql rollback concurrent))
{
	NodedbKv::run_checks($python, $check, $mode, $port, $redis_port, @psql);
}
NodedbKv::stop_redis_server($redis_pid);

NodedbKv::run_checks($python, $check, 'restart-write', $port, $redis_port, @psql);
$node->stop('immediate');
$node->start;
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'the RESP workers run after the restart');
NodedbKv::run_checks($python, $check, 'restart-check', $port, $redis_port, @psql);

NodedbKv::check_no_crash([$node]);
done_testing();
