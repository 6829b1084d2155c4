#!/usr/bin/env bash
# Benchmark of the kv table access method against heap, in one run on one throwaway cluster:
# point SELECT by key, INSERT, UPDATE and a full sequential scan (pgbench, prepared statements), then
# the expiry worker's throughput.  Prints kv and heap figures side by side with their ratio and the
# issue's targets; never fails on a figure (timing is not a test).  See bench/README.md.
#   bench/tableam_bench.sh [--rows N] [--seconds N] [--runs N] [--expiry-rows N] [--workloads LIST]
# Defaults: 1,000,000 rows; per workload 10 pgbench runs of 2 s on each table, interleaved; 500,000
# rows for expiry.  LIST is a comma-separated subset of scan,select,update,insert,expiry (default all).
# Builds and installs into a private tree under $NODEDB_KV_TEST_OUT (default .test/)/bench, runs the
# server from a temp dir on 127.0.0.1 (as the user postgres when started as root) and stops it by pid
# on exit, error or interrupt.  The printed report is also saved in bench/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PG_CONFIG=${PG_CONFIG:-pg_config}
SECONDS_PER_RUN=2
ROWS=1000000
RUNS=10
EXPIRY_ROWS=500000
WORKLOADS=scan,select,update,insert,expiry
SERVER_USER=${NODEDB_KV_TEST_USER:-postgres}

usage() { sed -n '2,11s/^# \{0,1\}//p' "$0"; exit "${1:-2}"; }
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "$1 wants a positive integer, got '$2'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) positive "$1" "${2:-}"; SECONDS_PER_RUN=$2; shift 2 ;;
	--rows) positive "$1" "${2:-}"; ROWS=$2; shift 2 ;;
	--runs) positive "$1" "${2:-}"; RUNS=$2; shift 2 ;;
	--expiry-rows) positive "$1" "${2:-}"; EXPIRY_ROWS=$2; shift 2 ;;
	--workloads) WORKLOADS=${2:-}; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
done

for w in ${WORKLOADS//,/ }; do
	case $w in scan | select | update | insert | expiry) ;; *) echo "unknown workload: $w" >&2; usage ;; esac
done
wanted() { [[ ,$WORKLOADS, == *,$1,* ]]; }

OUT=${NODEDB_KV_TEST_OUT:-$ROOT/.test}/bench
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
REPORT=$RESULTS/tableam-$(date +%Y%m%d-%H%M%S).txt
. "$ROOT/bench/bench_lib.sh" # log, say, as_server_user; stops the server (PG_PID) on exit

# --- build, private install, cluster ---------------------------------------------------------------
log "build and private install into $OUT"
. "$ROOT/test/install_private.sh"
install_private "$ROOT" "$OUT" "$SERVER_USER"

start_cluster tableam_bench "# one backend per scan measures the access method, not parallelism
max_parallel_workers_per_gather = 0"

sql() { timeout --foreground 900 psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1 "$@"; }

# Seconds (float) the psql script on stdin takes.
timed_sql() {
	local t0 t1
	t0=$(date +%s.%N)
	sql >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}

sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION nodedb_kv"

report_header "nodedb_kv table AM benchmark" \
	"'shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'synchronous_commit', 'fsync', 'autovacuum', 'max_parallel_workers_per_gather', 'wal_level'" \
	"pgbench: -n -M prepared, $RUNS runs of ${SECONDS_PER_RUN} s per table and workload, kv and heap interleaved; medians"

# --- data -------------------------------------------------------------------------------------------
# Same shape on both sides: the kv table gets its expiry index automatically, heap gets it by hand.
# Keys 'key:1'..'key:N'; value 96 bytes; every 10th row expires in 100 years, the rest never.
log "load $ROWS rows into heap_t and kv_t"
sql <<SQL
CREATE TABLE heap_t (key text PRIMARY KEY, value text, expires timestamptz);
CREATE INDEX heap_t_expires_idx ON heap_t (expires);
CREATE TABLE kv_t (key text PRIMARY KEY, value text, expires kv_expiry) USING kv;
CREATE SEQUENCE heap_seq;
CREATE SEQUENCE kv_seq;
SQL
load_sql() { # load_sql <table>
	echo "INSERT INTO $1 SELECT 'key:' || i, repeat(md5(i::text), 3),
		CASE WHEN i % 10 = 0 THEN now() + interval '100 years' END FROM generate_series(1, $ROWS) i;"
}
load_heap=$(load_sql heap_t | timed_sql)
load_kv=$(load_sql kv_t | timed_sql)
sql -c "VACUUM ANALYZE heap_t" -c "VACUUM ANALYZE kv_t" -c "CHECKPOINT"
say "load ($ROWS rows, INSERT ... SELECT, indexes in place): heap ${load_heap} s, kv ${load_kv} s"
say "indexes: $(sql -c "SELECT string_agg(indexrelid::regclass::text, ', ' ORDER BY indexrelid::regclass::text)
	FROM pg_index WHERE indrelid IN ('heap_t'::regclass, 'kv_t'::regclass)")"
