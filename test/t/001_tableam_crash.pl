# Crash recovery of kv tables under a concurrent write load that keeps taking over expired keys.
#
# Each round starts
#  - psql clients, each owning a private key range, running a generated script of units (one
#    transaction each, followed by "\echo ack"): upserts with long and one-second TTLs, plain INSERT
#    and INSERT ... ON CONFLICT DO UPDATE two hours ahead on the test clock (takeover of the key), a
#    transaction that expires and re-inserts its own row, UPDATE, key-changing UPDATE onto an expired
#    key, DELETE.  The generator knows the state of every key, so the RETURNING values of the
#    takeover statements are checked, and after the crash every key must hold the value of its last
#    acknowledged unit (or of the one unit in flight at the crash);
#  - pgbench clients fighting over a few shared hot keys with random clock offsets and TTLs;
# then stops the server with an immediate shutdown (synchronous_commit = on), restarts it and checks:
# no key has two physically live rows (at several clock offsets), REINDEX and amcheck succeed, index
# and sequential scans agree, and nothing acknowledged was lost.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use NodedbKv;

my $rounds = 2;
my $psql_clients = 3;
my $pgbench_clients = 4;
my $min_acks = 200;               # units every psql client has acknowledged before the crash
my $load_timeout = 120;           # seconds allowed to get there (a bound, not a pause)
my $keys_per_client = 60;
my $units_per_client = 50000;    # far more than a client gets through before the crash

my $node = NodedbKv::new_node('crash', conf => "synchronous_commit = on\nmax_connections = 30");
my $tempdir = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', q{
	CREATE EXTENSION amcheck;
	CREATE TABLE kv1 (k int PRIMARY KEY, v text, exp kv_expiry, pad text) USING kv;
});

# --- the psql clients' scripts -------------------------------------------------------------------
# A key's state: class (absent, short = one-second TTL at offset 0, long0 = one hour at offset 0,
# long2h = one hour at offset +2h, i.e. expiring three hours from now) and value.  Two hours ahead
# short and long0 are expired; at offset -1h nothing is.

my $upsert = 'INSERT INTO kv1 VALUES (%d, %s, kv_ttl(%s), %s) ON CONFLICT (k) DO UPDATE SET v = excluded.v, '
  . 'exp = excluded.exp, pad = excluded.pad';

