# Concurrent writers on a few hot keys, with expiries that keep passing: upserts with TTLs around
# zero (rows already expired, or expiring within a second, get taken over by the next writer) and
# DELETE + re-insert of already expired rows, first with one clock for every session, then with
# sessions whose test clocks disagree by hours (a row live for one session is expired for another).
# INSERT ... ON CONFLICT must never fail and no key may end up with two physical rows.  Before the
# unique-check fixes this failed within seconds with "duplicate key value violates unique
# constraint" and left duplicated keys behind (REINDEX failed).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use NodedbKv;

my $seconds = 6;
my $node = NodedbKv::new_node('stress', conf => "max_connections = 30\nlog_statement = none");
my $tempdir = PostgreSQL::Test::Utils::tempdir;
$node->safe_psql('postgres', q{
	CREATE EXTENSION amcheck;
	CREATE TABLE kv1 (k int PRIMARY KEY, v text, exp kv_expiry) USING kv;
});

my %variants = (
	'one clock' => { offset => '0', ttl => 'random(-1, 1)' },
	'disagreeing clocks' => { offset => 'random(0, 2) * 3600', ttl => 'random(-1, 2) * 2700' },
);
for my $name (sort keys %variants)
{
	my $v = $variants{$name};
	my $upsert = "$tempdir/upsert.sql";
	my $reinsert = "$tempdir/reinsert.sql";
	unlink $upsert, $reinsert;
	append_to_file($upsert, qq{
\\set k random(1, 3)
\\set off $v->{offset}
\\set ttl $v->{ttl}
SET nodedb_kv.test_clock_offset = :off;
INSERT INTO kv1 VALUES (:k, 'upsert', kv_ttl(:ttl)) ON CONFLICT (k) DO UPDATE SET v = 'updated', exp = excluded.exp;
});
	append_to_file($reinsert, qq{
\\set k random(1, 3)
\\set off $v->{offset}
SET nodedb_kv.test_clock_offset = :off;
BEGIN;
DELETE FROM kv1 WHERE k = :k;
INSERT INTO kv1 VALUES (:k, 'expired', kv_ttl(-1)) ON CONFLICT DO NOTHING;
COMMIT;
});
	my ($out, $err) = ('', '');
	{
		local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port);
		IPC::Run::run(
			[ 'pgbench', '-n', '-c', 8, '-j', 2, '-T', $seconds, '-f', "$upsert\@5", '-f', "$reinsert\@1", 'postgres' ],
			'>', \$out, '2>', \$err, IPC::Run::timeout($seconds + 120));
	}
	like($out, qr/number of transactions actually processed: [1-9]/, "$name: the load ran");
	unlike($err, qr/ERROR/, "$name: no statement failed") or diag(substr($err, 0, 2000));
	is($node->safe_psql('postgres', q{
		SET nodedb_kv.test_clock_offset = '-100000s'; SET enable_indexscan = off; SET enable_bitmapscan = off;
		SELECT k, count(*) FROM kv1 GROUP BY k HAVING count(*) > 1}), '', "$name: one physical row per key");
	my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
		REINDEX TABLE kv1;
		SELECT bt_index_parent_check(indexrelid, true) FROM pg_index WHERE indrelid = 'kv1'::regclass});
	is($ret, 0, "$name: REINDEX and amcheck succeed") or diag($stderr);
}

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
