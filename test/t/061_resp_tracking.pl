# Client-side caching over RESP (issue 13 §2): CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO and
# the invalidations (RESP3 push frames, RESP2 messages to a REDIRECT target) byte for byte against a real
# redis-server: default mode, OPTIN, OPTOUT, BCAST with prefixes, NOLOOP, FLUSHDB's null invalidation.
# Invalidations from every writer at commit: SQL UPDATE/DELETE/INSERT, KV_INCR, TRUNCATE, none for
# rollbacks; typed rows and integer keys; the expiry worker (test clock); a writer and a REDIRECT target
# on another RESP worker; eviction past a worker's share of nodedb_kv.tracking_table_max_keys.  Prints
# the SQL commit -> push latency (p50/p99) as a figure.  node-redis's clientSideCache: a cached value
# invalidated by a SQL UPDATE, another RESP client and expiry.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/tracking_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
my $max_keys = 64;

my $node = NodedbKv::new_node('tracking',
	ttl_enabled => 1,
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\n"
	  . "nodedb_kv.resp_anonymous_role = 'app'\nnodedb_kv.ttl_interval = '200ms'\n"
	  . "nodedb_kv.tracking_table_max_keys = $max_keys");
$node->safe_psql('postgres', q{CREATE ROLE app LOGIN PASSWORD 'secret'; GRANT ALL ON kv_db0 TO app;});

ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'two RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);
NodedbKv::run_checks($python, $check, 'compare', $port, $redis_port, 2);
NodedbKv::stop_redis_server($redis_pid);

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, 'sql', $port, @psql);
NodedbKv::run_checks($python, $check, 'workers', $port, 2);
# Each of the 2 workers keeps at most its share of tracking_table_max_keys.
NodedbKv::run_checks($python, $check, 'evict', $port, $max_keys / 2);
# node-redis's clientSideCache (skipped without test/node/node_modules, which test/run installs).
SKIP:
{
	skip 'test/node/node_modules missing', 1 unless -d "$ENV{NODEDB_KV_ROOT}/test/node/node_modules";
	NodedbKv::run_checks('node', "$ENV{NODEDB_KV_ROOT}/test/node/resp_node.js", 'cache', $port, @psql);
}
# Last (the test clock only moves forward, and the cache check above moved it by 60 s).
NodedbKv::run_checks($python, $check, 'expiry', $port, @psql);

NodedbKv::check_no_crash([$node]);
done_testing();
