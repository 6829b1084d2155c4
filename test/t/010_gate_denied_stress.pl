# Rate gates under contention: 8 clients hammer 3 gate keys, each to about twice its limit: the
# first half of the calls are allowed (new row versions), the rest denied, with both kinds racing
# around the limit.  A denied call still counts (CONTRACT.md "Rate gates"): its hit is
# written in place into the locked counter row, outside the transaction its 54001 error aborts.
# Checks that every call is counted exactly once (no hit lost to a race between in-place writes
# and the allowed path's new versions), that no statement fails with anything but 54001, and that
# no backend crashed.  Most calls catch the error in a subtransaction; 60 let it abort the
# whole transaction.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use NodedbKv;

my $node = NodedbKv::new_node('gate_stress', conf => "max_connections = 30\nlog_statement = none\nlog_min_messages = fatal");
my $tempdir = PostgreSQL::Test::Utils::tempdir;
$node->safe_psql('postgres', q{
	CREATE FUNCTION try_gate(k text) RETURNS int LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM rate_check('stress', k, 500, 3600);
		RETURN 1;
	EXCEPTION WHEN SQLSTATE '54001' THEN
		RETURN 0;
	END
	$$;
});

my $caught = "$tempdir/caught.sql";
my $aborted = "$tempdir/aborted.sql";
append_to_file($caught, "\\set k random(1, 3)\nSELECT try_gate(:k::text);\n");
append_to_file($aborted, "\\set k random(1, 3)\nSELECT rate_check('stress', :k::text, 500, 3600);\n");

my $clients = 8;
my $per_client = 400;
my ($out, $err) = ('', '');
{
	local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port);
	# Catching clients run a fixed number of calls meanwhile; an aborting call ends its pgbench
	# client, so each runs as its own one-call pgbench: 60 of them, one counted hit each.
	my $h = IPC::Run::start(
		[ 'pgbench', '-n', '-M', 'prepared', '-c', $clients, '-j', 2, '-t', $per_client, '-f', $caught, 'postgres' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(300));
	my ($aborts, $abort_errors) = (0, '');
	for my $i (1 .. 60)
	{
		my ($o, $e) = ('', '');
		IPC::Run::run([ 'pgbench', '-n', '-c', 1, '-t', 1, '-f', $aborted, 'postgres' ],
			'>', \$o, '2>', \$e, IPC::Run::timeout(120));
		$aborts++ if $e =~ /rate limit exceeded for stress:/ || $o =~ /actually processed: 1\/1/;
		$abort_errors .= join("\n", grep { /ERROR/ && !/rate limit exceeded/ } split /\n/, $e);
	}
	is($aborts, 60, 'every aborting call ran (allowed, or denied with 54001)');
	$h->finish;
	like($out, qr/number of transactions actually processed: @{[ $clients * $per_client ]}\//,
		'every catching call ran');
	unlike($err, qr/ERROR/, 'no catching call failed');
	is($abort_errors, '', 'aborting calls failed only with 54001');
	my $total = $node->safe_psql('postgres', q{SELECT sum(hits) FROM kv_rate_gates
		WHERE substring(key FROM 1 FOR 7) = convert_to('stress', 'UTF8') || '\x00'::bytea});
	is($total, $clients * $per_client + $aborts, "every call counted once ($total hits)");
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM kv_rate_gates
	WHERE substring(key FROM 1 FOR 7) = convert_to('stress', 'UTF8') || '\x00'::bytea}), '3', 'one counter per key');

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
