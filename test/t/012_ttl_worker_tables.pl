# The expiry worker across tables (README "Expiry worker"): it deletes in transactions of at most
# nodedb_kv.ttl_batch_size rows; skips a table it cannot lock at once and carries on with the
# others, coming back to it once the lock is free; logs a table whose expiry fails and carries on
# with the others; leaves temporary kv tables alone (their expired rows stay invisible); and its
# deletes are storage-level: no row or statement trigger fires and no ON DELETE action of a foreign
# key referencing the kv table runs (README "Foreign keys").
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node(
	'ttltables',
	allows_streaming => 'logical',
	ttl_enabled => 1,
	conf => "nodedb_kv.ttl_interval = '100ms'\nnodedb_kv.ttl_batch_size = 10");

# Physical row count of a table, seen from far in the past (every row live there).
sub physical
{
	my ($table) = @_;
	return $node->safe_psql('postgres', qq{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT count(*) FROM $table});
}

# Waits (bounded) for $n expiry-worker ticks that end after now; see 005_ttl_worker.pl.
sub wait_ticks
{
	my ($n, $label) = @_;
	my $after = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
	for my $i (1 .. $n)
	{
		my $ok = NodedbKv::poll_sql($node, 'postgres', qq{
			SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv expiry worker'
				AND datname = 'postgres' AND state = 'idle' AND state_change > '$after'::timestamptz}, '1', 60);
		if (!$ok)
		{
			fail("$label: expiry worker tick $i of $n did not happen within 60 s");
			return 0;
		}
		$after = $node->safe_psql('postgres', q{SELECT max(state_change) FROM pg_stat_activity
			WHERE backend_type = 'nodedb_kv expiry worker' AND datname = 'postgres'});
	}
	return 1;
}

# --- batches of ttl_batch_size ---------------------------------------------------------------------
$node->safe_psql('postgres', q{
	SELECT 'init' FROM pg_create_logical_replication_slot('s', 'test_decoding');
	CREATE TABLE b (k int PRIMARY KEY, exp kv_expiry) USING kv;
	INSERT INTO b SELECT i, kv_ttl(-1) FROM generate_series(1, 35) i;
});
ok(NodedbKv::poll_sql($node, 'postgres', 'SET nodedb_kv.test_clock_offset = \'-100000s\'; SELECT count(*) FROM b',
	'0', 60), 'the worker removes 35 expired rows');
my @batches;
{
	my $n = 0;
	for my $line (split /\n/, $node->safe_psql('postgres', q{
		SELECT data FROM pg_logical_slot_get_changes('s', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1')}))
	{
		$n = 0 if $line eq 'BEGIN';
		$n++ if $line =~ /^table public\.b: DELETE:/;
		push @batches, $n if $line =~ /^COMMIT/ && $n > 0;
	}
}
is(join(',', sort { $b <=> $a } @batches), '10,10,10,5', 'deleted in transactions of ttl_batch_size (10) rows');
$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('s')});

# --- no triggers, no ON DELETE actions; temporary tables left alone --------------------------------
my $temp = $node->background_psql('postgres', on_error_stop => 1);
$temp->query_safe(q{
	CREATE TEMP TABLE tmp (k int PRIMARY KEY, exp kv_expiry) USING kv;
	INSERT INTO tmp SELECT i, kv_ttl(-1) FROM generate_series(1, 5) i;
	INSERT INTO tmp VALUES (6, NULL);
});
$node->safe_psql('postgres', q{
	CREATE TABLE fired (what text);
	CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO fired VALUES (TG_NAME || ' ' || TG_OP);
		RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
	END $$;
	CREATE TABLE trig (k int PRIMARY KEY, exp kv_expiry) USING kv;
	CREATE TRIGGER before_row BEFORE DELETE ON trig FOR EACH ROW EXECUTE FUNCTION note();
	CREATE TRIGGER after_row AFTER DELETE ON trig FOR EACH ROW EXECUTE FUNCTION note();
	CREATE TRIGGER after_statement AFTER DELETE ON trig FOR EACH STATEMENT EXECUTE FUNCTION note();
	CREATE TABLE parent (k int PRIMARY KEY, exp kv_expiry) USING kv;
	CREATE TABLE child (id int PRIMARY KEY, k int REFERENCES parent ON DELETE CASCADE);
	INSERT INTO parent VALUES (1, NULL), (2, NULL);
	INSERT INTO child VALUES (10, 1), (20, 2);
	-- Both expire now, through an UPDATE (an UPDATE fires no DELETE trigger either).
	INSERT INTO trig SELECT i, kv_ttl(-1) FROM generate_series(1, 5) i;
	UPDATE parent SET exp = kv_ttl(-1) WHERE k = 1;
});
ok(NodedbKv::poll_sql($node, 'postgres',
	q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT (SELECT count(*) FROM trig) || ',' || (SELECT count(*) FROM parent)},
	'0,1', 60), 'the worker removes the expired rows of a table with triggers and of a referenced table');
is($node->safe_psql('postgres', 'SELECT count(*) FROM fired'), '0', 'expiry deletes fire no row or statement trigger');
is($node->safe_psql('postgres', q{SELECT string_agg(id || ':' || k, ',' ORDER BY id) FROM child}), '10:1,20:2',
	'expiry deletes run no ON DELETE CASCADE: the referencing row outlives the expired key');
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'INSERT INTO child VALUES (11, 1)');
like($stderr, qr/violates foreign key constraint "child_k_fkey"/, 'a new row cannot reference the expired (removed) key');
$node->safe_psql('postgres', 'DELETE FROM parent WHERE k = 2');
is($node->safe_psql('postgres', q{SELECT string_agg(id::text, ',') FROM child}), '10',
	'a SQL DELETE of a kv row runs the ON DELETE CASCADE');
