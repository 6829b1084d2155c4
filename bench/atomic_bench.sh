#!/usr/bin/env bash
# Benchmark of the atomic operations against their SQL equivalents, in one run on one throwaway
# cluster (pgbench, prepared statements, 2 and 50 clients, synchronous_commit off and on):
#   counters: SELECT KV_INCR(...) on a kv table vs UPDATE ... SET n = n + 1 ... RETURNING n and
#             INSERT ... ON CONFLICT DO UPDATE ... RETURNING n, each on a heap table and on the kv
#             table (the kv-table baselines separate the access method's cost from the function's);
#   rate gates: RATE_CHECK vs the same fixed-window check-and-count in PL/pgSQL on an unlogged heap
#             table (kv_rate_gates is unlogged too) and on a logged one.
# Keys are drawn uniformly from N preloaded keys.  Each (synchronous_commit, clients) pair runs every
# workload RUNS times, rounds alternating the order, best run kept.  Prints tps and server CPU per
# transaction with their ratios to the best SQL baseline of the same group, clients and
# synchronous_commit, then the issue's targets (KV_INCR >= 1.2x the best SQL baseline with
# synchronous_commit off, >= 1.0x with it on); never fails on a figure (timing is not a test).
# Defaults (5 s x 2 rounds x 8 workloads x 4 configurations) take about 6 minutes.
# Then, unless --no-instructions (or without valgrind), restarts the server under callgrind and counts
# the instructions one backend executes per transaction of each workload (sync off, 1 client):
# exact and repeatable, unlike tps on a shared 2-core machine.
#   bench/atomic_bench.sh [--seconds N] [--keys N] [--runs N] [--clients "2 50"] [--only counters|rate]
#                         [--no-instructions]
# Builds and installs into a private tree under $NODEDB_KV_TEST_OUT (default .test/)/atomic-bench,
# runs the server from a temp dir on 127.0.0.1 (as the user postgres when started as root) and stops
# it by pid on exit, error or interrupt.  The printed report is also saved in bench/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
SECONDS_PER_RUN=5
KEYS=100000
RUNS=2
CLIENTS="2 50"
ONLY=""
INSTRUCTIONS=yes
SERVER_USER=${NODEDB_KV_TEST_USER:-postgres}

usage() { sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 2; }
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "$1 wants a positive integer, got '$2'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) positive "$1" "${2:-}"; SECONDS_PER_RUN=$2; shift 2 ;;
	--keys) positive "$1" "${2:-}"; KEYS=$2; shift 2 ;;
	--runs) positive "$1" "${2:-}"; RUNS=$2; shift 2 ;;
	--clients) for c in ${2:-}; do positive "$1" "$c"; done; CLIENTS=${2:-}; [ -n "$CLIENTS" ] || usage; shift 2 ;;
	--only) case ${2:-} in counters | rate) ONLY=$2 ;; *) usage ;; esac; shift 2 ;;
	--no-instructions) INSTRUCTIONS=no; shift ;;
	-h | --help) usage ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
done
MAX_CLIENTS=$(printf '%s\n' $CLIENTS | sort -n | tail -1)

OUT=${NODEDB_KV_TEST_OUT:-$ROOT/.test}/atomic-bench
RESULTS=$ROOT/bench/results
REPORT=$RESULTS/atomic-$(date +%Y%m%d-%H%M%S).txt
. "$ROOT/bench/bench_lib.sh" # log, say, as_server_user; stops the server (PG_PID) on exit

# --- build, private install ---------------------------------------------------------------------------
# As test/run does: PostgreSQL finds lib/ and share/ relative to its binaries, so a copy of the
# system's tree plus `make install DESTDIR=` is a private install; the system's tree is not touched.
log "build and private install into $OUT"
"$ROOT/.ci/deps"
. "$ROOT/test/install_private.sh"
install_private "$ROOT" "$OUT" "$SERVER_USER"
mkdir -p "$RESULTS"

