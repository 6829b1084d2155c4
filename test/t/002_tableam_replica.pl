# A streaming standby sees exactly the rows the primary sees, at every test-clock offset (the offset
# is a session setting: each query sets it on both sides), through every scan shape (sequential,
# index, bitmap; index-only scans stay off on the standby too, even on all-visible pages), after
# plain writes, takeovers of expired keys, UPDATE, DELETE, COPY and VACUUM on the primary.  No
# expiry worker runs on the standby.  Every expiry is at least half an hour away from the offsets
# compared (or already past), so the wall clock moving between the primary's and the standby's query, on however
# slow a machine, cannot change an answer.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $primary = NodedbKv::new_node('primary', allows_streaming => 1);
$primary->safe_psql('postgres', q{
	CREATE TABLE t (k text PRIMARY KEY, v text, exp kv_expiry) USING kv;
	CREATE TABLE n (id int PRIMARY KEY, payload text, exp kv_expiry) USING kv;
	INSERT INTO t VALUES
		('never', 'v0', NULL),
		('min', 'v1', kv_ttl(1800)),         -- expired one hour ahead
		('hours', 'v2', kv_ttl(7200)),       -- expired three hours ahead
		('past', 'v3', kv_ttl(-60));         -- expired now
	INSERT INTO n SELECT i, repeat('p', i % 50), kv_ttl(CASE i % 4 WHEN 0 THEN -60 WHEN 1 THEN 1800 WHEN 2 THEN 7200 END)
		FROM generate_series(1, 2000) i;
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

my @offsets = ('0', '1h', '3h', '-100000s');
my %plans = (
	seq => 'SET enable_indexscan = off; SET enable_bitmapscan = off;',
	index => 'SET enable_seqscan = off; SET enable_bitmapscan = off;',
	bitmap => 'SET enable_seqscan = off; SET enable_indexscan = off;',
);
my @queries = (
	q{SELECT k, v, exp FROM t WHERE k > '' ORDER BY k},
	q{SELECT k FROM t WHERE k > '' ORDER BY k},    # would be an index-only scan
	q{SELECT count(*), sum(id), sum(length(payload)) FROM n WHERE id > 0},
	q{SELECT id FROM n WHERE id BETWEEN 100 AND 140 ORDER BY id},
	q{SELECT count(*) FROM n WHERE exp IS NOT NULL AND id > 0},
);

# Compares every query under every offset and plan shape on both nodes; returns the primary's
# answers keyed by "offset plan query-number" so callers can check the contents too.
sub compare
{
	my ($label) = @_;
	$primary->wait_for_catchup($standby);
	my %answers;
	for my $offset (@offsets)
	{
		for my $plan (sort keys %plans)
		{
			for my $i (0 .. $#queries)
			{
				my $sql = "SET nodedb_kv.test_clock_offset = '$offset'; $plans{$plan} $queries[$i]";
				my $p = $primary->safe_psql('postgres', $sql);
				my $s = $standby->safe_psql('postgres', $sql);
				is($s, $p, "$label: offset $offset, $plan scan, query $i: standby = primary");
				$answers{"$offset $plan $i"} = $p;
			}
		}
	}
	return \%answers;
}

my $answers = compare('initial rows');
is($answers->{'0 index 1'}, "hours\nmin\nnever", 'now: the row expired a minute ago is hidden');
is($answers->{'1h seq 1'}, "hours\nnever", 'one hour ahead: the one-minute row is hidden');
is($answers->{'3h bitmap 1'}, 'never', 'three hours ahead: only the row without expiry');
is($answers->{'-100000s seq 1'}, "hours\nmin\nnever\npast", 'far behind: every physical row');
is($answers->{'1h index 2'}, $answers->{'1h seq 2'}, 'index and sequential scans agree on n');

# Takeovers (plain INSERT, ON CONFLICT, COPY, key-changing UPDATE) one hour ahead, then plain
# UPDATE, DELETE and writes aimed at expired rows.
$primary->safe_psql('postgres', q{
	SET nodedb_kv.test_clock_offset = '1h';
	INSERT INTO t VALUES ('min', 'v1-taken', kv_ttl(1800));
	INSERT INTO n SELECT i, 'taken', NULL FROM generate_series(1, 2000, 4) i
		ON CONFLICT (id) DO UPDATE SET payload = 'updated';
	COPY t (k, v) FROM stdin;
past	v3-copied
\.
	UPDATE n SET id = 4 WHERE id = 3;    -- id 4 expired a minute ago
	UPDATE n SET payload = 'upd' WHERE id % 4 = 2;
	DELETE FROM n WHERE id % 100 = 2;
	SET nodedb_kv.test_clock_offset = '0';
	UPDATE t SET v = 'v2-upd' WHERE k = 'hours';
	INSERT INTO t VALUES ('new', 'v4', NULL);
});
$answers = compare('after takeovers, UPDATE and DELETE');
is($answers->{'0 seq 0'} =~ s/\|[^|\n]*$//mgr, "hours|v2-upd\nmin|v1-taken\nnever|v0\nnew|v4\npast|v3-copied",
	'primary rows after the writes');
is($answers->{'-100000s index 1'}, "hours\nmin\nnever\nnew\npast", 'one physical row per key on the primary');
is($primary->safe_psql('postgres', q{SET nodedb_kv.test_clock_offset = '-100000s';
		SELECT count(*) FILTER (WHERE id = 3) || ',' || count(*) FILTER (WHERE id = 4) || ',' ||
			max(payload) FILTER (WHERE id = 4) FROM n}),
	'0,1,ppp', 'the key-changing UPDATE took over the expired key');

# VACUUM sets pages all-visible (replicated with the visibility map); index-only scans would now
# skip the heap and return expired rows.
$primary->safe_psql('postgres', 'VACUUM (FREEZE) t; VACUUM (FREEZE) n');
compare('after VACUUM');
like($standby->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off;
		EXPLAIN (COSTS OFF) SELECT k FROM t WHERE k > '' ORDER BY k"),
	qr/^Index Scan/, 'the standby plans an index scan, not an index-only scan');

# No expiry worker on a standby: it cannot write, and the primary's deletes arrive through WAL.
is($primary->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv ttl launcher'}),
	'1', 'the primary runs the TTL launcher');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'nodedb_kv%'}),
	'0', 'the standby runs no TTL launcher or expiry worker');

