# Blocking pops of kv_db<n> (issue 12): BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP and
# LMPOP.  Replies equal a real redis-server's (errors, served at once, WRONGTYPE, timeouts, MULTI,
# keyspace events, CLIENT UNBLOCK); a blocked client holds no transaction and does not stall its worker;
# it is woken by a push committed by another worker or by SQL (INSERT / UPDATE of the key's row), served
# first-blocked-first across workers, forgotten when it disconnects, checked against its role's
# privileges when it runs again; spilled lists too; a restart disconnects blocked clients and loses
# nothing.  Timeouts are real time: short, and no tight upper bound.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/rtypes_blocking_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('blocking',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\nnodedb_kv.resp_anonymous_role = 'postgres'");
$node->safe_psql('postgres', q{
	CREATE ROLE reader LOGIN PASSWORD 'secret';
	GRANT SELECT ON kv_db0 TO reader;
});
ok(NodedbKv::resp_workers_run($node), 'the RESP workers run');
# Both workers listen before the checks pick connections of each.
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'two RESP workers run');

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
my $redis_pid = NodedbKv::start_redis_server($redis_port);
NodedbKv::run_checks($python, $check, $_, $port, $redis_port, @psql) for qw(replies wake);
NodedbKv::stop_redis_server($redis_pid);

NodedbKv::run_checks($python, $check, 'restart', $port, $redis_port, $node->installed_command('pg_ctl'),
	$node->data_dir, $node->logfile, @psql);

# No blocked client left a wait behind, and nothing died.
NodedbKv::check_no_crash([$node]);
done_testing();
