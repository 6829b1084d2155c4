# HSCAN / SSCAN / ZSCAN cursors over kv_db<n> containers, ZUNION / ZINTER's aggregation order, exact counts of spilled containers under
# concurrent writers on both RESP workers, and the expiry worker's members vacuum (issue 12).  Small
# containers' replies and the errors equal a real redis-server's byte for byte; spilled hashes and sets
# page through their member rows with a cursor that returns every member present throughout exactly
# once; many clients changing the same members of one spilled hash / set keep HLEN, SCARD, the member
# rows and the sum of the replies equal; member rows of deleted, overwritten, emptied and expired
# containers disappear without kv_members_vacuum() once nodedb_kv.members_vacuum_interval allows it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/rtypes_scan_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('scan',
	conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_workers = 2\n"
	  . "nodedb_kv.resp_anonymous_role = 'app'\nnodedb_kv.ttl_interval = '100ms'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN;
	GRANT ALL ON kv_db0 TO app;
});
ok(NodedbKv::resp_workers_run($node), 'the RESP workers run');
my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');

my $redis_pid = NodedbKv::start_redis_server($redis_port);
NodedbKv::run_checks($python, $check, $_, $port, $redis_port, @psql) for qw(scan zsetop concurrent);
NodedbKv::stop_redis_server($redis_pid);

# The members vacuum of the expiry worker: off while nodedb_kv.ttl_enabled is off (this node's start),
# then on with a short pause between passes; the test clock expires one container.
NodedbKv::run_checks($python, $check, 'vacuum-setup', $port, $redis_port, @psql);
is($node->safe_psql('postgres', 'SELECT count(*) FROM kv_members'), '900',
	'member rows of the deleted, overwritten, and expiring containers are still stored (LPOP deleted its own)');
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET nodedb_kv.ttl_enabled = on;
	ALTER SYSTEM SET nodedb_kv.members_vacuum_interval = '100ms';
	ALTER SYSTEM SET nodedb_kv.members_vacuum_batch = 50;
	ALTER SYSTEM SET nodedb_kv.test_clock_offset = 3600;
	SELECT pg_reload_conf();
});
ok(NodedbKv::poll_sql($node, 'postgres', 'SELECT count(*) FROM kv_members', '150', 60),
	'the expiry worker deleted the member rows of the gone containers on its own (in batches of 50)');
NodedbKv::run_checks($python, $check, 'vacuum-check', $port, $redis_port, @psql);
is($node->safe_psql('postgres', 'SELECT kv_members_vacuum()'), '0', 'kv_members_vacuum() finds nothing left');
like(slurp_file($node->logfile), qr/^(?!.*vacuum of kv_members failed).*\z/s, 'no members vacuum failure logged');

NodedbKv::check_no_crash([$node]);
done_testing();
