# The RESP listener on real sockets: every scripted command's reply equals a real redis-server's byte for
# byte (both started here on loopback ports), protocol errors close like Redis, redis-py pipelines of 10k
# commands, binary keys and values, read-your-writes inside a pipeline, a failing command that fails
# alone, 8 clients x INCR, SET NX races, a psql row lock that stalls no other client, and the
# resp_lock_wait error.  Data written over RESP is visible to SQL at once, and the reverse.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/resp_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('resp',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'app'\nnodedb_kv.resp_lock_wait = '2s'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	SELECT kv_create_db(1);
	GRANT ALL ON kv_db0, kv_db1 TO app;
});


ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'two RESP workers run');

# --- byte-for-byte against Redis 7 -------------------------------------------------------------------
my $redis_pid = NodedbKv::start_redis_server($redis_port);
NodedbKv::run_checks($python, $check, 'compare', $port, $redis_port);
NodedbKv::stop_redis_server($redis_pid);

# --- SQL and RESP see the same data --------------------------------------------------------------------
my ($out) = run_command([ 'redis-cli', '-p', $port, 'SET', 'sess:abc', '{"user":"alice"}', 'EX', '3600' ]);
is($out, "OK", 'redis-cli SET with EX');
is($node->safe_psql('postgres',
		q{SELECT convert_from(value, 'UTF8'), kv_ttl_remaining(expires) > '3590 s' FROM kv_db0 WHERE key = 'sess:abc'}),
	'{"user":"alice"}|t', 'the RESP write is a row with its expiry, visible to SQL at once');
$node->safe_psql('postgres', q{INSERT INTO kv_db0 (key, value) VALUES ('from_sql', 'hello')});
($out) = run_command([ 'redis-cli', '-p', $port, 'GET', 'from_sql' ]);
is($out, "hello", 'a SQL insert is visible to RESP at once');

# --- redis-py --------------------------------------------------------------------------------------------
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, 'clients', $port, @psql);

# --- named collections ----------------------------------------------------------------------------------
$node->safe_psql('postgres', q{
	CREATE TABLE cache (key text PRIMARY KEY, value text) USING kv;
	CREATE TABLE typed (key text PRIMARY KEY, a text, b text) USING kv;
	CREATE TABLE plain (key text PRIMARY KEY, value text);
	GRANT ALL ON cache, typed, plain TO app;
});
IPC::Run::run([ 'redis-cli', '-p', $port ],
	'<' => \"SELECT cache\nSET s1 v1\nGET s1\nSELECT typed\nINCR s1\nSELECT plain\nSELECT nosuch\n", '>' => \$out);
is($out, "OK\nOK\nv1\nOK\nWRONGTYPE Operation against a key holding the wrong kind of value\n\n"
	  . "ERR \"plain\" is not a kv table\n\nERR no such kv collection 'nosuch'\n\n",
	'SELECT name switches to a kv table; typed, non-kv and missing tables are clear errors');
is($node->safe_psql('postgres', q{SELECT value FROM cache WHERE key = 's1'}), 'v1', 'the named collection holds it');

NodedbKv::check_no_crash([$node]);
done_testing();
