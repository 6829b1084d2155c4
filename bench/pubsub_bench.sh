#!/usr/bin/env bash
# Benchmark of pub/sub against redis-server, in one run on this machine:
#   1. fan-out throughput: 1 publisher (pipelined PUBLISH, 64-byte payloads), 1 / 10 / 100 subscribers on
#      one channel; messages delivered per second (to all subscribers) and its ratio to redis-server;
#   2. publish -> receive latency p50/p99 (one message in flight), ours and redis-server's;
#   3. SQL commit -> change event latency p50/p99 (INSERTs through libpq; the event's commit timestamp_ms
#      against the wall clock when it arrives, so 1 ms resolution), synchronous_commit on and off, and
#      beside it the INSERT's acknowledgement and the event's arrival after it (client clock);
#   4. write overhead with no subscriber: a backend doing single-row INSERTs under callgrind
#      (postgres --single), instructions per INSERT in total and in the pub/sub capture consumers;
#   5. instructions per delivery of the fan-out runs (the RESP worker and redis-server under callgrind).
# The same client code (one Python process, non-blocking sockets) drives both servers.  Never fails on a
# figure (timing is not a test).
#   bench/pubsub_bench.sh [--messages N] [--samples N] [--no-callgrind]
# Builds and installs into a private tree under $NODEDB_KV_TEST_OUT (default .test/)/pubsub-bench, runs
# PostgreSQL and redis-server on 127.0.0.1 free ports and stops them (by pid) on exit.  The report is
# also saved in bench/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MESSAGES=20000
SAMPLES=2000
CALLGRIND=1
SERVER_USER=${NODEDB_KV_TEST_USER:-postgres}
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
	case $1 in
	--messages) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "--messages wants a positive integer" >&2; exit 2; }
		MESSAGES=$2; shift 2 ;;
	--samples) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "--samples wants a positive integer" >&2; exit 2; }
		SAMPLES=$2; shift 2 ;;
	--no-callgrind) CALLGRIND=0; shift ;;
	*) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
OUT=${NODEDB_KV_TEST_OUT:-$ROOT/.test}/pubsub-bench
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
REPORT=$RESULTS/pubsub-$(date +%Y%m%d-%H%M%S).txt
. "$ROOT/bench/bench_lib.sh"
REDIS_PID=""
trap 'st=$?; [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null; stop_redis; (exit $st); cleanup' EXIT

log "build and private install into $OUT"
"$ROOT/.ci/deps"
. "$ROOT/test/install_private.sh"
install_private "$ROOT" "$OUT" "$SERVER_USER" || exit 1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RESP_PORT=$(free_port)
start_cluster pubsub_bench "nodedb_kv.resp_port = $RESP_PORT
nodedb_kv.resp_listen_addresses = '127.0.0.1'
nodedb_kv.resp_anonymous_role = 'postgres'
nodedb_kv.ttl_enabled = off"
sql() { as_server_user psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtX "$@"; }
sql -c "CREATE EXTENSION nodedb_kv" -c "CREATE TABLE lat (key text PRIMARY KEY, v text) USING kv"

REDIS_PORT=$(free_port)
mkdir -p "$TMP/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP/redis" \
	--daemonize yes --pidfile "$TMP/redis/redis.pid" --logfile "$TMP/redis/redis.log" >/dev/null
for _ in $(seq 1 50); do [ -s "$TMP/redis/redis.pid" ] && break; sleep 0.1; done
REDIS_PID=$(cat "$TMP/redis/redis.pid")

report_header "pub/sub benchmark ($MESSAGES messages per fan-out run, $SAMPLES latency samples)" \
	"'synchronous_commit','nodedb_kv.resp_workers','nodedb_kv.pubsub_memory'" \
	"targets: fan-out throughput >= 0.5x redis; publish->receive p99 <= 2x redis; SQL commit->event p99 <= 5 ms; write overhead with no subscriber <= 2% server instructions"

cat >"$TMP/pubsub_bench.py" <<'PY'
import os, select, socket, subprocess, sys, time