say "sizes: heap_t $(sql -c "SELECT pg_size_pretty(pg_table_size('heap_t'))"), kv_t $(sql -c "SELECT pg_size_pretty(pg_table_size('kv_t'))")"

# --- pgbench workloads --------------------------------------------------------------------------------
SCRIPTS=$TMP/scripts
mkdir -p "$SCRIPTS"
write_scripts() { # write_scripts <table> <sequence>
	cat >"$SCRIPTS/select_$1.sql" <<SQL
\set id random(1, :rows)
SELECT value FROM $1 WHERE key = 'key:' || :id;
SQL
	cat >"$SCRIPTS/insert_$1.sql" <<SQL
INSERT INTO $1 (key, value) VALUES ('new:' || nextval('$2'), repeat(md5(random()::text), 3));
SQL
	cat >"$SCRIPTS/update_$1.sql" <<SQL
\set id random(1, :rows)
UPDATE $1 SET value = repeat(md5(random()::text), 3) WHERE key = 'key:' || :id;
SQL
	cat >"$SCRIPTS/scan_$1.sql" <<SQL
SELECT count(*) FROM $1 WHERE value <> '';
SQL
}
write_scripts heap_t heap_seq
write_scripts kv_t kv_seq

# Busy clock ticks of the whole machine (all CPUs: user, nice, system) and CPU ticks of this script's reaped children
# (pgbench, psql): "busy own".  The difference to the server's ticks is other load on the machine.
machine_ticks() {
	local f t
	read -r -a f <<<"$(head -1 /proc/stat)" # cpu user nice system idle ...
	f=("${f[@]:1}")
	read -r -a t <<<"$(proc_times $$)"
	echo "$((f[0] + f[1] + f[2])) $((t[2] + t[3]))"
}

# One pgbench run: pgbench_run <script> <clients>.  Sets RUN_TPS and RUN_CPU_US (server CPU time per
# transaction, in microseconds).
pgbench_run() {
	measured_pgbench $((SECONDS_PER_RUN + 120)) -n -M prepared -c "$2" -j "$2" -T "$SECONDS_PER_RUN" -D rows="$ROWS" \
		-f "$1" postgres
}

# Median of the arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# Runs a workload on both tables, RUNS short runs each, interleaved heap kv kv heap heap kv ... so
# that both tables meet the same background load.  Sets TPS_KV / TPS_HEAP (median run),
# CPU_KV / CPU_HEAP (median server CPU µs per transaction) and RUNS_LINE (every run, for the record).
#   run_workload <name> <clients>
run_workload() {
	local name=$1 clients=$2 run order table entry
	local tps_kv=() tps_heap=() cpu_kv=() cpu_heap=() runs_kv="" runs_heap=""
	sql -c "VACUUM ANALYZE heap_t" -c "VACUUM ANALYZE kv_t" -c "CHECKPOINT"
	local m0 m1 s0 s1 t0 t1
	read -r -a m0 <<<"$(machine_ticks)"
	s0=$(server_cpu_ticks)
	t0=$(date +%s.%N)
	for run in $(seq 1 "$RUNS"); do
		if [ $((run % 2)) = 1 ]; then order="heap_t kv_t"; else order="kv_t heap_t"; fi
		for table in $order; do
			pgbench_run "$SCRIPTS/${name}_$table.sql" "$clients"
			log "$name $table run $run: $RUN_TPS tps, server CPU $RUN_CPU_US us/transaction"
			entry=$(awk -v t="$RUN_TPS" -v c="$RUN_CPU_US" 'BEGIN { printf " %.1f/%.0f", t, c }')
			if [ "$table" = kv_t ]; then
				tps_kv+=("$RUN_TPS") cpu_kv+=("$RUN_CPU_US") runs_kv+=$entry
			else
				tps_heap+=("$RUN_TPS") cpu_heap+=("$RUN_CPU_US") runs_heap+=$entry
			fi
		done
	done
	TPS_KV=$(median "${tps_kv[@]}") TPS_HEAP=$(median "${tps_heap[@]}")
	CPU_KV=$(median "${cpu_kv[@]}") CPU_HEAP=$(median "${cpu_heap[@]}")
	read -r -a m1 <<<"$(machine_ticks)"
	s1=$(server_cpu_ticks)
	t1=$(date +%s.%N)
	OTHER_LOAD=$(awk -v busy="$((m1[0] - m0[0]))" -v own="$((m1[1] - m0[1]))" -v server="$((s1 - s0))" \
		-v hz="$TICKS" -v a="$t0" -v b="$t1" 'BEGIN { x = (busy - own - server) / hz / (b - a); printf "%.2f", (x < 0 ? 0 : x) }')
	RUNS_LINE=$(printf '%-7s kv%s\n%9s heap%s\n%9s other processes used %s of %s cores meanwhile' "$name:" \
		"$runs_kv" "" "$runs_heap" "" "$OTHER_LOAD" "$(nproc)")
}

