# Redis-typed keys in kv_db0 over RESP (issue 12): hashes, sets and lists as keys of the default
# keyspace.  Every reply of the scripted commands equals a real redis-server's byte for byte (RESP2
# and RESP3; sets of strings as multisets, random picks by their properties); the WRONGTYPE matrix;
# type changes by SET / DEL / RENAME / COPY; emptied containers deleted; expiry of containers (the
# test clock, no sleeping); the SQL readers; containers intact after a crash and restart.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/rtypes_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('rtypes',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'app'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	GRANT ALL ON kv_db0 TO app;
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'the RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
for my $mode (qw(keys hash set list restart-write))
{
	NodedbKv::run_checks($python, $check, $mode, $port, $redis_port, @psql);
}
NodedbKv::stop_redis_server($redis_pid);

$node->stop('immediate');
$node->start;
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'the RESP workers run after the restart');
NodedbKv::run_checks($python, $check, 'restart-check', $port, $redis_port, @psql);

NodedbKv::check_no_crash([$node]);
done_testing();
