#!/usr/bin/env bash
# Benchmark of RESP on named collections (issue 11 §5) against redis-server, in one run on this
# machine, with bench/resp_named_client.cpp (built here: a pipelined multi-connection client that can
# SELECT a collection, which redis-benchmark cannot):
#   hashes on a typed collection h (key, f1..f5 text; 100k keys): HSET of 5 fields, HGET, HGETALL;
#   a sorted set of 1M members = kv_sorted index lb on players(score bigint DESC): ZADD, ZINCRBY,
#   ZRANK, ZREVRANGE 0 9; MULTI / INCR / INCR / INCR / EXEC on kv_db0 (if the server knows MULTI).
# nodedb_kv runs with synchronous_commit off, redis-server without persistence.  Prints units per
# second, the ratios the issue sets targets for, and server CPU per unit.  Never fails on a figure.
#   bench/resp_named_bench.sh [--requests N] [--clients N] [--pipeline N] [--members N] [--runs N]
#                             [--only TEST[,TEST...]]
#     (defaults 100000 units per run, 50 connections, pipeline 1, 1000000 members, 3 runs per test,
#     nodedb_kv and redis interleaved; each figure is the median of its runs; --only runs just those
#     tests, e.g. --only MULTI/3xINCR, and loads only the data they need)
# Builds and installs into a private tree under $NODEDB_KV_TEST_OUT (default .test/)/resp-named-bench,
# runs PostgreSQL and redis-server on 127.0.0.1 free ports and stops both (by pid) on exit.  The
# report is also saved in bench/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
REQUESTS=100000
CLIENTS=50
PIPELINE=1
MEMBERS=1000000
RUNS=3
ONLY=""
SERVER_USER=${NODEDB_KV_TEST_USER:-postgres}
while [ $# -gt 0 ]; do
	case $1 in
	--requests | --clients | --pipeline | --members | --runs)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "$1 wants a positive integer" >&2; exit 2; }
		case $1 in
		--requests) REQUESTS=$2 ;;
		--clients) CLIENTS=$2 ;;
		--pipeline) PIPELINE=$2 ;;
		--members) MEMBERS=$2 ;;
		--runs) RUNS=$2 ;;
		esac
		shift 2 ;;
	--only)
		[ -n "${2:-}" ] || { echo "$1 wants test names" >&2; exit 2; }
		ONLY=",$2,"
		shift 2 ;;
	*) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
OUT=${NODEDB_KV_TEST_OUT:-$ROOT/.test}/resp-named-bench
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
REPORT=$RESULTS/resp-named-$(date +%Y%m%d-%H%M%S).txt
. "$ROOT/bench/bench_lib.sh"
REDIS_PID=""
trap 'st=$?; [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null; (exit $st); cleanup' EXIT

log "build and private install into $OUT"
"$ROOT/.ci/deps"
. "$ROOT/test/install_private.sh"
install_private "$ROOT" "$OUT" "$SERVER_USER" || exit 1
CLIENT=$OUT/resp_named_client
g++ -std=c++17 -O2 -Wall -Wextra -Werror "$ROOT/bench/resp_named_client.cpp" -o "$CLIENT"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RESP_PORT=$(free_port)
start_cluster resp_named_bench "nodedb_kv.resp_port = $RESP_PORT
nodedb_kv.resp_listen_addresses = '127.0.0.1'
nodedb_kv.resp_anonymous_role = 'postgres'
nodedb_kv.ttl_enabled = off
nodedb_kv.sorted_memory = '512MB'"
sql() { as_server_user psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtX "$@"; }
sql -c "CREATE EXTENSION nodedb_kv" -c "ALTER SYSTEM SET synchronous_commit = off" -c "SELECT pg_reload_conf()" \
	>/dev/null

REDIS_PORT=$(free_port)
mkdir -p "$TMP/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP/redis" --daemonize yes \
	--pidfile "$TMP/redis/redis.pid" --logfile "$TMP/redis/redis.log" >/dev/null
for _ in $(seq 1 50); do [ -s "$TMP/redis/redis.pid" ] && break; sleep 0.1; done
REDIS_PID=$(cat "$TMP/redis/redis.pid")

report_header "RESP on named collections vs redis-server ($CLIENTS connections, pipeline $PIPELINE, $REQUESTS units per test, $MEMBERS members)" \
	"'synchronous_commit','shared_buffers','nodedb_kv.resp_workers'" \
	"client: bench/resp_named_client.cpp (one thread, poll); redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') without persistence" \
	"targets: >= 0.6x redis for HSET/HGET/HGETALL and ZADD/ZINCRBY (synchronous_commit off); ZRANK / ZREVRANGE >= 0.8x"

# wanted <test>: whether --only (if given) names it
wanted() { [ -z "$ONLY" ] || [[ $ONLY == *",$1,"* ]]; }
needs_data=0
for t in HSET HGET HGETALL ZADD ZINCRBY ZRANK ZREVRANGE; do wanted "$t" && needs_data=1; done
if ((needs_data)); then
log "load: 100k typed rows, $MEMBERS sorted-set members (SQL here, the client for redis)"
sql -c "CREATE TABLE h (key text PRIMARY KEY, f1 text, f2 text, f3 text, f4 text, f5 text) USING kv" \
	-c "INSERT INTO h SELECT 'h:' || i, 'v1', 'v2', 'v3', 'v4', 'v5' FROM generate_series(0, 99999) i" \
	-c "CREATE TABLE players (key text PRIMARY KEY, score bigint DEFAULT 0) USING kv" \
	-c "INSERT INTO players SELECT 'm:' || i, (random() * 1000000)::bigint FROM generate_series(0, $MEMBERS - 1) i" \
	-c "CREATE INDEX lb ON players USING kv_sorted (score DESC)" -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
