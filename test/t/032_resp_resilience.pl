# The RESP listener under abuse and failures: 10k-argument commands, a stalled half frame, 500 idle
# connections and a client that never reads its replies harm no other client; resp_max_clients
# (changed by a configuration reload) refuses extra clients with Redis's error; resp_timeout closes idle
# clients and keeps active ones; SIGTERM stops a worker
# promptly even while a command waits for a lock, and it comes back; kill -9 of a worker restarts the
# cluster and RESP with it; an immediate stop under a RESP write load loses no acknowledged write; a
# streaming standby serves reads over RESP and answers writes with -READONLY.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/resp_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('resil', allows_streaming => 1,
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 1\nnodedb_kv.resp_max_clients = 1000\n"
	  . "nodedb_kv.resp_anonymous_role = 'app'\nnodedb_kv.resp_lock_wait = '60s'\nrestart_after_crash = on");
$node->safe_psql('postgres', q{CREATE ROLE app LOGIN PASSWORD 'secret'; GRANT ALL ON kv_db0 TO app;});

sub worker_pid
{
	return $node->safe_psql('postgres',
		q{SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'});
}

sub redis
{
	my ($out) = run_command([ 'redis-cli', '-p', $port, @_ ]);
	return $out;
}

sub wait_for_resp
{
	my ($label) = @_;
	my $deadline = time() + 60;
	my $out = '';
	while (time() < $deadline)
	{
		$out = redis('PING');
		last if $out eq 'PONG';
		usleep(100_000);
	}
	is($out, 'PONG', $label);
	return;
}

wait_for_resp('RESP answers');
NodedbKv::run_checks($python, $check, 'abuse', $port);

# --- resp_max_clients, changed by a reload ------------------------------------------------------------
$node->safe_psql('postgres', q{ALTER SYSTEM SET nodedb_kv.resp_max_clients = 10; SELECT pg_reload_conf();});
usleep(500_000);
NodedbKv::run_checks($python, $check, 'max_clients', $port, 10);
$node->safe_psql('postgres', q{ALTER SYSTEM RESET nodedb_kv.resp_max_clients; SELECT pg_reload_conf();});

# --- resp_timeout closes idle clients ----------------------------------------------------------------
$node->safe_psql('postgres', q{ALTER SYSTEM SET nodedb_kv.resp_timeout = 1; SELECT pg_reload_conf();});
usleep(500_000);
NodedbKv::run_checks($python, $check, 'idle_timeout', $port);
$node->safe_psql('postgres', q{ALTER SYSTEM RESET nodedb_kv.resp_timeout; SELECT pg_reload_conf();});

# --- SIGTERM while a command waits for a lock ---------------------------------------------------------
redis('SET', 'locked', '1');
my ($in, $hold_out) = ('', '');
my $holder = IPC::Run::start([ $node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port,
		'-d', 'postgres' ], '<', \$in, '>', \$hold_out);
$in .= "BEGIN;\nSELECT 1 FROM kv_db0 WHERE key = 'locked' FOR UPDATE;\n\\echo held\n";
$holder->pump until $hold_out =~ /held/;
my ($w_out, $w_err) = ('', '');
my $waiter = IPC::Run::start([ 'redis-cli', '-p', $port, 'INCR', 'locked' ], '>', \$w_out, '2>', \$w_err);
usleep(500_000);
my $old_pid = worker_pid();
my $t0 = time();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old_pid)");
$waiter->finish;
my $stopped = time() - $t0;
ok($stopped < 3, "SIGTERM stops a worker whose client waits for a lock promptly ($stopped s)");
$in .= "ROLLBACK;\n\\q\n";
$holder->finish;
ok(NodedbKv::poll_sql($node, 'postgres',
		qq{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker' AND pid <> $old_pid},
		'1', 30),
	'a new worker replaces the terminated one');
wait_for_resp('RESP answers again after SIGTERM');

# --- kill -9 of a worker: crash restart ---------------------------------------------------------------
my $pid = worker_pid();
kill 'KILL', $pid;
ok(NodedbKv::poll_sql($node, 'postgres',
		qq{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker' AND pid <> $pid},
		'1', 60),
	'after kill -9 of a worker the cluster restarts it');
wait_for_resp('RESP answers again after kill -9');

# --- immediate stop under a write load: acknowledged writes survive ------------------------------------
my $acked_file = $node->basedir . '/acked';
my $writer = IPC::Run::start([ $python, $check, 'writer', $port, $acked_file, 20 ]);
usleep(1_500_000);
$node->stop('immediate');
$writer->finish;
my $acked = slurp_file($acked_file);
chomp $acked;
ok($acked > 0, "the writer had $acked acknowledged writes when the server stopped");
$node->start;
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM generate_series(0, $acked) i
	WHERE NOT EXISTS (SELECT 1 FROM kv_db0 WHERE key = convert_to('w:' || i, 'UTF8'))}),
	'0', 'every acknowledged write is there after the crash');

# --- a standby serves reads and refuses writes -----------------------------------------------------------
wait_for_resp('RESP answers after the restart');
redis('SET', 'replicated', 'yes');
$node->backup('b');
my $standby_port = PostgreSQL::Test::Cluster::get_free_port();
my $standby = PostgreSQL::Test::Cluster->new('resil_standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->append_conf('postgresql.conf', "nodedb_kv.resp_port = $standby_port");
$standby->start;
$node->wait_for_catchup($standby);
my $deadline = time() + 60;
my $got = '';
while (time() < $deadline)
{
	($got) = run_command([ 'redis-cli', '-p', $standby_port, 'GET', 'replicated' ]);
	last if $got eq 'yes';
	usleep(100_000);
}
is($got, 'yes', 'the standby serves reads over RESP');
my ($ro) = run_command([ 'redis-cli', '-p', $standby_port, 'SET', 'x', 'y' ]);
like($ro, qr/^READONLY You can't write against a read only replica\.\s*$/, 'the standby answers writes with -READONLY');
$standby->stop;

NodedbKv::check_no_crash([$node, $standby], allow => qr/nodedb_kv RESP worker/);
done_testing();
