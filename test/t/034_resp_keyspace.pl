# RANDOMKEY and INFO keyspace without scanning a collection (resp_keyspace_check.py): replies as a real
# redis-server's on an empty and a small keyspace (RESP2 and RESP3); RANDOMKEY returns live keys only,
# spread over a collection of many pages, finds the last key of a sparse collection (random pages
# empty: the primary-key fallback), never an expired key, needs SELECT; INFO keyspace lists every
# kv_db<n> the role may read with keys, expires and avg_ttl (exact for small collections, estimated
# from random pages for large ones); neither command starts a sequential scan (pg_stat_user_tables).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/resp_keyspace_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('respkeyspace',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'app'\nnodedb_kv.resp_workers = 1\nautovacuum = off");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	CREATE ROLE reader LOGIN PASSWORD 'secret';
	SELECT kv_create_db(1), kv_create_db(2), kv_create_db(3), kv_create_db(4);
	GRANT ALL ON kv_db0, kv_db1, kv_db2, kv_db3 TO app;
	GRANT SELECT ON kv_db0 TO reader;
	CREATE TABLE cache (key text PRIMARY KEY, value text, expires kv_expiry) USING kv;
	GRANT ALL ON cache TO app;
	INSERT INTO kv_db4 (key, value) VALUES ('hidden', 'v');
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '1', 30),
	'the RESP worker runs');

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
my $redis_pid = NodedbKv::start_redis_server($redis_port);
NodedbKv::run_checks($python, $check, $port, $redis_port, @psql);
NodedbKv::stop_redis_server($redis_pid);

my $log = slurp_file($node->logfile);
unlike($log, qr/reference leak|resource owner|still referenced/i, 'no leaked relation, buffer or snapshot references');

NodedbKv::check_no_crash([$node]);
done_testing();
