# RESP transactions (issue 11 §3): MULTI EXEC DISCARD WATCH UNWATCH.  Every scripted reply equals a real
# redis-server's byte for byte (RESP2 and RESP3, several connections: WATCH invalidated by another client,
# FLUSHDB, QUIT/RESET/SUBSCRIBE inside MULTI); named collections (blob and typed) and SELECT; a PostgreSQL
# error in place in EXEC's array with the other commands committed; WATCH invalidated by SQL UPDATE /
# DELETE / INSERT, a KV function, a client of the other RESP worker, expiry (test clock); redis-py
# pipelines and r.transaction() retry loops; atomicity of MULTI INCR a INCR b EXEC from 8 clients under
# RESP and SQL checkers; a disconnect mid-MULTI; the bound on a queued block.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/resp_multi_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('resp_multi',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\nnodedb_kv.resp_anonymous_role = 'app'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	CREATE TABLE cache (key text PRIMARY KEY, value text) USING kv;
	CREATE TABLE players (key text PRIMARY KEY, name text, score bigint DEFAULT 0, level int, expires kv_expiry) USING kv;
	CREATE TABLE chk (key text PRIMARY KEY, value int CHECK (value < 100)) USING kv;
	GRANT ALL ON cache, players, chk, kv_db0 TO app;
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'the two RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, $port, $redis_port, @psql);
NodedbKv::stop_redis_server($redis_pid);

NodedbKv::check_no_crash([$node]);
done_testing();