TABLE_LINES=()
RUN_LINES=()
# Adds one line to the result table from the last run_workload.
#   add_row <workload> <unit: tps | ms/scan> <target kv/heap ratio>
# For ms/scan the figures are 1000 / tps and the CPU column is ms per scan instead of us per
# transaction.  The verdict compares the ratio with the target; nothing fails on it.
add_row() {
	TABLE_LINES+=("$(awk -v w="$1" -v unit="$2" -v target="$3" -v tk="$TPS_KV" -v th="$TPS_HEAP" \
		-v ck="$CPU_KV" -v ch="$CPU_HEAP" 'BEGIN {
		if (unit == "tps") {
			kv = tk; heap = th; fmt = "%12.0f %12.0f"; cpu_fmt = "%9.1f %9.1f"; cscale = 1
			ok = kv / heap >= target; t = sprintf(">= %.2f", target)
		} else {
			kv = 1000 / tk; heap = 1000 / th; fmt = "%12.1f %12.1f"; cpu_fmt = "%9.1f %9.1f"; cscale = 1000
			ok = kv / heap <= target; t = sprintf("<= %.2f", target)
		}
		printf "%-30s " fmt " %8.3f  %-8s %-7s " cpu_fmt " %8.3f", w " (" unit ")", kv, heap, kv / heap, t,
			(ok ? "ok" : "MISSED"), ck / cscale, ch / cscale, ck / ch
	}')")
	RUN_LINES+=("$RUNS_LINE")
}

if wanted scan; then
	log "seq scan of $ROWS rows (1 client)"
	run_workload scan 1
	add_row "seq scan, $ROWS rows" ms/scan 1.20
fi
if wanted select; then
	log "point SELECT by key (2 clients)"
	run_workload select 2
	add_row "point SELECT by key" tps 0.90
fi
if wanted update; then
	log "UPDATE of value by key (2 clients)"
	run_workload update 2
	add_row "UPDATE value by key" tps 0.90
fi
if wanted insert; then
	log "INSERT of new keys (2 clients)"
	run_workload insert 2
	add_row "INSERT new key" tps 0.90
fi

