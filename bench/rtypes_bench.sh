#!/usr/bin/env bash
# Benchmark of the Redis types of kv_db<n> (hashes, lists, sets, sorted sets; issue 12) against redis-server, in
# one run on this machine: redis-benchmark -c 50 against redis-server (no persistence) and nodedb_kv's
# RESP port with synchronous_commit off, then on, for
#   small keys (random keys):   HSET/HGET h:<r> (100k keys), LPUSH/RPOP q:<r> (1k keys), SADD/SISMEMBER s:<r>
#   one container, small / big: HGET and HSET on a 100- / 10k-field hash, LINDEX in the middle of a
#                               100- / 100k-element list, SISMEMBER on a 100- / 100k-member set,
#                               ZRANK / ZSCORE / ZADD on a 1k- / 1M-member sorted set (both spilled)
# and prints requests per second, the ratios to redis-server, and for the container workloads the
# growth small / big (1.0: the cost does not grow with the container), then the latency of a BLPOP
# woken by another client's LPUSH (p50 / p99).  Never fails on a figure.
#   bench/rtypes_bench.sh [--requests N]   (default 20000 per small-key test, N/10 per container test)
#   bench/rtypes_bench.sh --only REGEX      only the workloads whose name matches (e.g. '^Z')
# Then, unless --no-instructions (or without valgrind), user-space instructions per command under
# callgrind for every workload (the serving process only; see bench/resp_bench.sh for the method):
# exact and repeatable where requests/s are not (a loaded machine).
#   bench/rtypes_bench.sh --only-instructions
# Builds and installs into $NODEDB_KV_TEST_OUT (default .test/)/rtypes-bench, runs PostgreSQL and
# redis-server on 127.0.0.1 free ports and stops them on exit.  The report is saved in bench/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
REQUESTS=20000
INSTRUCTIONS=yes
THROUGHPUT=yes
ONLY=.
SERVER_USER=${NODEDB_KV_TEST_USER:-postgres}
while [ $# -gt 0 ]; do
	case $1 in
	--requests) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "--requests wants a positive integer" >&2; exit 2; }
		REQUESTS=$2; shift 2 ;;
	--no-instructions) INSTRUCTIONS=no; shift ;;
	--only-instructions) THROUGHPUT=no; shift ;;
	--only) ONLY=${2:-}; shift 2 ;;
	*) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
BIG_REQUESTS=$(((REQUESTS + 9) / 10))
OUT=${NODEDB_KV_TEST_OUT:-$ROOT/.test}/rtypes-bench
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
REPORT=$RESULTS/rtypes-$(date +%Y%m%d-%H%M%S).txt
. "$ROOT/bench/bench_lib.sh"
trap 'st=$?; stop_redis; (exit $st); cleanup' EXIT

log "build and private install into $OUT"
"$ROOT/.ci/deps"
. "$ROOT/test/install_private.sh"
install_private "$ROOT" "$OUT" "$SERVER_USER" || exit 1

RESP_PORT=$(free_port)
start_cluster rtypes_bench "nodedb_kv.resp_port = $RESP_PORT
nodedb_kv.resp_listen_addresses = '127.0.0.1'
nodedb_kv.resp_anonymous_role = 'postgres'
nodedb_kv.ttl_enabled = off"
sql() { as_server_user psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtX "$@"; }
sql -c "CREATE EXTENSION nodedb_kv"
read -r REDIS_PORT REDIS_PID < <(start_redis plain --appendonly no)
REDIS_PIDS+=("$REDIS_PID")

