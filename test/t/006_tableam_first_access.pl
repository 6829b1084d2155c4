# The first statement of a new session on a kv table already hides expired rows, whatever path it
# takes.  Index scans never call scan_begin; before the planner hook and index_fetch_begin built the
# relation's expiry metadata, a session whose first access was an index scan saw expired rows, and a
# first INSERT ... ON CONFLICT DO NOTHING on an expired key silently inserted nothing.  Every
# safe_psql call below runs in a new backend.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node('first_access');
$node->safe_psql('postgres', q{
	CREATE TABLE t (k int PRIMARY KEY, v text, exp kv_expiry) USING kv;
	INSERT INTO t SELECT i, 'v' || i, CASE WHEN i % 2 = 0 THEN kv_ttl(-60) END FROM generate_series(1, 10) i;
});
my $index_only = 'SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_tidscan = off;';

is($node->safe_psql('postgres', "$index_only SELECT string_agg(k::text, ',' ORDER BY k) FROM t WHERE k > 0"),
	'1,3,5,7,9', 'first access by a range index scan hides expired rows');
is($node->safe_psql('postgres', "$index_only SELECT count(*) FROM t WHERE k = 4"),
	'0', 'first access by an equality index scan hides an expired row');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE ctid = (SELECT ctid FROM t WHERE k = 3)'),
	'1', 'TID scan of a live row');
is($node->safe_psql('postgres', 'PREPARE p(int) AS SELECT count(*) FROM t WHERE k = $1; EXECUTE p(6)'),
	'0', 'prepared statement on an expired key');

# Writes as the first statement.
is($node->safe_psql('postgres', q{INSERT INTO t VALUES (2, 'new2', NULL) ON CONFLICT (k) DO NOTHING RETURNING v}),
	'new2', 'first INSERT ... ON CONFLICT DO NOTHING takes over an expired key');
is($node->safe_psql('postgres',
		q{INSERT INTO t VALUES (4, 'new4', NULL) ON CONFLICT (k) DO UPDATE SET v = 'conflict' RETURNING v}),
	'new4', 'first INSERT ... ON CONFLICT DO UPDATE takes over an expired key');
is($node->safe_psql('postgres', q{INSERT INTO t VALUES (6, 'new6', NULL) RETURNING v}),
	'new6', 'first INSERT takes over an expired key');
is($node->safe_psql('postgres', "$index_only UPDATE t SET v = 'upd' WHERE k = 8 RETURNING v"),
	'', 'first UPDATE through an index scan finds no expired row');
is($node->safe_psql('postgres', "$index_only DELETE FROM t WHERE k = 10 RETURNING v"),
	'', 'first DELETE through an index scan finds no expired row');

is($node->safe_psql('postgres', q{
	SET nodedb_kv.test_clock_offset = '-100000s';
	SELECT string_agg(k || '=' || v, ',' ORDER BY k) FROM t}),
	'1=v1,2=new2,3=v3,4=new4,5=v5,6=new6,7=v7,8=v8,9=v9,10=v10', 'one physical row per key, expired rows untouched');
$node->safe_psql('postgres', 'REINDEX TABLE t');

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
