#!/usr/bin/env bash
# Benchmark of kv_sorted against its SQL baselines and Redis, in one run:
#   RANK     : rank('lb', key)                vs count(*) of higher scores (btree on score)  vs ZREVRANK
#   TOPK(10) : topk('lb', 10)                 vs ORDER BY score DESC LIMIT 10 (btree)       vs ZREVRANGE 0 9
#   RANGE    : range('lb', lo, lo + 99)       vs WHERE score BETWEEN lo AND lo+99 ORDER BY  vs ZRANGEBYSCORE LIMIT 100
#   (100 entries)
# at each size (default 100000 and 1000000 keys; --sizes "100000 1000000 10000000"), one client,
# pgbench with prepared statements / redis-benchmark, -T seconds each (latency = 1 / tps).  Scores are
# distinct integers 0..N-1 in random order, keys 'p' + 12 digits (redis-benchmark's __rand_int__).
# Also: the build time of the structure (first query after CREATE INDEX), bytes per entry (kv_sorted_stats
# bytes: blocks and member-hash buckets; vs Redis: the growth of INFO used_memory over the ZADDs, and
# MEMORY USAGE), and the write overhead of one kv_sorted index on KV_INCR (server CPU per
# transaction with and without the index, 1 client; then, unless --no-instructions or without valgrind,
# the instructions one backend executes per KV_INCR under callgrind: exact and repeatable, unlike CPU
# time on a shared machine).  --no-reads skips the read workloads (load, build and bytes remain).
# RANK is also timed inside the server, cold and warm: one statement of 20000 RANKs of random keys on a
# new connection (cold: its backend touches pages of the structure for the first time, a page fault
# each), then, on the same connection after 300000 more RANKs (which touch nearly every page of the
# structure even at 10M entries), the same statement again (warm: a long-lived or pooled connection),
# and the warm backend's CPU time per RANK (from /proc: robust to the machine's load, unlike wall time).
# --huge-pages starts the cluster with huge_pages = on (the kv_sorted area lives in PostgreSQL's main
# shared memory; the machine needs vm.nr_hugepages for shared_buffers + nodedb_kv.sorted_memory +
# ~100 MB, the script does not set it).
# --churn "0.0625 0.25 1": after the sizes, at the largest, random re-scores (UPDATE of the score to a
# random value, random keys, in transactions of 1M rows) until the given fractions of the entries in
# total have been re-scored, and after each step the warm RANK again (a build lays the structure out
# in van Emde Boas order; commits do not keep that layout).
# Never fails on a figure (timing is not a test).
#   bench/sorted_bench.sh [--sizes "100000 1000000"] [--seconds N] [--no-reads] [--no-instructions] [--huge-pages]
#                         [--churn "fractions"]
# Builds and installs into a private tree under $NODEDB_KV_TEST_OUT (default .test/)/sorted-bench,
# runs PostgreSQL and redis-server from a temp dir on 127.0.0.1 and stops both on exit.  The report is
# also saved in bench/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
SIZES="100000 1000000"
SECONDS_PER_RUN=5
SERVER_USER=${NODEDB_KV_TEST_USER:-postgres}
READS=yes
INSTRUCTIONS=yes
HUGE_PAGES=try
CHURN=""

usage() { sed -n '2,34s/^# \{0,1\}//p' "$0"; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) SIZES=${2:-}; [ -n "$SIZES" ] || usage; shift 2 ;;
	--seconds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; SECONDS_PER_RUN=$2; shift 2 ;;
	--no-reads) READS=no; shift ;;
	--no-instructions) INSTRUCTIONS=no; shift ;;
	--huge-pages) HUGE_PAGES=on; shift ;;
	--churn) CHURN=${2:-}; [ -n "$CHURN" ] || usage; shift 2 ;;
	-h | --help) usage ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
done
MAX_SIZE=$(printf '%s\n' $SIZES | sort -n | tail -1)