# The containers, in commands of 1000 elements (redis-cli --pipe): hs/hb (100 / 10k fields
# field:<12 digits>, as redis-benchmark's __rand_int__ writes them), ls/lb (100 / 100k elements),
# ss/sb (100 / 100k members m:<12 digits>), zs/zb (1k / 1M members m:<12 digits>, score = the number).
preload() { # preload <port>
	python3 - <<'PY' | redis-cli -h 127.0.0.1 -p "$1" --pipe >/dev/null
import sys
out = sys.stdout.buffer
def command(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
for key, size, make, verb in (("hs", 100, "hash", "HSET"), ("hb", 10000, "hash", "HSET"),
                              ("ls", 100, "list", "RPUSH"), ("lb", 100000, "list", "RPUSH"),
                              ("ss", 100, "set", "SADD"), ("sb", 100000, "set", "SADD"),
                              ("zs", 1000, "zset", "ZADD"), ("zb", 1000000, "zset", "ZADD")):
    for start in range(0, size, 1000):
        args = [verb, key]
        for i in range(start, min(size, start + 1000)):
            if make == "hash":
                args += ["field:%012d" % i, "v%d" % i]
            elif make == "list":
                args.append("e%d" % i)
            elif make == "zset":
                args += [str(i), "m:%012d" % i]
            else:
                args.append("m:%012d" % i)
        command(*args)
PY
}
log "preload the containers"
preload "$REDIS_PORT"
preload "$RESP_PORT"
[ "$(redis-cli -h 127.0.0.1 -p "$RESP_PORT" LLEN lb)" = 100000 ] || { log "preload of nodedb_kv failed"; exit 1; }
[ "$(redis-cli -h 127.0.0.1 -p "$RESP_PORT" ZCARD zb)" = 1000000 ] || { log "preload of the 1M zset failed"; exit 1; }

report_header "Redis types benchmark (redis-benchmark -c 50; $REQUESTS requests per small-key test, $BIG_REQUESTS per container test)" \
	"'synchronous_commit','shared_buffers','nodedb_kv.resp_workers'" \
	"small keys: HSET/HGET h:<r> (100k keys), LPUSH/RPOP q:<r> (1k keys), SADD/SISMEMBER s:<r> (100k keys)" \
	"containers: one key each, small (100; zsets 1k) / big (10k fields, 100k elements or members; zsets 1M); growth = small / big requests/s"

# Workloads: name|requests|-r range|command.  Container ones come in small/big pairs.
WORKLOADS=(
	"HSET|$REQUESTS|100000|HSET h:__rand_int__ f v"
	"HGET|$REQUESTS|100000|HGET h:__rand_int__ f"
	"LPUSH|$REQUESTS|1000|LPUSH q:__rand_int__ x"
	"RPOP|$REQUESTS|1000|RPOP q:__rand_int__"
	"SADD|$REQUESTS|100000|SADD s:__rand_int__ m"
	"SISMEMBER|$REQUESTS|100000|SISMEMBER s:__rand_int__ m"
	"HGET 100|$BIG_REQUESTS|100|HGET hs field:__rand_int__"
	"HGET 10k|$BIG_REQUESTS|10000|HGET hb field:__rand_int__"
	"HSET 100|$BIG_REQUESTS|100|HSET hs field:__rand_int__ w"
	"HSET 10k|$BIG_REQUESTS|10000|HSET hb field:__rand_int__ w"
	"LINDEX 100|$BIG_REQUESTS|100|LINDEX ls 50"
	"LINDEX 100k|$BIG_REQUESTS|100000|LINDEX lb 50000"
	"SISMEMBER 100|$BIG_REQUESTS|100|SISMEMBER ss m:__rand_int__"
	"SISMEMBER 100k|$BIG_REQUESTS|100000|SISMEMBER sb m:__rand_int__"
	"ZRANK 1k|$BIG_REQUESTS|1000|ZRANK zs m:__rand_int__"
	"ZRANK 1M|$BIG_REQUESTS|1000000|ZRANK zb m:__rand_int__"
	"ZSCORE 1k|$BIG_REQUESTS|1000|ZSCORE zs m:__rand_int__"
	"ZSCORE 1M|$BIG_REQUESTS|1000000|ZSCORE zb m:__rand_int__"
	"ZADD 1k|$BIG_REQUESTS|1000|ZADD zs __rand_int__ m:__rand_int__"
	"ZADD 1M|$BIG_REQUESTS|1000000|ZADD zb __rand_int__ m:__rand_int__"
)
CONTAINER_PAIRS=("HGET 100|HGET 10k" "HSET 100|HSET 10k" "LINDEX 100|LINDEX 100k" "SISMEMBER 100|SISMEMBER 100k"
	"ZRANK 1k|ZRANK 1M" "ZSCORE 1k|ZSCORE 1M" "ZADD 1k|ZADD 1M")
# --only REGEX: the workloads (and pairs) whose names match.
selected=()
for w in "${WORKLOADS[@]}"; do [[ ${w%%|*} =~ $ONLY ]] && selected+=("$w"); done
WORKLOADS=("${selected[@]}")
selected=()
for p in "${CONTAINER_PAIRS[@]}"; do [[ ${p%%|*} =~ $ONLY ]] && selected+=("$p"); done
CONTAINER_PAIRS=("${selected[@]}")

if [ "$THROUGHPUT" = yes ]; then
	declare -A RPS
	run() { # run <label> <port>: every workload
		local label=$1 port=$2 w name n r cmd out rps
		for w in "${WORKLOADS[@]}"; do
			IFS='|' read -r name n r cmd <<<"$w"
			# shellcheck disable=SC2086
			out=$(redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -n "$n" -r "$r" --csv $cmd 2>/dev/null | tail -1)
			rps=$(echo "$out" | cut -d, -f2 | tr -d '"')
			[[ $rps =~ ^[0-9.]+$ ]] || rps=""
			RPS[$label/$name]=$rps
			log "$label $name: $rps requests/s"
		done
	}
	run redis "$REDIS_PORT"
	for mode in off on; do
		sql -c "ALTER SYSTEM SET synchronous_commit = $mode" -c "SELECT pg_reload_conf()" >/dev/null
		sleep 1
		run "kv_sync_$mode" "$RESP_PORT"
	done
	say ""
	say "$(printf '%-16s %12s %12s %12s %10s %10s' 'requests/s' redis kv_sync_off kv_sync_on 'off/redis' 'on/redis')"
	for w in "${WORKLOADS[@]}"; do
		IFS='|' read -r name _ <<<"$w"
		a=${RPS[redis/$name]:-} b=${RPS[kv_sync_off/$name]:-} c=${RPS[kv_sync_on/$name]:-}
		say "$(printf '%-16s %12s %12s %12s %10s %10s' "$name" "$a" "$b" "$c" "$(ratio "$b" "$a")" "$(ratio "$c" "$a")")"
	done
	say ""
	say "growth small / big (requests/s of the small container over the big one; 1.0 = flat):"
	say "$(printf '%-34s %10s %12s %12s' '' redis kv_sync_off kv_sync_on)"
	for pair in "${CONTAINER_PAIRS[@]}"; do
		IFS='|' read -r small big <<<"$pair"
		say "$(printf '%-34s %10s %12s %12s' "$small -> $big" \
			"$(ratio "${RPS[redis/$small]:-}" "${RPS[redis/$big]:-}")" \
			"$(ratio "${RPS[kv_sync_off/$small]:-}" "${RPS[kv_sync_off/$big]:-}")" \
			"$(ratio "${RPS[kv_sync_on/$small]:-}" "${RPS[kv_sync_on/$big]:-}")")"
	done
fi

# --- BLPOP woken by an LPUSH (blocking pops, src/blocking/README.md) --------------------------------
# One client blocks in BLPOP, a second one (a new connection each round: on nodedb_kv it lands on either
# worker) pushes; the time from sending the LPUSH to the BLPOP's reply, 300 rounds, p50 / p99.  The waiter
# is given 5 ms to block first (a round where the push came first is served at once and not counted).
blpop_rtt() { # blpop_rtt <port>: prints "p50_us p99_us rounds"
	python3 - "$1" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def enc(*args):
    return b"".join([b"*%d\r\n" % len(args)] + [b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args)])
def read(s):
    data = b""
    while not data.endswith(b"\r\n") or data.count(b"\r\n") < (5 if data.startswith(b"*2") else 1):
        data += s.recv(4096)
    return data
w = socket.create_connection(("127.0.0.1", port)); w.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
w.sendall(enc("DEL", "bq")); read(w)
times = []
for i in range(300):
    p = socket.create_connection(("127.0.0.1", port)); p.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    w.sendall(enc("BLPOP", "bq", "0"))
    time.sleep(0.005)
    w.setblocking(False)
    try:
        early = w.recv(1)
    except BlockingIOError:
        early = b""
    w.setblocking(True)
    t0 = time.perf_counter()
    p.sendall(enc("LPUSH", "bq", "x"))
    reply = early + read(w)
    t1 = time.perf_counter()
    read(p)
    p.close()
    if not early:
        times.append((t1 - t0) * 1e6)
times.sort()
print("%d %d %d" % (times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)], len(times)) if times else "0 0 0")
PY
}
if [ "$THROUGHPUT" = yes ]; then
	sql -c "ALTER SYSTEM SET synchronous_commit = off" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	read -r R50 R99 RN < <(blpop_rtt "$REDIS_PORT")
	read -r K50 K99 KN < <(blpop_rtt "$RESP_PORT")
	say ""
	say "BLPOP woken by an LPUSH of another client (synchronous_commit off; LPUSH sent -> BLPOP reply, microseconds):"
	say "$(printf '  %-10s p50 %8s  p99 %8s  (%s rounds)' redis "$R50" "$R99" "$RN")"
	say "$(printf '  %-10s p50 %8s  p99 %8s  (%s rounds)   p50 kv/redis %s, p99 kv/redis %s' nodedb_kv "$K50" "$K99" \
		"$KN" "$(ratio "$K50" "$R50")" "$(ratio "$K99" "$R99")")"
	say "  load average at the time: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

