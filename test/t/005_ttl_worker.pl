# The expiry worker: rows with a real short TTL are physically removed within about ttl_interval
# (the lag is measured from logical decoding's commit timestamps, with a margin), logical
# decoding shows the DELETEs and kv_stats counts them as expired; a configuration reload keeps the
# same worker running and applies nodedb_kv.ttl_enabled; after kill -9 of the worker the cluster
# restarts (restart_after_crash) and a new worker expires rows again; DROP EXTENSION makes the
# database's worker exit, CREATE EXTENSION brings one back; every database with the extension has
# its own worker.
#
# The workers show in pg_stat_activity with backend_type 'nodedb_kv expiry worker' (one per
# database, datname set) and 'nodedb_kv ttl launcher'.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node(
	'ttl',
	allows_streaming => 'logical',
	ttl_enabled => 1,
	conf => "nodedb_kv.ttl_interval = '300ms'\nrestart_after_crash = on");

# Physical rows of the table (every row, expired or not): the test clock far behind.
my $physical = q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT count(*) FROM t};

# Pid of the expiry worker of $db ('' when none runs).
sub worker_pid
{
	my ($db) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity
		WHERE backend_type = 'nodedb_kv expiry worker' AND datname = '$db'});
}

# Waits (bounded) until the expiry worker of $db has finished $n ticks that ended after the instant
# $after (a timestamptz literal): the worker reports itself idle after every tick, which moves its
# pg_stat_activity.state_change.  Returns the state_change of the last of them, or undef on timeout.
sub wait_ticks
{
	my ($db, $n, $after, $label) = @_;
	my $sql_of = sub {
		my ($ts) = @_;
		return qq{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv expiry worker'
			AND datname = '$db' AND state = 'idle' AND state_change > '$ts'::timestamptz};
	};
	for my $i (1 .. $n)
	{
		if (!NodedbKv::poll_sql($node, 'postgres', $sql_of->($after), '1', 60))
		{
			fail("$label: tick $i of $n of the expiry worker after $after did not happen within 60 s");
			return undef;
		}
		$after = $node->safe_psql('postgres', qq{SELECT max(state_change) FROM pg_stat_activity
			WHERE backend_type = 'nodedb_kv expiry worker' AND datname = '$db'});
	}
	return $after;
}

sub wait_for_worker
{
	my ($db, $label) = @_;
	ok(NodedbKv::poll_sql($node, 'postgres', qq{
			SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv expiry worker' AND datname = '$db'},
			'1', 60), $label);
	return worker_pid($db);
}

# --- the worker and the launcher run -------------------------------------------------------------
my $pid = wait_for_worker('postgres', 'an expiry worker runs for the database with the extension');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv ttl launcher'}),
	'1', 'one TTL launcher runs');

# --- rows with a one-second TTL are removed within about ttl_interval ------------------------------
$node->safe_psql('postgres', q{
	CREATE TABLE t (k int PRIMARY KEY, v text, exp kv_expiry) USING kv;
	SELECT 'init' FROM pg_create_logical_replication_slot('s', 'test_decoding');
	INSERT INTO t SELECT i, 'never', NULL FROM generate_series(101, 150) i;
	INSERT INTO t SELECT i, 'hour', kv_ttl(3600) FROM generate_series(151, 200) i;
});
# The short rows' expiry comes from the INSERT itself: a SELECT after it can find them already removed
# on a loaded machine (one second is short).
my $short_expiry = $node->safe_psql('postgres', q{
	WITH ins AS (INSERT INTO t SELECT i, 'short', kv_ttl(1) FROM generate_series(1, 100) i RETURNING exp)
	SELECT max(exp) FROM ins});
ok(NodedbKv::poll_sql($node, 'postgres', $physical, '100', 30), 'rows with a one-second TTL are removed');
is($node->safe_psql('postgres', 'SELECT min(k) || \'-\' || max(k) FROM t'), '101-200', 'the other rows stay');

# How late: the commit time of the last expiry DELETE (from logical decoding, so the test's own
# polling latency does not count) minus the rows' expiry instant.  The contract: "removed within about
# ttl_interval" (300 ms here); the bound leaves 3 s for a loaded machine, and no row may go early.
my $last_delete_commit;
{
	my $in_delete = 0;
	for my $line (split /\n/, $node->safe_psql('postgres', q{
		SELECT data FROM pg_logical_slot_peek_changes('s', NULL, NULL, 'include-xids', '0',
			'include-timestamp', '1', 'skip-empty-xacts', '1')}))
	{
		$in_delete = 0 if $line eq 'BEGIN';
		$in_delete = 1 if $line =~ /^table public\.t: DELETE:/;
		$last_delete_commit = $1 if $in_delete && $line =~ /^COMMIT \(at (.+)\)$/;
	}
}
ok(defined $last_delete_commit, 'decoding shows the commit of the expiry deletes');
my $lag_ms = $node->safe_psql('postgres',
	qq{SELECT round(extract(epoch FROM '$last_delete_commit'::timestamptz - '$short_expiry'::timestamptz) * 1000)});
note("last expired row removed $lag_ms ms after its expiry (ttl_interval 300 ms)");
cmp_ok($lag_ms, '>=', 0, 'no row is removed before its expiry');
cmp_ok($lag_ms, '<', 3300, 'expired rows are removed within ttl_interval (300 ms) plus a 3 s margin');

