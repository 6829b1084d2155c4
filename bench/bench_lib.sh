# Sourced by the benchmark scripts: report logging, running as the server's user, and the exit
# trap that stops the server the script started (by its pid in PG_PID) and removes its temp dir
# (TMP), keeping the server log in $OUT.  Expects REPORT, SERVER_USER and OUT to be set.
TMP=""
PG_PID=""

log() { printf '== %s\n' "$*" >&2; }
say() { printf '%s\n' "$*" | tee -a "$REPORT"; } # report lines: printed and kept in $REPORT

as_server_user() {
	if [ "$(id -u)" = 0 ]; then runuser -u "$SERVER_USER" -- env "PATH=$PATH" "$@"; else "$@"; fi
}

# Stops the server this script started, by its pid (SIGINT = fast shutdown; SIGQUIT, then SIGKILL
# if it hangs), and removes the temp dir, keeping the server log next to the install.
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if [ -n "$PG_PID" ] && kill -0 "$PG_PID" 2>/dev/null; then
		kill -INT "$PG_PID" 2>/dev/null || true
		for _ in $(seq 1 300); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$PG_PID" 2>/dev/null; then
			log "server $PG_PID did not stop within 30 s: SIGQUIT"
			kill -QUIT "$PG_PID" 2>/dev/null || true
			sleep 2
			kill -KILL "$PG_PID" 2>/dev/null || true
		fi
	fi
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		[ -f "$TMP/server.log" ] && cp "$TMP/server.log" "$OUT/server.log" 2>/dev/null
		rm -rf "$TMP"
	fi
	[ "$status" = 0 ] || log "failed (status $status); server log: $OUT/server.log"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- server CPU accounting (after PG_PID is set) ---------------------------------------------
