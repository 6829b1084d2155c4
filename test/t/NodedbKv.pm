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
use IPC::Run;
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

# The body of the Redis-typed-keys tests (TAP 070, 071): a node with RESP and the anonymous RESP role
# "app" (every privilege on kv_db0), a redis-server for reference replies, then `$script <mode>` for
# each mode (the last writes what "restart-check" reads after a crash and restart), then the crash
# check.
sub run_rtypes_test
{
	my ($name, $script, @modes) = @_;
	my $python = '/usr/bin/python3';
	my $check = "$ENV{NODEDB_KV_ROOT}/test/t/$script";
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
	my $node = new_node($name, conf => "nodedb_kv.resp_port = $port\nnodedb_kv.resp_anonymous_role = 'app'");
	$node->safe_psql('postgres', q{
		CREATE ROLE app LOGIN PASSWORD 'secret';
		GRANT ALL ON kv_db0 TO app;
	});
	Test::More::ok(resp_workers_run($node), 'the RESP workers run');
	my @psql =
	  ($node->installed_command('psql'), '-X', '-q', '-h', $node->host, '-p', $node->port, '-d', 'postgres');
	my $redis_pid = start_redis_server($redis_port);
	run_checks($python, $check, $_, $port, $redis_port, @psql) for @modes;
	stop_redis_server($redis_pid);

	$node->stop('immediate');
	$node->start;
	Test::More::ok(resp_workers_run($node), 'the RESP workers run after the restart');
	run_checks($python, $check, 'restart-check', $port, $redis_port, @psql);
	check_no_crash([$node]);
	return;
}

# Waits (30 s at most) for the RESP workers of $node to run.
sub resp_workers_run
{
	my ($node) = @_;
	return poll_sql($node, 'postgres',
		q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'}, 't', 30);
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
	my ($out, $err) = ('', '');
	# A script that dies half way (a traceback, a timeout it did not catch) fails here even when the
	# checks it printed before dying passed: the checks it never reached are not run, so not passed.
	my $exited_ok = IPC::Run::run([ $python, $script, @args ], '<', \undef, '>', \$out, '2>', \$err);
	my $status = $? >> 8;
	my $n = 0;
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^ok (.*)/) { pass($1); $n++; }
		elsif ($line =~ /^not ok (.*)/) { fail($1); $n++; }
	}
	my $name = $script =~ s{.*/}{}r;
	ok($n > 0 && $exited_ok, "$name $args[0] ran to its end")
	  or diag("exit status $status\nstdout: $out\nstderr: $err");
	diag($err) if $err ne '';
	return;
}

1;
