# Logical decoding of kv tables (test_decoding): a write that takes over an expired key is a DELETE
# of the old row followed by the INSERT, in every write path (INSERT, INSERT ... ON CONFLICT DO
# UPDATE, COPY FROM, UPDATE onto an expired key); plain UPDATE and DELETE decode as usual, and a
# write aimed at an expired row decodes as nothing.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node('decoding', allows_streaming => 'logical');

$node->safe_psql('postgres', q{
	CREATE TABLE t (k text PRIMARY KEY, v text, exp kv_expiry) USING kv;
	SELECT 'init' FROM pg_create_logical_replication_slot('s', 'test_decoding');
});

# The changes decoded since the last call, with expiry instants (which depend on the clock) replaced
# by "set" so the output is stable.
sub changes
{
	my $out = $node->safe_psql('postgres', q{
		SELECT data FROM pg_logical_slot_get_changes('s', NULL, NULL,
			'include-xids', '0', 'skip-empty-xacts', '1')});
	$out =~ s/exp\[kv_expiry\]:'[^']*'/exp[kv_expiry]:set/g;
	return $out;
}

# Plain writes.
$node->safe_psql('postgres', q{
	INSERT INTO t VALUES ('a', 'a1', kv_ttl(60)), ('b', 'b1', NULL), ('c', 'c1', kv_ttl(60));
	UPDATE t SET v = 'b2' WHERE k = 'b';
	DELETE FROM t WHERE k = 'c';
	INSERT INTO t VALUES ('b', 'b3', NULL) ON CONFLICT (k) DO UPDATE SET v = excluded.v;
});
is(changes(), q{BEGIN
table public.t: INSERT: k[text]:'a' v[text]:'a1' exp[kv_expiry]:set
table public.t: INSERT: k[text]:'b' v[text]:'b1' exp[kv_expiry]:null
table public.t: INSERT: k[text]:'c' v[text]:'c1' exp[kv_expiry]:set
COMMIT
BEGIN
table public.t: UPDATE: k[text]:'b' v[text]:'b2' exp[kv_expiry]:null
COMMIT
BEGIN
table public.t: DELETE: k[text]:'c'
COMMIT
BEGIN
table public.t: UPDATE: k[text]:'b' v[text]:'b3' exp[kv_expiry]:null
COMMIT}, 'plain INSERT, UPDATE, DELETE and ON CONFLICT DO UPDATE decode as usual');

# 'a' expires 60 s from now: one hour later a plain INSERT takes the key over.
$node->safe_psql('postgres', q{
	SET nodedb_kv.test_clock_offset = '1h';
	INSERT INTO t VALUES ('a', 'a2', kv_ttl(60));
});
is(changes(), q{BEGIN
table public.t: DELETE: k[text]:'a'
table public.t: INSERT: k[text]:'a' v[text]:'a2' exp[kv_expiry]:set
COMMIT}, 'INSERT over an expired key: DELETE of the old row, then INSERT');

# Two hours later the row written at +1h has expired too: ON CONFLICT DO UPDATE finds no conflict.
$node->safe_psql('postgres', q{
	SET nodedb_kv.test_clock_offset = '2h';
	INSERT INTO t VALUES ('a', 'a3', kv_ttl(60)) ON CONFLICT (k) DO UPDATE SET v = 'conflict';
});
is(changes(), q{BEGIN
table public.t: DELETE: k[text]:'a'
table public.t: INSERT: k[text]:'a' v[text]:'a3' exp[kv_expiry]:set
COMMIT}, 'INSERT ... ON CONFLICT DO UPDATE over an expired key: DELETE, then INSERT (no UPDATE)');

# COPY FROM goes through multi_insert.
$node->safe_psql('postgres', q{
	SET nodedb_kv.test_clock_offset = '3h';
	COPY t (k, v) FROM stdin;
a	a4
d	d1
\.
});
is(changes(), q{BEGIN
table public.t: DELETE: k[text]:'a'
table public.t: INSERT: k[text]:'a' v[text]:'a4' exp[kv_expiry]:null
table public.t: INSERT: k[text]:'d' v[text]:'d1' exp[kv_expiry]:null
COMMIT}, 'COPY FROM over an expired key: DELETE, then INSERT');

# An UPDATE that moves a row onto an expired key takes that key over first.
$node->safe_psql('postgres', q{
	INSERT INTO t VALUES ('e', 'e1', kv_ttl(60));
	SET nodedb_kv.test_clock_offset = '1h';
	UPDATE t SET k = 'e' WHERE k = 'd';
});
is(changes(), q{BEGIN
table public.t: INSERT: k[text]:'e' v[text]:'e1' exp[kv_expiry]:set
COMMIT
BEGIN
table public.t: DELETE: k[text]:'e'
table public.t: UPDATE: old-key: k[text]:'d' new-tuple: k[text]:'e' v[text]:'d1' exp[kv_expiry]:null
COMMIT}, 'UPDATE of the key onto an expired key: DELETE of the expired row, then the UPDATE');

# Writes aimed at an expired row find nothing and decode as nothing; the row stays for the expiry
# worker (ttl_enabled = off here).
$node->safe_psql('postgres', q{
	INSERT INTO t VALUES ('f', 'f1', kv_ttl(60));
	SET nodedb_kv.test_clock_offset = '1h';
	UPDATE t SET v = 'f2' WHERE k = 'f';
	DELETE FROM t WHERE k = 'f';
	SELECT * FROM t WHERE k = 'f' FOR UPDATE;
});
is(changes(), q{BEGIN
table public.t: INSERT: k[text]:'f' v[text]:'f1' exp[kv_expiry]:set
COMMIT}, 'UPDATE, DELETE and SELECT FOR UPDATE of an expired row decode as nothing');
is($node->safe_psql('postgres', q{SET nodedb_kv.test_clock_offset = '-100000s'; SELECT v FROM t WHERE k = 'f'}),
	'f1', 'the expired row is still physically there');

# A rolled-back takeover decodes as nothing; the expired row is still there to take over.
$node->safe_psql('postgres', q{
	SET nodedb_kv.test_clock_offset = '1h';
	BEGIN;
	INSERT INTO t VALUES ('f', 'f3', NULL);
	ROLLBACK;
	INSERT INTO t VALUES ('f', 'f4', NULL);
});
is(changes(), q{BEGIN
table public.t: DELETE: k[text]:'f'
table public.t: INSERT: k[text]:'f' v[text]:'f4' exp[kv_expiry]:null
COMMIT}, 'a rolled-back takeover decodes as nothing, the next one as DELETE then INSERT');

is($node->safe_psql('postgres', q{
	SET nodedb_kv.test_clock_offset = '-100000s';
	SELECT string_agg(k || '=' || v, ',' ORDER BY k) FROM t}),
	'a=a4,b=b3,e=d1,f=f4', 'one physical row per key');

$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('s')});
$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
