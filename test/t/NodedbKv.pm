# Shared helpers of the nodedb_kv TAP tests (test/t/*.pl; test/run passes -I test/t to prove).
#
#   my $node = NodedbKv::new_node('primary', allows_streaming => 1);  # initialised, preloaded, started,
#                                                                    # CREATE EXTENSION in "postgres"
#   NodedbKv::poll_sql($node, 'postgres', $sql, $expected, $seconds);  # bounded polling
#   NodedbKv::check_no_crash($node, ...);   # last step of every test: no "terminated by signal"
#
# Nodes use Unix sockets in a private directory (PostgreSQL::Test::Cluster's default): loopback only.
package NodedbKv;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

# Creates a node with nodedb_kv in shared_preload_libraries.  Options:
#   allows_streaming => 0 | 1 | 'logical'   passed to init
#   conf             => extra postgresql.conf lines
#   ttl_enabled      => 0 | 1   nodedb_kv.ttl_enabled (default 0: tests that expire rows with the test
#                               clock must not race an expiry worker)
#   start            => 0 to leave the node stopped (default 1)
#   extension_dbs    => databases to CREATE EXTENSION nodedb_kv in (default ['postgres'])
sub new_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => $opts{allows_streaming} // 0);
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'nodedb_kv'");
	$node->append_conf('postgresql.conf',
		'nodedb_kv.ttl_enabled = ' . (($opts{ttl_enabled} // 0) ? 'on' : 'off'));
	$node->append_conf('postgresql.conf', $opts{conf}) if defined $opts{conf};
	return $node if defined $opts{start} && !$opts{start};
	$node->start;
	$node->safe_psql($_, 'CREATE EXTENSION nodedb_kv') for @{ $opts{extension_dbs} // ['postgres'] };
	return $node;
}

# Runs $sql (several statements allowed; psql -q prints only query results) until its output equals
# $expected or $seconds passed.  Returns true on success; on timeout reports the last output.
sub poll_sql
{
	my ($node, $db, $sql, $expected, $seconds) = @_;
	$seconds //= 30;
	my $deadline = time() + $seconds;
	my ($out, $err) = ('', '');
	while (1)
	{
		$node->psql($db, $sql, stdout => \$out, stderr => \$err);
		return 1 if defined $out && $out eq $expected;
		last if time() > $deadline;
		usleep(100_000);
	}
	diag("poll_sql timed out after ${seconds}s\nquery: $sql\nexpected: $expected\nlast output: "
		  . ($out // '') . "\nstderr: " . ($err // ''));
	return 0;
}

# The last check of every test: no server process of these nodes died of a signal.  Lines matching
# $opts{allow} (a regexp, e.g. a worker this test killed on purpose) are not counted.
sub check_no_crash
{
	my ($nodes, %opts) = @_;
	for my $node (@$nodes)
	{
		my @hits = grep { /terminated by signal/ } split /\n/, slurp_file($node->logfile);
		@hits = grep { !/$opts{allow}/ } @hits if defined $opts{allow};
		is(join("\n", @hits), '', 'no server process of node "' . $node->name . '" terminated by signal');
	}
	return;
}

1;
