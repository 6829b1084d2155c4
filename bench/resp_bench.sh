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
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
REQUESTS=100000
SERVER_USER=${NODEDB_KV_TEST_USER:-postgres}
while [ $# -gt 0 ]; do
	case $1 in
	--requests) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "--requests wants a positive integer" >&2; exit 2; }
		REQUESTS=$2; shift 2 ;;
	*) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
OUT=${NODEDB_KV_TEST_OUT:-$ROOT/.test}/resp-bench
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
REPORT=$RESULTS/resp-$(date +%Y%m%d-%H%M%S).txt
. "$ROOT/bench/bench_lib.sh"
REDIS_PIDS=()
stop_redis() { for pid in "${REDIS_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap 'st=$?; stop_redis; (exit $st); cleanup' EXIT

log "build and private install into $OUT"
"$ROOT/.ci/deps"
. "$ROOT/test/install_private.sh"
install_private "$ROOT" "$OUT" "$SERVER_USER" || exit 1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RESP_PORT=$(free_port)
start_cluster resp_bench "nodedb_kv.resp_port = $RESP_PORT
nodedb_kv.resp_listen_addresses = '127.0.0.1'
nodedb_kv.resp_anonymous_role = 'postgres'
nodedb_kv.ttl_enabled = off"
sql() { as_server_user psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtX "$@"; }
sql -c "CREATE EXTENSION nodedb_kv"

start_redis() { # start_redis <name> <options...>: echoes the port
	local port dir=$TMP/$1
	port=$(free_port)
	mkdir -p "$dir"
	shift
	redis-server --port "$port" --bind 127.0.0.1 --save '' --dir "$dir" --daemonize yes \
		--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@" >/dev/null
	for _ in $(seq 1 50); do [ -s "$dir/redis.pid" ] && break; sleep 0.1; done
	echo "$port $(cat "$dir/redis.pid")"
}
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
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
say ""
say "ratios (target):"
say "  GET kv_sync_on / redis:                 $(ratio "${RPS[kv_sync_on/GET]:-}" "${RPS[redis/GET]:-}") (>= 0.8)"
say "  SET kv_sync_on / redis appendfsync:     $(ratio "${RPS[kv_sync_on/SET]:-}" "${RPS[redis_aof/SET]:-}") (>= 1.0)"
say "  INCR kv_sync_on / redis appendfsync:    $(ratio "${RPS[kv_sync_on/INCR]:-}" "${RPS[redis_aof/INCR]:-}") (>= 1.0)"
say "  SET kv_sync_off / redis:                $(ratio "${RPS[kv_sync_off/SET]:-}" "${RPS[redis/SET]:-}") (>= 0.6)"
say "  GET -P 16 kv_sync_off / redis:          $(ratio "${RPS[kv_sync_off/GET -P16]:-}" "${RPS[redis/GET -P16]:-}") (>= 0.5)"
