# kv_sorted indexes whose member is another column than the primary key (`WITH (key = ...)`):
# - pg_dump / restore: the kv_sorted index needs its member's unique index (a UNIQUE constraint or a
#   CREATE UNIQUE INDEX), and pg_dump must put it after that index although its name sorts first.
#   Plain format through psql into a fresh database (ON_ERROR_STOP), custom format through
#   pg_restore, serial and with two jobs: every restore succeeds, the index comes back with its
#   options and its dependency on the unique index, and answers exactly.
# - Eight concurrent writers on the members and the scores (KV_INCR, updates of the score, renames of
#   the member, two rows swapping members, delete + re-insert under a rolled-back savepoint, rolled-
#   back updates): afterwards SORTED_COUNT, RANK of every member and TOPK equal row_number() over
#   the live rows, before and after a restart (which rebuilds from the table); after the restart 8
#   sessions using the indexes first at once see one build per index.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use NodedbKv;

# The oracle: the index equals row_number() over the rows with a member, in the declared order
# (as regress sortedindex_key's keyed_check).
my $oracle = q{
CREATE FUNCTION keyed_check(idx text, tbl text, member text, ord text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    c bigint;
    bad bigint;
    oracle text := format('SELECT %I::text AS m, row_number() OVER (ORDER BY %s) AS rn FROM %s
                           WHERE %I IS NOT NULL AND score IS NOT NULL', member, ord, tbl, member);
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) o', oracle) INTO n;
    c := sorted_count(idx);
    IF c <> n THEN RETURN format('count %s, expected %s', c, n); END IF;
    EXECUTE format('SELECT count(*) FROM (%s) o FULL JOIN topk(%L, 1000000) t ON t.key = o.m AND t.rank = o.rn
                    WHERE t.key IS NULL OR o.m IS NULL', oracle, idx) INTO bad;
    IF bad <> 0 THEN RETURN format('topk: %s mismatches', bad); END IF;
    EXECUTE format('SELECT count(*) FROM (%s) o WHERE rank(%L, o.m) IS DISTINCT FROM o.rn', oracle, idx) INTO bad;
    IF bad <> 0 THEN RETURN format('rank: %s mismatches', bad); END IF;
    RETURN 'ok';
END
$$;
};

my $node = NodedbKv::new_node('key', extension_dbs => [], conf => 'max_connections = 40');
my $tempdir = PostgreSQL::Test::Utils::tempdir;

# Names chosen so that sorting by name would put each kv_sorted index before the unique index it
# needs: only the recorded dependency can order them.
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION nodedb_kv;' . $oracle . q{
	CREATE SEQUENCE handles;
	CREATE TABLE players (id bigint PRIMARY KEY, handle text COLLATE "C", score int) USING kv;
	ALTER TABLE players ADD CONSTRAINT z_players_handle UNIQUE (handle);
	INSERT INTO players SELECT i, 'h' || i, (i * 7919) % 500 FROM generate_series(1, 2000) i;
	UPDATE players SET handle = NULL WHERE id % 97 = 0;
	UPDATE players SET score = NULL WHERE id % 89 = 0;
	CREATE INDEX a_lb_handle ON players USING kv_sorted (score DESC) WITH (key = 'handle');
	CREATE TABLE guilds (name text PRIMARY KEY, tag_no int, score float8) USING kv;
	CREATE UNIQUE INDEX z_guilds_tag_no ON guilds (tag_no);
	INSERT INTO guilds SELECT 'g' || i, 1000 - i, (i * 31) % 50 FROM generate_series(1, 300) i;
	CREATE INDEX a_lb_tag ON guilds USING kv_sorted (score, tag_no DESC) WITH (key = 'tag_no');
});
my %checks = (
	a_lb_handle => q{SELECT keyed_check('a_lb_handle', 'players', 'handle', 'score DESC, handle')},
	a_lb_tag => q{SELECT keyed_check('a_lb_tag', 'guilds', 'tag_no', 'score, tag_no DESC, tag_no')},
);
sub check_exact
{
	my ($db, $label) = @_;
	is($node->safe_psql($db, $checks{$_}), 'ok', "$label: $_ exact") for sort keys %checks;
}
check_exact('src', 'source');

my $defs = q{
	SELECT c.relname, pg_get_indexdef(c.oid), r.relname AS needs
	FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
		AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
		JOIN pg_class r ON r.oid = d.refobjid AND r.relkind = 'i'
	WHERE c.relname IN ('a_lb_handle', 'a_lb_tag') ORDER BY 1};
