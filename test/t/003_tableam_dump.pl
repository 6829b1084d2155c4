# pg_dump / pg_restore round trip of kv tables into fresh databases of the same cluster: custom
# format through pg_restore (serial and parallel), plain format through psql (into a database with
# and without the extension created beforehand).  pg_dump writes SET default_table_access_method = kv,
# CREATE TABLE without the primary key, COPY, ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY, then
# CREATE INDEX for the expiry index: every restore must succeed and give back kv tables with the
# same live rows, the primary key and exactly one expiry index.  Expired rows are not dumped.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node('dump', extension_dbs => []);
my $tempdir = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION nodedb_kv;
	CREATE TABLE sessions (id text PRIMARY KEY, data jsonb, expires kv_expiry) USING kv;
	CREATE INDEX sessions_data_idx ON sessions USING gin (data);
	INSERT INTO sessions VALUES
		('forever', '{"n": 1}', NULL),
		('later', '{"n": 2}', kv_ttl(7200)),
		('soon', '{"n": 3}', kv_ttl(1800)),    -- far enough that a slow run cannot expire it
		('gone', '{"n": 4}', now() - interval '1 minute'),
		('gone-too', '{"n": 5}', kv_ttl(-3600));
	-- A mixed-case name with a mixed-case expiry column, and a TOASTed value.
	CREATE TABLE "Cache Entries" (key bigint PRIMARY KEY, "Value" text, "Expires At" kv_expiry) USING kv;
	INSERT INTO "Cache Entries" SELECT i, repeat(md5(i::text), 10), CASE WHEN i % 3 = 0 THEN kv_ttl(-60) END
		FROM generate_series(1, 300) i;
	INSERT INTO "Cache Entries" VALUES (1000, repeat('x', 200000), kv_ttl(7200));
	-- A kv table without an expiry column, and a heap table next to them.
	CREATE TABLE counters (name text PRIMARY KEY, n bigint) USING kv;
	INSERT INTO counters VALUES ('a', 1), ('b', 2);
	CREATE TABLE plain_heap (id int PRIMARY KEY, note text);
	INSERT INTO plain_heap VALUES (1, 'heap row');
});

# The tables this test made (the extension has tables of its own).
my $ours = q{c.relname IN ('Cache Entries', 'counters', 'plain_heap', 'sessions')};
my %queries = (
	access_methods => qq{
		SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND $ours ORDER BY 1},
	toast_access_methods => qq{
		SELECT c.relname, a.amname FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
			JOIN pg_am a ON a.oid = t.relam
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND $ours ORDER BY 1},
	indexes => qq{
		SELECT i.indrelid::regclass, i.indexrelid::regclass, i.indisprimary, i.indisvalid,
			pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		WHERE c.relnamespace = 'public'::regnamespace AND $ours ORDER BY i.indrelid::regclass::text, i.indexrelid::regclass::text},
	sessions => 'SELECT * FROM sessions ORDER BY id',
	cache => q{SELECT key, md5("Value"), length("Value"), "Expires At" FROM "Cache Entries" ORDER BY key},
	counters => 'SELECT * FROM counters ORDER BY name',
	plain_heap => 'SELECT * FROM plain_heap ORDER BY id',
);

my %expected = map { $_ => $node->safe_psql('src', $queries{$_}) } keys %queries;

# What the source looks like, so that the comparisons below mean something.
is($expected{access_methods}, "Cache Entries|kv\ncounters|kv\nplain_heap|heap\nsessions|kv",
	'source: kv and heap tables');
like($expected{indexes}, qr/sessions_expires_idx\|f\|t\|CREATE INDEX sessions_expires_idx ON public\.sessions USING btree \(expires\)/,
	'source: the expiry index was created with the table');
is($expected{sessions} =~ tr/\n//, 2, 'source: three of five sessions are live');
is($node->safe_psql('src', q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT count(*) FROM sessions}),
	'5', 'source: the expired sessions are still physically there');

# Dumps.
my $custom = "$tempdir/src.dump";
my $plain = "$tempdir/src.sql";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $custom, 'src' ], 'pg_dump -Fc');
$node->command_ok([ 'pg_dump', '-f', $plain, 'src' ], 'pg_dump plain');
my $sql = slurp_file($plain);
like($sql, qr/SET default_table_access_method = kv;/, 'the dump selects the kv access method');
unlike($sql, qr/gone/, 'rows expired in real time are not dumped');
like($sql, qr/^soon\t/m, 'rows not yet expired are dumped');
my $dumped_cache_rows = () = $sql =~ /^\d+\t[0-9a-fx]+\t/mg;
is($dumped_cache_rows, 201, 'expired "Cache Entries" rows are not dumped');

# A dump taken under the test clock one hour ahead leaves out what expires within the hour.
{
	local $ENV{PGOPTIONS} = '-c nodedb_kv.test_clock_offset=3600';
	$node->command_ok([ 'pg_dump', '-f', "$tempdir/later.sql", '-t', 'sessions', 'src' ],
		'pg_dump under the test clock');
}
my $later = slurp_file("$tempdir/later.sql");
unlike($later, qr/^soon\t/m, 'a row expired under the dumping session\'s clock is not dumped');
like($later, qr/^later\t/m, 'a row live under the dumping session\'s clock is dumped');

# Restores.
my @restores = (
	[ 'custom', 1, [ 'pg_restore', '-d', 'custom', $custom ] ],
	[ 'custom_parallel', 1, [ 'pg_restore', '-j', '2', '-d', 'custom_parallel', $custom ] ],
	[ 'plain', 1, [ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'plain', '-f', $plain ] ],
	[ 'plain_noext', 0, [ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'plain_noext', '-f', $plain ] ],
);
for my $restore (@restores)
{
	my ($db, $with_extension, $cmd) = @$restore;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION nodedb_kv') if $with_extension;
	$node->command_ok($cmd, "$db: restore succeeds");
	for my $name (sort keys %queries)
	{
		is($node->safe_psql($db, $queries{$name}), $expected{$name}, "$db: $name as in the source");
	}
	is($node->safe_psql($db, q{
		SET nodedb_kv.test_clock_offset = '-100000s';
		SELECT (SELECT count(*) FROM sessions) || ',' || (SELECT count(*) FROM "Cache Entries")}),
		'3,201', "$db: no expired row was restored");
	is($node->safe_psql($db, q{
		SELECT count(*) FILTER (WHERE i.indisprimary) || ',' ||
			count(*) FILTER (WHERE a.atttypid = 'kv_expiry'::regtype)
		FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid IN ('sessions'::regclass, '"Cache Entries"'::regclass)}),
		'2,2', "$db: one primary key and one expiry index per table");
	# The restored table knows its key again: takeover of an expired key, one row per key.
	is($node->safe_psql($db, q{
		SET nodedb_kv.test_clock_offset = '1h';
		INSERT INTO sessions VALUES ('soon', '{"n": 6}', NULL);
		SET nodedb_kv.test_clock_offset = '-100000s';
		SELECT count(*) || ',' || max(data->>'n') FROM sessions WHERE id = 'soon'}),
		'1,6', "$db: a restored table takes over expired keys");
	$node->safe_psql($db, 'REINDEX TABLE sessions; REINDEX TABLE "Cache Entries"');
}

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
