# kv_sorted structures are derived state: after a restart, a crash (immediate stop), REINDEX, a
# pg_dump / pg_restore round trip, and on a streaming standby (no capture there: the exact slow path),
# RANK / TOPK / RANGE / SORTED_COUNT equal row_number() over the live rows.  Eight concurrent writers
# (KV_INCR, UPDATE, DELETE, INSERT, rollbacks, savepoints) keep it exact; the expiry worker's deletes
# reach it, and rows expired but not yet deleted are absent for readers at any instant of the test
# clock, also reading at two instants at once; DROP DATABASE frees its structures; memory exhaustion
# is a clean 53200 at the write (or the build) that needs the memory, and the table stays writable
# after DROP INDEX or with a bigger nodedb_kv.sorted_memory.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use NodedbKv;

my $oracle = q{
CREATE FUNCTION sorted_check(idx text, tbl text, ord text, cond text DEFAULT 'true') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    c bigint;
    bad bigint;
    oracle text := format('SELECT key::text AS key, row_number() OVER (ORDER BY %s) AS rn FROM %s WHERE %s',
                          ord, tbl, cond);
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) o', oracle) INTO n;
    c := sorted_count(idx);
    IF c <> n THEN RETURN format('count %s, expected %s', c, n); END IF;
    EXECUTE format('SELECT count(*) FROM (%s) o FULL JOIN topk(%L, 1000000) t ON t.key = o.key AND t.rank = o.rn
                    WHERE t.key IS NULL OR o.key IS NULL', oracle, idx) INTO bad;
    IF bad <> 0 THEN RETURN format('topk: %s mismatches', bad); END IF;
    EXECUTE format('SELECT count(*) FROM (%s) o WHERE rank(%L, o.key) IS DISTINCT FROM o.rn', oracle, idx) INTO bad;
    IF bad <> 0 THEN RETURN format('rank: %s mismatches', bad); END IF;
    RETURN 'ok';
END
$$;
};

my $primary = NodedbKv::new_node('primary', allows_streaming => 1, ttl_enabled => 1,
	conf => "max_connections = 40\nnodedb_kv.ttl_interval = 100ms");
$primary->safe_psql('postgres', $oracle . q{
	CREATE TABLE scores (key text PRIMARY KEY, score bigint, updated_at timestamptz DEFAULT kv_now(),
	                     expires kv_expiry) USING kv;
	INSERT INTO scores SELECT 'p' || i, (i * 7919) % 1000, kv_now() - (i % 3) * interval '1 day', NULL
		FROM generate_series(1, 5000) i;
	CREATE INDEX lb ON scores USING kv_sorted (score DESC, updated_at);
	CREATE INDEX lb_daily ON scores USING kv_sorted (score) WITH (window = 'daily', window_column = 'updated_at');
});
my $daily_cond = q{score IS NOT NULL AND updated_at >= date_bin('1 day', kv_now(), timestamptz '2000-01-01 00:00Z')
                   AND updated_at < date_bin('1 day', kv_now(), timestamptz '2000-01-01 00:00Z') + interval '1 day'};
sub check_all
{
	my ($node, $label, $set) = @_;
	$set //= '';
	is($node->safe_psql('postgres', $set . q{SELECT sorted_check('lb', 'scores', 'score DESC, updated_at, key', 'score IS NOT NULL')}),
		'ok', "$label: lb exact");
	is($node->safe_psql('postgres', $set . qq{SELECT sorted_check('lb_daily', 'scores', 'score, key', \$q\$$daily_cond\$q\$)}),
		'ok', "$label: lb_daily exact");
}
check_all($primary, 'first use');

