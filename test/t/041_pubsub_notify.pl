# Keyspace notifications, nodedb_kv.pubsub_role and the soft output limit over real sockets (issue 10):
# the events of RESP commands and CONFIG GET/SET notify-keyspace-events byte for byte against a real
# redis-server; SQL writers' set/del events (none for rollbacks), kv_db<n> as db n and a collection's
# name as its <db>; CONFIG SET seen by SQL backends and replaced by a changed parameter; the expiry
# worker's "expired" event received by redis-py; pubsub_role for PUBLISH/SUBSCRIBE/PSUBSCRIBE/kv_publish;
# a subscriber past the soft limit kept, then dropped once the soft seconds passed (test clock).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/pubsub_notify_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('notify',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\n"
	  . "nodedb_kv.resp_anonymous_role = 'app'\nnodedb_kv.pubsub_client_buffer = '64MB'\n"
	  . "nodedb_kv.pubsub_client_buffer_soft = '1MB'\nnodedb_kv.pubsub_client_buffer_soft_seconds = 60");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	CREATE ROLE admin SUPERUSER LOGIN PASSWORD 'secret';
	SELECT kv_create_db(1);
	GRANT ALL ON kv_db0, kv_db1 TO app;
	CREATE TABLE sessions (key text PRIMARY KEY, role text, expires kv_expiry) USING kv;
	CREATE TABLE prof (key text PRIMARY KEY, name text, age int) USING kv;
	CREATE SCHEMA s;
	CREATE TABLE s.t (key int PRIMARY KEY, v text) USING kv;
	CREATE TABLE zt (key text PRIMARY KEY, score float8) USING kv;
	CREATE INDEX zs ON zt USING kv_sorted (score);
	GRANT ALL ON sessions, prof, zt TO app;
});

ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'two RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);
NodedbKv::run_checks($python, $check, 'compare', $port, $redis_port);
NodedbKv::stop_redis_server($redis_pid);

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, 'sql', $port, @psql);
NodedbKv::run_checks($python, $check, 'expired', $port, @psql);
NodedbKv::run_checks($python, $check, 'role', $port, @psql);
NodedbKv::run_checks($python, $check, 'soft', $port, @psql);

NodedbKv::check_no_crash([$node]);
done_testing();