sql -c "SELECT SORTED_COUNT('lb')" >/dev/null # builds the structure before the first measurement
"$CLIENT" --port "$REDIS_PORT" --requests 100000 --pipeline 64 --clients 4 -- \
	HSET h:__i__ f1 v1 f2 v2 f3 v3 f4 v4 f5 v5 >/dev/null
"$CLIENT" --port "$REDIS_PORT" --requests "$MEMBERS" --pipeline 64 --clients 4 -- ZADD lb __s__ m:__i__ >/dev/null
say "loaded: kv players $(sql -c "SELECT SORTED_COUNT('lb')") members, redis lb $(redis-cli -p "$REDIS_PORT" ZCARD lb)"
fi

pid_ticks() { local f; read -r -a f <<<"$(sed 's/.*) //' "/proc/$1/stat")"; echo $((f[11] + f[12])); }
declare -A RPS CPU
# run <test name> <label> <port> <pid or "pg"> [--select NAME] [--keyspace N] -- <command...>
run() {
	local test=$1 label=$2 port=$3 pid=$4 out c0 c1
	shift 4
	if [ "$pid" = pg ]; then c0=$(server_cpu_ticks); else c0=$(pid_ticks "$pid"); fi
	out=$("$CLIENT" --port "$port" --clients "$CLIENTS" --pipeline "$PIPELINE" --requests "$REQUESTS" "$@")
	if [ "$pid" = pg ]; then c1=$(server_cpu_ticks); else c1=$(pid_ticks "$pid"); fi
	RPS[$label/$test]+="$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' <<<"$out") "
	CPU[$label/$test]+="$(awk -v t=$((c1 - c0)) -v hz="$TICKS" -v n="$REQUESTS" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }') "
	log "$label $test: $out"
	[[ $out == *errors=0 ]] || say "  ($label $test: $out)"
}
# both <test name> <client options and command...>: --runs times nodedb_kv and redis, interleaved
# (kv redis redis kv kv redis ...; SELECT only for nodedb_kv).
both() {
	local test=$1 select=() i
	shift
	wanted "$test" || return 0
	if [ "$1" = --select ]; then select=(--select "$2"); shift 2; fi
	for ((i = 0; i < RUNS; i++)); do
		if ((i % 2 == 0)); then
			run "$test" kv "$RESP_PORT" pg "${select[@]}" "$@"
			run "$test" redis "$REDIS_PORT" "$REDIS_PID" "$@"
		else
			run "$test" redis "$REDIS_PORT" "$REDIS_PID" "$@"
			run "$test" kv "$RESP_PORT" pg "${select[@]}" "$@"
		fi
	done
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

TESTS=()
for t in HSET HGET HGETALL ZADD ZINCRBY ZRANK ZREVRANGE; do wanted "$t" && TESTS+=("$t"); done
both HSET --select h --keyspace 100000 -- HSET h:__r__ f1 a1 f2 a2 f3 a3 f4 a4 f5 a5
both HGET --select h --keyspace 100000 -- HGET h:__r__ f3
both HGETALL --select h --keyspace 100000 -- HGETALL h:__r__
both ZADD --keyspace "$MEMBERS" -- ZADD lb __s__ m:__r__
both ZINCRBY --keyspace "$MEMBERS" -- ZINCRBY lb 7 m:__r__
both ZRANK --keyspace "$MEMBERS" -- ZRANK lb m:__r__
both ZREVRANGE --keyspace "$MEMBERS" -- ZREVRANGE lb 0 9
if ! wanted "MULTI/3xINCR"; then
	:
elif [ "$(redis-cli -p "$RESP_PORT" MULTI 2>&1)" = OK ]; then
	TESTS+=("MULTI/3xINCR")
	both "MULTI/3xINCR" --keyspace 1 -- MULTI \; INCR a \; INCR b \; INCR c \; EXEC
	say "MULTI/EXEC: a=$(redis-cli -p "$RESP_PORT" GET a) b=$(redis-cli -p "$RESP_PORT" GET b) c=$(redis-cli -p "$RESP_PORT" GET c)"
else
	say "MULTI/EXEC: not measured, this server does not know MULTI yet (issue 11 §3)"
fi

ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
target() { case $1 in ZRANK | ZREVRANGE) echo ">= 0.8" ;; MULTI*) echo "-" ;; *) echo ">= 0.6" ;; esac; }
say ""
say "$(printf '%-14s %12s %12s %8s %8s %14s %14s' 'units/s' nodedb_kv redis ratio target 'kv CPU us/op' 'redis us/op')"
for t in "${TESTS[@]}"; do
	kv=$(median "${RPS[kv/$t]:-}")
	redis=$(median "${RPS[redis/$t]:-}")
	say "$(printf '%-14s %12s %12s %8s %8s %14s %14s' "$t" "$kv" "$redis" "$(ratio "$kv" "$redis")" "$(target "$t")" \
		"$(median "${CPU[kv/$t]:-}")" "$(median "${CPU[redis/$t]:-}")")"
done
say "every run (units/s):"
for t in "${TESTS[@]}"; do say "  $t: nodedb_kv ${RPS[kv/$t]:-}| redis ${RPS[redis/$t]:-}"; done
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