if [ ${#TABLE_LINES[@]} -gt 0 ]; then
	say ""
	say "$(printf '%-30s %12s %12s %8s  %-8s %-7s %9s %9s %8s' workload kv heap kv/heap target verdict \
		'CPU kv' 'CPU heap' kv/heap)"
	for line in "${TABLE_LINES[@]}"; do say "$line"; done
	say "(medians of the runs; CPU: server CPU time, us per transaction or ms per scan)"
	say ""
	say "every run (tps/server CPU us per transaction):"
	for line in "${RUN_LINES[@]}"; do say "  $line"; done
fi

# --- expiry worker throughput ---------------------------------------------------------------------------
# EXPIRY_ROWS rows expire (at distinct instants, all within half a second) while the worker is switched
# off; once all have expired the worker is switched on and a session that sees expired rows
# (test_clock_offset = -1h) counts the rows still physically there every 50 ms until none is left.
# rows/s = EXPIRY_ROWS / (last row gone - worker switched on): the backlog is older than the start, so
# this is the time from the expiry instant to removal, including the wait for the worker's next tick.
if wanted expiry; then
	log "expiry: $EXPIRY_ROWS rows in kv_exp"
	sql >/dev/null <<SQL
ALTER SYSTEM SET nodedb_kv.ttl_enabled = off;
ALTER SYSTEM SET nodedb_kv.ttl_interval = '100ms';
ALTER SYSTEM SET nodedb_kv.ttl_batch_size = 10000;
SELECT pg_reload_conf();
CREATE TABLE kv_exp (key text PRIMARY KEY, value text, expires kv_expiry) USING kv;
INSERT INTO kv_exp SELECT 'key:' || i, repeat(md5(i::text), 3), kv_ttl(2 + i / 1e6)
	FROM generate_series(1, $EXPIRY_ROWS) i;
VACUUM ANALYZE kv_exp;
CHECKPOINT;
-- Counts kv_exp's physical rows every poll_s seconds until none is left (or timeout_s passed) and
-- returns when the first and the last row went, in seconds since t0.  Each count takes a new snapshot.
CREATE FUNCTION bench_wait_gone(t0 timestamptz, total bigint, poll_s float8, timeout_s float8,
	OUT first_gone_s float8, OUT all_gone_s float8, OUT polls int, OUT left_rows bigint)
LANGUAGE plpgsql AS \$\$
BEGIN
	polls := 0;
	LOOP
		SELECT count(*) INTO left_rows FROM kv_exp;
		polls := polls + 1;
		IF left_rows < total AND first_gone_s IS NULL THEN
			first_gone_s := extract(epoch FROM clock_timestamp() - t0);
		END IF;
		IF left_rows = 0 THEN
			all_gone_s := extract(epoch FROM clock_timestamp() - t0);
			RETURN;
		END IF;
		EXIT WHEN clock_timestamp() - t0 > make_interval(secs => timeout_s);
		PERFORM pg_sleep(poll_s);
	END LOOP;
END
\$\$;
SQL
	# Every row's expiry instant is before now (kv_ttl(2 + i/1e6) at load + 2.5 s); a fresh session
	# without the offset sees none of them.
	for _ in $(seq 1 300); do [ "$(sql -c "SELECT count(*) FROM kv_exp")" = 0 ] && break; sleep 0.2; done
	[ "$(sql -c "SET nodedb_kv.test_clock_offset = '-1h'" -c "SELECT count(*) FROM kv_exp")" = "$EXPIRY_ROWS" ] ||
		{ log "kv_exp lost rows before the worker was switched on"; exit 1; }
	result=$(sql -F' ' <<SQL
SET nodedb_kv.test_clock_offset = '-1h';
SELECT clock_timestamp() AS t0 \gset
ALTER SYSTEM SET nodedb_kv.ttl_enabled = on;
SELECT pg_reload_conf() \g /dev/null
SELECT * FROM bench_wait_gone(:'t0', $EXPIRY_ROWS, 0.05, 300);
SQL
	)
	read -r first_gone all_gone polls left <<<"$result"
	expired_counter=$(sql -c "SELECT expired FROM kv_stats WHERE collection = 'kv_exp'::regclass")
	say ""
	say "expiry worker (ttl_interval 100ms, ttl_batch_size 10000): $EXPIRY_ROWS expired rows, $polls polls"
	if [ "$left" = 0 ]; then
		say "$(awk -v n="$EXPIRY_ROWS" -v f="$first_gone" -v a="$all_gone" 'BEGIN {
			r = n / a
			printf "  first row gone after %.0f ms, all gone after %.2f s: %.0f rows/s (target >= 50000: %s)",
				f * 1000, a, r, (r >= 50000 ? "ok" : "MISSED")
		}')"
		say "  (resolution: one poll, every $(awk -v a="$all_gone" -v p="$polls" 'BEGIN { printf "%.0f", a * 1000 / p }') ms on average)"
	else
		say "  $left rows still there after 300 s (first row gone after ${first_gone:-never} s): MISSED"
	fi
	say "  kv_stats.expired for kv_exp: ${expired_counter:-none}"
fi

say ""
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
say "report saved in ${REPORT#"$ROOT"/}"
