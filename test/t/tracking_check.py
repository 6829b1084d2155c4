#!/usr/bin/python3
"""Client-side caching (CLIENT TRACKING) checks driven by test/t/061_resp_tracking.pl on real sockets.

  tracking_check.py compare <our_port> <redis_port> <workers>  replies and invalidations byte for byte
  tracking_check.py sql <our_port> <psql...>          invalidations from SQL, KV functions, TRUNCATE;
                                                      SQL commit -> push latency (printed as a figure)
  tracking_check.py expiry <our_port> <psql...>       the expiry worker's deletes invalidate (test clock)
  tracking_check.py workers <our_port> <workers>      writer and tracking client on different workers;
                                                      REDIRECT to a client of another worker
  tracking_check.py evict <our_port> <max_keys>       past nodedb_kv.tracking_table_max_keys the oldest
                                                      keys are evicted with an invalidation

Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402


def push(*keys):
    """A RESP3 invalidation push of keys (None: the flush invalidation)."""
    if keys == (None,):
        return b">2\r\n$10\r\ninvalidate\r\n_\r\n"
    return b">2\r\n$10\r\ninvalidate\r\n" + Raw.encode(list(keys))


def on_worker(port, worker, workers, hello3=False):
    """A connection served by the given worker (client ids are index + 1 + k * workers)."""
    for _ in range(200):
        c = Raw(port)
        cid = int(c.call("CLIENT", "ID")[1:-2])
        if workers <= 1 or (cid - 1) % workers == worker:
            c.id = cid
            if hello3:
                c.call("HELLO", "3")
            return c
        c.sock.close()
    raise RuntimeError(f"no connection landed on worker {worker}")


def transcript(port, workers):
    """The scripted conversation; returns every byte each client received (ids left out)."""
    a = on_worker(port, 0, workers, hello3=True)  # tracking client, RESP3
    b = on_worker(port, 0, workers)  # writer
    out = []
    rec = lambda tag, data: out.append(tag.encode() + b" " + data)  # noqa: E731
    b.call("FLUSHDB")
    # Option errors and the state replies.
    for args in (["TRACKINGINFO"], ["GETREDIR"], ["TRACKING"], ["TRACKING", "maybe"], ["TRACKING", "on", "prefix", "x"],
                 ["TRACKING", "on", "optin", "optout"], ["TRACKING", "on", "bcast", "optin"],
                 ["TRACKING", "on", "redirect", "x"], ["TRACKING", "on", "nosuch"], ["CACHING", "yes"],
                 ["GETREDIR", "x"], ["TRACKINGINFO", "x"], ["CACHING"]):
        rec("a", a.call("CLIENT", *args))
    rec("a", a.call("CLIENT", "TRACKING", "on", "redirect", str(a.id + 20000 * max(workers, 1))))
    rec("a", a.call("CLIENT", "TRACKING", "on"))
    rec("a", a.call("CLIENT", "TRACKINGINFO"))
    rec("a", a.call("CLIENT", "GETREDIR"))
    rec("a", a.call("CLIENT", "CACHING", "yes"))
    rec("a", a.call("CLIENT", "CACHING", "no"))
    rec("a", a.call("CLIENT", "CACHING", "maybe"))
    rec("a", a.call("CLIENT", "TRACKING", "on", "bcast"))
    # Default mode: keys read are invalidated once, by the next write.
    rec("a", a.call("GET", "k1"))
    rec("b", b.call("SET", "k1", "v1"))
    rec("a", a.read_reply())
    rec("a", a.call("GET", "k1"))
    rec("a", a.call("MGET", "k2", "k3"))
    rec("b", b.call("MSET", "k2", "x", "k3", "y"))
    rec("a", a.read_reply())
    rec("a", a.read_reply())
    rec("b", b.call("SET", "k1", "v2"))
    rec("a", a.read_reply())
    rec("b", b.call("SET", "k1", "v3"))  # not read since: no invalidation
    rec("a", a.call("STRLEN", "k2"))
    rec("b", b.call("DEL", "k2"))
    rec("a", a.read_reply())
    rec("a", a.call("EXISTS", "k3"))
    rec("b", b.call("EXPIRE", "k3", "100"))
    rec("a", a.read_reply())
    rec("a", a.call("CLIENT", "TRACKING", "off"))
    rec("a", a.call("GET", "k3"))
    rec("b", b.call("SET", "k3", "z"))
    rec("a", a.call("PING"))
    rec("a", a.call("CLIENT", "TRACKINGINFO"))
    rec("a", a.call("CLIENT", "GETREDIR"))
    # OPTIN: only after CLIENT CACHING yes, for the next command only.
    rec("a", a.call("CLIENT", "TRACKING", "on", "optin"))
    rec("a", a.call("GET", "o1"))
    rec("a", a.call("CLIENT", "CACHING", "yes"))
    rec("a", a.call("CLIENT", "TRACKINGINFO"))
    rec("a", a.call("GET", "o2"))
    rec("a", a.call("GET", "o3"))
    rec("b", b.call("MSET", "o1", "1", "o3", "3", "o2", "2"))
    rec("a", a.read_reply())
    rec("a", a.call("CLIENT", "TRACKING", "on", "optout"))
    rec("a", a.call("CLIENT", "TRACKING", "off"))
    # OPTOUT: everything but the command after CLIENT CACHING no.
    rec("a", a.call("CLIENT", "TRACKING", "on", "optout"))
    rec("a", a.call("CLIENT", "CACHING", "no"))
    rec("a", a.call("CLIENT", "TRACKINGINFO"))
    rec("a", a.call("GET", "p1"))
    rec("a", a.call("GET", "p2"))
    rec("b", b.call("MSET", "p1", "1", "p2", "2"))
    rec("a", a.read_reply())
    rec("a", a.call("CLIENT", "TRACKING", "off"))
    # BCAST: every key under a prefix, read or not.
    rec("a", a.call("CLIENT", "TRACKING", "on", "bcast", "prefix", "user:", "prefix", "item:"))
    rec("a", a.call("CLIENT", "TRACKINGINFO"))
    rec("a", a.call("CLIENT", "TRACKING", "on", "bcast", "prefix", "us"))
    rec("a", a.call("CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", "ab"))
    rec("a", a.call("CLIENT", "TRACKING", "on"))
    rec("b", b.call("SET", "user:1", "x"))
    rec("a", a.read_reply())
    rec("b", b.call("SET", "other", "x"))
    rec("b", b.call("SET", "item:9", "x"))
    rec("a", a.read_reply())
    rec("a", a.call("CLIENT", "TRACKING", "off"))
    rec("a", a.call("CLIENT", "TRACKING", "on", "bcast"))
    rec("a", a.call("CLIENT", "TRACKINGINFO"))
    rec("b", b.call("SET", "any", "x"))
    rec("a", a.read_reply())
    rec("a", a.call("CLIENT", "TRACKING", "off"))
    # NOLOOP: the client's own writes do not come back to it.
    rec("a", a.call("CLIENT", "TRACKING", "on", "noloop"))
    rec("a", a.call("CLIENT", "TRACKINGINFO"))
    rec("a", a.call("GET", "n1"))
    rec("a", a.call("SET", "n1", "mine"))
    rec("a", a.call("GET", "n1"))
    rec("b", b.call("SET", "n1", "theirs"))
    rec("a", a.read_reply())
    rec("a", a.call("CLIENT", "TRACKING", "off"))
    # FLUSHDB: the null invalidation.
    rec("a", a.call("CLIENT", "TRACKING", "on"))
    rec("a", a.call("GET", "f1"))
    rec("b", b.call("FLUSHDB"))
    rec("a", a.read_reply())
    rec("a", a.call("CLIENT", "TRACKING", "off"))
    # RESP2: no push frames; invalidations go to a REDIRECT target subscribed to __redis__:invalidate.
    r = on_worker(port, 0, workers)
    t = on_worker(port, 0, workers)
    rec("r", r.call("SUBSCRIBE", "__redis__:invalidate"))
    rec("t", t.call("CLIENT", "TRACKING", "on", "redirect", str(r.id)))
    ok("CLIENT GETREDIR answers the redirect target's id", t.call("CLIENT", "GETREDIR") == b":%d\r\n" % r.id)
    info = t.call("CLIENT", "TRACKINGINFO")
    rec("t", info.replace(b":%d\r\n" % r.id, b":ID\r\n"))
    rec("t", t.call("GET", "r1"))
    rec("b", b.call("SET", "r1", "x"))
    rec("r", r.read_reply())
    rec("t", t.call("GET", "r1"))
    rec("b", b.call("FLUSHDB"))
    rec("r", r.read_reply())
    rec("t", t.call("CLIENT", "TRACKING", "off"))
    rec("t", t.call("CLIENT", "TRACKING", "on"))
    rec("t", t.call("GET", "r2"))
    rec("b", b.call("SET", "r2", "x"))
    rec("t", t.call("PING"))
    # A RESP3 client as the REDIRECT target gets push frames.
    t.call("CLIENT", "TRACKING", "off")
    rec("t", t.call("CLIENT", "TRACKING", "on", "redirect", str(a.id)))
    rec("t", t.call("GET", "r3"))
    rec("b", b.call("SET", "r3", "x"))
    rec("a", a.read_reply())
    rec("a", a.call("PING"))
    for c in (a, b, r, t):
        c.sock.close()
    return out


def compare(our_port, redis_port, workers):
    ours, theirs = transcript(int(our_port), int(workers)), transcript(int(redis_port), 1)
    for i, (x, y) in enumerate(zip(ours, theirs)):
        ok(f"tracking step {i} equals Redis 7: {y[:70]!r}", x == y, f"ours {x!r}, redis {y!r}")
    ok("tracking transcript length", len(ours) == len(theirs), f"{len(ours)} vs {len(theirs)}")


def psql_runner(psql):
    def run(q):
        r = subprocess.run(list(psql) + ["-At", "-v", "ON_ERROR_STOP=1", "-c", q], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {q}: {r.stderr}")
        return r.stdout.strip()
    return run


def expect_push(conn, want, name, timeout=20):
    conn.sock.settimeout(timeout)
    try:
        got = conn.read_reply()
    except Exception as e:  # noqa: BLE001
        got = repr(e).encode()
    ok(name, got == want, f"got {got!r}, want {want!r}")
    conn.sock.settimeout(30)


def sql(port, *psql):
    port = int(port)
    run = psql_runner(psql)
    a, b = Raw(port), Raw(port)
    a.call("HELLO", "3")
    b.call("FLUSHDB")
    a.call("CLIENT", "TRACKING", "on")
    b.call("SET", "s1", "v")
    a.call("GET", "s1")
    run("UPDATE kv_db0 SET value = 'w' WHERE key = 's1'")
    expect_push(a, push("s1"), "a SQL UPDATE invalidates a key read over RESP")
    ok("the value read again is the one SQL wrote", a.call("GET", "s1") == b"$1\r\nw\r\n")
    run("DELETE FROM kv_db0 WHERE key = 's1'")
    expect_push(a, push("s1"), "a SQL DELETE invalidates")
    a.call("GET", "s2")
    run("INSERT INTO kv_db0 (key, value) VALUES ('s2', 'new')")
    expect_push(a, push("s2"), "a SQL INSERT of a key read as missing invalidates")
    a.call("GET", "s2")
    run("BEGIN; UPDATE kv_db0 SET value = 'no' WHERE key = 's2'; ROLLBACK")
    run("BEGIN; SAVEPOINT x; UPDATE kv_db0 SET value = 'no' WHERE key = 's2'; ROLLBACK TO x; COMMIT")
    b.call("SET", "s2", "resp")
    expect_push(a, push("s2"), "rolled-back SQL sends nothing; the next committed write does")
    ok("exactly one invalidation per committed change", a.call("PING") == b"+PONG\r\n")
    a.call("GET", "c1")
    r = run("SELECT kv_incr('kv_db0', 'c1', 5, field => 'value')")
    expect_push(a, push("c1"), "KV_INCR from SQL invalidates", 20)
    ok("KV_INCR's result", r == "5", r)
    a.call("GET", "c1")
    run("BEGIN; SELECT kv_incr('kv_db0', 'c1', 1, field => 'value'); SELECT pg_sleep(0.5); COMMIT")
    expect_push(a, push("c1"), "an invalidation comes at commit")
    a.call("GET", "c1")
    run("TRUNCATE kv_db0")
    expect_push(a, push(None), "TRUNCATE sends the null invalidation")
    # Typed and non-text keys: the key is named as a RESP client names it.
    run("CREATE TABLE users (key text PRIMARY KEY, name text, age int) USING kv; "
        "INSERT INTO users VALUES ('u1', 'ann', 30); GRANT ALL ON users TO app; "
        "CREATE TABLE nums (key int PRIMARY KEY, v text) USING kv; INSERT INTO nums VALUES (42, 'x'); "
        "GRANT ALL ON nums TO app")
    ok("SELECT a typed collection", a.call("SELECT", "users") == b"+OK\r\n")
    ok("HGET of a typed row", a.call("HGET", "u1", "name") == b"$3\r\nann\r\n")
    run("UPDATE users SET age = 31 WHERE key = 'u1'")
    expect_push(a, push("u1"), "a SQL UPDATE of a typed row invalidates its key")
    a.call("SELECT", "nums")
    ok("GET of an integer key", a.call("GET", "42") == b"$1\r\nx\r\n")
    run("UPDATE nums SET v = 'y' WHERE key = 42")
    expect_push(a, push("42"), "an integer key is invalidated by its text form")
    a.call("SELECT", "0")
    # Latency: SQL commit -> push, one update at a time through a long-lived psql.
    b.call("SET", "lat", "0")
    p = subprocess.Popen(list(psql) + ["-At"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lat = []
    try:
        a.call("GET", "lat")
        for i in range(200):
            p.stdin.write("UPDATE kv_db0 SET value = convert_to(extract(epoch FROM clock_timestamp())::text, 'UTF8') "
                          "WHERE key = 'lat';\n")
            p.stdin.flush()
            got = a.read_reply()
            now = time.time()
            if got != push("lat"):
                break
            v = a.call("GET", "lat")  # reads the writer's clock and tracks the key again
            lat.append(now - float(v.split(b"\r\n")[1]))
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    ok("200 SQL updates each invalidate once", len(lat) == 200, len(lat))
    if lat:
        lat.sort()
        p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99) - 1] * 1000
        print(f"# figure: SQL UPDATE -> invalidation push latency p50 {p50:.2f} ms, p99 {p99:.2f} ms "
              f"(from the row's clock_timestamp(), so it includes the commit)", file=sys.stderr)


def expiry(port, *psql):
    port = int(port)
    run = psql_runner(psql)
    a, b = Raw(port), Raw(port)
    a.call("HELLO", "3")
    a.call("CLIENT", "TRACKING", "on")
    b.call("SET", "e1", "v", "EX", "30")
    b.call("SET", "e2", "v")
    a.call("MGET", "e1", "e2")
    run("ALTER SYSTEM SET nodedb_kv.test_clock_offset = '600s'")
    run("SELECT pg_reload_conf()")
    expect_push(a, push("e1"), "the expiry worker's delete invalidates the key", 30)
    b.call("SET", "e2", "w")
    expect_push(a, push("e2"), "and only the expired key")
    run("ALTER SYSTEM RESET nodedb_kv.test_clock_offset")
    run("SELECT pg_reload_conf()")


def workers(port, nworkers):
    port, nworkers = int(port), int(nworkers)
    a = on_worker(port, 0, nworkers, hello3=True)
    b = on_worker(port, nworkers - 1, nworkers)
    a.call("CLIENT", "TRACKING", "on")
    a.call("GET", "w1")
    b.call("SET", "w1", "x")
    expect_push(a, push("w1"), "a write on another worker invalidates")
    # REDIRECT to a RESP2 subscriber on another worker.
    r = on_worker(port, nworkers - 1, nworkers)
    r.call("SUBSCRIBE", "__redis__:invalidate")
    t = on_worker(port, 0, nworkers)
    got = t.call("CLIENT", "TRACKING", "on", "redirect", str(r.id))
    ok("REDIRECT to a client of another worker is accepted", got == b"+OK\r\n", got)
    t.call("GET", "w2")
    b.call("SET", "w2", "x")
    expect_push(r, b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n" + Raw.encode(["w2"]),
                "the invalidation reaches the redirect target on another worker")
    ok("the internal channel is not listed by PUBSUB CHANNELS",
       b.call("PUBSUB", "CHANNELS") == b"*1\r\n$20\r\n__redis__:invalidate\r\n", b.call("PUBSUB", "CHANNELS"))


def evict(port, max_keys):
    port, max_keys = int(port), int(max_keys)
    a, b = Raw(port), Raw(port)
    a.call("HELLO", "3")
    a.call("CLIENT", "TRACKING", "on")
    n = max_keys + 5
    a.send_raw(b"".join(Raw.encode(["GET", f"ev{i}"]) for i in range(n)))
    a.sock.settimeout(10)
    got, replies = [], 0
    while replies < n or len(got) < 5:
        r = a.read_reply()
        if r.startswith(b">"):
            got.append(r)
        else:
            replies += 1
    ok("the 5 oldest tracked keys are evicted with an invalidation", got == [push(f"ev{i}") for i in range(5)], got)
    b.call("SET", f"ev{n - 1}", "x")
    expect_push(a, push(f"ev{n - 1}"), "a key still in the table is invalidated on write")


if __name__ == "__main__":
    try:
        {"compare": compare, "sql": sql, "expiry": expiry, "workers": workers, "evict": evict}[sys.argv[1]](*sys.argv[2:])
    except Exception as e:  # noqa: BLE001  a check that stops half-way is a failure, not a shorter list
        ok(f"{sys.argv[1]} checks ran to the end", False, repr(e))
        raise
