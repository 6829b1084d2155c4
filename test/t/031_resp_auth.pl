# RESP authentication against PostgreSQL roles: NOAUTH before AUTH (PING allowed), WRONGPASS for a wrong
# password, a role that cannot log in, an expired password and a missing role (each logged), AUTH with
# nodedb_kv.resp_default_user, SCRAM and MD5 verifiers, HELLO 2 AUTH ... SETNAME, NOPERM for a role
# without privileges, REVOKE / GRANT while connected applying to the next command, and the delayed reply
# after repeated failures from one address (other clients undelayed).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $python = '/usr/bin/python3';
my $check = "$ENV{NODEDB_KV_ROOT}/test/t/resp_check.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();

my $node = NodedbKv::new_node('respauth', conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_default_user = 'app'");
$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN PASSWORD 'secret';
	GRANT ALL ON kv_db0 TO app;
	CREATE ROLE noperm LOGIN PASSWORD 'secret';
	CREATE ROLE nologin NOLOGIN PASSWORD 'secret';
	CREATE ROLE expired LOGIN PASSWORD 'secret' VALID UNTIL '2000-01-01';
	SET password_encryption = 'md5';
	CREATE ROLE md5user LOGIN PASSWORD 'secret';
	GRANT ALL ON kv_db0 TO md5user;
});
is($node->safe_psql('postgres', q{SELECT left(rolpassword, 3) FROM pg_authid WHERE rolname = 'md5user'}), 'md5',
	'md5user has an MD5 verifier');
ok(NodedbKv::poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30),
	'RESP workers run');

my @psql = ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
my ($out, $err) = run_command([ $python, $check, 'auth', $port, @psql ]);
my $n = 0;
for my $line (split /\n/, $out)
{
	if ($line =~ /^ok (.*)/) { pass($1); $n++; }
	elsif ($line =~ /^not ok (.*)/) { fail($1); $n++; }
}
ok($n >= 15, 'the auth checks ran') or diag("stdout: $out\nstderr: $err");

my $log = slurp_file($node->logfile);
like($log, qr/nodedb_kv RESP: password authentication failed for user "app"/, 'a failed AUTH is logged');
like($log, qr/Role is not permitted to log in/, 'the log says why (NOLOGIN)');

NodedbKv::check_no_crash([$node]);
done_testing();