# --- throwaway cluster ----------------------------------------------------------------------------------
start_cluster atomic_bench "max_connections = $((MAX_CLIENTS + 70 > 120 ? MAX_CLIENTS + 70 : 120))"

sql() { timeout 600 psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1 "$@"; }

# --- schema and data ------------------------------------------------------------------------------------
# RATE_CHECK's logic in PL/pgSQL: a fixed window anchored at its first hit, check and count in one
# atomic upsert (the window restarts in place once it has ended), a denied call still counts, 54001
# over the limit, the same jsonb on success.  rate_check_plpgsql <function name> <table>
rate_check_plpgsql() {
	cat <<SQL
CREATE FUNCTION $1(p_gate text, p_key text, p_max integer, p_window integer) RETURNS jsonb LANGUAGE plpgsql AS \$\$
DECLARE
	c bigint;
	w timestamptz;
	retry bigint;
BEGIN
	IF p_gate IS NULL OR p_key IS NULL OR p_max IS NULL OR p_window IS NULL OR p_max <= 0 OR p_window <= 0 THEN
		RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'rate check: bad arguments';
	END IF;
	INSERT INTO $2 AS r (gate, key, hits, window_end)
		VALUES (p_gate, p_key, 1, now() + make_interval(secs => p_window))
		ON CONFLICT (gate, key) DO UPDATE
		SET hits = CASE WHEN r.window_end <= now() THEN 1 ELSE r.hits + 1 END,
			window_end = CASE WHEN r.window_end <= now() THEN excluded.window_end ELSE r.window_end END
		RETURNING r.hits, r.window_end INTO c, w;
	IF c > p_max THEN
		retry := greatest(0, (extract(epoch FROM w - now()) * 1000)::bigint);
		RAISE EXCEPTION USING ERRCODE = '54001',
			MESSAGE = format('rate limit exceeded for %s:%s, retry after %sms (current=%s, max=%s)',
							 p_gate, p_key, retry, c, p_max),
			DETAIL = format('retry_after_ms=%s', retry);
	END IF;
	RETURN jsonb_build_object('allowed', true, 'current', c, 'max_count', p_max, 'remaining', p_max - c);
END
\$\$;
SQL
}

log "schema, $KEYS keys per table"
sql <<SQL
SET client_min_messages = warning;
CREATE EXTENSION nodedb_kv;
-- Counters: the same shape on a kv table (KV_INCR and the kv-table SQL baselines) and a heap table.
CREATE TABLE counters (key text PRIMARY KEY, n bigint) USING kv;
CREATE TABLE counters_heap (key text PRIMARY KEY, n bigint);
INSERT INTO counters SELECT i::text, 0 FROM generate_series(1, $KEYS) i;
INSERT INTO counters_heap SELECT i::text, 0 FROM generate_series(1, $KEYS) i;

CREATE UNLOGGED TABLE rate_heap (gate text, key text, hits bigint NOT NULL, window_end timestamptz NOT NULL,
	PRIMARY KEY (gate, key));
CREATE TABLE rate_heap_logged (LIKE rate_heap INCLUDING ALL);
$(rate_check_plpgsql rate_check_plpgsql rate_heap)
$(rate_check_plpgsql rate_check_plpgsql_logged rate_heap_logged)
SQL
# Preload one counter per key in each gate (window 1 hour, so none expires during the run).
sql <<SQL
SELECT count(rate_check('bench', i::text, 1000000000, 3600)) FROM generate_series(1, $KEYS) i;
SELECT count(rate_check_plpgsql('bench', i::text, 1000000000, 3600)) FROM generate_series(1, $KEYS) i;
SELECT count(rate_check_plpgsql_logged('bench', i::text, 1000000000, 3600)) FROM generate_series(1, $KEYS) i;
VACUUM ANALYZE;
CHECKPOINT;
SQL

