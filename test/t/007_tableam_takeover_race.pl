# Takeover of a key whose row another transaction is still writing.  The second writer must wait for
# the first and then take over what it left, never end up next to it: before TakeOverExpiredKey
# waited for in-progress candidates, btree's unique check waited instead and afterwards hid the
# settled expired row, so the key had two physically live rows (REINDEX failed; a session whose
# clock saw both got "duplicate key" from ON CONFLICT DO UPDATE).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node('race', allows_streaming => 'logical');
$node->safe_psql('postgres', q{
	CREATE TABLE r (k int PRIMARY KEY, v text, exp kv_expiry) USING kv;
	SELECT 'init' FROM pg_create_logical_replication_slot('s', 'test_decoding');
});

my $s1 = $node->background_psql('postgres', on_error_stop => 0);
my $s2 = $node->background_psql('postgres', on_error_stop => 0);

# Runs $first (ending inside an open transaction) in s1, starts $second in s2, waits until s2 is
# blocked on a lock, ends s1's transaction with $end, and returns s2's output and error text.
sub race
{
	my ($first, $second, $end) = @_;
	$s1->query_safe($first);
	my $pid = $s2->query_safe('SELECT pg_backend_pid()');
	$s2->query_until(qr/started/, "\\echo started\n$second;\n");
	ok(NodedbKv::poll_sql($node, 'postgres',
			"SELECT wait_event_type FROM pg_stat_activity WHERE pid = $pid", 'Lock', 60),
		'the second writer waits for the first');
	$s1->query_safe($end);
	my ($out, $ret) = $s2->query('SELECT 1');
	my $err = $s2->{stderr};
	$s2->{stderr} = '';
	return ($out, $ret ? $err : '');
}

# Physical rows of key $k (every row, expired or not), as "v" values in order.
sub physical
{
	my ($k) = @_;
	return $node->safe_psql('postgres', qq{
		SET nodedb_kv.test_clock_offset = '-100000s';
		SELECT string_agg(v, ',' ORDER BY v) FROM r WHERE k = $k});
}

sub changes
{
	my $out = $node->safe_psql('postgres', q{
		SELECT data FROM pg_logical_slot_get_changes('s', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1')});
	$out =~ s/exp\[kv_expiry\]:'[^']*'/exp[kv_expiry]:set/g;
	return $out;
}

# 1. The first writer takes the key over and rolls back: the expired row is back, the second
#    writer must take it over.
$node->safe_psql('postgres', q{INSERT INTO r VALUES (1, 'old', kv_ttl(60))});
changes();
my ($out, $err) = race(
	q{SET nodedb_kv.test_clock_offset = '1h'; BEGIN; INSERT INTO r VALUES (1, 's1', NULL)},
	q{SET nodedb_kv.test_clock_offset = '1h'; INSERT INTO r VALUES (1, 's2', NULL)},
	'ROLLBACK');
is($err, '', 'aborted takeover: the second INSERT succeeds');
is(physical(1), 's2', 'aborted takeover: one physical row, the second writer\'s');
is(changes(), q{BEGIN
table public.r: DELETE: k[integer]:1
table public.r: INSERT: k[integer]:1 v[text]:'s2' exp[kv_expiry]:null
COMMIT}, 'aborted takeover: decoded as DELETE then INSERT');

# 2. The first writer inserts a row that is already expired and commits.
($out, $err) = race(
	q{RESET nodedb_kv.test_clock_offset; BEGIN; INSERT INTO r VALUES (2, 's1', kv_ttl(-60))},
	q{RESET nodedb_kv.test_clock_offset; INSERT INTO r VALUES (2, 's2', NULL)},
	'COMMIT');
is($err, '', 'expired on arrival: the second INSERT succeeds');
is(physical(2), 's2', 'expired on arrival: one physical row, the second writer\'s');

# 3. The same through INSERT ... ON CONFLICT DO UPDATE in the second writer.
($out, $err) = race(
	q{BEGIN; INSERT INTO r VALUES (3, 's1', kv_ttl(-60)) ON CONFLICT (k) DO NOTHING},
	q{INSERT INTO r VALUES (3, 's2', NULL) ON CONFLICT (k) DO UPDATE SET v = 'conflict'},
	'COMMIT');
is($err, '', 'expired on arrival, ON CONFLICT: the second INSERT succeeds');
is(physical(3), 's2', 'expired on arrival, ON CONFLICT: one physical row, the second writer\'s');

# 4. Sessions whose clocks disagree: a row expired for its writer two hours ahead is live at offset
#    0.  The second writer (also two hours ahead) must take it over, or a session at offset 0 sees
#    two rows for the key and its upsert fails with "duplicate key".
($out, $err) = race(
	q{SET nodedb_kv.test_clock_offset = '2h'; BEGIN; INSERT INTO r VALUES (4, 's1', kv_ttl(-2700))},
	q{SET nodedb_kv.test_clock_offset = '2h'; INSERT INTO r VALUES (4, 's2', kv_ttl(3600))},
	'COMMIT');
is($err, '', 'clocks disagree: the second INSERT succeeds');
is(physical(4), 's2', 'clocks disagree: one physical row');
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
	INSERT INTO r VALUES (4, 'now', kv_ttl(60)) ON CONFLICT (k) DO UPDATE SET v = 'now-upd', exp = excluded.exp
	RETURNING v});