def conn(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf

def frame_len(channel, payload):
    parts = [b"message", channel, payload]
    return len(b"*3\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))

def fanout(port, subs, messages):
    channel = b"bench"
    payload = b"x" * 64
    socks = [conn(port) for _ in range(subs)]
    ack = len(b"*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n")
    for s in socks:
        s.sendall(cmd("SUBSCRIBE", channel))
        read_exact(s, ack)
    pub = conn(port)
    want = frame_len(channel, payload) * messages
    got = {s.fileno(): 0 for s in socks}
    for s in socks:
        s.setblocking(False)
    batch = cmd("PUBLISH", channel, payload) * 100
    sent = 0
    pub.setblocking(False)
    pending = b""
    t0 = time.perf_counter()
    done = 0
    while done < subs:
        if sent < messages and not pending:
            pending = batch
            sent += 100
        wl = [pub] if pending else []
        r, w, _ = select.select(socks + [pub], wl, [], 30)
        if not r and not w:
            raise TimeoutError("fan-out stalled")
        if pending and w:
            n = pub.send(pending)
            pending = pending[n:]
        for s in r:
            if s is pub:
                s.recv(1 << 20)  # integer replies
                continue
            data = s.recv(1 << 20)
            if not data:
                raise EOFError("subscriber closed")
            before = got[s.fileno()]
            got[s.fileno()] = before + len(data)
            if before < want <= got[s.fileno()]:
                done += 1
    elapsed = time.perf_counter() - t0
    for s in socks + [pub]:
        s.close()
    return messages * subs / elapsed

def latency(port, samples):
    sub, pub = conn(port), conn(port)
    sub.sendall(cmd("SUBSCRIBE", "lat"))
    read_exact(sub, len(b"*3\r\n$9\r\nsubscribe\r\n$3\r\nlat\r\n:1\r\n"))
    payload = b"y" * 64
    n = frame_len(b"lat", payload)
    reply = len(b":1\r\n")
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        pub.sendall(cmd("PUBLISH", "lat", payload))
        read_exact(sub, n)
        out.append((time.perf_counter() - t0) * 1e6)
        read_exact(pub, reply)
    sub.close(); pub.close()
    out.sort()
    return out[len(out) // 2], out[int(len(out) * 0.99)]

def commit_event(port, samples, sync, conninfo):
    """INSERTs through libpq (ctypes), each its own transaction, one at a time; per sample the change
    event's arrival against its commit timestamp, and, on the client's clock from sending the INSERT,
    the INSERT's acknowledgement and the event's arrival: an event held past its own WAL flush (a later
    flush, a timer) arrives well after the acknowledgement."""
    import ctypes, ctypes.util, json
    pq = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
    pq.PQconnectdb.restype = ctypes.c_void_p
    pq.PQconnectdb.argtypes = [ctypes.c_char_p]
    pq.PQstatus.argtypes = [ctypes.c_void_p]
    pq.PQexec.restype = ctypes.c_void_p
    pq.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    pq.PQresultStatus.argtypes = [ctypes.c_void_p]
    pq.PQclear.argtypes = [ctypes.c_void_p]
    pq.PQfinish.argtypes = [ctypes.c_void_p]
    db = pq.PQconnectdb(conninfo.encode())
    if pq.PQstatus(db) != 0:
        raise RuntimeError("libpq connection failed: " + conninfo)

    def run(q):
        r = pq.PQexec(db, q.encode())
        status = pq.PQresultStatus(r)
        pq.PQclear(r)
        if status not in (1, 2):  # PGRES_COMMAND_OK, PGRES_TUPLES_OK
            raise RuntimeError("failed: " + q)

    sub = conn(port)
    sub.sendall(cmd("SUBSCRIBE", "lat"))
    read_exact(sub, len(b"*3\r\n$9\r\nsubscribe\r\n$3\r\nlat\r\n:1\r\n"))
    run(f"SET synchronous_commit = {sync}")
    buf = b""
    lag, ack, after = [], [], []
    for i in range(samples):
        t0 = time.perf_counter()
        run(f"INSERT INTO lat VALUES ('k{i}', 'v') ON CONFLICT (key) DO UPDATE SET v = 'w'")
        t1 = time.perf_counter()
        while buf.count(b"\r\n") < 7:
            buf += sub.recv(1 << 16)
        t2 = time.perf_counter()
        now_ms = time.time() * 1000
        lines = buf.split(b"\r\n", 7)
        body = lines[6]
        buf = lines[7]
        ev = json.loads(body)
        lag.append(now_ms - ev["timestamp_ms"])
        ack.append((t1 - t0) * 1000)
        after.append((t2 - t1) * 1000)  # the event may also arrive before the acknowledgement: then ~0
    pq.PQfinish(db)
    sub.close()
    out = []
    for v in (lag, ack, after):
        v.sort()
        out += [v[len(v) // 2], v[int(len(v) * 0.99)]]
    return tuple(out)

def fsync_latency(data, samples):
    """fdatasync of 8 kB appended to a file in the data directory (the WAL flush's disk work), in ms."""
    path = os.path.join(data, "bench_fsync_probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    block = b"x" * 8192
    out = []
    try:
        for _ in range(samples):
            os.write(fd, block)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    out.sort()
    return out[len(out) // 2], out[int(len(out) * 0.99)]

mode = sys.argv[1]
if mode == "fsync":
    print("%.2f %.2f" % fsync_latency(sys.argv[2], int(sys.argv[3])))
elif mode == "fanout":
    print("%.0f" % fanout(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
elif mode == "latency":
    print("%.0f %.0f" % latency(int(sys.argv[2]), int(sys.argv[3])))
elif mode == "commit":
    print("%.2f %.2f %.2f %.2f %.2f %.2f" % commit_event(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]))
PY

# Server CPU (user + system, all of the server's processes) per delivery, beside the rate: on a loaded
# 2-core machine the rate is bound by the client and the load; the CPU the server spends is its own.
redis_cpu_ticks() { local t; read -r -a t <<<"$(proc_times "$REDIS_PID")"; echo $((t[0] + t[1])); }
declare -A MPS CPU
for subs in 1 10 100; do
	n=$MESSAGES
	[ "$subs" = 100 ] && n=$((MESSAGES / 4))
	for target in "redis:$REDIS_PORT" "kv:$RESP_PORT"; do
		IFS=: read -r label port <<<"$target"
		if [ "$label" = redis ]; then t0=$(redis_cpu_ticks); else t0=$(server_cpu_ticks); fi
		MPS[$label/$subs]=$($PY "$TMP/pubsub_bench.py" fanout "$port" "$subs" "$n")
		if [ "$label" = redis ]; then t1=$(redis_cpu_ticks); else t1=$(server_cpu_ticks); fi
		# microseconds of server CPU per 1000 deliveries
		CPU[$label/$subs]=$(awk -v d=$((t1 - t0)) -v hz="$TICKS" -v n=$((n * subs)) 'BEGIN { printf "%.0f", d * 1e9 / hz / n }')
		log "fan-out $label $subs subscribers: ${MPS[$label/$subs]} deliveries/s, ${CPU[$label/$subs]} us CPU per 1000"
	done
done
read -r R50 R99 < <($PY "$TMP/pubsub_bench.py" latency "$REDIS_PORT" "$SAMPLES")
read -r K50 K99 < <($PY "$TMP/pubsub_bench.py" latency "$RESP_PORT" "$SAMPLES")
CONNINFO="host=127.0.0.1 port=$PORT user=postgres dbname=postgres"
read -r C50 C99 A50 A99 G50 G99 < <($PY "$TMP/pubsub_bench.py" commit "$RESP_PORT" "$SAMPLES" on "$CONNINFO")
read -r D50 D99 _ < <($PY "$TMP/pubsub_bench.py" commit "$RESP_PORT" "$SAMPLES" off "$CONNINFO")
# Where the synchronous_commit time goes: the same with fsync off (the commit still writes its WAL and
# waits for that write, only the disk's flush is gone), the disk's own fdatasync latency (8 kB writes
# to a file beside pg_wal, as the WAL flush does), and the server's WAL sync count and time.
sql -c "ALTER SYSTEM SET track_wal_io_timing = on" -c "SELECT pg_reload_conf()" >/dev/null
sql -c "SELECT pg_stat_reset_shared('wal')" >/dev/null
read -r C50B C99B _ < <($PY "$TMP/pubsub_bench.py" commit "$RESP_PORT" "$SAMPLES" on "$CONNINFO")
read -r WSYNC WSYNCMS < <(sql -F' ' -c "SELECT wal_sync, round((wal_sync_time / greatest(wal_sync, 1))::numeric, 3) FROM pg_stat_wal")
sql -c "ALTER SYSTEM SET fsync = off" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1 # the reload reaches the backends (not a measurement)
read -r F50 F99 _ < <($PY "$TMP/pubsub_bench.py" commit "$RESP_PORT" "$SAMPLES" on "$CONNINFO")
sql -c "ALTER SYSTEM RESET fsync" -c "ALTER SYSTEM RESET track_wal_io_timing" -c "SELECT pg_reload_conf()" >/dev/null
read -r S50 S99 < <(as_server_user $PY "$TMP/pubsub_bench.py" fsync "$DATA" "$SAMPLES")
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

say ""
say "fan-out, 64-byte messages, deliveries per second (messages x subscribers / time to the last delivery):"
say "$(printf '  %-14s %12s %12s %8s' subscribers redis nodedb_kv ratio)"
for subs in 1 10 100; do
	say "$(printf '  %-14s %12s %12s %8s' "$subs" "${MPS[redis/$subs]}" "${MPS[kv/$subs]}" "$(ratio "${MPS[kv/$subs]}" "${MPS[redis/$subs]}")")"
done
say "server CPU per 1000 deliveries (us, user + system of every server process; lower is better):"
say "$(printf '  %-14s %12s %12s %8s' subscribers redis nodedb_kv ours/redis)"
for subs in 1 10 100; do
	say "$(printf '  %-14s %12s %12s %8s' "$subs" "${CPU[redis/$subs]}" "${CPU[kv/$subs]}" "$(ratio "${CPU[kv/$subs]}" "${CPU[redis/$subs]}")")"
done
say ""
say "publish -> receive latency, one message in flight (us): redis p50 $R50 p99 $R99; nodedb_kv p50 $K50 p99 $K99"
say "  p99 ratio: $(ratio "$K99" "$R99") (target <= 2)"
say "SQL commit -> change event (ms, commit timestamp to arrival): p50 $C50 p99 $C99 (target p99 <= 5)"
say "  on the client's clock from sending the INSERT: its acknowledgement p50 $A50 p99 $A99; the event's arrival"
say "  after that acknowledgement p50 $G50 p99 $G99 (the event goes out at its own WAL flush, before the reply)"
say "  the same with synchronous_commit off (no WAL flush before the event): p50 $D50 p99 $D99"
say "  where the time goes (synchronous_commit on): again p50 $C50B p99 $C99B with $WSYNC WAL syncs of $WSYNCMS ms"
say "  on average; with fsync off (WAL written, not flushed) p50 $F50 p99 $F99; the disk's fdatasync of 8 kB"
say "  beside pg_wal: p50 $S50 p99 $S99 ms.  Load average during the run: $LOAD ($(nproc) cores)."

if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
	# Instructions per delivery (user space, exact and repeatable unlike the rates above): the one RESP
	# worker (it runs the publisher's PUBLISHes and the deliveries, as redis-server's one thread does)
	# and redis-server, each under callgrind, over fan-out runs of N1 and N2 messages; the difference
	# of the two runs' totals cancels start-up and exit.
	restart_under_callgrind
	fan_instructions() { # fan_instructions <pg|redis> <subscribers> <messages>
		serving_start "$1"
		$PY "$TMP/pubsub_bench.py" fanout "$SERVE_PORT" "$2" "$3" >/dev/null
		log "fan-out under callgrind: $1 pid $SERVE_PID, $2 subscribers, $3 messages"
		serving_total "$1"
	}
	# The first worker after the restart builds the caches every later one finds ready (millions of
	# instructions): a throwaway run first.
	fan_instructions pg 1 10 >/dev/null
	declare -A FI
	for subs in 1 10 100; do
		n1=1000 n2=3000
		[ "$subs" = 100 ] && n1=200 n2=600
		for kind in redis pg; do
			i1=$(fan_instructions "$kind" "$subs" "$n1")
			i2=$(fan_instructions "$kind" "$subs" "$n2")
			FI[$kind/$subs]=$(awk -v a="$i1" -v b="$i2" -v n=$(((n2 - n1) * subs)) 'BEGIN { printf "%.0f", (b - a) / n }')
			log "fan-out instructions $kind $subs subscribers: ${FI[$kind/$subs]} per delivery ($i1, $i2)"
		done
	done
	say ""
	say "instructions per delivery (callgrind; the serving process: publisher's PUBLISH + deliveries; lower is better):"
	say "$(printf '  %-14s %12s %12s %10s' subscribers redis nodedb_kv ours/redis)"
	for subs in 1 10 100; do
		say "$(printf '  %-14s %12s %12s %10s' "$subs" "${FI[redis/$subs]}" "${FI[pg/$subs]}" "$(ratio "${FI[pg/$subs]}" "${FI[redis/$subs]}")")"
	done
	sql -c "ALTER SYSTEM RESET nodedb_kv.resp_workers" -c "ALTER SYSTEM RESET synchronous_commit" >/dev/null

	# Instructions of a backend doing N single-row INSERTs (each its own transaction) with nobody
	# subscribed: in total, and inside the pub/sub capture consumers (change events + keyspace).
	N=2000
	as_server_user pg_ctl -D "$DATA" -w -t 120 stop -m fast >/dev/null
	PG_PID=""
	{
		# -j: a statement ends at a semicolon followed by an empty line
		for i in $(seq 1 "$N"); do printf "INSERT INTO lat VALUES ('cg%d', 'v');\n\n" "$i"; done
	} >"$TMP/inserts.sql"
	chown "$SERVER_USER" "$TMP/inserts.sql" 2>/dev/null || true
	as_server_user valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.out" \
		"$(command -v postgres)" --single -D "$DATA" -j postgres <"$TMP/inserts.sql" >/dev/null 2>"$TMP/valgrind.log" || true
	if [ -s "$TMP/callgrind.out" ]; then
		callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$TMP/callgrind.out" >"$TMP/annotate.txt" 2>/dev/null || true
		# The statements: PostgresMain inclusive minus InitPostgres (the server binary's static functions
		# have no symbols; start-up and shared-memory set-up are left out).  The pub/sub parts: the
		# capture consumers (change events, keyspace notifications) and the transaction callback of
		# queued messages, each counted once (the lines naming the .so).
		cp "$TMP/annotate.txt" "$OUT/callgrind_annotate.txt"
		incl() { { grep -E ":$1 \\[" "$TMP/annotate.txt" || true; } | awk '{gsub(",", "", $1); print $1 + 0; exit}'; }
		TOTAL=$(($(incl PostgresMain) - $(incl InitPostgres)))
		PUBSUB=$({ grep -E 'nodedb_kv::pubsub::.*(PreCommit|Commit|Abort|XactCallback).*nodedb_kv\.so\]$' \
			"$TMP/annotate.txt" || true; } | awk '{gsub(",", "", $1); s += $1} END {print s + 0}')
		say ""
		say "callgrind, postgres --single, $N single-row INSERTs with nobody subscribed (notifications off):"
		say "  instructions per INSERT statement: $(awk -v t="${TOTAL:-0}" -v n="$N" 'BEGIN { printf "%.0f", t / n }')"
		say "  in pub/sub capture consumers: $(awk -v p="$PUBSUB" -v n="$N" 'BEGIN { printf "%.0f", p / n }') per INSERT = $(awk -v p="$PUBSUB" -v t="${TOTAL:-0}" 'BEGIN { if (t > 0) printf "%.3f", 100 * p / t; else print "n/a" }')% (target <= 2%)"
	else
		say "callgrind run failed: $(tail -3 "$TMP/valgrind.log")"
	fi
fi
