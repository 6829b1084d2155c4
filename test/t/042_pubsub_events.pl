# Keyspace events Redis 7 sends that come from the keys a command touches (issue 10), over real sockets,
# byte for byte against a real redis-server: the hash, set and list commands of kv_db<n>; "new" when a
# command creates a key (flag n); "del" after the last field / member / element goes, in Redis's order;
# ZMPOP's events and "del" for an emptied *STORE destination; "expired" when a command finds a key
# expired (Redis's lazy expiry), exactly once: not again from a second reader nor from the expiry worker,
# and not by a reader who may not DELETE (the expiry worker reports that key); messages that carry a
# collection's data reach only clients that may SELECT it at delivery (a pattern subscribed before the
# collection existed, a REVOKE after SUBSCRIBE, a GRANT or role membership later).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/pubsub_events_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('events',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\n"
	  . "nodedb_kv.resp_anonymous_role = 'app'\n");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	CREATE ROLE admin SUPERUSER LOGIN PASSWORD 'secret';
	GRANT ALL ON kv_db0 TO app;
	CREATE TABLE zt (key text PRIMARY KEY, score float8) USING kv;
	CREATE INDEX zs ON zt USING kv_sorted (score);
	CREATE TABLE zt2 (key text PRIMARY KEY, score float8) USING kv;
	CREATE INDEX zs2 ON zt2 USING kv_sorted (score);
	GRANT ALL ON zt, zt2 TO app;
});

ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'two RESP workers run');

# DEBUG SET-ACTIVE-EXPIRE 0: Redis's keys expire only when a command finds them (as the lazy check needs).
my $redis_pid = NodedbKv::start_redis_server($redis_port, '--enable-debug-command', 'yes');
NodedbKv::run_checks($python, $check, 'compare', $port, $redis_port);
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, 'lazy', $port, $redis_port, @psql);
NodedbKv::stop_redis_server($redis_pid);
NodedbKv::run_checks($python, $check, 'acl', $port, @psql);

NodedbKv::check_no_crash([$node]);
done_testing();