my $decoded = $node->safe_psql('postgres', q{
	SELECT string_agg(substring(data from 'k\[integer\]:(\d+)'), ',' ORDER BY substring(data from 'k\[integer\]:(\d+)')::int)
	FROM pg_logical_slot_get_changes('s', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1')
	WHERE data LIKE 'table public.t: DELETE:%'});
is($decoded, join(',', 1 .. 100), 'logical decoding shows one DELETE per expired row');
is($node->safe_psql('postgres', q{SELECT expired || ',' || deleted FROM kv_stats WHERE collection = 't'::regclass}),
	'100,0', 'kv_stats counts the removed rows as expired');

# --- SIGHUP: the same worker goes on, with the reloaded settings ------------------------------------
my $reloaded = $node->safe_psql('postgres',
	q{ALTER SYSTEM SET nodedb_kv.ttl_enabled = off; SELECT pg_reload_conf(); SELECT clock_timestamp()});
$reloaded = (split /\n/, $reloaded)[-1];
ok(NodedbKv::poll_sql($node, 'postgres', q{SHOW nodedb_kv.ttl_enabled}, 'off', 30), 'reload: ttl_enabled is off');
# The worker reads the new file between ticks: two ticks ending after the reload mean the second one
# started with it.
ok(defined wait_ticks('postgres', 2, $reloaded, 'reload'), 'the worker ticked twice since the reload');
my $inserted = $node->safe_psql('postgres', q{
	INSERT INTO t SELECT i, 'short', kv_ttl(0.5) FROM generate_series(201, 220) i;
	SELECT max(exp) FROM t WHERE k > 200});
# Three finished ticks after the rows expired: each would have removed them with expiry enabled.
ok(defined wait_ticks('postgres', 3, $inserted, 'ttl_enabled off'), 'the worker ticked three times since the rows expired');
is($node->safe_psql('postgres', $physical), '120', 'with ttl_enabled off, expired rows stay (and stay invisible)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE k > 200'), '0', 'expired rows are invisible meanwhile');
$node->safe_psql('postgres', q{ALTER SYSTEM RESET nodedb_kv.ttl_enabled; SELECT pg_reload_conf()});
ok(NodedbKv::poll_sql($node, 'postgres', $physical, '100', 30), 'reload: ttl_enabled back on, the rows are removed');
is(worker_pid('postgres'), $pid, 'the same worker ran through both reloads');

# --- kill -9 of the worker: crash restart, a new worker -------------------------------------------
kill 'KILL', $pid;
ok(NodedbKv::poll_sql($node, 'postgres', qq{
		SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'nodedb_kv expiry worker' AND datname = 'postgres' AND pid <> $pid},
		'1', 90), 'after kill -9 and the crash restart, a new expiry worker runs');
like(slurp_file($node->logfile), qr/all server processes terminated; reinitializing/, 'the cluster went through a crash restart');
like(slurp_file($node->logfile), qr/\(PID $pid\) was terminated by signal 9/, 'the server noticed the killed worker');
$node->safe_psql('postgres', q{INSERT INTO t SELECT i, 'short', kv_ttl(1) FROM generate_series(301, 350) i});
ok(NodedbKv::poll_sql($node, 'postgres', $physical, '100', 30), 'the new worker removes expired rows');
$decoded = $node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_logical_slot_get_changes('s', NULL, NULL, 'skip-empty-xacts', '1')
	WHERE data ~ '^table public.t: DELETE: k\[integer\]:(2[0-2][0-9]|3[0-5][0-9])$'});
is($decoded, '70', 'decoding shows the DELETEs of both batches (20 before and 50 after the crash)');

# --- a second database gets its own worker ---------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', q{
	CREATE EXTENSION nodedb_kv;
	CREATE TABLE t (k int PRIMARY KEY, v text, exp kv_expiry) USING kv;
	INSERT INTO t SELECT i, 'short', kv_ttl(1) FROM generate_series(1, 10) i;
	INSERT INTO t VALUES (11, 'never', NULL);
});
my $other_pid = wait_for_worker('other', 'CREATE EXTENSION in another database starts a worker there');
ok(NodedbKv::poll_sql($node, 'other', $physical, '1', 30), 'that worker removes the other database\'s expired rows');

# --- DROP EXTENSION: the worker exits; CREATE EXTENSION: a worker is back --------------------------
$node->safe_psql('postgres', 'DROP EXTENSION nodedb_kv CASCADE');
ok(NodedbKv::poll_sql($node, 'postgres', q{
		SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv expiry worker' AND datname = 'postgres'},
		'0', 60), 'DROP EXTENSION: the database\'s worker exits');
is(worker_pid('other'), $other_pid, 'the other database\'s worker goes on');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv ttl launcher'}),
	'1', 'the launcher goes on');
$node->safe_psql('postgres', q{
	CREATE EXTENSION nodedb_kv;
	CREATE TABLE t (k int PRIMARY KEY, v text, exp kv_expiry) USING kv;
	INSERT INTO t SELECT i, 'short', kv_ttl(1) FROM generate_series(1, 10) i;
});
wait_for_worker('postgres', 'CREATE EXTENSION again: a worker is back');
ok(NodedbKv::poll_sql($node, 'postgres', $physical, '0', 30), 'and it removes expired rows');

$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('s')});
$node->stop;
NodedbKv::check_no_crash([$node], allow => qr/\(PID $pid\) was terminated by signal 9/);
done_testing();
