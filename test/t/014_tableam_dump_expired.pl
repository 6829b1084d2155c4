# pg_dump / pg_restore when a heap table's foreign key references a kv key that has expired (issue
# 7.16).  pg_dump leaves the expired key out (it is absent) but dumps the referencing rows, so
# pg_restore fails adding the foreign key.  With nodedb_kv.show_expired on in the dumping and the
# restoring session (PGOPTIONS), the dump keeps every stored row and the constraint validates; in the
# restored database the key is expired again (invisible, removed by the expiry worker when it runs).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node('dump_expired');    # expiry worker off: the expired key stays stored
my $tempdir = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', q{
	CREATE TABLE parent (key text PRIMARY KEY, expires kv_expiry) USING kv;
	CREATE TABLE child (id int PRIMARY KEY, parent_key text REFERENCES parent);
	INSERT INTO parent VALUES ('live', NULL), ('gone', NULL);
	INSERT INTO child VALUES (1, 'live'), (2, 'gone');
	UPDATE parent SET expires = kv_ttl(-1) WHERE key = 'gone';    -- expires after being referenced
});
is($node->safe_psql('postgres', q{SELECT string_agg(key, ',' ORDER BY key) FROM parent}), 'live',
	'source: the referenced key "gone" has expired');

# Without the setting: the expired key is not dumped, its referencing row is; the restore fails.
my $plain_dump = "$tempdir/plain.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $plain_dump, 'postgres' ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
my $stdout = '';
my $ok = $node->run_log([ 'pg_restore', '-d', 'restored_plain', $plain_dump ]);
ok(!$ok, 'without nodedb_kv.show_expired, pg_restore fails');
$node->psql('restored_plain',
	q{SELECT count(*) FROM pg_constraint WHERE conrelid = 'child'::regclass AND contype = 'f'},
	stdout => \$stdout);
is($stdout, '0', '... the foreign key could not be added');

# With the setting on both sides.
{
	local $ENV{PGOPTIONS} = '-c nodedb_kv.show_expired=on';
	my $dump = "$tempdir/show_expired.dump";
	$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, 'postgres' ], 'pg_dump with nodedb_kv.show_expired');
	$node->safe_psql('postgres', 'CREATE DATABASE restored');
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'restored', $dump ],
		'pg_restore with nodedb_kv.show_expired succeeds');
}
is($node->safe_psql('restored',
		q{SELECT convalidated FROM pg_constraint WHERE conrelid = 'child'::regclass AND contype = 'f'}),
	't', 'the foreign key exists and is validated');
is($node->safe_psql('restored', q{SELECT string_agg(key, ',' ORDER BY key) FROM parent}), 'live',
	'restored: the expired key is expired again');
is($node->safe_psql('restored',
		q{SET nodedb_kv.show_expired = on; SELECT string_agg(key || ':' || coalesce((expires <= kv_now())::text, 'never'), ',' ORDER BY key) FROM parent}),
	'gone:true,live:never', 'restored: stored with its expiry');
is($node->safe_psql('restored', q{SELECT string_agg(id || ':' || parent_key, ',' ORDER BY id) FROM child}),
	'1:live,2:gone', 'restored: every referencing row');
is($node->safe_psql('restored', q{SELECT count(*) FROM parent WHERE key = 'gone'}), '0',
	'a normal session does not see the expired key');

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
