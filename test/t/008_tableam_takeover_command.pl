# One command writing the same key twice, the first row already expired.  The expired key is absent
# for every writer, so the live row wins: takeover deletes the first row even though the current
# command wrote it (heap refuses to delete a row with the command id that inserted it, so the delete
# is stamped with the next one).  INSERT, ON CONFLICT DO NOTHING and DO UPDATE keep the live row.
# COPY is the exception: one multi_insert batch gets its index entries only after the whole batch is
# in the heap, so the second row cannot find the first: a unique violation, nothing kept (never two
# physically live rows, which would break REINDEX).  Across commands of one transaction the second
# write takes the key over.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node('command');
$node->safe_psql('postgres', q{CREATE TABLE r (k int PRIMARY KEY, v text, exp kv_expiry) USING kv});

# Runs $sql; returns its error text ('' on success).
sub error_of
{
	my ($sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', $sql);
	$stderr =~ s/^psql:<stdin>:\d+: //mg;
	return $stderr;
}

sub physical
{
	my ($k) = @_;
	return $node->safe_psql('postgres', qq{
		SET nodedb_kv.test_clock_offset = '-1000000000s';    -- back to 1995: every row
		SELECT coalesce(string_agg(v, ',' ORDER BY v), '<none>') FROM r WHERE k = $k});
}

is(error_of(q{INSERT INTO r VALUES (1, 'a', kv_ttl(-1)), (1, 'b', NULL)}), '',
	'INSERT of one key twice in one command, the first expired: succeeds');
is(physical(1), 'b', 'INSERT of one key twice: the live row alone stays');

like(error_of("COPY r FROM stdin;\n2\ta\t2000-01-01\n2\tb\t\\N\n\\.\n"),
	qr/^ERROR:  duplicate key value violates unique constraint "r_pkey"/,
	'COPY of one key twice in one batch: unique violation');
is(physical(2), '<none>', 'COPY of one key twice: nothing stays');

is(error_of(q{INSERT INTO r VALUES (3, 'a', kv_ttl(-1)), (3, 'b', NULL) ON CONFLICT (k) DO NOTHING}), '',
	'ON CONFLICT DO NOTHING with one key twice succeeds');
is(physical(3), 'b', 'ON CONFLICT DO NOTHING with one key twice: the live row alone stays');

is(error_of(q{INSERT INTO r VALUES (4, 'a', kv_ttl(-1)), (4, 'b', NULL) ON CONFLICT (k) DO UPDATE SET v = 'x'}), '',
	'ON CONFLICT DO UPDATE with one key twice succeeds');
is(physical(4), 'b', 'ON CONFLICT DO UPDATE with one key twice: the live row alone stays, not updated');

# An UPDATE moving two rows onto one key in one command, the first one expired: the live one wins.
$node->safe_psql('postgres', q{INSERT INTO r VALUES (20, 'x', NULL), (21, 'y', NULL)});
is(error_of(q{UPDATE r SET k = 22, exp = CASE WHEN k = 20 THEN kv_ttl(-1) END,
	v = CASE WHEN k = 20 THEN 'expired' ELSE 'live' END WHERE k IN (20, 21)}), '',
	'UPDATE moving an expired and a live row onto one key in one command');
is(physical(22) . ' ' . physical(20) . ' ' . physical(21), 'live <none> <none>',
	'UPDATE onto one key twice: the live row alone stays');

# Separate commands of one transaction: the second takes over the first.
is(error_of(q{
	BEGIN;
	INSERT INTO r VALUES (5, 'a', kv_ttl(-1));
	INSERT INTO r VALUES (5, 'b', NULL);
	COPY r FROM stdin;
6	a	2000-01-01
\.
	COPY r FROM stdin;
6	b	\N
\.
	INSERT INTO r VALUES (7, 'a', kv_ttl(-1));
	INSERT INTO r VALUES (7, 'b', NULL) ON CONFLICT (k) DO UPDATE SET v = 'conflict';
	COMMIT;
}), '', 'one key written by two commands of one transaction');
is(physical(5) . ' ' . physical(6) . ' ' . physical(7), 'b b b', 'the second command took each key over');

# A row that is already expired when written still conflicts with a live row of its key (btree's
# unique check asks whether the new row is still live with SnapshotSelf; hiding it there as expired
# made the conflict disappear and left two rows for the key).
$node->safe_psql('postgres', q{INSERT INTO r VALUES (10, 'live', NULL), (11, 'live', NULL), (12, 'moved', NULL)});
like(error_of(q{INSERT INTO r VALUES (10, 'expired', kv_ttl(-1))}),
	qr/^ERROR:  duplicate key value violates unique constraint "r_pkey"/,
	'INSERT of an expired row onto a live key: unique violation');
like(error_of("COPY r FROM stdin;\n10\texpired\t2000-01-01\n\\.\n"),
	qr/^ERROR:  duplicate key value violates unique constraint "r_pkey"/,
	'COPY of an expired row onto a live key: unique violation');
like(error_of(q{UPDATE r SET k = 10, exp = kv_ttl(-1) WHERE k = 12}),
	qr/^ERROR:  duplicate key value violates unique constraint "r_pkey"/,
	'UPDATE moving a row, expired, onto a live key: unique violation');
is(error_of(q{INSERT INTO r VALUES (11, 'expired', kv_ttl(-1)) ON CONFLICT (k) DO NOTHING}), '',
	'ON CONFLICT DO NOTHING with an expired row onto a live key');
is(physical(10) . ' ' . physical(11) . ' ' . physical(12), 'live live moved', 'the live rows stay, alone');

is($node->psql('postgres', 'REINDEX TABLE r'), 0, 'REINDEX TABLE succeeds');

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
