# What a RESP loop turn keeps and never waits for (resp_turns_check.py).  The worker keeps each
# collection open across the commands of a turn (src/kv/kv_cache.cpp): replies of pipelines sent in one
# write (one turn) equal a real redis-server's, including FLUSHDB in the middle of writes; several
# collections in one turn; a collection with a trigger; DDL, GRANT and REVOKE between turns; two roles'
# commands in the same turns, each checked with its own privileges.  Would-block mode: a row locked,
# being updated or being inserted by a psql transaction parks the command without the worker waiting
# on any lock (pg_locks), other clients are served, and the command completes after COMMIT/ROLLBACK;
# the same for a table or primary key locked by LOCK TABLE / REINDEX (RANDOMKEY, DBSIZE, SCAN, KEYS,
# SELECT <n> parked; INFO keyspace answers at once without that keyspace), and the log shows no lock
# wait of the worker (log_lock_waits, deadlock_timeout 10 ms).
# FLUSHALL empties the kv_db<n> keyspaces the role may TRUNCATE (replies as redis-server's).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/resp_turns_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('respturns',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'app'\nnodedb_kv.resp_workers = 1\nnodedb_kv.resp_lock_wait = '60s'\nlog_lock_waits = on\ndeadlock_timeout = '10ms'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	CREATE ROLE nobody LOGIN PASSWORD 'secret';
	GRANT ALL ON kv_db0 TO app;
	SELECT kv_create_db(1), kv_create_db(2);
	GRANT ALL ON kv_db1 TO app;
	GRANT SELECT, INSERT, UPDATE, DELETE ON kv_db2 TO app;
	INSERT INTO kv_db2 (key, value) VALUES ('kept', 'v');
	CREATE TABLE cache (key text PRIMARY KEY, value text) USING kv;
	CREATE TABLE audited (key text PRIMARY KEY, value text) USING kv;
	CREATE TABLE audit (n serial, key text);
	CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN INSERT INTO audit (key) VALUES (NEW.key); RETURN NULL; END $$;
	CREATE TRIGGER audit AFTER INSERT OR UPDATE ON audited FOR EACH ROW EXECUTE FUNCTION audit_row();
	GRANT ALL ON cache, audited, audit, audit_n_seq TO app;
});
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, '1', 30),
	'the RESP worker runs');
my $worker_pid = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'});

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
my $redis_pid = NodedbKv::start_redis_server($redis_port);
NodedbKv::run_checks($python, $check, $port, $redis_port, @psql);
NodedbKv::stop_redis_server($redis_pid);

my $log = slurp_file($node->logfile);
unlike($log, qr/reference leak|resource owner|still referenced/i, 'no leaked relation, buffer or snapshot references');
# The worker never waits on a lock (log_lock_waits logs a wait that outlasts deadlock_timeout, 10 ms,
# shorter than the worker's lock_timeout backstop).
unlike($log, qr/LOG:\s+process $worker_pid still waiting/, 'the RESP worker never waited on a lock');

NodedbKv::check_no_crash([$node]);
done_testing();