# --- workloads ------------------------------------------------------------------------------------------
# name|group|kind|statement   (kind: nodedb_kv = the function measured, sql = a baseline)
WORKLOADS=(
	"KV_INCR (kv)|counters|nodedb_kv|SELECT kv_incr('counters', :k, 1);"
	"UPDATE RETURNING (heap)|counters|sql|UPDATE counters_heap SET n = n + 1 WHERE key = :k RETURNING n;"
	"UPSERT RETURNING (heap)|counters|sql|INSERT INTO counters_heap AS c (key, n) VALUES (:k, 1) ON CONFLICT (key) DO UPDATE SET n = c.n + 1 RETURNING n;"
	"UPDATE RETURNING (kv)|counters|sql|UPDATE counters SET n = n + 1 WHERE key = :k RETURNING n;"
	"UPSERT RETURNING (kv)|counters|sql|INSERT INTO counters AS c (key, n) VALUES (:k, 1) ON CONFLICT (key) DO UPDATE SET n = c.n + 1 RETURNING n;"
	"RATE_CHECK|rate|nodedb_kv|SELECT rate_check('bench', :k, 1000000000, 3600);"
	"PL/pgSQL (unlogged heap)|rate|sql|SELECT rate_check_plpgsql('bench', :k, 1000000000, 3600);"
	"PL/pgSQL (logged heap)|rate|sql|SELECT rate_check_plpgsql_logged('bench', :k, 1000000000, 3600);"
)
SCRIPTS=$TMP/scripts
mkdir -p "$SCRIPTS"
selected=()
for i in "${!WORKLOADS[@]}"; do
	IFS='|' read -r _ group _ statement <<<"${WORKLOADS[$i]}"
	[ -z "$ONLY" ] || [ "$ONLY" = "$group" ] || continue
	printf '\\set k random(1, %d)\n%s\n' "$KEYS" "$statement" >"$SCRIPTS/$i.sql"
	selected+=("$i")
done


# One pgbench run: pgbench_run <workload index> <clients> <synchronous_commit> <seconds>.  Sets
# RUN_TPS and RUN_CPU_US (server CPU time per transaction, microseconds).
pgbench_run() {
	PGOPTIONS="-c synchronous_commit=$3" measured_pgbench $(($4 + 60)) -n -M prepared -c "$2" -j $(($2 < 2 ? $2 : 2)) \
		-T "$4" -f "$SCRIPTS/$1.sql" postgres || return 1
	RUN_CPU_US=$(printf '%.1f' "$RUN_CPU_US")
}

prepare_run() { sql -c "VACUUM counters, counters_heap, rate_heap, rate_heap_logged, kv_rate_gates" -c "CHECKPOINT"; }

report_header "nodedb_kv atomic operations benchmark" \
	"'shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'fsync', 'wal_sync_method', 'autovacuum', 'max_connections', 'wal_level'" \
	"pgbench -n -M prepared -j 2, ${SECONDS_PER_RUN} s per run, best of $RUNS; keys: random(1, $KEYS), all preloaded"

# Warm-up: every workload once, 2 s, 2 clients (caches, first non-HOT update of each row).
log "warm-up"
for i in "${selected[@]}"; do pgbench_run "$i" 2 off 2; done

# Measurement: for each (synchronous_commit, clients) every workload in turn, RUNS rounds.
declare -A TPS CPU ALL ALLCPU
for sync in off on; do
	for clients in $CLIENTS; do
		for round in $(seq 1 "$RUNS"); do
			order=("${selected[@]}")
			[ $((round % 2)) = 1 ] || order=($(printf '%s\n' "${selected[@]}" | tac))
			for i in "${order[@]}"; do
				IFS='|' read -r name _ _ _ <<<"${WORKLOADS[$i]}"
				prepare_run
				pgbench_run "$i" "$clients" "$sync" "$SECONDS_PER_RUN"
				log "sync=$sync clients=$clients round $round: $name: $RUN_TPS tps, server CPU $RUN_CPU_US us/transaction"
				key="$i,$clients,$sync"
				ALL[$key]="${ALL[$key]:-}${ALL[$key]:+ }$(printf '%.0f' "$RUN_TPS")"
				ALLCPU[$key]="${ALLCPU[$key]:-}${ALLCPU[$key]:+ }$RUN_CPU_US"
				if [ -z "${TPS[$key]:-}" ] || awk -v a="$RUN_TPS" -v b="${TPS[$key]}" 'BEGIN { exit !(a > b) }'; then
					TPS[$key]=$RUN_TPS
				fi
				if [ -z "${CPU[$key]:-}" ] || awk -v a="$RUN_CPU_US" -v b="${CPU[$key]}" 'BEGIN { exit !(a < b) }'; then
					CPU[$key]=$RUN_CPU_US
				fi
			done
		done
	done
