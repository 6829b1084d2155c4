# Real Node clients (issue 13 §1, §3): node-redis 6 and ioredis 6 from npm (pinned in
# test/node/package-lock.json, installed by test/run with npm ci) connect with their defaults, which
# open every connection with HELLO 3, and run strings, pipelines and pub/sub; RESP2 connections of both
# clients work beside RESP3 ones on one port.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $script = "$ENV{NODEDB_KV_ROOT}/test/node/resp_node.js";
plan skip_all => 'test/node/node_modules missing (test/run installs it with npm ci)'
  unless -d "$ENV{NODEDB_KV_ROOT}/test/node/node_modules";
my $port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('node',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\nnodedb_kv.resp_anonymous_role = 'app'\n");
$node->safe_psql('postgres', q{CREATE ROLE app LOGIN PASSWORD 'secret'; GRANT ALL ON kv_db0 TO app;});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'two RESP workers run');

NodedbKv::run_checks('node', $script, 'clients', $port);

NodedbKv::check_no_crash([$node]);
done_testing();