my $source_defs = $node->safe_psql('src', $defs);
like($source_defs, qr/^a_lb_handle\|.*WITH \(key=handle\)\|z_players_handle\na_lb_tag\|.*\|z_guilds_tag_no$/,
	'source: each kv_sorted index depends on its member\'s unique index');
my $answers = q{
	SELECT rank('a_lb_handle', 'h7'), rank('a_lb_tag', '990'), sorted_count('a_lb_handle'),
	       (SELECT string_agg(rank || ':' || key, ',') FROM topk('a_lb_handle', 10)),
	       (SELECT string_agg(rank || ':' || key, ',') FROM range('a_lb_tag', 10, 11))};
my $source_answers = $node->safe_psql('src', $answers);

# Dumps: in the plain one the kv_sorted indexes come after the unique index and the constraint.
my $plain = "$tempdir/src.sql";
my $custom = "$tempdir/src.dump";
$node->command_ok([ 'pg_dump', '-f', $plain, 'src' ], 'pg_dump plain');
$node->command_ok([ 'pg_dump', '-Fc', '-f', $custom, 'src' ], 'pg_dump -Fc');
my $sql = slurp_file($plain);
my $pos_constraint = index($sql, 'ADD CONSTRAINT z_players_handle UNIQUE');
my $pos_unique = index($sql, 'CREATE UNIQUE INDEX z_guilds_tag_no');
my $pos_handle = index($sql, 'CREATE INDEX a_lb_handle');
my $pos_tag = index($sql, 'CREATE INDEX a_lb_tag');
ok($pos_constraint >= 0 && $pos_handle > $pos_constraint, 'plain dump: a_lb_handle after the UNIQUE constraint');
ok($pos_unique >= 0 && $pos_tag > $pos_unique, 'plain dump: a_lb_tag after the unique index');
my $list = '';
IPC::Run::run([ 'pg_restore', '-l', $custom ], '>', \$list) or die 'pg_restore -l failed';
my @toc = grep { /INDEX|CONSTRAINT/ } split /\n/, $list;
my ($at) = grep { $toc[$_] =~ /a_lb_handle/ } 0 .. $#toc;
my ($zt) = grep { $toc[$_] =~ /z_players_handle/ } 0 .. $#toc;
ok(defined $at && defined $zt && $at > $zt, 'custom dump: a_lb_handle after the constraint in the archive')
	or diag(join("\n", @toc));

my @restores = (
	[ 'plain', [ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'plain', '-f', $plain ] ],
	[ 'custom', [ 'pg_restore', '--exit-on-error', '-d', 'custom', $custom ] ],
	[ 'custom_parallel', [ 'pg_restore', '--exit-on-error', '-j', '2', '-d', 'custom_parallel', $custom ] ],
);
for my $restore (@restores)
{
	my ($db, $cmd) = @$restore;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->command_ok($cmd, "$db: restore succeeds");
	is($node->safe_psql($db, $defs), $source_defs, "$db: the indexes come back with their options and dependency");
	is($node->safe_psql($db, $answers), $source_answers, "$db: answers as the source");
	check_exact($db, $db);
	# The restored dependency holds: the unique index cannot go alone.
	my ($ret, $stdout, $stderr) = $node->psql($db, 'DROP INDEX z_guilds_tag_no');
	like($stderr, qr/cannot drop index z_guilds_tag_no because other objects depend on it/,
		"$db: the member's unique index cannot be dropped alone");
	$node->safe_psql('postgres', "DROP DATABASE $db");
}