# Returns ($script_text, \@units); $units[$seq] = { key => [class, value] } (the state after the unit
# of every key it writes) and $expect{"$tag|$client|$seq"} holds the RETURNING values psql must print.
sub generate_client
{
	my ($client, $base, $expect) = @_;
	my %state = map { ($base + $_) => [ 'absent', undef ] } 0 .. $keys_per_client - 1;
	my @units = (undef);
	my $script = "\\set ON_ERROR_STOP 1\n";
	my $pick = sub { $base + int(rand($keys_per_client)) };
	my $pad = sub { rand() < 0.05 ? "repeat(md5(random()::text), 100)" : 'NULL' };
	for my $seq (1 .. $units_per_client)
	{
		my $v = "'c$client-$seq'";
		my $val = "c$client-$seq";
		my $k = $pick->();
		my $class = $state{$k}[0];
		my %writes;
		my $sql;
		my $type = int(rand(8));
		$type = 0 if ($type == 2 && $class eq 'long2h') || ($type == 6 && $class !~ /^long/);
		if ($type == 7)
		{
			# Move a key that is live two hours ahead onto one that is expired or absent there.
			my ($from) = grep { $state{$_}[0] eq 'long2h' } sort keys %state;
			my ($to) = grep { $state{$_}[0] ne 'long2h' } sort { $b <=> $a } keys %state;
			$type = 0 unless defined $from && defined $to;
			if ($type == 7)
			{
				$sql = "SET nodedb_kv.test_clock_offset = '2h';\n"
				  . "UPDATE kv1 SET k = $to WHERE k = $from RETURNING 'm|$client|$seq|' || k || '=' || v;\n";
				$expect->{"m|$client|$seq"} = "$to=$state{$from}[1]";
				%writes = ($from => [ 'absent', undef ], $to => [ 'long2h', $state{$from}[1] ]);
			}
		}
		if ($type == 0 || $type == 1)
		{
			my $ttl = $type == 0 ? 3600 : 1;
			$sql = "SET nodedb_kv.test_clock_offset = 0;\n" . sprintf($upsert, $k, $v, $ttl, $pad->()) . ";\n";
			%writes = ($k => [ $type == 0 ? 'long0' : 'short', $val ]);
		}
		elsif ($type == 2)
		{
			$sql = "SET nodedb_kv.test_clock_offset = '2h';\n"
			  . "INSERT INTO kv1 VALUES ($k, $v, kv_ttl(3600), " . $pad->() . ");\n";
			%writes = ($k => [ 'long2h', $val ]);
		}
		elsif ($type == 3)
		{
			$sql = "SET nodedb_kv.test_clock_offset = '2h';\n"
			  . "INSERT INTO kv1 VALUES ($k, $v, kv_ttl(3600)) ON CONFLICT (k) DO UPDATE "
			  . "SET v = excluded.v || '-conflict', exp = excluded.exp RETURNING 'r|$client|$seq|' || v;\n";
			my $result = $class eq 'long2h' ? "$val-conflict" : $val;
			$expect->{"r|$client|$seq"} = $result;
			%writes = ($k => [ 'long2h', $result ]);
		}
		elsif ($type == 4)
		{
			# Expire the key within the transaction, take it over, write a second key.
			my $k2 = $pick->();
			$k2 = $base + (($k - $base + 1) % $keys_per_client) if $k2 == $k;
			$sql = "BEGIN;\nSET LOCAL nodedb_kv.test_clock_offset = 0;\n"
			  . sprintf($upsert, $k, "'expired'", -1, 'NULL') . ";\n"
			  . "INSERT INTO kv1 VALUES ($k, $v, kv_ttl(3600));\n"
			  . sprintf($upsert, $k2, "'$val-b'", 3600, 'NULL') . ";\nCOMMIT;\n";
			%writes = ($k => [ 'long0', $val ], $k2 => [ 'long0', "$val-b" ]);
		}
		elsif ($type == 5)
		{
			$sql = "SET nodedb_kv.test_clock_offset = '-1h';\nDELETE FROM kv1 WHERE k = $k;\n";
			%writes = ($k => [ 'absent', undef ]);
		}
		elsif ($type == 6)
		{
			$sql = "SET nodedb_kv.test_clock_offset = 0;\n"
			  . "UPDATE kv1 SET v = $v WHERE k = $k RETURNING 'u|$client|$seq|' || v;\n";
			$expect->{"u|$client|$seq"} = $val;
			%writes = ($k => [ $class, $val ]);
		}
		$state{$_} = $writes{$_} for keys %writes;
		push @units, \%writes;
		$script .= $sql . "\\echo ack $client $seq\n";
	}
	return ($script, \@units, $base);
}

# Value of every key of a client after its unit $seq (absent keys map to undef).
sub state_after
{
	my ($units, $seq) = @_;
	my %state;
	for my $i (1 .. $seq)
	{
		$state{$_} = $units->[$i]{$_}[1] for keys %{ $units->[$i] };
	}
	return \%state;
}

my $pgbench_script = "$tempdir/hot.sql";
append_to_file($pgbench_script, q{
\set k random(1, 20)
\set off random(0, 2) * 3600
\set ttl random(-1, 2) * 2700
SET nodedb_kv.test_clock_offset = :off;
INSERT INTO kv1 VALUES (:k, 'pgbench', kv_ttl(:ttl)) ON CONFLICT (k) DO UPDATE SET v = 'pgbench-upd', exp = excluded.exp;
});
my $pgbench_delete = "$tempdir/hot_delete.sql";
append_to_file($pgbench_delete, q{
\set k random(1, 20)
\set off random(-1, 2) * 3600
SET nodedb_kv.test_clock_offset = :off;
DELETE FROM kv1 WHERE k = :k;
INSERT INTO kv1 VALUES (:k, 'pgbench-ins', NULL) ON CONFLICT DO NOTHING;
});