is($stderr, '', 'clocks disagree: an upsert at offset 0 succeeds');
is($stdout, 'now-upd', 'clocks disagree: the upsert at offset 0 updates the one row');

# 5. The row arrives after the second writer's takeover lookup but before its unique check.  Hiding
#    it there (expired) would leave two rows for the key; instead a plain INSERT fails as under a
#    concurrent insert on heap, and INSERT ... ON CONFLICT retries, then takes the row over.  The
#    window is held open by an expression index that is updated before the primary key (created
#    first, as a dump restores a table) and waits for an advisory lock while "test.block" is on.
$node->safe_psql('postgres', q{
	CREATE FUNCTION blocker(k int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
	BEGIN
		IF current_setting('test.block', true) = 'on' THEN
			PERFORM pg_advisory_xact_lock_shared(42);
		END IF;
		RETURN k;
	END $$;
	SET default_table_access_method = kv;
	CREATE TABLE w (k int, v text, exp kv_expiry);
	CREATE INDEX w_blocker ON w (blocker(k));
	ALTER TABLE w ADD PRIMARY KEY (k);
});
changes();

# Starts $second in s2 with the window held open, commits an expired row of key $k meanwhile, closes
# the window; returns s2's error text.
sub window
{
	my ($k, $second) = @_;
	$s1->query_safe('BEGIN; SELECT pg_advisory_xact_lock(42)');
	my $pid = $s2->query_safe('SELECT pg_backend_pid()');
	$s2->query_until(qr/started/, "SET test.block = on;\n\\echo started\n$second;\n");
	ok(NodedbKv::poll_sql($node, 'postgres',
			"SELECT wait_event_type FROM pg_stat_activity WHERE pid = $pid", 'Lock', 60),
		"window $k: the second writer waits between its takeover lookup and its unique check");
	$node->safe_psql('postgres', "INSERT INTO w VALUES ($k, 'first', kv_ttl(-60))");
	$s1->query_safe('COMMIT');
	$s2->query('RESET test.block');
	my $err = $s2->{stderr};
	$s2->{stderr} = '';
	return $err;
}

like(window(5, q{INSERT INTO w VALUES (5, 's2', NULL)}),
	qr/ERROR:  duplicate key value violates unique constraint "w_pkey"/,
	'window, plain INSERT: unique violation, as under a concurrent insert on heap');
is($node->safe_psql('postgres', q{
	SET nodedb_kv.test_clock_offset = '-100000s';
	SELECT string_agg(v, ',' ORDER BY v) FROM w WHERE k = 5}), 'first', 'window, plain INSERT: one physical row');

is(window(6, q{INSERT INTO w VALUES (6, 's2', NULL) ON CONFLICT (k) DO NOTHING}), '',
	'window, ON CONFLICT DO NOTHING: the second INSERT succeeds');
is($node->safe_psql('postgres', q{
	SET nodedb_kv.test_clock_offset = '-100000s';
	SELECT string_agg(v, ',' ORDER BY v) FROM w WHERE k = 6}), 's2', 'window, ON CONFLICT: one physical row, the second writer\'s');
is(changes(), q{BEGIN
table public.w: INSERT: k[integer]:5 v[text]:'first' exp[kv_expiry]:set
COMMIT
BEGIN
table public.w: INSERT: k[integer]:6 v[text]:'first' exp[kv_expiry]:set
COMMIT
BEGIN
table public.w: DELETE: k[integer]:6
table public.w: INSERT: k[integer]:6 v[text]:'s2' exp[kv_expiry]:null
COMMIT}, 'window: decoded as INSERT (first), then DELETE and INSERT (second)');
is($node->psql('postgres', 'REINDEX TABLE w'), 0, 'window: REINDEX TABLE succeeds');

my $reindex = $node->psql('postgres', 'REINDEX TABLE r');
is($reindex, 0, 'REINDEX TABLE succeeds: no key has two physically live rows');

$s1->quit;
$s2->quit;
$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('s')});
$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