ok(wait_ticks(2, 'temporary table'), 'the worker ticked twice more');
is($temp->query_safe(q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT count(*) FROM tmp}), '6',
	'a temporary kv table keeps its expired rows (the worker does not clean it)');
is($temp->query_safe(q{RESET nodedb_kv.test_clock_offset; SELECT string_agg(k::text, ',') FROM tmp}), '6',
	'and they stay invisible');
$temp->quit;

# --- a table the worker cannot lock is skipped, the others are not ---------------------------------
$node->safe_psql('postgres', q{
	CREATE TABLE locked (k int PRIMARY KEY, exp kv_expiry) USING kv;
	CREATE TABLE free1 (k int PRIMARY KEY, exp kv_expiry) USING kv;
	INSERT INTO locked SELECT i, kv_ttl(3600) FROM generate_series(1, 5) i;
});
# The locked table's rows expire only once the table is locked: the worker's clock is moved two hours
# on after the LOCK (rows inserted already expired could be removed before the LOCK on a slow machine).
my $locker = $node->background_psql('postgres', on_error_stop => 1);
$locker->query_safe(q{
	BEGIN;
	LOCK TABLE locked IN ACCESS EXCLUSIVE MODE;
});
$node->safe_psql('postgres', q{ALTER SYSTEM SET nodedb_kv.test_clock_offset = '7200s'; SELECT pg_reload_conf()});
$node->safe_psql('postgres', q{INSERT INTO free1 SELECT i, kv_ttl(-1) FROM generate_series(1, 5) i});
ok(NodedbKv::poll_sql($node, 'postgres', q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT count(*) FROM free1},
	'0', 60), 'with another table locked, the worker removes the expired rows of the free one');
ok(wait_ticks(2, 'locked table'), 'the worker ticked twice more');
is($locker->query_safe(q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT count(*) FROM locked}), '5',
	'the locked table was skipped');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE a.backend_type = 'nodedb_kv expiry worker' AND NOT l.granted}), '0',
	'the worker never waits for the lock');
$locker->query_safe('COMMIT');
$locker->quit;
ok(NodedbKv::poll_sql($node, 'postgres', q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT count(*) FROM locked},
	'0', 60), 'once the lock is gone, its expired rows are removed');
$node->safe_psql('postgres', q{ALTER SYSTEM RESET nodedb_kv.test_clock_offset; SELECT pg_reload_conf()});

