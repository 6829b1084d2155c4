# The shared client registry (issue 8: CLIENT LIST / INFO / KILL across workers) and the cross-worker
# parts of client-side caching (issue 13): CLIENT LIST's fields in Redis 7's order, its TYPE / ID
# filters, CLIENT KILL's old and new forms with Redis 7's errors (compared with a real redis-server),
# killing another worker's client, the pg_read_all_stats / pg_signal_backend rules; CLIENT TRACKING's
# REDIRECT checked against every worker's clients, delivered to a RESP3 target on a worker without
# subscribers, tracking-redir-broken (byte for byte with Redis) and flag R; BCAST over every collection;
# NOLOOP after a pipelined SET + GET; Z-command reads tracked by index name; each worker's share of nodedb_kv.tracking_table_max_keys; no
# "request to flush past end of generated WAL" from the RESP WAL flusher.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/clients_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
my $max_keys = 64;

my $node = NodedbKv::new_node('clients',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\n"
	  . "nodedb_kv.resp_anonymous_role = 'app'\nnodedb_kv.tracking_table_max_keys = $max_keys");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	SELECT kv_create_db(1);
	GRANT ALL ON kv_db0, kv_db1 TO app;
	CREATE ROLE app1 LOGIN PASSWORD 'secret';
	CREATE ROLE app2 LOGIN PASSWORD 'secret';
	CREATE ROLE mon LOGIN PASSWORD 'secret' IN ROLE pg_read_all_stats;
	CREATE ROLE sig LOGIN PASSWORD 'secret' IN ROLE pg_signal_backend;
	CREATE ROLE boss LOGIN SUPERUSER PASSWORD 'secret';
	CREATE TABLE scores (key text PRIMARY KEY, score float8) USING kv;
	CREATE INDEX lb ON scores USING kv_sorted (score DESC);
	INSERT INTO scores VALUES ('alice', 1);
	GRANT ALL ON scores TO app;
});

ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'two RESP workers run');

# First: the tracking tables are empty (keys other checks leave tracked would be evicted first).
NodedbKv::run_checks($python, $check, 'share', $port, 2, $max_keys);

my $redis_pid = NodedbKv::start_redis_server($redis_port);
NodedbKv::run_checks($python, $check, 'compare', $port, $redis_port);
NodedbKv::stop_redis_server($redis_pid);

NodedbKv::run_checks($python, $check, 'workers', $port, 2);
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, 'zsets', $port, 2, @psql);
NodedbKv::run_checks($python, $check, 'privileges', $port, 2);

my $log = slurp_file($node->logfile);
my $past_end = () = $log =~ /request to flush past end of generated WAL/g;
is($past_end, 0, 'the RESP WAL flusher never asked to flush past the end of WAL');

NodedbKv::check_no_crash([$node]);
done_testing();