# Eight concurrent writers.
my $tempdir = PostgreSQL::Test::Utils::tempdir;
append_to_file("$tempdir/incr.sql", q{
\set k random(1, 6000)
\set d random(-50, 50)
SELECT KV_INCR('scores', 'p' || :k, :d, field => 'score');
});
append_to_file("$tempdir/update.sql", q{
\set k random(1, 6000)
\set s random(0, 999)
\set days random(0, 2)
UPDATE scores SET score = :s, updated_at = kv_now() - :days * interval '1 day' WHERE key = 'p' || :k;
});
append_to_file("$tempdir/churn.sql", q{
\set k random(1, 6000)
\set s random(0, 999)
BEGIN;
DELETE FROM scores WHERE key = 'p' || :k;
SAVEPOINT s;
INSERT INTO scores VALUES ('p' || :k, :s, kv_now(), NULL) ON CONFLICT DO NOTHING;
ROLLBACK TO SAVEPOINT s;
INSERT INTO scores VALUES ('p' || :k, :s + 1, kv_now(), NULL) ON CONFLICT (key) DO UPDATE SET score = excluded.score;
COMMIT;
});
append_to_file("$tempdir/rollback.sql", q{
\set k random(1, 6000)
BEGIN;
UPDATE scores SET score = -1 WHERE key = 'p' || :k;
ROLLBACK;
});
my ($out, $err) = ('', '');
{
	local %ENV = (%ENV, PGHOST => $primary->host, PGPORT => $primary->port);
	IPC::Run::run(
		[ 'pgbench', '-n', '-c', 8, '-j', 2, '-T', 5, '-f', "$tempdir/incr.sql\@3", '-f', "$tempdir/update.sql\@2",
		  '-f', "$tempdir/churn.sql\@2", '-f', "$tempdir/rollback.sql\@1", 'postgres' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(180));
}
like($out, qr/number of transactions actually processed: [1-9]/, '8 writers: the load ran');
unlike($err, qr/ERROR/, '8 writers: no statement failed') or diag(substr($err, 0, 2000));
check_all($primary, '8 concurrent writers');

# Expiry worker deletes reach the index.
$primary->safe_psql('postgres', q{UPDATE scores SET expires = kv_ttl(0.2) WHERE key IN ('p1', 'p2', 'p3')});
ok(NodedbKv::poll_sql($primary, 'postgres',
	q{SELECT count(*) FROM scores WHERE key IN ('p1', 'p2', 'p3') OR rank('lb', 'p1') IS NOT NULL}, '0', 30),
	'expiry worker deletes leave the index');
check_all($primary, 'after expiry');

# Rows expired but not yet deleted: 1000 rows expire in an hour (the expiry worker leaves them alone
# meanwhile).  A session whose clock is two hours on no longer counts them, one at the real instant
# still does, before and after a rebuild, and when both read at once (each read moves entries between
# the index's tree and its expired set for its own instant).
$primary->safe_psql('postgres',
	q{UPDATE scores SET expires = kv_now() + interval '1 hour' WHERE key LIKE 'p1%' OR key LIKE 'p2%'});
my $later = 'SET nodedb_kv.test_clock_offset = 7200; ';
is($primary->safe_psql('postgres', $later . q{SELECT sorted_count('lb'), (SELECT count(*) FROM scores WHERE key LIKE 'p1%' AND rank('lb', key) IS NOT NULL)}),
	$primary->safe_psql('postgres', q{SELECT count(*), 0 FROM scores WHERE score IS NOT NULL AND expires IS NULL}),
	'two hours on: the expiring rows are neither counted nor ranked');
check_all($primary, 'two hours on', $later);
check_all($primary, 'back at the real instant');
append_to_file("$tempdir/read_now.sql", q{
SET nodedb_kv.test_clock_offset = 0;
\set k random(1, 3000)
SELECT CASE WHEN sorted_count('lb') = (SELECT count(*) FROM scores WHERE score IS NOT NULL)
            AND rank('lb', 'p' || :k) IS NOT DISTINCT FROM (SELECT rn FROM (SELECT key, row_number() OVER
                (ORDER BY score DESC, updated_at, key) AS rn FROM scores WHERE score IS NOT NULL) o WHERE key = 'p' || :k)
       THEN 1 ELSE 1 / (random() * 0)::int END;
});
my $read_later = slurp_file("$tempdir/read_now.sql");
$read_later =~ s/test_clock_offset = 0/test_clock_offset = 7200/;
append_to_file("$tempdir/read_later.sql", $read_later);
($out, $err) = ('', '');
{
	local %ENV = (%ENV, PGHOST => $primary->host, PGPORT => $primary->port);
	IPC::Run::run(
		[ 'pgbench', '-n', '-c', 4, '-j', 2, '-T', 3, '-f', "$tempdir/read_now.sql", '-f', "$tempdir/read_later.sql",
		  'postgres' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(180));
}
like($out, qr/number of transactions actually processed: [1-9]/, 'readers at two instants: the load ran');
unlike($err, qr/ERROR/, 'readers at two instants: every answer exact') or diag(substr($err, 0, 2000));
$primary->safe_psql('postgres', q{REINDEX INDEX lb});
check_all($primary, 'rebuilt, two hours on', $later);
check_all($primary, 'rebuilt, back at the real instant');
$primary->safe_psql('postgres', q{UPDATE scores SET expires = NULL WHERE expires IS NOT NULL});

# Standby: exact slow path, equal to the primary.
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->safe_psql('postgres', q{UPDATE scores SET score = 5000 WHERE key = 'p10'; DELETE FROM scores WHERE key = 'p11'});
$primary->wait_for_catchup($standby);
check_all($standby, 'standby');
my $q = q{SELECT rank('lb', 'p10'), rank('lb', 'p11'), sorted_count('lb'), (SELECT string_agg(key, ',') FROM topk('lb', 5)),
          (SELECT string_agg(rank || ':' || key, ',') FROM range('lb', 100, 102))};
is($standby->safe_psql('postgres', $q), $primary->safe_psql('postgres', $q), 'standby answers as the primary');
$standby->stop;

# pg_dump / pg_restore round trip: the indexes come back with their options and answer as before.
{
	my $dump = PostgreSQL::Test::Utils::tempdir . '/scores.dump';
	$primary->command_ok([ 'pg_dump', '-Fc', '-f', $dump, 'postgres' ], 'pg_dump -Fc');
	$primary->safe_psql('postgres', 'CREATE DATABASE restored');
	$primary->command_ok([ 'pg_restore', '-d', 'restored', $dump ], 'pg_restore');
	my $q2 = q{SELECT pg_get_indexdef('lb_daily'::regclass), sorted_count('lb'), rank('lb', 'p10'),
	           (SELECT string_agg(rank || ':' || key, ',') FROM topk('lb', 20))};
	is($primary->safe_psql('restored', $q2), $primary->safe_psql('postgres', $q2), 'restored indexes answer as the source');
	is($primary->safe_psql('restored', qq{SELECT sorted_check('lb_daily', 'scores', 'score, key', \$q\$$daily_cond\$q\$)}),
		'ok', 'restored lb_daily exact');
	# DROP DATABASE frees that database's structures at once.
	# bytes counts the entries' blocks and their 4-byte member-hash buckets; the pool holds the blocks.
	my $restored_bytes = $primary->safe_psql('restored', q{SELECT sum(bytes - 4 * entries) FROM kv_sorted_stats});
	my $used = q{SELECT pool_used FROM kv_sorted_stats LIMIT 1};
	my $before = $primary->safe_psql('postgres', $used);
	ok($restored_bytes > 0, 'restored: its structures take memory');
	$primary->safe_psql('postgres', 'DROP DATABASE restored');
	is($before - $primary->safe_psql('postgres', $used), $restored_bytes, 'DROP DATABASE frees its structures');
}

# Restart, crash, REINDEX.
$primary->safe_psql('postgres', q{UPDATE scores SET score = score + 1 WHERE key LIKE 'p1%'});
$primary->restart;
check_all($primary, 'after restart');
$primary->safe_psql('postgres', q{UPDATE scores SET score = score + 1 WHERE key LIKE 'p2%'});
$primary->stop('immediate');
$primary->start;
check_all($primary, 'after crash');
$primary->safe_psql('postgres', q{REINDEX TABLE scores; UPDATE scores SET score = 0 WHERE key LIKE 'p3%'});
check_all($primary, 'after REINDEX');
$primary->safe_psql('postgres', q{VACUUM FULL scores; UPDATE scores SET score = 1 WHERE key LIKE 'p4%'});
check_all($primary, 'after VACUUM FULL');
$primary->stop;

# Memory exhaustion: 1 MB holds about 20000 entries of an int key and an int score (48-byte blocks;
# 64 KB of it are member-hash buckets).
my $small = NodedbKv::new_node('small', conf => 'nodedb_kv.sorted_memory = 1MB');
$small->safe_psql('postgres', $oracle . q{
	CREATE TABLE s (key int PRIMARY KEY, score int) USING kv;
	INSERT INTO s SELECT i, i FROM generate_series(1, 15000) i;
	CREATE INDEX s_lb ON s USING kv_sorted (score);
});
is($small->safe_psql('postgres', q{SELECT sorted_count('s_lb')}), '15000', 'small: 15000 entries fit');
my ($ret, $stdout, $stderr) = $small->psql('postgres',
	q{INSERT INTO s SELECT i, i FROM generate_series(15001, 30000) i}, extra_params => ['-v', 'VERBOSITY=verbose']);
like($stderr, qr/53200: kv_sorted memory exhausted/, 'small: the write that needs the memory fails with 53200');
is($small->safe_psql('postgres', q{SELECT count(*), sorted_count('s_lb') FROM s}), '15000|15000',
	'small: nothing of the failed write, the index is complete');
is($small->safe_psql('postgres', q{SELECT sorted_check('s_lb', 's', 'score, key')}), 'ok', 'small: still exact');
$small->safe_psql('postgres', q{CREATE INDEX s_lb2 ON s USING kv_sorted (score DESC)});
($ret, $stdout, $stderr) = $small->psql('postgres', q{SELECT sorted_count('s_lb2')},
	extra_params => ['-v', 'VERBOSITY=verbose']);
like($stderr, qr/53200/, 'small: a build that does not fit fails with 53200');
is($small->safe_psql('postgres', q{DROP INDEX s_lb; DROP INDEX s_lb2;
	INSERT INTO s SELECT i, i FROM generate_series(15001, 30000) i; SELECT count(*) FROM s}), '30000',
	'small: writable after DROP INDEX');
$small->safe_psql('postgres', q{CREATE INDEX s_lb ON s USING kv_sorted (score)});
$small->append_conf('postgresql.conf', 'nodedb_kv.sorted_memory = 8MB');
$small->restart;
$small->safe_psql('postgres', q{INSERT INTO s SELECT i, i FROM generate_series(30001, 35000) i});
is($small->safe_psql('postgres', q{SELECT sorted_check('s_lb', 's', 'score, key')}), 'ok', 'small: bigger GUC, exact');
is($small->safe_psql('postgres', q{SELECT sorted_count('s_lb')}), '35000', 'small: all entries');
$small->stop;

NodedbKv::check_no_crash([$primary, $standby, $small]);
done_testing();
