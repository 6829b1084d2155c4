# nodedb_kv loads only from shared_preload_libraries (ARCHITECTURE.md "Platform"): on an instance that
# does not preload it, CREATE EXTENSION, LOAD, session_preload_libraries and declaring one of its C
# functions all fail with the same clear error (SQLSTATE 55000 and a hint), nothing is left behind,
# and the server stays up.  Once preloaded (after a restart), the same database installs it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use NodedbKv;

my $node = NodedbKv::new_node('nopreload', start => 0);
# new_node preloads the library: take that line out again for this instance.
my $conf = $node->data_dir . '/postgresql.conf';
my $text = slurp_file($conf);
$text =~ s/^shared_preload_libraries = 'nodedb_kv'\n//m or die 'no preload line to remove';
open(my $fh, '>', $conf) or die "cannot write $conf: $!";
print $fh $text;
close($fh);
$node->start;
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'), '', 'the instance does not preload nodedb_kv');

my $refusal = qr/ERROR:  nodedb_kv must be loaded via shared_preload_libraries\nHINT:  Add nodedb_kv to shared_preload_libraries in postgresql\.conf and restart the server\./;

# Runs $sql; returns "<SQLSTATE> <stderr>" for a failure.
sub failure_of
{
	my ($sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return "exit $ret: $stderr";
}

like(failure_of('CREATE EXTENSION nodedb_kv'), qr/exit 3: .*ERROR:  55000: nodedb_kv must be loaded/s,
	'CREATE EXTENSION fails with SQLSTATE 55000');
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'CREATE EXTENSION nodedb_kv');
like($stderr, $refusal, 'CREATE EXTENSION: the message names shared_preload_libraries, with a hint');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'nodedb_kv'}), '0',
	'CREATE EXTENSION left no extension behind');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_am WHERE amname = 'kv'}), '0',
	'CREATE EXTENSION left no access method behind');

($ret, $stdout, $stderr) = $node->psql('postgres', q{LOAD 'nodedb_kv'});
like($stderr, $refusal, 'LOAD fails with the same error');

# session_preload_libraries applies at connection start: a new session through PGOPTIONS.
{
	local $ENV{PGOPTIONS} = '-c session_preload_libraries=nodedb_kv';
	($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT 1');
}
like($stderr, qr/nodedb_kv must be loaded via shared_preload_libraries/,
	'session_preload_libraries: the connection is refused with the same error');

# Declaring one of its C functions by hand loads the library (the C validator looks the symbol up,
# whatever check_function_bodies says): same error.
like(failure_of(q{CREATE FUNCTION stray_kv_now() RETURNS timestamptz AS '$libdir/nodedb_kv', 'nodedb_kv_now' LANGUAGE C}),
	qr/ERROR:  55000: nodedb_kv must be loaded/, 'CREATE FUNCTION of one of its C functions fails too');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');

# Preloaded after a restart: the same database installs it.
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'nodedb_kv'");
$node->restart;
is($node->psql('postgres', 'CREATE EXTENSION nodedb_kv'), 0, 'preloaded: CREATE EXTENSION succeeds');
like($node->safe_psql('postgres', 'SELECT kv_now() <= now() + interval \'1 minute\''), qr/^t$/,
	'preloaded: its functions answer');

$node->stop;
NodedbKv::check_no_crash([$node]);
done_testing();
