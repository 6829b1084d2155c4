# Shared helpers of the nodedb_kv TAP tests (test/t/*.pl; test/run passes -I test/t to prove).
#
#   my $node = NodedbKv::new_node('primary', allows_streaming => 1);  # initialised, preloaded, started,
#                                                                    # CREATE EXTENSION in "postgres"
#   NodedbKv::poll_sql($node, 'postgres', $sql, $expected, $seconds);  # bounded polling
#   NodedbKv::check_no_crash($node, ...);   # last step of every test: no "terminated by signal"
#   my $pid = NodedbKv::start_redis_server($port);  # a reference redis-server on 127.0.0.1
#   NodedbKv::stop_redis_server($pid);              # (also stopped, by pid, when the script exits)
#   NodedbKv::run_checks($python, $script, @args);  # each "ok"/"not ok" line of its output is a test
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

# redis-servers started by start_redis_server and not stopped yet.
my @redis_pids;

# Starts a throwaway redis-server without persistence on 127.0.0.1:$port and returns its pid.  It is
# stopped by stop_redis_server, or at the latest when the test script exits.
sub start_redis_server
{
	my ($port, @options) = @_;    # @options: more redis-server arguments ('--enable-debug-command', 'yes')
	my $dir = PostgreSQL::Test::Utils::tempdir;
	system('redis-server', '--port', $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
		'--daemonize', 'yes', '--dir', $dir, '--pidfile', "$dir/redis.pid", '--logfile', "$dir/redis.log",
		@options) == 0
	  or die "redis-server did not start";
	for (1 .. 100)
	{
		last if -s "$dir/redis.pid";
		usleep(50_000);
	}
	die "redis-server wrote no pid file" unless -s "$dir/redis.pid";
	my $pid = slurp_file("$dir/redis.pid");
	chomp $pid;
	push @redis_pids, $pid;
	return $pid;
}

# Stops a redis-server started by start_redis_server (SIGTERM, then SIGKILL after 5 s).
sub stop_redis_server
{
	my ($pid) = @_;
	kill 'TERM', $pid;
	for (1 .. 100)
	{
		last unless kill 0, $pid;
		usleep(50_000);
	}
	kill 'KILL', $pid if kill 0, $pid;
	@redis_pids = grep { $_ != $pid } @redis_pids;
	return;
}

END
{
	local $?;
	kill 'KILL', @redis_pids if @redis_pids;
}

# Runs `$python $script @args`: each output line "ok <name>" / "not ok <name>" becomes one passing /
# failing test, and a run that reports nothing fails.  Its stderr is shown as diagnostics.
sub run_checks
{
	my ($python, $script, @args) = @_;
	my ($out, $err) = run_command([ $python, $script, @args ]);
	my $n = 0;
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^ok (.*)/) { pass($1); $n++; }
		elsif ($line =~ /^not ok (.*)/) { fail($1); $n++; }
	}
	my $name = $script =~ s{.*/}{}r;
	ok($n > 0, "$name $args[0] ran") or diag("stdout: $out\nstderr: $err");
	diag($err) if $err ne '';
	return;
}

1;