my $no_dups = q{
	SET enable_indexscan = off; SET enable_bitmapscan = off;
	SELECT k, count(*) FROM kv1 GROUP BY k HAVING count(*) > 1 ORDER BY k};

for my $round (1 .. $rounds)
{
	# --- load ------------------------------------------------------------------------------------
	my (%expect, @clients);
	for my $c (1 .. $psql_clients)
	{
		my $client = $round * 10 + $c;
		my ($script, $units, $base) = generate_client($client, $client * 1000, \%expect);
		my $file = "$tempdir/client$client.sql";
		append_to_file($file, $script);
		my ($out, $err) = ("$tempdir/client$client.out", "$tempdir/client$client.err");
		my $h = IPC::Run::start(
			[ 'psql', '-X', '-q', '-A', '-t', '-d', $node->connstr('postgres'), '-f', $file ],
			'>', $out, '2>', $err);
		push @clients, { id => $client, units => $units, out => $out, err => $err, h => $h };
	}
	my ($bench_out, $bench_err) = ("$tempdir/pgbench$round.out", "$tempdir/pgbench$round.err");
	my $bench;
	{
		local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port);
		$bench = IPC::Run::start(
			[ 'pgbench', '-n', '-P', 1, '-c', $pgbench_clients, '-j', 2, '-T', 600,
			  '-f', "$pgbench_script\@9", '-f', "$pgbench_delete\@1", 'postgres' ],
			'>', $bench_out, '2>', $bench_err);
	}
	# Crash once the load demonstrably ran: every psql client acknowledged $min_acks units and pgbench
	# reported committed transactions.  Polled, bounded by $load_timeout seconds.
	my $deadline = time() + $load_timeout;
	my ($min_seen, $bench_tps) = (0, 0);
	while (1)
	{
		$min_seen = undef;
		for my $client (@clients)
		{
			my $c = $client->{id};
			my $n = () = (-e $client->{out} ? slurp_file($client->{out}) : '') =~ /^ack $c \d+$/mg;
			$min_seen = $n if !defined $min_seen || $n < $min_seen;
		}
		my $progress = -e $bench_err ? slurp_file($bench_err) : '';
		$bench_tps = 1 if $progress =~ /^progress: [\d.]+ s, [1-9][\d.]* tps/m;
		last if $min_seen >= $min_acks && $bench_tps;
		last if time() > $deadline;
		usleep(100_000);
	}
	ok($min_seen >= $min_acks && $bench_tps,
		"round $round: the load ran before the crash (every psql client acknowledged $min_acks units, pgbench committed)")
	  or diag("after ${load_timeout}s: fewest acknowledged units $min_seen, pgbench progress "
		  . ($bench_tps ? 'seen' : 'not seen'));
	$node->stop('immediate');
	for my $proc ((map { $_->{h} } @clients), $bench)
	{
		eval { $proc->finish(IPC::Run::timeout(60)); 1 } or do { $proc->kill_kill; $proc->finish };
	}
	my $bench_log = slurp_file($bench_err);
	like($bench_log, qr/immediate shutdown|server closed the connection|connection to server/,
		"round $round: pgbench was running at the crash") or diag($bench_log . slurp_file($bench_out));
	unlike($bench_log, qr/ERROR:  /, "round $round: pgbench got no ERROR, only the connection loss");

	# --- recovery and checks ---------------------------------------------------------------------
	$node->start;
	for my $offset ('0', '2h', '-100000s')
	{
		is($node->safe_psql('postgres', "SET nodedb_kv.test_clock_offset = '$offset'; $no_dups"),
			'', "round $round: no key has two live rows at clock offset $offset");
	}
	my ($ret, $stdout, $stderr) = $node->psql('postgres', 'REINDEX TABLE kv1');
	is($ret, 0, "round $round: REINDEX TABLE succeeds") or diag($stderr);
	($ret, $stdout, $stderr) = $node->psql('postgres', q{
		SELECT bt_index_parent_check(indexrelid, true) FROM pg_index WHERE indrelid = 'kv1'::regclass});
	is($ret, 0, "round $round: amcheck finds the indexes consistent with the table") or diag($stderr);
	is($node->safe_psql('postgres', q{
		SET nodedb_kv.test_clock_offset = '-100000s';
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(*), sum(k), sum(length(v)) FROM kv1 WHERE k > 0}),
		$node->safe_psql('postgres', q{
		SET nodedb_kv.test_clock_offset = '-100000s';
		SET enable_indexscan = off; SET enable_bitmapscan = off;
		SELECT count(*), sum(k), sum(length(v)) FROM kv1 WHERE k > 0}),
		"round $round: index and sequential scans see the same rows");

	my %physical = map { split /\|/, $_, 2 } split /\n/, $node->safe_psql('postgres', q{
		SET nodedb_kv.test_clock_offset = '-100000s';
		SELECT k, v FROM kv1 WHERE k >= 1000 ORDER BY k});
	for my $client (@clients)
	{
		my $c = $client->{id};
		my $out = slurp_file($client->{out});
		my $err = slurp_file($client->{err});
		my @acks = $out =~ /^ack $c (\d+)$/mg;
		my $acked = @acks ? $acks[-1] : 0;
		note("round $round client $c: $acked units acknowledged");
		cmp_ok($acked, '>=', $min_acks, "round $round client $c: acknowledged units before the crash");
		is_deeply(\@acks, [ 1 .. $acked ], "round $round client $c: units acknowledged in order");
		unlike($err, qr/ERROR:  /, "round $round client $c: no ERROR, only the connection loss") or diag($err);
		if ($acked < $units_per_client)
		{
			like($err, qr/immediate shutdown|server closed the connection|connection to server/,
				"round $round client $c: was running at the crash") or diag($err);
		}
		else
		{
			pass("round $round client $c: finished its script before the crash");
		}

		# RETURNING values of takeovers, updates and moves.
		my @wrong;
		while ($out =~ /^([rum]\|$c\|\d+)\|(.*)$/mg)
		{
			push @wrong, "$1: got $2, expected $expect{$1}" if !defined $expect{$1} || $2 ne $expect{$1};
		}
		for my $tag (grep { /^[rum]\|$c\|/ } keys %expect)
		{
			my ($seq) = $tag =~ /(\d+)$/;
			push @wrong, "$tag: acknowledged, but returned nothing"
			  if $seq <= $acked && $out !~ /^\Q$tag\E\|/m;
		}
		is(join("\n", sort @wrong), '', "round $round client $c: every takeover, UPDATE and move returned the expected row");

		# Every key holds the value of its last acknowledged unit, or of the unit in flight.
		my $after_ack = state_after($client->{units}, $acked);
		my $in_flight = $acked < $units_per_client ? $client->{units}[ $acked + 1 ] : {};
		my @lost;
		for my $k (sort { $a <=> $b } keys %$after_ack)
		{
			my $got = $physical{$k};
			my @allowed = ($after_ack->{$k});
			push @allowed, $in_flight->{$k}[1] if exists $in_flight->{$k};
			next if grep { (defined $_ ? $_ : '<absent>') eq ($got // '<absent>') } @allowed;
			push @lost, "key $k: " . ($got // '<absent>') . ', expected '
			  . join(' or ', map { $_ // '<absent>' } @allowed);
		}
		is(join("\n", @lost), '', "round $round client $c: no acknowledged write lost") or diag("last ack $acked");
	}
	# Remove this round's private keys so the next round's generator starts from empty keys.
	$node->safe_psql('postgres', q{SET nodedb_kv.test_clock_offset = '-100000s'; DELETE FROM kv1 WHERE k >= 1000});
}

# The table is still usable: takeover after recovery.
is($node->safe_psql('postgres', q{
	INSERT INTO kv1 VALUES (1, 'after', kv_ttl(1)) ON CONFLICT (k) DO UPDATE SET v = 'after', exp = excluded.exp;
	SET nodedb_kv.test_clock_offset = '10h';
	INSERT INTO kv1 VALUES (1, 'taken', NULL) RETURNING v}), 'taken', 'takeover works after recovery');

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
