# DROP EXTENSION and CREATE EXTENSION in quick succession (issue 7.17): the expiry worker comes back
# at once.  It used to wait the launcher's 5 s restart delay for a stopped worker whenever the
# launcher noticed the exit of the worker that had found the extension gone only after the new
# CREATE EXTENSION had been notified.  That ordering is made certain here by stopping the launcher
# (SIGSTOP while it sleeps on its latch, holding no lock) from before the DROP until after the
# CREATE; then the time until an expired row is physically removed is measured.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use NodedbKv;

my $node = NodedbKv::new_node('cycle', ttl_enabled => 1, conf => "nodedb_kv.ttl_interval = '100ms'");

# Physical rows of t (expired or not): the test clock far behind.
my $physical = q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT count(*) FROM t};
my $workers = q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv expiry worker'};
my $restart_delay = 5;    # kRestartDelayMs of ttl_launcher.cpp, in seconds

ok(NodedbKv::poll_sql($node, 'postgres', $workers, '1', 60), 'an expiry worker runs');
my $launcher = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'nodedb_kv ttl launcher'});
like($launcher, qr/^\d+$/, 'the launcher runs');

# Stops the launcher while it waits on its latch (wait event of type Extension): it holds no lock.
sub stop_launcher
{
	for (1 .. 100)
	{
		kill 'STOP', $launcher;
		usleep(20_000);
		my $waiting = $node->safe_psql('postgres',
			qq{SELECT wait_event_type = 'Extension' FROM pg_stat_activity WHERE pid = $launcher});
		return 1 if $waiting eq 't';
		kill 'CONT', $launcher;
		usleep(10_000);
	}
	return 0;
}

ok(stop_launcher(), 'the launcher is stopped while sleeping');
$node->safe_psql('postgres', 'DROP EXTENSION nodedb_kv CASCADE');
ok(NodedbKv::poll_sql($node, 'postgres', $workers, '0', 30), 'DROP EXTENSION: the worker exits');
$node->safe_psql('postgres', 'CREATE EXTENSION nodedb_kv');
kill 'CONT', $launcher;
my $start = time();
$node->safe_psql('postgres', q{
	CREATE TABLE t (k int PRIMARY KEY, exp kv_expiry) USING kv;
	INSERT INTO t VALUES (1, kv_ttl(-1)), (2, NULL)});
ok(NodedbKv::poll_sql($node, 'postgres', $physical, '1', 30), 'a worker is back and removes the expired row');
my $took = time() - $start;
note(sprintf('time to removal after CREATE EXTENSION: %.2f s', $took));
cmp_ok($took, '<', $restart_delay - 1, 'well before the restart delay of a stopped worker');

# A few quick cycles without stopping anything: a worker is back each time.
for my $round (1 .. 4)
{
	$node->safe_psql('postgres', 'DROP EXTENSION nodedb_kv CASCADE');
	usleep(50_000 * $round);
	$node->safe_psql('postgres', q{
		CREATE EXTENSION nodedb_kv;
		CREATE TABLE t (k int PRIMARY KEY, exp kv_expiry) USING kv;
		INSERT INTO t VALUES (1, kv_ttl(-1)), (2, NULL)});
	ok(NodedbKv::poll_sql($node, 'postgres', $physical, '1', $restart_delay - 1),
		"quick cycle $round: the expired row is removed before the restart delay");
}

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