done

# --- server instructions per transaction (callgrind) ----------------------------------------------------
# The tables keep the page state the runs above left (pruning state, HOT chains).  Each workload runs
# in two connections of N1 and N2 transactions; the difference of the two backends' totals divided by
# N2 - N1 is the per-transaction count (connection start and exit cancel out).
declare -A INSTR
INSTR_N1=1000
INSTR_N2=3000
if [ "$INSTRUCTIONS" = yes ] && ! command -v valgrind >/dev/null; then
	log "valgrind not found: no instruction counts"
	INSTRUCTIONS=no
fi
if [ "$INSTRUCTIONS" = yes ]; then
	log "restart under callgrind for instruction counts"
	callgrind_restart
	# backend_instructions <workload index> <transactions>: instructions of the backend that ran them.
	backend_instructions() { pgbench_instructions "$SCRIPTS/$1.sql" "$2"; }
	for i in "${selected[@]}"; do
		IFS='|' read -r name _ _ _ <<<"${WORKLOADS[$i]}"
		n1=$(backend_instructions "$i" "$INSTR_N1")
		n2=$(backend_instructions "$i" "$INSTR_N2")
		INSTR[$i]=$(((n2 - n1) / (INSTR_N2 - INSTR_N1)))
		log "$name: ${INSTR[$i]} instructions per transaction"
	done
fi

# --- report ---------------------------------------------------------------------------------------------
# best_baseline <tps|cpu> <group> <clients> <sync> [heap]: among the group's SQL baselines (only the
# heap-table ones with "heap"), the highest tps or the lowest server CPU per transaction.
best_baseline() {
	local best="" i name group kind value
	for i in "${selected[@]}"; do
		IFS='|' read -r name group kind _ <<<"${WORKLOADS[$i]}"
		[ "$group" = "$2" ] && [ "$kind" = sql ] || continue
		[ -z "${5:-}" ] || [[ $name == *heap* ]] || continue
		if [ "$1" = tps ]; then value=${TPS[$i,$3,$4]}; else value=${CPU[$i,$3,$4]}; fi
		best=$(awk -v a="$best" -v b="$value" -v m="$1" \
			'BEGIN { print (a == "" || (m == "tps" ? b > a : b < a)) ? b : a }')
	done
	echo "$best"
}

say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine skew tps; server CPU us/txn less so)"
say ""
say "$(printf '%-25s %7s %11s %9s %11s %10s %11s' workload clients sync_commit tps 'x best SQL' 'CPU us/txn' 'x best SQL')"
VERDICTS=()
for group in counters rate; do
	for sync in off on; do
		for clients in $CLIENTS; do
			best=$(best_baseline tps "$group" "$clients" "$sync")
			best_cpu=$(best_baseline cpu "$group" "$clients" "$sync")
			[ -n "$best" ] || continue
			for i in "${selected[@]}"; do
				IFS='|' read -r name g kind _ <<<"${WORKLOADS[$i]}"
				[ "$g" = "$group" ] || continue
				tps=${TPS[$i,$clients,$sync]} cpu=${CPU[$i,$clients,$sync]}
				ratio=$(awk -v a="$tps" -v b="$best" 'BEGIN { printf "%.2f", a / b }')
				cpu_ratio=$(awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { printf "%.2f", b / a }')
				mark="" cpu_mark=""
				if [ "$kind" = sql ]; then
					[ "$tps" = "$best" ] && mark="*"
					[ "$cpu" = "$best_cpu" ] && cpu_mark="*"
				fi
				say "$(printf '%-25s %7s %11s %9.0f %10s%1s %10s %10s%1s' "$name" "$clients" "$sync" "$tps" "$ratio" "$mark" \
					"$cpu" "$cpu_ratio" "$cpu_mark")"
				if [ "$kind" = nodedb_kv ]; then
					target=1.00
					[ "$group" = counters ] && [ "$sync" = off ] && target=1.20
					heap_ratio=$(awk -v a="$tps" -v b="$(best_baseline tps "$group" "$clients" "$sync" heap)" \
						'BEGIN { printf "%.2f", a / b }')
					verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t ? "ok" : "MISSED") }')
					VERDICTS+=("$(printf '%-10s clients=%-3s sync=%-3s %5sx best SQL baseline (%sx best heap-table one), target >= %s: %s' \
						"${name%% *}" "$clients" "$sync" "$ratio" "$heap_ratio" "$target" "$verdict")")
				fi
			done
			say ""
		done
	done
