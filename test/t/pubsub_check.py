#!/usr/bin/python3
"""Pub/sub checks driven by test/t/040_pubsub_resp.pl on real sockets.

  pubsub_check.py compare <our_port> <redis_port>  replies and push frames byte for byte vs redis-server
  pubsub_check.py workers <our_port> <workers>     cross-worker delivery, order per publisher, fan-out
  pubsub_check.py wakes <our_port> <psql...>       wake-up signals: one per message to another worker's
                                                   subscriber, none to the publishing worker itself
  pubsub_check.py sql <our_port> <psql...>         kv_publish: at commit only, never on rollback
  pubsub_check.py slow <our_port>                  a subscriber that stops reading is dropped, others go on
  pubsub_check.py changes <our_port> <psql...>     change events of every write path; NOPERM without SELECT

Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402


def transcript(port):
    """The scripted pub/sub conversation of two clients; returns every byte each one received."""
    sub, pub = Raw(port), Raw(port)
    out = []
    rec = lambda tag, data: out.append(tag.encode() + b" " + data)  # noqa: E731
    rec("s", sub.call("SUBSCRIBE", "news", "sport"))
    rec("s", sub.read_reply())
    rec("s", sub.call("SUBSCRIBE", "news"))
    rec("s", sub.call("PSUBSCRIBE", "h?llo", "w[ae]b*", "esc\\*"))
    rec("s", sub.read_reply())
    rec("s", sub.read_reply())
    rec("s", sub.call("PING"))
    rec("s", sub.call("PING", "hi"))
    rec("s", sub.call("GET", "k"))
    rec("s", sub.call("NOSUCH"))
    rec("s", sub.call("SUBSCRIBE"))
    rec("p", pub.call("PUBLISH", "news", "n1"))
    rec("s", sub.read_reply())
    rec("p", pub.call("PUBLISH", "hello", "h1"))
    rec("s", sub.read_reply())
    rec("p", pub.call("PUBLISH", "web", "w1"))
    rec("s", sub.read_reply())
    rec("p", pub.call("PUBLISH", "wxb", "nobody"))
    rec("p", pub.call("PUBLISH", "esc*", "e1"))
    rec("s", sub.read_reply())
    rec("p", pub.call("PUBLISH", "escX", "nobody"))
    rec("p", pub.call("PUBLISH", "news", b"bin\x00\r\n\xff"))
    rec("s", sub.read_reply())
    rec("p", pub.call("PUBSUB", "NUMSUB", "news", "sport", "none"))
    rec("p", pub.call("PUBSUB", "NUMSUB"))
    rec("p", pub.call("PUBSUB", "NUMPAT"))
    rec("p", pub.call("PUBSUB", "CHANNELS", "n*"))
    rec("p", pub.call("PUBSUB", "CHANNELS", "x*"))
    rec("p", pub.call("PUBSUB", "FOO"))
    rec("p", pub.call("PUBSUB", "NUMPAT", "x"))
    rec("p", pub.call("PUBSUB", "CHANNELS", "a", "b"))
    rec("p", pub.call("PUBSUB"))
    rec("p", pub.call("PUBLISH", "x"))
    rec("s", sub.call("UNSUBSCRIBE", "sport", "never"))
    rec("s", sub.read_reply())
    rec("s", sub.call("PUNSUBSCRIBE", "h?llo"))
    rec("s", sub.call("PUNSUBSCRIBE", "w[ae]b*"))
    rec("s", sub.call("UNSUBSCRIBE"))
    rec("s", sub.call("UNSUBSCRIBE"))
    rec("s", sub.call("PING"))
    rec("s", sub.call("PUNSUBSCRIBE"))
    rec("s", sub.call("PUNSUBSCRIBE"))
    rec("s", sub.call("PING"))
    rec("s", sub.call("PSUBSCRIBE", "a*"))
    rec("s", sub.call("RESET"))
    rec("s", sub.call("PING"))
    rec("p", pub.call("PUBLISH", "abc", "after reset"))
    rec("p", pub.call("PUBSUB", "NUMPAT"))
    rec("s", sub.call("ECHO", "nothing queued before this"))
    return out


def compare(our_port, redis_port):
    ours, theirs = transcript(our_port), transcript(redis_port)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        ok(f"pub/sub step {i} equals Redis 7: {b[:60]!r}", a == b, f"ours {a!r}, redis {b!r}")
    ok("pub/sub transcript length", len(ours) == len(theirs), f"{len(ours)} vs {len(theirs)}")


def client_on_worker(port, worker, workers):
    """A connection served by the given worker (client ids are index + 1 + k * workers)."""
    for _ in range(200):
        c = Raw(port)
        cid = int(c.call("CLIENT", "ID")[1:-2])
        if (cid - 1) % workers == worker:
            return c
        c.sock.close()
    raise RuntimeError(f"no connection landed on worker {worker}")


def read_messages(conn, n, timeout=30):
    conn.sock.settimeout(timeout)
    return [conn.read_reply() for _ in range(n)]


def msg(channel, payload):
    return Raw.encode(["message", channel, payload])


def workers(port, nworkers):
    nworkers = int(nworkers)
    sub = client_on_worker(port, 0, nworkers)
    pub = client_on_worker(port, nworkers - 1, nworkers)
    sub.call("SUBSCRIBE", "x")
    got = pub.call("PUBLISH", "x", "across")
    ok("PUBLISH counts a subscriber of another worker", got == b":1\r\n", got)
    ok("a message reaches a subscriber on another worker", read_messages(sub, 1) == [msg("x", "across")])
    # Order per publisher under load: 20,000 pipelined publishes arrive complete and in order.
    n = 20000
    pub.send_raw(b"".join(Raw.encode(["PUBLISH", "x", str(i)]) for i in range(n)))
    replies = [pub.read_reply() for _ in range(n)]
    ok("20000 pipelined PUBLISH each count 1", all(r == b":1\r\n" for r in replies))
    got = read_messages(sub, n)
    ok("20000 messages arrive in publish order", got == [msg("x", str(i)) for i in range(n)])
    # Fan-out: 1,000 subscribers spread over the workers, one publish reaches all of them.
    subs = [Raw(port) for _ in range(1000)]
    for s in subs:
        s.send_raw(Raw.encode(["SUBSCRIBE", "fan"]))
    for s in subs:
        s.read_reply()
    got = pub.call("PUBLISH", "fan", "all")
    ok("PUBLISH to 1000 subscribers counts 1000", got == b":1000\r\n", got)
    received = sum(1 for s in subs if read_messages(s, 1) == [msg("fan", "all")])
    ok("each of 1000 subscribers receives the message", received == 1000, received)
    got = pub.call("PUBSUB", "NUMSUB", "fan")
    ok("PUBSUB NUMSUB sums every worker", got == b"*2\r\n$3\r\nfan\r\n:1000\r\n", got)
    for s in subs:
        s.sock.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        got = pub.call("PUBSUB", "NUMSUB", "fan")
        if got.endswith(b":0\r\n"):
            break
        time.sleep(0.05)
    ok("closed subscribers leave the shared counts", got == b"*2\r\n$3\r\nfan\r\n:0\r\n", got)


def wakes(port, *psql):
    """kv_pubsub_stats.wake_signals counts the SIGUSR2 a publisher sends to a worker serving subscribers.
    The publishing worker reads the bus after its own turn, so it never signals itself (a signal, a pipe
    write, a loop wake-up and a tick per turn); a subscriber's worker elsewhere gets one per message it
    has to read.  Counted, not timed: without the signal the worker's 100 ms tick would still deliver."""
    def stats(column):
        r = subprocess.run(list(psql) + ["-At", "-c", f"SELECT {column} FROM kv_pubsub_stats"], capture_output=True,
                           text=True)
        return int(r.stdout.strip())
    # Earlier checks' subscribers leave asynchronously; any left would be signalled too.
    deadline = time.time() + 10
    while stats("subscriptions") != 0 and time.time() < deadline:
        time.sleep(0.05)
    ok("no subscriber is left before counting wake-ups", stats("subscriptions") == 0)
    n = 50
    for label, pub_worker in (("the same worker", 0), ("another worker", 1)):
        sub = client_on_worker(port, 0, 2)
        pub = client_on_worker(port, pub_worker, 2)
        sub.call("SUBSCRIBE", "wake")
        before = stats("wake_signals")
        got = []
        for i in range(n):  # one message in flight: each is a turn of its own and a read of its own
            pub.call("PUBLISH", "wake", str(i))
            got += read_messages(sub, 1)
        signals = stats("wake_signals") - before
        ok(f"{n} messages to a subscriber on {label} arrive in order", got == [msg("wake", str(i)) for i in range(n)])
        want = 0 if pub_worker == 0 else n
        ok(f"{n} messages to a subscriber on {label}: {want} wake-up signals", signals == want, signals)
        sub.sock.close()
        pub.sock.close()
        while stats("subscriptions") != 0 and time.time() < deadline + 10:
            time.sleep(0.05)