OUT=${NODEDB_KV_TEST_OUT:-$ROOT/.test}/sorted-bench
RESULTS=$ROOT/bench/results
REPORT=$RESULTS/sorted-$(date +%Y%m%d-%H%M%S).txt
REDIS_PID=""
. "$ROOT/bench/bench_lib.sh" # log, say, as_server_user; stops the server (PG_PID) on exit
stop_redis() { [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true; }
trap 'st=$?; stop_redis; (exit $st); cleanup' EXIT

log "build and private install into $OUT"
"$ROOT/.ci/deps"
. "$ROOT/test/install_private.sh"
install_private "$ROOT" "$OUT" "$SERVER_USER"
mkdir -p "$RESULTS"

# 60 bytes per entry here (56-byte block + bucket) plus room.
SORTED_MB=$(( MAX_SIZE * 80 / 1048576 + 64 ))
start_cluster sorted_bench "nodedb_kv.sorted_memory = ${SORTED_MB}MB
max_connections = 20
huge_pages = $HUGE_PAGES"
sql() { timeout 3600 psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1 "$@"; }

REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
	--logfile "$TMP/redis.log" --daemonize no &
REDIS_PID=$!
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
for _ in $(seq 1 50); do rcli PING >/dev/null 2>&1 && break; sleep 0.1; done

report_header "kv_sorted benchmark" "'shared_buffers','nodedb_kv.sorted_memory','synchronous_commit','huge_pages'" \
	"method: 1 client, ${SECONDS_PER_RUN} s per workload, pgbench -M prepared / redis-benchmark -c 1 (both over TCP on 127.0.0.1)" \
	"redis: $(redis-server --version | cut -d' ' -f3)"
sql -c 'CREATE EXTENSION nodedb_kv' >/dev/null

SCRIPTS=$TMP/scripts
mkdir -p "$SCRIPTS"
pg_latency() { # pg_latency <name> <statement>: sets LAT_US
	printf '\\set k random(1, %s)\n\\set lo random(0, %s)\n%s\n' "$N" "$((N - 100))" "$2" >"$SCRIPTS/$1.sql"
	measured_pgbench $((SECONDS_PER_RUN + 600)) -n -M prepared -c 1 -T "$SECONDS_PER_RUN" -f "$SCRIPTS/$1.sql" postgres >/dev/null
	LAT_US=$(awk -v t="$RUN_TPS" 'BEGIN { printf "%.1f", 1e6 / t }')
}
redis_latency() { # redis_latency <command...>: sets LAT_US
	local rps
	rps=$(redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 1 -n 200000 -r "$N" --csv "$@" 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"')
	LAT_US=$(awk -v t="$rps" 'BEGIN { printf "%.1f", 1e6 / t }')
}

# rank_in_server: sets COLD_US and WARM_US, microseconds per RANK inside one statement (see the header),
# and WARM_CPU_US: the backend's CPU time (utime + stime from /proc, 10 ms ticks) per RANK over 5
# statements of 100000 on a warm connection, the smallest: unlike wall time it leaves out the waits for
# a core on a loaded machine (it still includes the memory stalls).
rank_in_server() {
	local batch="SELECT count(rank('lb', 'p' || lpad((random() * ($N - 1) + 1)::int::text, 12, '0'))) FROM generate_series(1, 20000)"
	local times
	times=$(sql -c '\timing on' -c "$batch" -c '\timing off' \
		-c "SELECT count(rank('lb', 'p' || lpad((random() * ($N - 1) + 1)::int::text, 12, '0'))) FROM generate_series(1, 300000)" \
		-c '\timing on' -c "$batch" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	COLD_US=$(echo "$times" | sed -n 1p | awk '{ printf "%.1f", $1 * 1000 / 20000 }')
	WARM_US=$(echo "$times" | sed -n 2p | awk '{ printf "%.1f", $1 * 1000 / 20000 }')
	local many="SELECT count(rank('lb', 'p' || lpad((random() * ($N - 1) + 1)::int::text, 12, '0'))) FROM generate_series(1, 100000)"
	local cpu="(SELECT a[14]::bigint + a[15]::bigint FROM string_to_array(pg_read_file('/proc/self/stat'), ' ') a)"
	WARM_CPU_US=$({
		echo "$many \\g /dev/null"
		echo "$many \\g /dev/null"
		for _ in 1 2 3 4 5; do
			echo "SELECT $cpu AS t0 \\gset"
			echo "$many \\g /dev/null"
			echo "SELECT $cpu - :t0;"
		done
	} | sql | sort -n | head -1 |
		awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", $1 * 1e6 / hz / 100000 }')
}

declare -A RESULT
for N in $SIZES; do
	log "size $N: load"
	sql <<SQL
DROP TABLE IF EXISTS scores;
CREATE TABLE scores (key text PRIMARY KEY, score bigint NOT NULL) USING kv;
INSERT INTO scores SELECT 'p' || lpad(i::text, 12, '0'), s - 1
	FROM generate_series(1, $N) i, LATERAL (SELECT ((i::bigint * 1000003) % $N) + 1 AS s) x;
CREATE INDEX scores_score ON scores (score);
CREATE INDEX lb ON scores USING kv_sorted (score DESC);
VACUUM ANALYZE scores;
CHECKPOINT;
SQL
	# The first query builds the structure from the table.
	build_ms=$(sql -c '\timing on' -c "SELECT sorted_count('lb')" | sed -n 's/^Time: \([0-9]*\)\..*/\1/p')
	bytes=$(sql -c "SELECT bytes::numeric / entries FROM kv_sorted_stats WHERE index = 'lb'::regclass" | cut -c1-6)
	rcli DEL lb >/dev/null
	redis_before=$(rcli INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
	python3 - "$N" <<'PY' | rcli --pipe >/dev/null
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(1, n + 1):
    s = (i * 1000003) % n
    m = b"p%012d" % i
    sc = str(s).encode()
    out.write(b"*4\r\n$4\r\nZADD\r\n$2\r\nlb\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(sc), sc, len(m), m))
PY
	redis_bytes=$(rcli MEMORY USAGE lb SAMPLES 0)
	redis_after=$(rcli INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
	say ""
	say "== $N entries: kv_sorted build ${build_ms} ms; bytes per entry: kv_sorted $bytes, Redis zset $(awk -v a="$redis_after" -v b="$redis_before" -v n="$N" 'BEGIN { printf "%.1f", (a - b) / n }') by used_memory, $(awk -v b="$redis_bytes" -v n="$N" 'BEGIN { printf "%.1f", b / n }') by MEMORY USAGE (ZCARD $(rcli ZCARD lb))"
	[ "$READS" = yes ] || continue
	say "$(printf '%-10s %14s %14s %14s %12s %12s' workload 'kv_sorted us' 'SQL us' 'Redis us' 'SQL/kv' 'kv/Redis')"
	pg_latency rank "SELECT rank('lb', 'p' || lpad(:k::text, 12, '0'));"; kv=$LAT_US
	pg_latency rank_sql "SELECT count(*) + 1 FROM scores WHERE score > (SELECT score FROM scores WHERE key = 'p' || lpad(:k::text, 12, '0'));"; base=$LAT_US
	redis_latency ZREVRANK lb p__rand_int__; rd=$LAT_US
	say "$(printf '%-10s %14s %14s %14s %12s %12s' RANK "$kv" "$base" "$rd" "$(awk -v a="$base" -v b="$kv" 'BEGIN { printf "%.0fx", a / b }')" "$(awk -v a="$kv" -v b="$rd" 'BEGIN { printf "%.2f", a / b }')")"
	RESULT[rank_$N]=$kv
	RESULT[rank_sql_$N]=$base
	rank_in_server
	say "RANK in the server (20000 RANKs in one statement): cold backend $COLD_US us, warm backend $WARM_US us per call; warm backend CPU $WARM_CPU_US us per call"
	RESULT[rank_cold_$N]=$COLD_US
	RESULT[rank_warm_$N]=$WARM_US
	RESULT[rank_cpu_$N]=$WARM_CPU_US
	pg_latency topk "SELECT * FROM topk('lb', 10);"; kv=$LAT_US
	pg_latency topk_sql "SELECT key FROM scores ORDER BY score DESC LIMIT 10;"; base=$LAT_US
	redis_latency ZREVRANGE lb 0 9; rd=$LAT_US
	say "$(printf '%-10s %14s %14s %14s %12s %12s' 'TOPK(10)' "$kv" "$base" "$rd" "$(awk -v a="$base" -v b="$kv" 'BEGIN { printf "%.1fx", a / b }')" "$(awk -v a="$kv" -v b="$rd" 'BEGIN { printf "%.2f", a / b }')")"
	RESULT[topk_$N]=$kv
	pg_latency range "SELECT * FROM range('lb', :lo, :lo + 99);"; kv=$LAT_US
	pg_latency range_sql "SELECT key, score FROM scores WHERE score BETWEEN :lo AND :lo + 99 ORDER BY score DESC;"; base=$LAT_US
	redis_latency ZRANGEBYSCORE lb __rand_int__ +inf LIMIT 0 100; rd=$LAT_US
	say "$(printf '%-10s %14s %14s %14s %12s %12s' 'RANGE(100)' "$kv" "$base" "$rd" "$(awk -v a="$base" -v b="$kv" 'BEGIN { printf "%.1fx", a / b }')" "$(awk -v a="$kv" -v b="$rd" 'BEGIN { printf "%.2f", a / b }')")"
	RESULT[range_$N]=$kv
done

# Churn at the largest size: RANK after random re-scores of a growing share of the entries.
N=$MAX_SIZE
if [ -n "$CHURN" ]; then
	say ""
	say "churn at $N entries (random re-scores of random keys; RANK of random keys, warm backend):"
	sql -c 'DROP INDEX IF EXISTS scores_score' >/dev/null # the SQL baselines' btree: not needed any more
	done_rows=0
	for f in $CHURN; do
		target=$(awk -v f="$f" -v n="$N" 'BEGIN { printf "%d", f * n }')
		while [ "$done_rows" -lt "$target" ]; do
			batch=$((target - done_rows < 1000000 ? target - done_rows : 1000000))
			sql -c "UPDATE scores SET score = (random() * ($N - 1))::bigint WHERE key IN
				(SELECT 'p' || lpad((random() * ($N - 1) + 1)::int::text, 12, '0') FROM generate_series(1, $batch))" >/dev/null
			done_rows=$((done_rows + batch))
		done
		sql -c 'VACUUM scores' >/dev/null
		rank_in_server
		say "after $f x N re-scores: RANK cold backend $COLD_US us, warm backend $WARM_US us, warm backend CPU $WARM_CPU_US us per call"
	done
fi

# Write overhead on KV_INCR: two copies of the largest table, one with a (built) kv_sorted index,
# measured alternately, best of 3 each (other load on the machine moves single runs a lot).
log "write overhead"
# The btree on score (the SQL baselines' index) goes first: both tables have only their primary key
# and, for one, the kv_sorted index.  (Any index on score, kv_sorted included, makes updates of the
# score non-HOT in PostgreSQL 15: that cost is part of what is measured.)
sql <<SQL
DROP INDEX IF EXISTS scores_score;
ALTER SYSTEM SET synchronous_commit = off;
SELECT pg_reload_conf();
DROP TABLE IF EXISTS scores_plain;
CREATE TABLE scores_plain (key text PRIMARY KEY, score bigint NOT NULL) USING kv;
INSERT INTO scores_plain SELECT key, score FROM scores;
VACUUM ANALYZE scores_plain;
CHECKPOINT;
SQL
for t in scores scores_plain; do
	printf '\\set k random(1, %s)\n\\set d random(1, 100)\nSELECT kv_incr(%s, %s, :d);\n' "$N" "'$t'" "'p' || lpad(:k::text, 12, '0')" >"$SCRIPTS/incr_$t.sql"
done
best_with=0; cpu_with=0; best_without=0; cpu_without=0
for round in 1 2 3; do
	measured_pgbench $((SECONDS_PER_RUN + 600)) -n -M prepared -c 1 -T "$SECONDS_PER_RUN" -f "$SCRIPTS/incr_scores.sql" postgres >/dev/null
	if awk -v a="$RUN_TPS" -v b="$best_with" 'BEGIN { exit !(a > b) }'; then best_with=$RUN_TPS; cpu_with=$RUN_CPU_US; fi
	measured_pgbench $((SECONDS_PER_RUN + 600)) -n -M prepared -c 1 -T "$SECONDS_PER_RUN" -f "$SCRIPTS/incr_scores_plain.sql" postgres >/dev/null
	if awk -v a="$RUN_TPS" -v b="$best_without" 'BEGIN { exit !(a > b) }'; then best_without=$RUN_TPS; cpu_without=$RUN_CPU_US; fi
done
say ""
say "KV_INCR at $N keys (synchronous_commit off, 1 client, best of 3): tps $best_without without, $best_with with one kv_sorted index ($(awk -v a="$best_with" -v b="$best_without" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }')); server CPU per transaction $cpu_without us vs $cpu_with us ($(awk -v a="$cpu_with" -v b="$cpu_without" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'))"

# Instructions per KV_INCR (callgrind, the backend only): the server restarted under valgrind; each
# table gets two connections of N1 and N2 transactions, and the difference of the two backends' totals
# divided by N2 - N1 is the per-transaction count (connection start and exit cancel out).
if [ "$INSTRUCTIONS" = yes ] && ! command -v valgrind >/dev/null; then
	log "valgrind not found: no instruction counts"
	INSTRUCTIONS=no
fi
if [ "$INSTRUCTIONS" = yes ]; then
	log "restart under callgrind for instruction counts"
	sql -c "SELECT sorted_count('lb')" >/dev/null
	callgrind_restart
	# The structure is rebuilt after the restart: a first query (outside the measured backends).
	sql -c "SELECT sorted_count('lb')" >/dev/null
	backend_instructions() { pgbench_instructions "$SCRIPTS/incr_$1.sql" "$2" 1200; } # <table> <transactions>
	declare -A INSTR
	for t in scores scores_plain; do
		n1=$(backend_instructions "$t" 1000)
		n2=$(backend_instructions "$t" 3000)
		INSTR[$t]=$(((n2 - n1) / 2000))
	done
	say "KV_INCR instructions per transaction (callgrind, the backend only): ${INSTR[scores_plain]} without, ${INSTR[scores]} with one kv_sorted index ($(awk -v a="${INSTR[scores]}" -v b="${INSTR[scores_plain]}" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'))"
fi
say ""
say "targets: RANK >= 1000x count(*) at 1M; latency growth 100k -> largest < 2x; write overhead <= 15%; bytes/entry <= Redis; build of 1M <= 2 s"
first=$(printf '%s\n' $SIZES | sort -n | head -1)
growth() { awk -v a="${RESULT[$1_$MAX_SIZE]}" -v b="${RESULT[$1_$first]}" 'BEGIN { printf "%.2fx", a / b }'; }
[ "$READS" = no ] || say "growth $first -> $MAX_SIZE (1/tps, one pgbench connection): RANK $(growth rank), TOPK $(growth topk), RANGE $(growth range); RANK in server: cold backend $(growth rank_cold), warm backend $(growth rank_warm), warm backend CPU $(growth rank_cpu)"
log "report: $REPORT"
