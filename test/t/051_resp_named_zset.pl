# Sorted sets = kv_sorted indexes over RESP (issue 11 §2): every Z-command's reply equals a real
# redis-server's byte for byte for the same data (an ASC float8 index and a DESC bigint index, both
# started here on loopback ports); ZADD upserts rows (other columns default) and ZREM deletes them, as
# SQL sees; a SQL UPDATE moves a member; after a random ZADD/ZINCRBY/ZREM/SQL workload ZRANGE, ZRANK,
# ZREVRANK, ZCARD and ZREVRANGE equal row_number() / TOPK oracles; WRONGTYPE and clear errors; a daily
# window's members; table and column privileges of the client's role (NOPERM); redis-py.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/resp_named_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('named_zset',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'app'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	CREATE TABLE zt (key text PRIMARY KEY, score float8) USING kv;
	CREATE INDEX zs ON zt USING kv_sorted (score);
	CREATE TABLE players (key text PRIMARY KEY, name text, score bigint DEFAULT 0, level int) USING kv;
	CREATE INDEX lb ON players USING kv_sorted (score DESC);
	CREATE TABLE wt (key text PRIMARY KEY, score int, updated_at timestamptz) USING kv;
	CREATE INDEX wlb ON wt USING kv_sorted (score) WITH (window = 'daily', window_column = 'updated_at');
	CREATE TABLE secret (key text PRIMARY KEY, score int) USING kv;
	CREATE INDEX secret_idx ON secret USING kv_sorted (score);
	CREATE TABLE partial (key text PRIMARY KEY, a text, b text) USING kv;
	INSERT INTO partial VALUES ('k1', 'va', 'vb');
	GRANT SELECT (key, a) ON partial TO app;
	GRANT ALL ON zt, players, wt TO app;
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'the RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, "zset", $port, $redis_port, @psql);
NodedbKv::stop_redis_server($redis_pid);

NodedbKv::check_no_crash([$node]);
done_testing();
