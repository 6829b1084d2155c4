# RESP transactions, the finer points (issue 11 §3): a watched absent key that is created and deleted
# again counts as changed (RESP, SQL, same turn; compared with redis-server byte for byte); CLIENT LIST's
# flags= and multi= in and out of MULTI (as redis-server's); EXEC's lock of watched rows needs what
# SELECT ... FOR UPDATE needs (NOPERM otherwise); a queued command rolled back in EXEC's replay sends no
# keyspace event; VACUUM FULL and CLUSTER do not abort EXEC, changes around them do; Z-reads inside a
# block see the block's own Z-writes (fixed blocks, a pipeline and 40 random blocks against redis-server).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/resp_multi_watch_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('resp_multi_watch',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\nnodedb_kv.resp_anonymous_role = 'app'\n"
	  . "nodedb_kv.notify_keyspace_events = 'KEA'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	CREATE ROLE ro LOGIN PASSWORD 'secret';
	CREATE TABLE cache (key text PRIMARY KEY, value text) USING kv;
	CREATE TABLE ints (key int PRIMARY KEY, value text) USING kv;
	CREATE TABLE zmt (key text COLLATE "C" PRIMARY KEY, score float8) USING kv;
	CREATE INDEX zm ON zmt USING kv_sorted (score);
	INSERT INTO cache VALUES ('p1', 'v');
	GRANT ALL ON cache, ints, zmt, kv_db0 TO app;
	GRANT SELECT ON cache TO ro;
	GRANT ALL ON kv_db0 TO ro;
	CREATE FUNCTION protect() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF OLD.key = 'nt:bad'::bytea THEN
			RAISE EXCEPTION 'nt:bad is protected';
		END IF;
		RETURN OLD;
	END $$;
	CREATE TRIGGER protect BEFORE DELETE ON kv_db0 FOR EACH ROW EXECUTE FUNCTION protect();
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '2', 30),
	'the two RESP workers run');

my $redis_pid = NodedbKv::start_redis_server($redis_port);

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
NodedbKv::run_checks($python, $check, $port, $redis_port, @psql);
NodedbKv::stop_redis_server($redis_pid);

NodedbKv::check_no_crash([$node]);
done_testing();
