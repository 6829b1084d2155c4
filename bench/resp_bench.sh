#!/usr/bin/env bash
# Benchmark of the RESP listener against redis-server, in one run on this machine: redis-benchmark
# (-c 50, random keys from 100k, and GET with -P 16) against
#   redis-server with no persistence, redis-server with appendfsync always, and nodedb_kv's port with
#   synchronous_commit on (durable) and off,
# for GET, SET, INCR and MSET (10 keys).  Prints requests per second, the ratios the issue sets targets
# for, and server CPU per request (all PostgreSQL processes, or the redis-server process).  Never fails
# on a figure (timing is not a test).
#   bench/resp_bench.sh [--requests N]      (default 100000 per test)
# Builds and installs into a private tree under $NODEDB_KV_TEST_OUT (default .test/)/resp-bench, runs
# PostgreSQL and the two redis-servers on 127.0.0.1 free ports and stops them on exit.  The report is
# also saved in bench/results/.
# Then, unless --no-instructions (or without valgrind), user-space instructions per command under
# callgrind: the cluster restarted under valgrind with one RESP worker, and redis-server under
# valgrind, each given the same redis-benchmark runs (-c 1, and -c 1 -P 16) of N1 and N2 requests;
# (I(N2) - I(N1)) / (N2 - N1) of the one serving process is the count per command (start-up and exit
# cancel out).  Exact and repeatable, unlike requests/s on a shared machine.
#   bench/resp_bench.sh --only-instructions      (skip the requests/s part, about 3 minutes)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
REQUESTS=100000
INSTRUCTIONS=yes
THROUGHPUT=yes
SERVER_USER=${NODEDB_KV_TEST_USER:-postgres}
while [ $# -gt 0 ]; do
	case $1 in
	--requests) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "--requests wants a positive integer" >&2; exit 2; }
		REQUESTS=$2; shift 2 ;;
	--no-instructions) INSTRUCTIONS=no; shift ;;
	--only-instructions) THROUGHPUT=no; shift ;;
	*) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
OUT=${NODEDB_KV_TEST_OUT:-$ROOT/.test}/resp-bench
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
REPORT=$RESULTS/resp-$(date +%Y%m%d-%H%M%S).txt
. "$ROOT/bench/bench_lib.sh"
trap 'st=$?; stop_redis; (exit $st); cleanup' EXIT

log "build and private install into $OUT"
"$ROOT/.ci/deps"
. "$ROOT/test/install_private.sh"
install_private "$ROOT" "$OUT" "$SERVER_USER" || exit 1

RESP_PORT=$(free_port)
start_cluster resp_bench "nodedb_kv.resp_port = $RESP_PORT
nodedb_kv.resp_listen_addresses = '127.0.0.1'
nodedb_kv.resp_anonymous_role = 'postgres'
nodedb_kv.ttl_enabled = off"
sql() { as_server_user psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtX "$@"; }
sql -c "CREATE EXTENSION nodedb_kv"

read -r REDIS_PORT REDIS_PID < <(start_redis plain --appendonly no)
REDIS_PIDS+=("$REDIS_PID")
read -r AOF_PORT AOF_PID < <(start_redis aof --appendonly yes --appendfsync always)
REDIS_PIDS+=("$AOF_PID")

report_header "RESP benchmark (redis-benchmark -c 50, $REQUESTS requests per test, random keys from 100k)" \
	"'synchronous_commit','shared_buffers','nodedb_kv.resp_workers'" \
	"targets: GET >= 0.8x redis; durable SET/INCR >= 1.0x redis appendfsync always; SET sync off >= 0.6x redis; -P 16 GET >= 0.5x redis"