# CPU time (clock ticks) the whole server has used: the postmaster with its reaped children plus its
# live (or zombie) children.  A backend's time moves into the postmaster's cutime when it is reaped,
# so differences between two samples count each process once; a sample during which a child was
# reaped is taken again.  Other load on the machine is not counted.
TICKS=$(getconf CLK_TCK)
proc_times() { # proc_times <pid>: "utime stime cutime cstime", or nothing if the process is gone
	local stat f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	read -r -a f <<<"${stat##*) }" # f[0] is field 3 (state); utime is field 14
	echo "${f[11]} ${f[12]} ${f[13]} ${f[14]}"
}
server_cpu_ticks() {
	local before after children pid t
	for _ in 1 2 3 4 5; do
		before=$(proc_times "$PG_PID")
		children=0
		for pid in $(pgrep -P "$PG_PID"); do
			read -r -a t <<<"$(proc_times "$pid")"
			[ ${#t[@]} = 4 ] && children=$((children + t[0] + t[1]))
		done
		after=$(proc_times "$PG_PID")
		[ "$before" = "$after" ] && break
	done
	read -r -a t <<<"$after"
	echo $((t[0] + t[1] + t[2] + t[3] + children))
}


# Waits until no client backend of the server is left.
wait_backends_gone() {
	for _ in $(seq 1 100); do
		pgrep -P "$PG_PID" -f 'postgres: postgres postgres' >/dev/null || return 0
		sleep 0.05
	done
}

# Creates and starts the throwaway cluster of a benchmark: start_cluster <script name> <extra conf
# lines>.  Sets TMP (removed on exit), DATA, PORT (a free port on 127.0.0.1) and PG_PID.  Common
# settings: nodedb_kv preloaded, shared_buffers 1GB, max_wal_size 4GB, checkpoint_timeout 30min,
# synchronous_commit on, autovacuum off (the scripts VACUUM and CHECKPOINT before measuring, so no
# background pass lands in the middle of one workload's measurement).
start_cluster() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/nodedb_kv_$1.XXXXXX")
	[ "$(id -u)" = 0 ] && chown "$SERVER_USER" "$TMP"
	DATA=$TMP/data
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	log "initdb and start on 127.0.0.1:$PORT (data in $DATA)"
	as_server_user initdb -D "$DATA" -A trust -U postgres -E UTF8 --locale=C >"$TMP/initdb.log" 2>&1 ||
		{ cat "$TMP/initdb.log" >&2; exit 1; }
	cat >>"$DATA/postgresql.conf" <<CONF
# nodedb_kv benchmark cluster (bench/$1.sh)
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$TMP'
shared_preload_libraries = 'nodedb_kv'
shared_buffers = 1GB
max_wal_size = 4GB
checkpoint_timeout = 30min
synchronous_commit = on
autovacuum = off
$2
CONF
	as_server_user pg_ctl -D "$DATA" -l "$TMP/server.log" -w -t 120 start >/dev/null
	PG_PID=$(head -1 "$DATA/postmaster.pid")
}

# First lines of a report (after sql() is defined): report_header <title> <setting names, comma
# separated and quoted for SQL> <lines about the method...>.  Title with date and commit, the
# machine, the method lines, the load average, and the server settings named.
report_header() {
	local title=$1 settings=$2 line
	shift 2
	: >"$REPORT"
	say "$title, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+changes')"
	say "machine: $(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GB RAM; PostgreSQL $(sql -c 'SHOW server_version' | cut -d' ' -f1)"
	for line in "$@"; do say "$line"; done
	say "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine moves tps figures)"
	say "settings: $(sql -F= -c "SELECT name, current_setting(name) FROM pg_settings WHERE name IN ($settings) ORDER BY name" | paste -sd' ')"
}

# One measured pgbench run against the server: measured_pgbench <timeout seconds> <pgbench options
# and arguments...> (host, port and user are added).  Sets RUN_TPS and RUN_CPU_US (server CPU time
# per transaction in microseconds, pgbench excluded); prints pgbench's output and returns non-zero if
# it failed or any transaction failed.
measured_pgbench() {
	local out=$TMP/pgbench.out limit=$1 cpu0 cpu1 txns
	shift
	wait_backends_gone
	cpu0=$(server_cpu_ticks)
	if ! timeout --foreground "$limit" pgbench -h 127.0.0.1 -p "$PORT" -U postgres "$@" >"$out" 2>&1; then
		cat "$out" >&2
		return 1
	fi
	wait_backends_gone
	cpu1=$(server_cpu_ticks)
	grep -q '^number of failed transactions: 0 ' "$out" || { cat "$out" >&2; return 1; }
	RUN_TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
	txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
	RUN_CPU_US=$(awk -v t="$((cpu1 - cpu0))" -v hz="$TICKS" -v n="$txns" 'BEGIN { print t / hz * 1e6 / n }')
}

# --- RESP benchmarks against redis-server (resp_bench.sh, rtypes_bench.sh) ---------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# redis-servers this script started (stopped on exit by the script's trap: stop_redis).
REDIS_PIDS=()
stop_redis() { for pid in "${REDIS_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }

start_redis() { # start_redis <name> <options...>: echoes "port pid" (data dir $TMP/<name>)
	local port dir=$TMP/$1
	port=$(free_port)
	mkdir -p "$dir"
	shift
	redis-server --port "$port" --bind 127.0.0.1 --save '' --dir "$dir" --daemonize yes \
		--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@" >/dev/null
	for _ in $(seq 1 50); do [ -s "$dir/redis.pid" ] && break; sleep 0.1; done
	echo "$port $(cat "$dir/redis.pid")"
}

# Restarts the cluster (PG_PID, DATA) with every server process under callgrind; profiles go to
# $CG/pg.<pid>.out (CG is made here, $TMP/callgrind unless set).  Needs sql().
callgrind_restart() {
	CG=${CG:-$TMP/callgrind}
	mkdir -p "$CG" && { [ "$(id -u)" != 0 ] || chown "$SERVER_USER" "$CG"; }
	kill -INT "$PG_PID"
	for _ in $(seq 1 600); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
	as_server_user bash -c "exec valgrind --tool=callgrind --quiet --callgrind-out-file='$CG/pg.%p.out' \
		'$(command -v postgres)' -D '$DATA' >'$TMP/valgrind.log' 2>&1" &
	PG_PID=""
	for _ in $(seq 1 1200); do
		[ -f "$DATA/postmaster.pid" ] && sql -c 'SELECT 1' >/dev/null 2>&1 && break
		sleep 0.1
	done
	PG_PID=$(head -1 "$DATA/postmaster.pid")
}

# The same for the RESP benchmarks: one RESP worker (RESP_PORT) and synchronous_commit off.
restart_under_callgrind() {
	log "restart the cluster under callgrind (one RESP worker, synchronous_commit off)"
	sql -c "ALTER SYSTEM SET nodedb_kv.resp_workers = 1" -c "ALTER SYSTEM SET synchronous_commit = off" >/dev/null
	callgrind_restart
}

# pgbench_instructions <script.sql> <transactions> [timeout s]: user-space instructions of the one
# backend that ran the script's transactions (pgbench -c 1, synchronous_commit off), after
# callgrind_restart.  The script's first transaction also writes the backend's pid to a file (one extra
# SELECT per connection: run two counts and take the difference to cancel it and the connection's start
# and exit).
pgbench_instructions() {
	local pid_file=$CG/pid script=$CG/measured.sql
	{
		printf '\\if :pid = 0\nSELECT pg_backend_pid() AS pid \\gset\n\\shell echo :pid > %s\n\\endif\n' "$pid_file"
		cat "$1"
	} >"$script"
	rm -f "$pid_file"
	PGOPTIONS="-c synchronous_commit=off" timeout "${3:-600}" pgbench -h 127.0.0.1 -p "$PORT" -U postgres -n -M prepared \
		-c 1 -t "$2" -D pid=0 -f "$script" postgres >"$TMP/pgbench.out" 2>&1 || { cat "$TMP/pgbench.out" >&2; return 1; }
	profile_total "$CG/pg.$(cat "$pid_file").out"
}

profile_total() { # profile_total <file>: waits for the profile's totals line (written at exit)
	for _ in $(seq 1 1200); do
		grep -q '^totals:' "$1" 2>/dev/null && break
		sleep 0.1
	done
	sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$1"
}

resp_worker_pid() { # the live RESP worker's pid, once it answers
	local pid=""
	for _ in $(seq 1 1200); do
		pid=$(sql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'nodedb_kv RESP worker'" 2>/dev/null | head -1)
		[ -n "$pid" ] && redis-cli -h 127.0.0.1 -p "$RESP_PORT" PING 2>/dev/null | grep -q PONG && break
		sleep 0.1
	done
	echo "$pid"
}

# instructions <pg|redis> <requests> <redis-benchmark options...>: user-space instructions of one
# serving process over one redis-benchmark run at -c 1: a fresh RESP worker (the previous one gets
# SIGTERM and the postmaster starts a new one), or a fresh redis-server under callgrind on a copy of
# $REDIS_RDB (the preloaded data).  Keys of __rand_int__ come from $INSTR_KEYS.
instructions() {
	local kind=$1 n=$2
	shift 2
	serving_start "$kind"
	timeout 600 redis-benchmark -h 127.0.0.1 -p "$SERVE_PORT" -c 1 -n "$n" -r "$INSTR_KEYS" -q "$@" >/dev/null 2>&1
	serving_total "$kind"
}

# serving_start <pg|redis>: the process whose instructions count, under callgrind: the live RESP worker
# (after callgrind_restart), or a fresh redis-server on a copy of $REDIS_RDB (if set), its counts zeroed
# once it answers.  Sets SERVE_PID, SERVE_PORT and SERVE_PROFILE.  serving_total <pg|redis>: stops it
# (SIGTERM; the postmaster starts a new RESP worker) and echoes its instruction total.
serving_start() {
	if [ "$1" = pg ]; then
		SERVE_PID=$(resp_worker_pid)
		SERVE_PORT=$RESP_PORT
		SERVE_PROFILE=$CG/pg.$SERVE_PID.out
		return
	fi
	rm -rf "$TMP/cg-redis" && mkdir -p "$TMP/cg-redis"
	[ -z "${REDIS_RDB:-}" ] || cp "$REDIS_RDB" "$TMP/cg-redis/dump.rdb"
	SERVE_PORT=$(free_port)
	valgrind --tool=callgrind --quiet --callgrind-out-file="$CG/redis.%p.out" redis-server --port "$SERVE_PORT" \
		--bind 127.0.0.1 --save '' --appendonly no --dir "$TMP/cg-redis" >"$TMP/cg-redis/log" 2>&1 &
	SERVE_PID=$!
	REDIS_PIDS=("$SERVE_PID")
	for _ in $(seq 1 600); do
		redis-cli -h 127.0.0.1 -p "$SERVE_PORT" PING 2>/dev/null | grep -q PONG && break
		sleep 0.1
	done
	# Counted from here: loading $REDIS_RDB answers our PINGs with -LOADING, as many as the load takes
	# wall time (millions of instructions that differ from run to run: rtypes_bench's redis figures
	# came out negative).
	callgrind_control -z "$SERVE_PID" >/dev/null 2>&1 || log "callgrind_control -z $SERVE_PID failed"
	SERVE_PROFILE=$CG/redis.$SERVE_PID.out
}
serving_total() {
	kill -TERM "$SERVE_PID"
	profile_total "$SERVE_PROFILE"
	if [ "$1" = redis ]; then wait "$SERVE_PID" 2>/dev/null || true; REDIS_PIDS=(); fi
}

ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