# --- a failing table is logged and the others go on ------------------------------------------------
# The failure is injected through the expiry index's operator class: its comparison function raises
# while nodedb_kv_test.fail is on.  The worker's first batch of a table scans "expiry <= now" from the
# start of the index (no comparison); a second batch starts at "expiry >= where the first stopped",
# which btree finds by a descent that compares, and fails.  So each tick deletes one batch of
# "failing" and then fails on it; the DEBUG1 summary of the tick shows the other tables' rows removed
# in that same tick.
$node->safe_psql('postgres', q{ALTER SYSTEM SET nodedb_kv.ttl_enabled = off; SELECT pg_reload_conf()});
ok(wait_ticks(2, 'ttl_enabled off'), 'the worker ticked twice since the reload (it reads the file between ticks)');
$node->safe_psql('postgres', q{
	CREATE FUNCTION failing_cmp(timestamptz, timestamptz) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
	BEGIN
		IF current_setting('nodedb_kv_test.fail', true) = 'on' THEN
			RAISE EXCEPTION 'injected failure';
		END IF;
		RETURN timestamptz_cmp($1, $2);
	END $$;
	CREATE OPERATOR CLASS failing_ops FOR TYPE timestamptz USING btree AS
		OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
		FUNCTION 1 failing_cmp(timestamptz, timestamptz);
	CREATE TABLE failing (k int PRIMARY KEY, exp kv_expiry) USING kv;
	DROP INDEX failing_exp_idx;
	CREATE INDEX failing_exp_failing ON failing (exp failing_ops);
	CREATE TABLE after1 (k int PRIMARY KEY, exp kv_expiry) USING kv;
	CREATE TABLE after2 (k int PRIMARY KEY, exp kv_expiry) USING kv;
	INSERT INTO failing SELECT i, kv_ttl(-1 - i) FROM generate_series(1, 100) i;
	INSERT INTO after1 SELECT i, kv_ttl(-1) FROM generate_series(1, 5) i;
	INSERT INTO after2 SELECT i, kv_ttl(-1) FROM generate_series(1, 5) i;
});
is($node->safe_psql('postgres', q{SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'failing'::regclass
		AND indkey[0] = 2}), 'failing_exp_failing', 'the failing table\'s expiry index uses the failing operator class');
my $log_offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "nodedb_kv_test.fail = on\nlog_min_messages = debug1");
$node->safe_psql('postgres', q{ALTER SYSTEM RESET nodedb_kv.ttl_enabled; SELECT pg_reload_conf()});
ok(NodedbKv::poll_sql($node, 'postgres', q{SET nodedb_kv.test_clock_offset = '-100000s';
		SELECT (SELECT count(*) FROM after1) + (SELECT count(*) FROM after2)}, '0', 60),
	'with one table failing, the worker removes the other tables\' expired rows');
ok(wait_ticks(1, 'failing table'), 'the worker ticked once more');
my $log = substr(slurp_file($node->logfile), $log_offset);
like($log, qr/LOG:  nodedb_kv: expiry of "failing" failed: injected failure/, 'the failure is logged with the table name');
my @ticks = $log =~ /expiry tick removed (\d+) rows from \d+ kv tables in \d+ ms \(\d+ changed concurrently, 1 tables failed\)/g;
ok(scalar(grep { $_ >= 20 } @ticks), 'in the tick where "failing" failed, the others\' 10 rows were removed too')
  or diag('ticks with a failure removed: ' . join(',', @ticks));
is(scalar(() = $log =~ /nodedb_kv expiry worker.*exited/g), 0, 'the worker did not exit');
my $conf = slurp_file($node->data_dir . '/postgresql.conf');
$conf =~ s/^nodedb_kv_test\.fail = on\nlog_min_messages = debug1$//m or die 'cannot undo the injection';
open(my $fh, '>', $node->data_dir . '/postgresql.conf') or die $!;
print $fh $conf;
close($fh);
$node->reload;
ok(NodedbKv::poll_sql($node, 'postgres', q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT count(*) FROM failing},
	'0', 60), 'once the failure is gone, the same worker removes that table\'s rows too');

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