pid_ticks() { local f; read -r -a f <<<"$(sed 's/.*) //' "/proc/$1/stat")"; echo $((f[11] + f[12])); }
TICKS=$(getconf CLK_TCK)
declare -A RPS CPU
# run <label> <port> <pid or "pg"> <redis-benchmark options...>
run() {
	local label=$1 port=$2 pid=$3 out c0 c1 test rps
	shift 3
	if [ "$pid" = pg ]; then c0=$(server_cpu_ticks); else c0=$(pid_ticks "$pid"); fi
	out=$(redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -n "$REQUESTS" -r 100000 --csv "$@" 2>/dev/null)
	if [ "$pid" = pg ]; then c1=$(server_cpu_ticks); else c1=$(pid_ticks "$pid"); fi
	while IFS=, read -r test rps _; do
		test=${test//\"/}
		rps=${rps//\"/}
		[[ $rps =~ ^[0-9.]+$ ]] || continue
		RPS[$label/$test]=$rps
	done <<<"$out"
	CPU[$label/$*]=$(awk -v t=$((c1 - c0)) -v hz="$TICKS" -v n="$REQUESTS" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
	log "$label $*: $(echo "$out" | tr '\n' ' ')"
}

if [ "$THROUGHPUT" = yes ]; then
	sql -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	for target in "redis:$REDIS_PORT:$REDIS_PID" "redis_aof:$AOF_PORT:$AOF_PID" "kv_sync_on:$RESP_PORT:pg"; do
		IFS=: read -r label port pid <<<"$target"
		for t in get set incr mset; do run "$label" "$port" "$pid" -t "$t"; done
	done
	sql -c "ALTER SYSTEM SET synchronous_commit = off" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	for t in get set incr mset; do run kv_sync_off "$RESP_PORT" pg -t "$t"; done
	for target in "redis:$REDIS_PORT:$REDIS_PID" "kv_sync_off:$RESP_PORT:pg"; do
		IFS=: read -r label port pid <<<"$target"
		RPS_BEFORE=${RPS[$label/GET]:-}
		run "$label" "$port" "$pid" -t get -P 16
		RPS[$label/GET -P16]=${RPS[$label/GET]}
		RPS[$label/GET]=$RPS_BEFORE
	done

	say ""
	say "$(printf '%-16s %12s %12s %12s %12s' 'requests/s' GET SET INCR 'MSET(10)')"
	for label in redis redis_aof kv_sync_on kv_sync_off; do
		say "$(printf '%-16s %12s %12s %12s %12s' "$label" "${RPS[$label/GET]:-}" "${RPS[$label/SET]:-}" \
			"${RPS[$label/INCR]:-}" "${RPS[$label/MSET (10 keys)]:-}")"
	done
	say "$(printf '%-16s %12s' 'GET -P 16' '')"
	say "$(printf '  %-14s %12s' redis "${RPS[redis/GET -P16]:-}")"
	say "$(printf '  %-14s %12s' kv_sync_off "${RPS[kv_sync_off/GET -P16]:-}")"
	say ""
	say "server CPU per request (us):"
	for key in "${!CPU[@]}"; do say "  $key: ${CPU[$key]}"; done | sort
	say ""
	say "ratios (target):"
	say "  GET kv_sync_on / redis:                 $(ratio "${RPS[kv_sync_on/GET]:-}" "${RPS[redis/GET]:-}") (>= 0.8)"
	say "  SET kv_sync_on / redis appendfsync:     $(ratio "${RPS[kv_sync_on/SET]:-}" "${RPS[redis_aof/SET]:-}") (>= 1.0)"
	say "  INCR kv_sync_on / redis appendfsync:    $(ratio "${RPS[kv_sync_on/INCR]:-}" "${RPS[redis_aof/INCR]:-}") (>= 1.0)"
	say "  SET kv_sync_off / redis:                $(ratio "${RPS[kv_sync_off/SET]:-}" "${RPS[redis/SET]:-}") (>= 0.6)"
	say "  GET -P 16 kv_sync_off / redis:          $(ratio "${RPS[kv_sync_off/GET -P16]:-}" "${RPS[redis/GET -P16]:-}") (>= 0.5)"
fi

# --- user-space instructions per command (callgrind) ------------------------------------------------------
# Keys key:__rand_int__ from 1000, all preloaded (reads hit).  Each measurement starts a fresh serving
# process (the RESP worker: SIGTERM, the postmaster starts a new one; redis-server: started again on a
# copy of the preloaded data), runs one redis-benchmark of n requests, and stops it, so that callgrind
# writes the process's profile; the count per command is (I(N2) - I(N1)) / (N2 - N1).  The cluster runs
# with one RESP worker and synchronous_commit off (the WAL flusher is not counted either way).
INSTR_N1=500
INSTR_N2=1500
INSTR_KEYS=1000
INSTR_TESTS=(get set incr mset)
if [ "$INSTRUCTIONS" = yes ] && ! command -v valgrind >/dev/null; then
	log "valgrind not found: no instruction counts"
	INSTRUCTIONS=no
fi
if [ "$INSTRUCTIONS" = yes ]; then
	declare -A INSTR
	CG=$TMP/callgrind
	mkdir -p "$CG" && { [ "$(id -u)" != 0 ] || chown "$SERVER_USER" "$CG"; }
	stop_redis
	# Preload: the same keys in both servers, written by redis-benchmark itself (then the rdb copy for
	# redis-server under valgrind).
	read -r PRE_PORT PRE_PID < <(start_redis preload --appendonly no)
	REDIS_PIDS=("$PRE_PID")
	for port in "$PRE_PORT" "$RESP_PORT"; do
		redis-benchmark -h 127.0.0.1 -p "$port" -c 20 -n $((INSTR_KEYS * 20)) -r "$INSTR_KEYS" -t set,incr -q >/dev/null 2>&1
	done
	redis-cli -h 127.0.0.1 -p "$PRE_PORT" SAVE >/dev/null
	stop_redis
	for _ in $(seq 1 100); do kill -0 "$PRE_PID" 2>/dev/null || break; sleep 0.1; done
	REDIS_PIDS=()
	REDIS_RDB=$TMP/preload/dump.rdb
	restart_under_callgrind
	for test in "${INSTR_TESTS[@]}"; do
		for mode in "" "-P 16"; do
			for kind in redis pg; do
				# shellcheck disable=SC2086
				n1=$(instructions "$kind" "$INSTR_N1" -t "$test" $mode)
				# shellcheck disable=SC2086
				n2=$(instructions "$kind" "$INSTR_N2" -t "$test" $mode)
				INSTR[$kind/$test/$mode]=$(((n2 - n1) / (INSTR_N2 - INSTR_N1)))
				log "$kind $test $mode: ${INSTR[$kind/$test/$mode]} instructions per command"
			done
		done
	done
	say ""
	say "user-space instructions per command (callgrind; the serving process only: the RESP worker, or"
	say "redis-server; redis-benchmark -c 1, keys from $INSTR_KEYS, all present; synchronous_commit off):"
	say "$(printf '%-10s %-6s %12s %12s %9s' command mode nodedb_kv redis 'kv/redis')"
	for test in "${INSTR_TESTS[@]}"; do
		for mode in "" "-P 16"; do
			a=${INSTR[pg/$test/$mode]} b=${INSTR[redis/$test/$mode]}
			say "$(printf '%-10s %-6s %12d %12d %9s' "${test^^}" "${mode:--P 1}" "$a" "$b" \
				"$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')")"
		done
	done
	say "(-P 1: one command per loop turn, so one transaction each; -P 16: 16 commands per turn)"
fi
say ""
say "report saved in ${REPORT#"$ROOT"/}"
