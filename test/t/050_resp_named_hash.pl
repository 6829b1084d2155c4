# Hashes on typed collections over RESP (issue 11 §1): every hash command's reply equals a real
# redis-server's byte for byte for the same data (both started here on loopback ports); the rows are
# typed rows in SQL (NULL for absent fields, defaults for unnamed columns); GET/SET of a typed row as a
# JSON object; values through the column's input function (invalid input: -ERR, nothing written);
# unknown fields; WRONGTYPE both ways; TYPE; expiry of typed rows; redis-py.
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

my $node = NodedbKv::new_node('named_hash',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'app'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	CREATE TABLE h (key text PRIMARY KEY, f1 text, f2 text, n bigint, x float8, t text, expires kv_expiry) USING kv;
	CREATE TABLE players (key text PRIMARY KEY, name text, score bigint DEFAULT 0, level int,
	                      flag bool NOT NULL DEFAULT false, expires kv_expiry) USING kv;
	CREATE TABLE cache (key text PRIMARY KEY, value text) USING kv;
	GRANT ALL ON h, players, cache, kv_db0 TO app;
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'the RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, 'hash', $port, $redis_port, @psql);
NodedbKv::stop_redis_server($redis_pid);

# Column privileges: a field (column) or the keyspace's type column the role may not read is NOPERM,
# the columns it may read answer (the checks of kv_fields and kv_typed, one CheckColumn).
$node->safe_psql('postgres', q{
	CREATE ROLE colrole LOGIN PASSWORD 'secret';
	INSERT INTO players (key, name, score) VALUES ('c1', 'carol', 7);
	INSERT INTO kv_db0 (key, value) VALUES ('colkey', 'v');
	GRANT SELECT (key, name) ON players TO colrole;
	GRANT SELECT (key, value, expires) ON kv_db0 TO colrole;
});
my $redis_cli = sub { # [collection,] command...: the last reply line of redis-cli (SELECT collection first)
	my $select = $_[0] eq '-n' ? "SELECT $_[1]\n" : '';
	splice(@_, 0, 2) if $select;
	my $out = `printf '${select}@_\n' | redis-cli -h 127.0.0.1 -p $port --user colrole --pass secret --no-auth-warning 2>&1`;
	my @lines = split /\n/, $out;
	return $lines[-1] // '';
};
is($redis_cli->('-n', 'players', 'HGET', 'c1', 'name'), 'carol', 'HGET of a granted column answers');
like($redis_cli->('-n', 'players', 'HGET', 'c1', 'score'), qr/^NOPERM/, 'HGET of a column not granted is NOPERM');
like($redis_cli->('-n', 'players', 'HGETALL', 'c1'), qr/^NOPERM/, 'HGETALL needs every column');
like($redis_cli->('GET', 'colkey'), qr/^NOPERM/, 'GET on kv_db0 needs SELECT on its type column too');
$node->safe_psql('postgres', 'GRANT SELECT (type) ON kv_db0 TO colrole');
is($redis_cli->('GET', 'colkey'), 'v', 'with the type column granted GET answers');

NodedbKv::check_no_crash([$node]);
done_testing();
