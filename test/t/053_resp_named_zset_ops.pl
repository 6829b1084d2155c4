# Lex ranges (ZRANGEBYLEX, ZREVRANGEBYLEX, ZRANGE BYLEX, ZLEXCOUNT), remove ranges (ZREMRANGEBYRANK,
# ZREMRANGEBYSCORE, ZREMRANGEBYLEX), set operations (ZUNION, ZINTER, ZDIFF with WEIGHTS / AGGREGATE,
# ZINTERCARD), the *STORE commands (ZRANGESTORE, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE) and ZMPOP on
# kv_sorted indexes over RESP (issue 11 §2): every reply equals a real redis-server's byte for byte
# (RESP2 and RESP3); a *STORE destination is an existing kv_sorted index whose rows SQL then sees
# (members that stay keep their other columns; an integer score column refuses a fractional result
# before anything is written); WRONGTYPE and NOPERM; redis-py.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/resp_zset_ops_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('named_zset_ops',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'app'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	CREATE TABLE zl (key text PRIMARY KEY, score float8) USING kv;
	CREATE INDEX zl_i ON zl USING kv_sorted (score);
	CREATE TABLE za (key text PRIMARY KEY, score float8) USING kv;
	CREATE INDEX za_i ON za USING kv_sorted (score);
	CREATE TABLE zb (key text PRIMARY KEY, score float8) USING kv;
	CREATE INDEX zb_i ON zb USING kv_sorted (score);
	CREATE TABLE zc (key text PRIMARY KEY, score float8, note text DEFAULT 'dflt') USING kv;
	CREATE INDEX zc_i ON zc USING kv_sorted (score);
	CREATE TABLE zint (key text PRIMARY KEY, score bigint) USING kv;
	CREATE INDEX zint_i ON zint USING kv_sorted (score);
	CREATE TABLE secret (key text PRIMARY KEY, score int) USING kv;
	CREATE INDEX secret_i ON secret USING kv_sorted (score);
	INSERT INTO secret VALUES ('s', 1);
	CREATE TABLE ro (key text PRIMARY KEY, score int) USING kv;
	CREATE INDEX ro_i ON ro USING kv_sorted (score);
	INSERT INTO ro VALUES ('r', 1);
	GRANT SELECT ON ro TO app;
	GRANT ALL ON zl, za, zb, zc, zint TO app;
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'the RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, "ops", $port, $redis_port, @psql);
NodedbKv::stop_redis_server($redis_pid);

NodedbKv::check_no_crash([$node]);
done_testing();