def sql(port, *psql):
    sub = Raw(port)
    sub.call("SUBSCRIBE", "chat")
    run = lambda q: subprocess.run(list(psql) + ["-At", "-c", q], capture_output=True, text=True)  # noqa: E731
    r = run("SELECT kv_publish('chat', 'from sql')")
    ok("kv_publish returns the subscriber count", r.stdout.strip() == "1", r.stdout + r.stderr)
    ok("kv_publish is delivered at commit", read_messages(sub, 1) == [msg("chat", "from sql")])
    run("BEGIN; SELECT kv_publish('chat', 'rolled back'); ROLLBACK;")
    run("BEGIN; SELECT kv_publish('chat', 'kept 1'); SAVEPOINT a; SELECT kv_publish('chat', 'savepoint gone');"
        " ROLLBACK TO a; SAVEPOINT b; SELECT kv_publish('chat', 'kept 2'); RELEASE b; COMMIT;")
    run("SELECT kv_publish('chat', '\\x00ff0d0a'::bytea)")
    got = read_messages(sub, 3)
    ok("nothing from rollbacks or rolled-back savepoints; commit order kept; bytea binary-safe",
       got == [msg("chat", "kept 1"), msg("chat", "kept 2"), msg("chat", b"\x00\xff\r\n")], got)
    # Not before commit: a transaction that published and is still open delivers nothing yet.
    p = subprocess.Popen(list(psql) + ["-At"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdin.write("BEGIN;\nSELECT kv_publish('chat', 'late');\nSELECT pg_sleep(1);\nCOMMIT;\n")
    p.stdin.flush()
    t0 = time.time()
    got = read_messages(sub, 1)
    waited = time.time() - t0
    p.communicate()
    ok("a message is held until its transaction commits", got == [msg("chat", "late")] and waited >= 0.9,
       f"{got} after {waited:.2f}s")
    r = subprocess.run(list(psql) + ["-At"], input="BEGIN; SELECT kv_publish('chat', 'p'); PREPARE TRANSACTION 'p1';",
                       capture_output=True, text=True)
    ok("PREPARE TRANSACTION after kv_publish is refused", "cannot PREPARE a transaction that published" in r.stderr,
       r.stderr)
    big = "x" * (2 * 1024 * 1024)
    r = subprocess.run(list(psql) + ["-At", "-c", f"SELECT kv_publish('chat', repeat('x', 5000000))"],
                       capture_output=True, text=True)
    ok("a message larger than the bus allows is a clear error", "pub/sub message too large" in r.stderr, r.stderr)
    got = Raw(port).call("PUBLISH", "chat", big * 3)
    ok("PUBLISH of a too large message is an error reply", got.startswith(b"-ERR pub/sub message too large"), got[:80])


def slow(port):
    slow_sub, fast_sub, pub = Raw(port), Raw(port), Raw(port)
    slow_sub.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow_sub.call("SUBSCRIBE", "firehose")
    fast_sub.call("SUBSCRIBE", "firehose")
    payload = "y" * 60000
    n = 200  # 12 MB: far past the 1 MB nodedb_kv.pubsub_client_buffer of this test
    fast_sub.sock.settimeout(30)
    received = 0
    for i in range(n):
        pub.call("PUBLISH", "firehose", payload)
        fast_sub.read_reply()
        received += 1
    ok("a reading subscriber keeps receiving while another stops reading", received == n)
    ok("the subscriber that stopped reading was disconnected", drained_then_closed(slow_sub))
    info = pub.call("INFO", "stats").decode()
    ok("the drop is counted in INFO", "pubsub_clients_dropped:1" in info, info)


def drained_then_closed(conn):
    conn.sock.settimeout(10)
    try:
        while conn.sock.recv(1 << 20):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def events(conn, n, timeout=30):
    """The next n change events on conn, as (channel, parsed JSON)."""
    import json
    out = []
    for raw in read_messages(conn, n, timeout):
        parts = raw.split(b"\r\n")
        if parts[0] == b"*4":  # pmessage: pattern, channel, payload
            out.append((parts[6].decode(), json.loads(parts[8])))
        else:
            out.append((parts[4].decode(), json.loads(parts[6])))
    return out


def changes(port, *psql):
    run = lambda q, inp=None: subprocess.run(list(psql) + ["-At"] + ([] if inp else ["-c", q]),  # noqa: E731
                                             input=inp, capture_output=True, text=True)
    denied = Raw(port)
    got = denied.call("SUBSCRIBE", "s.t")  # the connection's first command: runs as the anonymous role too
    ok("SUBSCRIBE to a collection's channel without SELECT is NOPERM (also as a connection's first command)",
       got == b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n", got)
    got = denied.call("PSUBSCRIBE", "s.*")
    ok("a pattern matching a collection without SELECT is NOPERM", got.startswith(b"-NOPERM"), got)
    got = denied.call("SUBSCRIBE", "sessions", "s.t")
    ok("NOPERM refuses the whole command", got.startswith(b"-NOPERM") and denied.call("PING") == b"+PONG\r\n", got)
    sub = Raw(port)
    got = sub.call("SUBSCRIBE", "sessions")
    ok("SUBSCRIBE to a collection's channel with SELECT", got.endswith(b":1\r\n"), got)
    sub.call("SUBSCRIBE", "bin")
    sub.call("PSUBSCRIBE", "sess*")  # pattern subscribers get the events too (a pmessage each)
    before = int(run("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint").stdout)
    run("INSERT INTO sessions VALUES ('s1', 'admin')")
    run("UPDATE sessions SET role = 'x' WHERE key = 's1'")
    run("DELETE FROM sessions WHERE key = 's1'")
    run("BEGIN; INSERT INTO sessions VALUES ('rolled', 'r'); ROLLBACK;")
    run("BEGIN; INSERT INTO sessions VALUES ('a', 'r'); SAVEPOINT x; INSERT INTO sessions VALUES ('b', 'r');"
        " ROLLBACK TO x; COMMIT;")
    run(None, "COPY sessions (key, role) FROM STDIN;\nc1\tr\n\\.\n")
    run("TRUNCATE sessions")
    run("INSERT INTO sessions VALUES ('k', 'old', kv_ttl(-1))")
    run("INSERT INTO sessions VALUES ('k', 'new')")  # takeover of the expired row
    w = Raw(port)
    w.call("SELECT", "sessions")
    w.call("SET", "r1", "v")
    run("INSERT INTO bin VALUES ('\\x00ff'::bytea, 'v')")
    expect = [("sessions", "s1", "insert"), ("sessions", "s1", "update"), ("sessions", "s1", "delete"),
              ("sessions", "a", "insert"), ("sessions", "c1", "insert"), ("sessions", None, "truncate"),
              ("sessions", "k", "insert"), ("sessions", "k", "expire"), ("sessions", "k", "insert"),
              ("sessions", "r1", "insert"), ("bin", "AP8=", "insert")]
    got = []
    for channel, key, op in expect:
        n = 1 if channel == "bin" else 2  # message + pmessage
        ev = events(sub, n)
        got.append((ev[0][0], ev[0][1].get("key"), ev[0][1].get("op")))
        if n == 2:
            ok(f"the pattern subscriber gets {op} {key} too", ev[1][1] == ev[0][1], ev)
        last = ev[0][1]
        if channel == "bin":
            ok("a bytea key is base64 with key_encoding", last.get("key_encoding") == "base64", last)
    ok("one event per committed change, in commit order, none for rollbacks or rolled-back savepoints",
       got == expect, got)
    import re
    ok("lsn is X/Y and timestamp_ms is the commit time",
       re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", last["lsn"]) is not None and before <= last["timestamp_ms"] <= before + 60000,
       last)
    lsn_sql = run("SELECT pg_current_wal_lsn() >= '%s'::pg_lsn" % last["lsn"]).stdout.strip()
    ok("the event's lsn is a real WAL position", lsn_sql == "t", lsn_sql)
    # The expiry worker's deletes are "expire" events.
    run("INSERT INTO sessions VALUES ('gone', 'v', kv_ttl(-1))")
    ok("insert of an already expired row", events(sub, 2)[0][1]["op"] == "insert")
    run("ALTER SYSTEM SET nodedb_kv.ttl_enabled = on")
    run("SELECT pg_reload_conf()")
    ev = events(sub, 2, timeout=60)[0][1]
    ok("the expiry worker's delete is an expire event", (ev["key"], ev["op"]) == ("gone", "expire"), ev)
    run("ALTER SYSTEM RESET nodedb_kv.ttl_enabled")
    run("SELECT pg_reload_conf()")


if __name__ == "__main__":
    mode = sys.argv[1]
    try:
        {"compare": compare, "workers": workers, "wakes": wakes, "sql": sql, "slow": slow,
         "changes": changes}[mode](*sys.argv[2:])
    except Exception as e:  # a crash of the script is a failure, with its reason
        import traceback
        traceback.print_exc()
        print(f"not ok {mode} raised {e!r}")
