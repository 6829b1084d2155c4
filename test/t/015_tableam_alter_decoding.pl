# ALTER TABLE on a kv table that may rewrite it or take its expiry column away first deletes the rows
# already expired (issue 7.14): logical decoding shows a DELETE for each, in the ALTER's transaction,
# and nothing for the live rows; a rolled-back ALTER decodes as nothing.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node('alter_decoding', allows_streaming => 'logical');

$node->safe_psql('postgres', q{
	CREATE TABLE t (k text PRIMARY KEY, v int, exp kv_expiry) USING kv;
	INSERT INTO t VALUES ('gone1', 1, kv_ttl(-1)), ('gone2', 2, kv_ttl(-1)), ('live', 3, kv_ttl(3600)),
		('never', 4, NULL);
	SELECT 'init' FROM pg_create_logical_replication_slot('s', 'test_decoding');
});

# The changes decoded since the last call.
sub changes
{
	return $node->safe_psql('postgres', q{
		SELECT data FROM pg_logical_slot_get_changes('s', NULL, NULL,
			'include-xids', '0', 'skip-empty-xacts', '1')});
}

$node->safe_psql('postgres', 'BEGIN; ALTER TABLE t ALTER COLUMN v TYPE bigint; ROLLBACK');
is(changes(), '', 'a rolled-back rewrite decodes as nothing');

$node->safe_psql('postgres', 'ALTER TABLE t ALTER COLUMN v TYPE bigint');
is(changes(), q{BEGIN
table public.t: DELETE: k[text]:'gone1'
table public.t: DELETE: k[text]:'gone2'
COMMIT}, 'a rewriting ALTER decodes a DELETE per expired row');
is($node->safe_psql('postgres', q{SELECT expired FROM kv_stats WHERE collection = 't'::regclass}), '2',
	'kv_stats counts them as expired');

$node->safe_psql('postgres', q{
	INSERT INTO t VALUES ('gone3', 5, kv_ttl(-1));
	SELECT count(*) FROM pg_logical_slot_get_changes('s', NULL, NULL);
	ALTER TABLE t ALTER COLUMN exp TYPE timestamptz;
});
is(changes(), q{BEGIN
table public.t: DELETE: k[text]:'gone3'
COMMIT}, 'retyping the expiry column decodes a DELETE per expired row');
is($node->safe_psql('postgres', q{SET nodedb_kv.test_clock_offset = '2h'; SELECT string_agg(k, ',' ORDER BY k) FROM t}),
	'live,never', 'the other rows stay, and no longer expire');

$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('s')});
$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
