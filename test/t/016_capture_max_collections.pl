# nodedb_kv.max_collections bounds kv_stats (README "Settings"): with more kv tables written than it
# allows, every write still succeeds, kv_stats counts at most max_collections collections (the
# others are not counted, never an error), dropping counted tables frees their entries for others,
# and a restart starts empty.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $max = 16;
my $node = NodedbKv::new_node('maxcoll', conf => "nodedb_kv.max_collections = $max");
is($node->safe_psql('postgres', 'SHOW nodedb_kv.max_collections'), $max, "max_collections is $max");

# One transaction per table, 40 tables.
for my $i (1 .. 40)
{
	$node->safe_psql('postgres', qq{CREATE TABLE c$i (k int PRIMARY KEY, v text) USING kv; INSERT INTO c$i VALUES (1, 'x')});
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname ~ '^c\d+$' AND relkind = 'r'}), '40',
	'every write succeeded');
my $counted = $node->safe_psql('postgres', q{SELECT count(*) FROM kv_stats WHERE collection::text ~ '^c\d+$'});
my $all = $node->safe_psql('postgres', q{SELECT count(*) FROM kv_stats});
note("kv_stats counts $counted of the 40 tables ($all collections in all)");
cmp_ok($all, '<=', $max, "kv_stats counts at most max_collections ($max) collections");
cmp_ok($counted, '>', 0, 'the first tables are counted');
is($node->safe_psql('postgres', q{SELECT count(*) FROM kv_stats WHERE inserted <> 1 AND collection::text ~ '^c\d+$'}),
	'0', 'each counted table shows its one insert');

# A transaction writing several tables, some counted and some not, commits and counts what it can.
$node->safe_psql('postgres', q{BEGIN; INSERT INTO c1 VALUES (2, 'y'); INSERT INTO c40 VALUES (2, 'y'); COMMIT;});
is($node->safe_psql('postgres', q{SELECT count(*) FROM c1}) . ',' . $node->safe_psql('postgres', q{SELECT count(*) FROM c40}),
	'2,2', 'a transaction over counted and uncounted tables commits');

# Dropping counted tables frees entries: tables written afterwards are counted.
my @counted_tables = split /\n/, $node->safe_psql('postgres',
	q{SELECT collection::text FROM kv_stats WHERE collection::text ~ '^c\d+$' ORDER BY 1});
$node->safe_psql('postgres', "DROP TABLE $_") for @counted_tables[ 0 .. 4 ];
$node->safe_psql('postgres', q{CREATE TABLE fresh (k int PRIMARY KEY) USING kv; INSERT INTO fresh VALUES (1)});
is($node->safe_psql('postgres', q{SELECT inserted FROM kv_stats WHERE collection = 'fresh'::regclass}), '1',
	'after dropping counted tables, a new table is counted');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM kv_stats}), '<=', $max, 'still at most max_collections');

$node->restart;
is($node->safe_psql('postgres', q{SELECT count(*) FROM kv_stats}), '0', 'a restart starts kv_stats empty');

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
