# Spilled containers of kv_db<n> (issue 12 §2): hashes, sets and lists past 128 items or 8 kB keep a
# 33-byte header in their row and one row per member in kv_members.  Replies across the spill equal a
# real redis-server's; DEL, SET over, RENAME, COPY, FLUSHDB, expiry, TRUNCATE and DROP of a keyspace
# never bring old members back and kv_members_vacuum reclaims them; the SQL readers by key and their
# privileges (kv_members itself is closed); a pg_dump round trip and a crash keep the members.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/rtypes_spill_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('spill',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'postgres'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN;
	GRANT ALL ON kv_db0 TO app;
	CREATE ROLE nobody LOGIN;
	GRANT nobody TO app;
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'the RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
for my $mode (qw(hash set list lifecycle sql))
{
	NodedbKv::run_checks($python, $check, $mode, $port, $redis_port, @psql);
}
NodedbKv::stop_redis_server($redis_pid);

# pg_dump round trip: kv_members is dumped with kv_db0 (configuration tables).
my $tempdir = PostgreSQL::Test::Utils::tempdir;
$node->safe_psql('postgres', q{CREATE DATABASE restored});
$node->command_ok([ 'pg_dump', '-f', "$tempdir/dump.sql", 'postgres' ], 'pg_dump of the database');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$tempdir/dump.sql", 'restored' ],
	'restore into a new database');
is($node->safe_psql('restored', q{
	SELECT (SELECT count(*) FROM kv_hash_entries('kv_db0', 'sh')) || ':' ||
	       (SELECT string_agg(convert_from(value, 'UTF8'), ',' ORDER BY index) FROM kv_list_entries('kv_db0', 'sl')
	        WHERE index < 2) || ':' || (SELECT count(*) FROM kv_members)}),
	$node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM kv_hash_entries('kv_db0', 'sh')) || ':' ||
	       (SELECT string_agg(convert_from(value, 'UTF8'), ',' ORDER BY index) FROM kv_list_entries('kv_db0', 'sl')
	        WHERE index < 2) || ':' || (SELECT count(*) FROM kv_members)}),
	'the restored database reads the same spilled containers');

NodedbKv::run_checks($python, $check, 'restart-write', $port, $redis_port, @psql);
$node->stop('immediate');
$node->start;
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'the RESP workers run after the restart');
NodedbKv::run_checks($python, $check, 'restart-check', $port, $redis_port, @psql);

NodedbKv::check_no_crash([$node]);
done_testing();
