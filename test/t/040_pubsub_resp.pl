# Pub/sub over real sockets (issue 10): SUBSCRIBE/PSUBSCRIBE/PUBLISH/PUBSUB/PING/RESET replies and push
# frames byte for byte against a real redis-server; delivery across two RESP workers, publish order under
# a 20,000-message pipeline, 1,000 subscribers; wake-up signals counted (one per message to another
# worker's subscriber, none to the publishing worker itself); kv_publish from SQL only at commit (never on rollback or
# for a rolled-back savepoint); a subscriber that stops reading is dropped and counted while another
# keeps receiving; change events for each write path (SQL, COPY, TRUNCATE, RESP, takeover, expiry worker)
# and none for rollbacks; SUBSCRIBE to a collection's channel needs SELECT.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/pubsub_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('pubsub',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\n"
	  . "nodedb_kv.resp_anonymous_role = 'app'\nnodedb_kv.pubsub_memory = '8MB'\n"
	  . "nodedb_kv.pubsub_client_buffer = '1MB'\nmax_prepared_transactions = 2");
$node->safe_psql('postgres', q{CREATE ROLE app LOGIN PASSWORD 'secret'; GRANT ALL ON kv_db0 TO app;});


ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'two RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);
NodedbKv::run_checks($python, $check, 'compare', $port, $redis_port);
NodedbKv::stop_redis_server($redis_pid);

NodedbKv::run_checks($python, $check, 'workers', $port, 2);
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, 'wakes', $port, @psql);
NodedbKv::run_checks($python, $check, 'sql', $port, @psql);
NodedbKv::run_checks($python, $check, 'slow', $port);

# Change events: every write path, privileges on the change channel.
$node->safe_psql('postgres', q{
	CREATE TABLE sessions (key text PRIMARY KEY, role text, expires kv_expiry) USING kv;
	CREATE TABLE bin (key bytea PRIMARY KEY, v text) USING kv;
	CREATE SCHEMA s;
	CREATE TABLE s.t (key int PRIMARY KEY, v text) USING kv;
	GRANT ALL ON sessions, bin TO app;
	GRANT USAGE ON SCHEMA s TO app;
});
NodedbKv::run_checks($python, $check, 'changes', $port, @psql);

NodedbKv::check_no_crash([$node]);
done_testing();
