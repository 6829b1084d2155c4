# Two commits of one member reach a kv_sorted index in commit order.  A transaction becomes visible
# before its COMMIT callback links its entries (PG15-PITFALLS §7), so a second writer can see the
# first one's row, change it and commit while the first has not linked yet; the first one's older
# change must not be linked last.  nodedb_kv.test_sorted_apply_delay holds the first writer between
# becoming visible and linking; the second writes the same member once the first one's change is
# visible.  Afterwards the index equals row_number() over the table: updates, delete then insert,
# insert then delete, KV_INCR, and on an index whose member is another column (a member freed by one
# row and taken by another).  Without the commit-order cells the older change wins each race.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use NodedbKv;

my $node = NodedbKv::new_node('order', conf => 'max_connections = 40');
$node->safe_psql('postgres', q{
CREATE FUNCTION order_check(idx text, tbl text, member text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
    oracle text := format('SELECT %I::text AS m, row_number() OVER (ORDER BY score DESC, %I) AS rn FROM %s
                           WHERE %I IS NOT NULL AND score IS NOT NULL', member, member, tbl, member);
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) o FULL JOIN topk(%L, 1000000) t ON t.key = o.m AND t.rank = o.rn
                    WHERE t.key IS NULL OR o.m IS NULL', oracle, idx) INTO bad;
    IF bad <> 0 THEN
        EXECUTE format('SELECT string_agg(coalesce(o.m, t.key) || '':'' || coalesce(o.rn::text, ''-'') || ''/'' ||
                                          coalesce(t.rank::text, ''-''), '' '')
                        FROM (%s) o FULL JOIN topk(%L, 1000000) t ON t.key = o.m AND t.rank = o.rn
                        WHERE t.key IS NULL OR o.m IS NULL', oracle, idx) INTO oracle;
        RETURN 'mismatches (member:table/index): ' || oracle;
    END IF;
    EXECUTE format('SELECT string_agg(coalesce(o.m, r.key) || '':'' || coalesce(o.score::text, ''-'') || ''/'' ||
                                      coalesce(r.score::text, ''-''), '' '')
                    FROM (SELECT %I::text AS m, score::float8 AS score FROM %s WHERE %I IS NOT NULL AND score IS NOT NULL) o
                    FULL JOIN range(%L, -1e18, 1e18) r ON r.key = o.m
                    WHERE r.score IS DISTINCT FROM o.score', member, tbl, member, idx) INTO oracle;
    IF oracle IS NOT NULL THEN RETURN 'scores differ (member:table/index): ' || oracle; END IF;
    RETURN 'ok';
END
$$;
CREATE TABLE scores (key text COLLATE "C" PRIMARY KEY, score bigint) USING kv;
INSERT INTO scores SELECT 'k' || i, i FROM generate_series(1, 20) i;
CREATE INDEX lb ON scores USING kv_sorted (score DESC);
CREATE TABLE players (id int PRIMARY KEY, handle text COLLATE "C" UNIQUE, score bigint) USING kv;
INSERT INTO players SELECT i, 'h' || i, i FROM generate_series(1, 20) i;
CREATE INDEX lb_handle ON players USING kv_sorted (score DESC) WITH (key = 'handle');
SELECT sorted_count('lb') + sorted_count('lb_handle');
});

# The first writer runs $first with its link delayed; once $visible answers 't' the second writer
# runs $second; after both, the index must equal the table.
sub race
{
	my ($label, $first, $visible, $second, $idx, $tbl, $member) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
		  '-c', 'SET nodedb_kv.test_sorted_apply_delay = 5000', '-c', $first ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(120));
	ok(NodedbKv::poll_sql($node, 'postgres', $visible, 't', 60), "$label: the first change is visible");
	$node->safe_psql('postgres', $second);
	$h->finish;
	is($err, '', "$label: the first writer succeeded");
	is($node->safe_psql('postgres', "SELECT order_check('$idx', '$tbl', '$member')"), 'ok', "$label: index exact");
	# The next race starts from an exact index, built (a structure not yet built takes no changes).
	$node->safe_psql('postgres', "REINDEX INDEX $idx; SELECT sorted_count('$idx')");
}

race('update, update', q{UPDATE scores SET score = 100 WHERE key = 'k1'},
	q{SELECT score = 100 FROM scores WHERE key = 'k1'},
	q{UPDATE scores SET score = 0 WHERE key = 'k1'}, 'lb', 'scores', 'key');
race('delete, insert', q{DELETE FROM scores WHERE key = 'k2'},
	q{SELECT NOT EXISTS (SELECT FROM scores WHERE key = 'k2')},
	q{INSERT INTO scores VALUES ('k2', 300)}, 'lb', 'scores', 'key');
race('insert, delete', q{INSERT INTO scores VALUES ('k21', 400)},
	q{SELECT EXISTS (SELECT FROM scores WHERE key = 'k21')},
	q{DELETE FROM scores WHERE key = 'k21'}, 'lb', 'scores', 'key');
race('KV_INCR, KV_INCR', q{SELECT KV_INCR('scores', 'k3', 1000, field => 'score')},
	q{SELECT score = 1003 FROM scores WHERE key = 'k3'},
	q{SELECT KV_INCR('scores', 'k3', -2000, field => 'score')}, 'lb', 'scores', 'key');
race('member freed, then taken', q{UPDATE players SET handle = 'renamed' WHERE id = 1},
	q{SELECT handle = 'renamed' FROM players WHERE id = 1},
	q{UPDATE players SET handle = 'h1', score = 500 WHERE id = 2}, 'lb_handle', 'players', 'handle');

NodedbKv::check_no_crash([$node]);
done_testing();