# On a standby every KV_* and RATE_* function refuses with 25006 (read-only), even where a read-only
# transaction on the primary could answer (RATE_REMAINING reads the unlogged gate collection, which
# a standby cannot read).
$primary->safe_psql('postgres', q{
	CREATE TABLE c (k text PRIMARY KEY, v text, exp kv_expiry) USING kv;
	INSERT INTO c VALUES ('n', '5', NULL);
	SELECT rate_check('g', 'k', 5, 3600);
});
$primary->wait_for_catchup($standby);
for my $call (
	q{kv_incr('c', 'n', 1)}, q{kv_decr('c', 'n', 1)}, q{kv_incr('c', 'n', 1, ttl => 60)},
	q{kv_incr_float('c', 'n', 1.5)}, q{kv_cas('c', 'n', '5', '6')}, q{kv_getset('c', 'n', '7')},
	q{rate_check('g', 'k', 5, 3600)}, q{rate_remaining('g', 'k', 5, 3600)}, q{rate_reset('g', 'k')})
{
	my ($ret, $stdout, $stderr) = $standby->psql('postgres', "\\set VERBOSITY sqlstate\nSELECT $call");
	is("$ret $stderr", "3 psql:<stdin>:2: ERROR:  25006", "standby: $call refuses with 25006");
}
is($standby->safe_psql('postgres', q{SELECT v FROM c}), '5', 'standby: the kv table is still readable');

$standby->stop;
$primary->stop;
NodedbKv::check_no_crash([ $primary, $standby ]);
done_testing();