# Eight concurrent writers.  Handles stay unique: renames take fresh ones from a sequence, swaps lock
# both rows in id order first, so no statement fails (a unique violation or a deadlock would).
append_to_file("$tempdir/incr.sql", q{
\set k random(1, 2100)
\set d random(-20, 20)
SELECT KV_INCR('players', :k::text, :d, field => 'score');
});
append_to_file("$tempdir/score.sql", q{
\set k random(1, 2100)
\set s random(0, 499)
UPDATE players SET score = CASE WHEN :s % 50 = 0 THEN NULL ELSE :s END WHERE id = :k;
});
append_to_file("$tempdir/rename.sql", q{
\set k random(1, 2100)
UPDATE players SET handle = CASE WHEN :k % 41 = 0 THEN NULL ELSE 'n' || nextval('handles') END WHERE id = :k;
});
# A swap: both rows locked in id order, their handles read into variables (pgbench substitutes them
# inside the quotes: handles hold only letters, digits and '-'), then through a temporary handle.
append_to_file("$tempdir/swap.sql", q{
\set a random(1, 2100)
\set b random(1, 2100)
BEGIN;
SELECT count(*) AS n, coalesce(max(handle) FILTER (WHERE id = least(:a, :b)), '') AS hlo,
       coalesce(max(handle) FILTER (WHERE id = greatest(:a, :b)), '') AS hhi
	FROM (SELECT id, handle FROM players WHERE id IN (:a, :b) ORDER BY id FOR UPDATE) s \gset
UPDATE players SET handle = 'tmp-' || id
	WHERE id = least(:a, :b) AND :n = 2 AND '_:hlo' <> '_' AND '_:hhi' <> '_';
UPDATE players SET handle = substr('_:hlo', 2)
	WHERE id = greatest(:a, :b) AND :n = 2 AND '_:hlo' <> '_' AND '_:hhi' <> '_';
UPDATE players SET handle = substr('_:hhi', 2)
	WHERE id = least(:a, :b) AND :n = 2 AND '_:hlo' <> '_' AND '_:hhi' <> '_';
COMMIT;
});
append_to_file("$tempdir/churn.sql", q{
\set k random(1, 2100)
\set s random(0, 499)
BEGIN;
DELETE FROM players WHERE id = :k;
SAVEPOINT s;
INSERT INTO players VALUES (:k, 'c' || nextval('handles'), :s) ON CONFLICT DO NOTHING;
ROLLBACK TO SAVEPOINT s;
INSERT INTO players VALUES (:k, 'c' || nextval('handles'), :s + 1) ON CONFLICT (id) DO UPDATE SET score = excluded.score;
COMMIT;
});
append_to_file("$tempdir/rollback.sql", q{
\set k random(1, 2100)
BEGIN;
UPDATE players SET score = -1, handle = 'gone-' || id WHERE id = :k;
ROLLBACK;
});
append_to_file("$tempdir/guild.sql", q{
\set k random(1, 320)
\set d random(-5, 5)
SELECT KV_INCR('guilds', 'g' || :k, :d, field => 'score');
});
my ($out, $err) = ('', '');
{
	local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port);
	IPC::Run::run(
		[ 'pgbench', '-n', '-c', 8, '-j', 2, '-T', 6, '-f', "$tempdir/incr.sql\@3", '-f', "$tempdir/score.sql\@2",
		  '-f', "$tempdir/rename.sql\@2", '-f', "$tempdir/swap.sql\@2", '-f', "$tempdir/churn.sql\@2",
		  '-f', "$tempdir/rollback.sql\@1", '-f', "$tempdir/guild.sql\@2", 'src' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(300));
}
like($out, qr/number of transactions actually processed: [1-9]/, '8 writers: the load ran');
unlike($err, qr/ERROR|aborted/, '8 writers: no statement failed') or diag(substr($err, 0, 2000));
ok($node->safe_psql('src', q{SELECT count(*) FROM players WHERE handle LIKE 'n%' OR handle LIKE 'c%'}) > 0,
	'8 writers: members were renamed');
check_exact('src', '8 concurrent writers');
# After a restart, 8 sessions use the indexes first at the same time: one builds each structure
# (its DEBUG1 line is logged once per index), the others wait for it, and every answer is exact.
$node->restart;
my $log_offset = -s $node->logfile;
append_to_file("$tempdir/first_use.sql", q{
\set k random(1, 2100)
SELECT CASE WHEN rank('a_lb_handle', handle) = (SELECT count(*) FROM players q WHERE q.handle IS NOT NULL
                 AND (q.score > p.score OR (q.score = p.score AND q.handle < p.handle))) + 1
            AND sorted_count('a_lb_tag') = (SELECT count(*) FROM guilds WHERE tag_no IS NOT NULL AND score IS NOT NULL)
       THEN 1 ELSE 1 / (random() * 0)::int END
	FROM players p WHERE handle IS NOT NULL AND score IS NOT NULL AND id >= :k ORDER BY id LIMIT 1;
});
($out, $err) = ('', '');
{
	local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port, PGOPTIONS => '-c log_min_messages=debug1');
	IPC::Run::run([ 'pgbench', '-n', '-c', 8, '-j', 2, '-t', 20, '-f', "$tempdir/first_use.sql", 'src' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(300));
}
like($out, qr/number of transactions actually processed: 160\/160/, 'concurrent first use: every reader answered');
unlike($err, qr/ERROR|aborted/, 'concurrent first use: every answer exact') or diag(substr($err, 0, 2000));
my $log = substr(slurp_file($node->logfile), $log_offset);
my $builds_handle = () = $log =~ /kv_sorted build of "a_lb_handle"/g;
my $builds_tag = () = $log =~ /kv_sorted build of "a_lb_tag"/g;
is("$builds_handle,$builds_tag", '1,1', 'concurrent first use: one build per index, the others waited');
check_exact('src', '8 concurrent writers, rebuilt after a restart');

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