done
say "tps: best of $RUNS runs; CPU: server CPU time per transaction (postmaster and all its processes,"
say "pgbench excluded), lowest of the runs.  x best SQL: tps / best SQL baseline's tps, and best SQL"
say "baseline's CPU / this CPU (both > 1 = better than SQL); * marks the best baseline."
say ""
say "targets (issue): KV_INCR >= 1.20x the best SQL baseline with synchronous_commit off, never slower"
say "(>= 1.00x) with it on; RATE_CHECK is held to >= 1.00x its PL/pgSQL equivalent here."
for line in "${VERDICTS[@]}"; do say "  $line"; done
if [ "$INSTRUCTIONS" = yes ]; then
	# best_instr <group> [heap]: the lowest count among the group's SQL baselines
	best_instr() {
		local best="" i name group kind
		for i in "${selected[@]}"; do
			IFS='|' read -r name group kind _ <<<"${WORKLOADS[$i]}"
			[ "$group" = "$1" ] && [ "$kind" = sql ] || continue
			[ -z "${2:-}" ] || [[ $name == *heap* ]] || continue
			[ -z "$best" ] || [ "${INSTR[$i]}" -lt "$best" ] && best=${INSTR[$i]}
		done
		echo "$best"
	}
	say ""
	say "server instructions per transaction (callgrind, the backend only; sync off, 1 client, after the runs):"
	say "$(printf '%-25s %12s %11s %16s' workload instructions 'x best SQL' 'x best heap SQL')"
	for group in counters rate; do
		best=$(best_instr "$group")
		[ -n "$best" ] || continue
		best_heap=$(best_instr "$group" heap)
		for i in "${selected[@]}"; do
			IFS='|' read -r name g kind _ <<<"${WORKLOADS[$i]}"
			[ "$g" = "$group" ] || continue
			say "$(printf '%-25s %12d %11.2f %16.2f' "$name" "${INSTR[$i]}" "$(awk -v a="${INSTR[$i]}" -v b="$best" 'BEGIN { print b / a }')" \
				"$(awk -v a="${INSTR[$i]}" -v b="$best_heap" 'BEGIN { print b / a }')")"
		done
	done
	say "(x: the baseline's count / this count, > 1 = fewer instructions than SQL)"
fi
if [ "$RUNS" -gt 1 ]; then
	say ""
	say "every run (tps / server CPU us per transaction, in run order):"
	for i in "${selected[@]}"; do
		IFS='|' read -r name _ _ _ <<<"${WORKLOADS[$i]}"
		for sync in off on; do
			for clients in $CLIENTS; do
				say "  $(printf '%-25s c=%-3s sync=%-3s %s / %s' "$name" "$clients" "$sync" "${ALL[$i,$clients,$sync]}" \
					"${ALLCPU[$i,$clients,$sync]}")"
			done
		done
	done
fi
say ""
say "report saved in ${REPORT#"$ROOT"/}"
