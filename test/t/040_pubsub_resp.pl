# Pub/sub over real sockets (issue 10): SUBSCRIBE/PSUBSCRIBE/PUBLISH/PUBSUB/PING/RESET replies and push
# frames byte for byte against a real redis-server; delivery across two RESP workers, publish order under
# a 20,000-message pipeline, 1,000 subscribers; kv_publish from SQL only at commit (never on rollback or
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

sub run_checks
{
	my (@args) = @_;
	my ($out, $err) = run_command([ $python, $check, @args ]);
	my $n = 0;
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^ok (.*)/) { pass($1); $n++; }
		elsif ($line =~ /^not ok (.*)/) { fail($1); $n++; }
	}
	ok($n > 0, "pubsub_check.py @args ran") or diag("stdout: $out\nstderr: $err");
	diag($err) if $err ne '';
	return;
}

ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'two RESP workers run');

my $redis_dir = PostgreSQL::Test::Utils::tempdir;
system('redis-server', '--port', $redis_port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
	'--daemonize', 'yes', '--dir', $redis_dir, '--pidfile', "$redis_dir/redis.pid",
	'--logfile', "$redis_dir/redis.log") == 0 or die "redis-server did not start";
for (1 .. 50) { last if -s "$redis_dir/redis.pid"; select(undef, undef, undef, 0.1); }
run_checks('compare', $port, $redis_port);
system('redis-cli', '-p', $redis_port, 'shutdown', 'nosave');

run_checks('workers', $port, 2);
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
run_checks('sql', $port, @psql);
run_checks('slow', $port);

# Change events: every write path, privileges on the change channel.
$node->safe_psql('postgres', q{
	CREATE TABLE sessions (key text PRIMARY KEY, role text, expires kv_expiry) USING kv;
	CREATE TABLE bin (key bytea PRIMARY KEY, v text) USING kv;
	CREATE SCHEMA s;
	CREATE TABLE s.t (key int PRIMARY KEY, v text) USING kv;
	GRANT ALL ON sessions, bin TO app;
	GRANT USAGE ON SCHEMA s TO app;
});
run_checks('changes', $port, @psql);

NodedbKv::check_no_crash([$node]);
done_testing();