# --- user-space instructions per command (callgrind) ------------------------------------------------
# The same workloads at -c 1; each measurement is a fresh serving process (see bench_lib.sh
# instructions()), on the preloaded data (redis-server: a copy of its dump after the preload).
INSTR_N1=100
INSTR_N2=300
if [ "$INSTRUCTIONS" = yes ] && ! command -v valgrind >/dev/null; then
	log "valgrind not found: no instruction counts"
	INSTRUCTIONS=no
fi
if [ "$INSTRUCTIONS" = yes ]; then
	declare -A INSTR
	CG=$TMP/callgrind
	mkdir -p "$CG" && { [ "$(id -u)" != 0 ] || chown "$SERVER_USER" "$CG"; }
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" SAVE >/dev/null
	REDIS_RDB=$TMP/plain/dump.rdb
	stop_redis
	for _ in $(seq 1 100); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
	REDIS_PIDS=()
	restart_under_callgrind
	# The first worker after the restart builds the caches every later one finds ready (millions of
	# instructions, which would land in the first workload's first run): a throwaway run first.
	INSTR_KEYS=1 instructions pg 10 PING >/dev/null
	for w in "${WORKLOADS[@]}"; do
		IFS='|' read -r name _ INSTR_KEYS cmd <<<"$w"
		for kind in redis pg; do
			# shellcheck disable=SC2086
			n1=$(instructions "$kind" "$INSTR_N1" $cmd)
			# shellcheck disable=SC2086
			n2=$(instructions "$kind" "$INSTR_N2" $cmd)
			INSTR[$kind/$name]=$(((n2 - n1) / (INSTR_N2 - INSTR_N1)))
			log "$kind $name: ${INSTR[$kind/$name]} instructions per command"
		done
	done
	say ""
	say "user-space instructions per command (callgrind; the serving process only; -c 1; synchronous_commit off):"
	say "$(printf '%-16s %12s %12s %9s' command nodedb_kv redis 'kv/redis')"
	for w in "${WORKLOADS[@]}"; do
		IFS='|' read -r name _ <<<"$w"
		a=${INSTR[pg/$name]} b=${INSTR[redis/$name]}
		say "$(printf '%-16s %12d %12d %9s' "$name" "$a" "$b" "$(ratio "$a" "$b")")"
	done
	say "growth big / small in instructions per command (1.0 = flat):"
	for pair in "${CONTAINER_PAIRS[@]}"; do
		IFS='|' read -r small big <<<"$pair"
		say "$(printf '  %-32s nodedb_kv %8s   redis %8s' "$small -> $big" \
			"$(ratio "${INSTR[pg/$big]}" "${INSTR[pg/$small]}")" "$(ratio "${INSTR[redis/$big]}" "${INSTR[redis/$small]}")")"
	done
fi
say ""
say "report saved in ${REPORT#"$ROOT"/}"
