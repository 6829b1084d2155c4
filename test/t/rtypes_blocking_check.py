#!/usr/bin/python3
"""RESP checks of the blocking pops of kv_db0 (issue 12: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN
BZPOPMAX BZMPOP, LMPOP), driven by test/t/074_rtypes_blocking.pl.

  rtypes_blocking_check.py <mode> <our_port> <redis_port> <psql...>

modes: replies (argument errors, immediate serving, WRONGTYPE, timeouts, MULTI, keyspace events:
byte for byte with a real redis-server, RESP2 and RESP3), wake (a blocked client woken by a push of
another worker and by SQL INSERT / UPDATE; CLIENT LIST flags=b; other clients of its worker served
meanwhile; FIFO among 3 waiters; disconnect while blocked; CLIENT UNBLOCK against Redis; fractional
timeouts; spilled lists; every command woken), restart <pg_ctl> <datadir> <logfile> (a blocked client
is disconnected by a restart and nothing is lost).
Timeouts are real time here: short ones, and no upper timing bound tighter than several seconds.
Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402
from rtypes_check import compare, fresh, psql  # noqa: E402

LONG = 20  # seconds: "never" for a test that waits for something to happen


def ask(conn, *args):
    """Sends a command without reading its reply (the caller blocks)."""
    conn.send_raw(Raw.encode(args))


def reply_within(conn, seconds):
    """The next reply of conn, or None if none came within seconds."""
    deadline = time.time() + seconds
    while b"\r\n" not in conn.buf:
        left = deadline - time.time()
        if left <= 0 or not select.select([conn.sock], [], [], left)[0]:
            return None
        conn._fill()
    conn.sock.settimeout(LONG)
    return conn.read_reply()


def client_id(conn):
    return int(conn.call("CLIENT", "ID")[1:-2])


def worker_of(conn_id, workers=2):
    return (conn_id - 1) % workers


def on_worker(port, worker, keep):
    """A connection served by RESP worker `worker` (client ids say which: (id - 1) % workers)."""
    for _ in range(64):
        c = Raw(port)
        cid = client_id(c)
        _ids[id(c)] = cid
        if worker_of(cid) == worker:
            return c
        keep.append(c)
    raise RuntimeError("no connection reached worker %d" % worker)


def client_line(admin, cid):
    text = admin.call("CLIENT", "LIST", "ID", str(cid)).decode(errors="replace")
    return text


def wait_blocked(admin, cid, seconds=LONG):
    """Polls CLIENT LIST until client cid shows flags=b (True) or seconds pass."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if " flags=b " in client_line(admin, cid):
            return True
        time.sleep(0.02)
    return False


SCRIPT_ERRORS = [
    ["BLPOP", "a"], ["BLPOP", "a", "x"], ["BLPOP", "a", "-1"], ["BLPOP", "a", "inf"], ["BLPOP", "a", "-inf"],
    ["BLPOP", "a", "nan"], ["BLPOP", "a", " 1"], ["BLPOP", "a", ""], ["BLPOP", "a", "1e400"],
    ["BLPOP", "a", "9223372036854775807"], ["BLPOP", "a", "1e5000"], ["BRPOP", "a", "1x"], ["BZPOPMIN", "a", "-0.5"],
    ["BZPOPMAX", "a", "abc"], ["BLMOVE", "a", "b", "UP", "LEFT", "x"], ["BLMOVE", "a", "b", "LEFT", "DOWN", "0"],
    ["BLMOVE", "a", "b", "LEFT", "LEFT", "x"], ["BLMOVE", "a", "b", "LEFT", "LEFT"], ["BRPOPLPUSH", "a", "b", "-1"],
    ["BLMPOP", "0", "0", "a", "LEFT"], ["BLMPOP", "0", "x", "a", "LEFT"], ["BLMPOP", "0", "2", "a", "LEFT"],
    ["BLMPOP", "0", "1", "a", "UP"], ["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "0"],
    ["BLMPOP", "0", "1", "a", "LEFT", "COUNT"], ["BLMPOP", "x", "1", "a", "LEFT"], ["BLMPOP", "0", "1", "a"],
    ["LMPOP", "1", "a", "LEFT", "COUNT", "2", "COUNT", "3"], ["LMPOP", "1", "a"], ["LMPOP", "-1", "a", "LEFT"],
    ["BZMPOP", "0", "1", "a", "MAXX"], ["BZMPOP", "-1", "1", "a", "MIN"], ["BZMPOP", "0", "1", "a", "MIN", "COUNT", "-2"],
    ["CLIENT", "UNBLOCK", "x", "y"], ["CLIENT", "UNBLOCK", "x"], ["CLIENT", "UNBLOCK"],
    ["CLIENT", "UNBLOCK", "1", "2", "3"], ["client", "unblock", "1", "timeout", "x"],
]

SCRIPT_SERVE = [
    ["RPUSH", "l", "a", "b", "c", "d", "e"], ["BLPOP", "nokey", "l", "0"], ["BRPOP", "l", "nokey", "0"],
    ["BLMOVE", "l", "l2", "LEFT", "RIGHT", "0"], ["BRPOPLPUSH", "l2", "l", "0"], ["LRANGE", "l", "0", "-1"],
    ["BLMOVE", "l", "l", "RIGHT", "LEFT", "0"], ["LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "2"],
    ["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "10"], ["EXISTS", "l", "l2"], ["LMPOP", "1", "nokey", "LEFT"],
    ["ZADD", "z", "1", "a", "2", "b", "3", "c", "2.5", "x"], ["BZPOPMIN", "z", "0"], ["BZPOPMAX", "nokey", "z", "0"],
    ["BZMPOP", "0", "2", "nokey", "z", "MIN", "COUNT", "10"], ["EXISTS", "z"],
    ["ZADD", "z2", "-inf", "m"], ["BZPOPMAX", "z2", "1"], ["RPUSH", "q", "x"], ["BLPOP", "q", "q", "0"],
    ["SET", "s", "v"], ["BLPOP", "s", "0"], ["BLPOP", "nokey", "s", "0"], ["BLMOVE", "s", "d", "LEFT", "LEFT", "0"],
    ["RPUSH", "l3", "x"], ["BLMOVE", "l3", "s", "LEFT", "LEFT", "0"], ["LRANGE", "l3", "0", "-1"],
    ["BRPOPLPUSH", "l3", "s", "0"], ["BZPOPMIN", "s", "0"], ["BZPOPMAX", "l3", "0"], ["BLPOP", "z3", "s", "0"],
    ["LMPOP", "2", "nokey", "s", "LEFT"], ["BZMPOP", "0", "1", "s", "MIN"], ["BLMPOP", "0", "2", "s", "l3", "LEFT"],
    ["BLPOP", "nokey", "l3", "0"], ["EXISTS", "l3"],
]

SCRIPT_TIMEOUT = [
    ["BLPOP", "e", "0.1"], ["BRPOP", "e1", "e2", "0.05"], ["BLMOVE", "e", "f", "LEFT", "RIGHT", "0.05"],
    ["BRPOPLPUSH", "e", "f", "0.05"], ["BLMPOP", "0.05", "1", "e", "LEFT"], ["BZPOPMIN", "e", "0.05"],
    ["BZPOPMAX", "e", "0.05"], ["BZMPOP", "0.05", "2", "e", "e2", "MAX", "COUNT", "3"], ["BLPOP", "e", "1e-400"],
    ["BLPOP", "e", "0.001"], ["EXISTS", "e", "f"],
]

SCRIPT_MULTI = [
    ["MULTI"], ["BLPOP", "e", "0"], ["BLMOVE", "e", "f", "LEFT", "RIGHT", "0"], ["BZPOPMIN", "e", "0"],
    ["BLMPOP", "0", "1", "e", "LEFT"], ["BZMPOP", "0", "1", "e", "MIN"], ["BRPOPLPUSH", "e", "f", "0"],
    ["BZPOPMAX", "e", "0"], ["RPUSH", "e", "x", "y"], ["BLPOP", "e", "0"], ["BLMOVE", "e", "f", "LEFT", "RIGHT", "0"],
    ["BLPOP", "e", "0"], ["EXEC"], ["LRANGE", "f", "0", "-1"],
    ["MULTI"], ["BLPOP", "e", "x"], ["EXEC"], ["MULTI"], ["BLPOP", "e", "0", "extra"], ["EXEC"],
]


def replies_checks(our_port, redis_port, psql_cmd):
    for protocol in (2, 3):
        ours, theirs = fresh(our_port), fresh(redis_port)
        if protocol == 3:
            ours.call("HELLO", "3")
            theirs.call("HELLO", "3")
        compare("RESP%d: argument errors equal Redis 7's" % protocol, ours, theirs, SCRIPT_ERRORS)
        compare("RESP%d: pops served at once (lists, zsets, WRONGTYPE) equal Redis 7's" % protocol, ours, theirs,
                SCRIPT_SERVE)
        compare("RESP%d: timeouts answer as Redis 7 (nil array)" % protocol, ours, theirs, SCRIPT_TIMEOUT)
        compare("RESP%d: inside MULTI they do not block" % protocol, ours, theirs, SCRIPT_MULTI)
    # Keyspace events of a pop served at once and of a woken one: those of LPOP / LMOVE / ZPOPMIN.
    events = {}
    for name, port in (("ours", our_port), ("redis", redis_port)):
        admin = fresh(port)
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        sub = Raw(port)
        sub.call("PSUBSCRIBE", "__keyevent@0__:*")
        admin.call("RPUSH", "k", "a", "b")
        admin.call("BLPOP", "k", "0")
        admin.call("BLMOVE", "k", "k2", "RIGHT", "LEFT", "0")
        admin.call("ZADD", "kz", "1", "m")
        admin.call("BZPOPMIN", "kz", "0")
        waiter = Raw(port)
        ask(waiter, "BRPOP", "kw", "0")
        time.sleep(0.3)  # (the reference redis-server: no CLIENT LIST poll for its waiter)
        admin.call("LPUSH", "kw", "v")
        reply_within(waiter, LONG)
        admin.call("PING")
        got = []
        while True:
            r = reply_within(sub, 1.0)
            if r is None:
                break
            got.append(r)
        events[name] = got
        admin.call("CONFIG", "SET", "notify-keyspace-events", "")
    ok("keyspace events of blocking pops equal Redis 7's", events["ours"] == events["redis"],
       "ours %r redis %r" % (events["ours"], events["redis"]))


def wake_checks(our_port, redis_port, psql_cmd):
    keep = []
    admin = fresh(our_port)
    a = on_worker(our_port, 0, keep)
    b = on_worker(our_port, 1, keep)
    a_id = client_id_cached(a)

    # Woken by a push of another worker.
    ask(a, "BLPOP", "q", "0")
    ok("a client blocked on an empty key shows flags=b and cmd=blpop in CLIENT LIST",
       wait_blocked(admin, a_id) and " cmd=blpop " in client_line(admin, a_id), client_line(admin, a_id))
    ok("it gets no reply while nothing is pushed", reply_within(a, 0.3) is None)
    info = b.call("INFO", "clients")
    ok("INFO clients counts it in blocked_clients (every worker's)", b"\r\nblocked_clients:1\r\n" in info, repr(info))
    same = on_worker(our_port, 0, keep)
    t0 = time.time()
    r1 = same.call("SET", "other", "1")
    r2 = same.call("GET", "other")
    ok("another client of the blocked client's worker is served meanwhile",
       r1 == b"+OK\r\n" and r2 == b"$1\r\n1\r\n" and time.time() - t0 < LONG)
    ok("the push of another worker's client wakes it", b.call("RPUSH", "q", "hello") == b":1\r\n" and
       reply_within(a, LONG) == b"*2\r\n$1\r\nq\r\n$5\r\nhello\r\n")
    ok("the woken pop took the element", admin.call("EXISTS", "q") == b":0\r\n")
    ok("after its reply the client is no longer blocked", " flags=N " in client_line(admin, a_id) and
       b"\r\nblocked_clients:0\r\n" in admin.call("INFO", "clients"), client_line(admin, a_id))

    # Woken by SQL: an INSERT of the key's row; a string row is passed over (Redis 7.0 serves only lists).
    admin.call("RPUSH", "src", "fromsql")
    admin.call("RPUSH", "src2", "fromupdate")
    ask(a, "BLPOP", "sq", "0")
    wait_blocked(admin, a_id)
    psql(psql_cmd, "INSERT INTO kv_db0 (key, type, value) SELECT 'sq', type, value FROM kv_db0 WHERE key = 'src'")
    ok("an SQL INSERT of a list row wakes it", reply_within(a, LONG) == b"*2\r\n$2\r\nsq\r\n$7\r\nfromsql\r\n")
    ask(a, "BLPOP", "sq2", "0")
    wait_blocked(admin, a_id)
    psql(psql_cmd, "INSERT INTO kv_db0 (key, type, value) VALUES ('sq2', 'string', 'x')")
    ok("a key that becomes a string leaves it blocked (Redis 7.0)", reply_within(a, 0.5) is None and
       " flags=b " in client_line(admin, a_id))
    psql(psql_cmd, "UPDATE kv_db0 SET type = 'list', value = (SELECT value FROM kv_db0 WHERE key = 'src2') "
                   "WHERE key = 'sq2'")
    ok("an SQL UPDATE that makes it a list wakes it", reply_within(a, LONG) == b"*2\r\n$3\r\nsq2\r\n$10\r\nfromupdate\r\n")

    # FIFO among 3 waiters (of both workers), one push of 3 elements, then one push at a time.
    for label, pushes in (("one RPUSH of 3 elements", [["RPUSH", "f", "x1", "x2", "x3"]]),
                          ("3 separate pushes", [["RPUSH", "f", "x1"], ["RPUSH", "f", "x2"], ["RPUSH", "f", "x3"]])):
        waiters = [on_worker(our_port, w, keep) for w in (1, 0, 1)]
        for w in waiters:
            ask(w, "BLPOP", "f", "0")
            wait_blocked(admin, client_id_cached(w))
        for p in pushes:
            admin.call(*p)
        got = [reply_within(w, LONG) for w in waiters]
        ok("FIFO among 3 waiters, %s: first blocked first served" % label,
           got == [b"*2\r\n$1\r\nf\r\n$2\r\nx%d\r\n" % i for i in (1, 2, 3)], repr(got))

    # Disconnect while blocked: forgotten, the push is not lost.
    d = on_worker(our_port, 1, keep)
    d_id = client_id_cached(d)
    ask(d, "BLPOP", "dq", "0")
    wait_blocked(admin, d_id)
    d.sock.close()
    deadline = time.time() + LONG
    while time.time() < deadline and client_line(admin, d_id).count("id=") > 0:
        time.sleep(0.05)
    admin.call("RPUSH", "dq", "kept")
    time.sleep(0.3)
    ok("a client that disconnected while blocked is forgotten and takes nothing",
       admin.call("LRANGE", "dq", "0", "-1") == b"*1\r\n$4\r\nkept\r\n")

    # A waiter blocked on several keys, one of them pushed; BLMOVE, BLMPOP, BZPOPMIN, BZMPOP woken.
    ask(a, "BRPOP", "m1", "m2", "m3", "0")
    wait_blocked(admin, a_id)
    b.call("LPUSH", "m3", "v3")
    ok("BRPOP on 3 keys woken by a push to the third", reply_within(a, LONG) == b"*2\r\n$2\r\nm3\r\n$2\r\nv3\r\n")
    ask(a, "BLMOVE", "ms", "md", "RIGHT", "LEFT", "0")
    wait_blocked(admin, a_id)
    b.call("RPUSH", "ms", "e1", "e2")
    ok("BLMOVE woken", reply_within(a, LONG) == b"$2\r\ne2\r\n" and
       admin.call("LRANGE", "md", "0", "-1") == b"*1\r\n$2\r\ne2\r\n")
    ask(a, "BLMPOP", "0", "2", "mp1", "mp2", "LEFT", "COUNT", "5")
    wait_blocked(admin, a_id)
    b.call("RPUSH", "mp2", "p1", "p2")
    ok("BLMPOP woken", reply_within(a, LONG) == b"*2\r\n$3\r\nmp2\r\n*2\r\n$2\r\np1\r\n$2\r\np2\r\n")
    ask(a, "BZPOPMIN", "zw", "0")
    wait_blocked(admin, a_id)
    b.call("ZADD", "zw", "2", "two", "1", "one")
    ok("BZPOPMIN woken by a ZADD", reply_within(a, LONG) == b"*3\r\n$2\r\nzw\r\n$3\r\none\r\n$1\r\n1\r\n")
    ask(a, "BZMPOP", "0", "1", "zw2", "MAX", "COUNT", "2")
    wait_blocked(admin, a_id)
    b.call("ZADD", "zw2", "2", "two", "1", "one", "3", "three")
    ok("BZMPOP woken", reply_within(a, LONG) ==
       b"*2\r\n$3\r\nzw2\r\n*2\r\n*2\r\n$5\r\nthree\r\n$1\r\n3\r\n*2\r\n$3\r\ntwo\r\n$1\r\n2\r\n")
    ask(a, "BRPOPLPUSH", "rs", "rd", "0")
    wait_blocked(admin, a_id)
    b.call("RPUSH", "rs", "r1")
    ok("BRPOPLPUSH woken", reply_within(a, LONG) == b"$2\r\nr1\r\n")

    # Spilled lists (members in kv_members): a push that creates a spilled list wakes; BLMOVE into one.
    ask(a, "BLPOP", "sp", "0")
    wait_blocked(admin, a_id)
    b.call("RPUSH", "sp", *["s%d" % i for i in range(200)])
    ok("a push creating a spilled list wakes its waiter", reply_within(a, LONG) == b"*2\r\n$2\r\nsp\r\n$2\r\ns0\r\n")
    ok("the spilled list lost exactly one element", admin.call("LLEN", "sp") == b":199\r\n")
    ask(a, "BLMOVE", "spsrc", "sp", "LEFT", "LEFT", "0")
    wait_blocked(admin, a_id)
    b.call("RPUSH", "spsrc", "moved")
    ok("BLMOVE into a spilled list", reply_within(a, LONG) == b"$5\r\nmoved\r\n" and
       admin.call("LINDEX", "sp", "0") == b"$5\r\nmoved\r\n" and admin.call("LLEN", "sp") == b":200\r\n")
    ask(a, "BRPOP", "sp2", "0")
    wait_blocked(admin, a_id)
    admin.call("RPUSH", "sp2", *["t%d" % i for i in range(150)])
    ok("BRPOP of a spilled list", reply_within(a, LONG) == b"*2\r\n$3\r\nsp2\r\n$4\r\nt149\r\n")

    # Fractional timeout, RESP3's null.
    t0 = time.time()
    r = a.call("BLPOP", "tq", "0.25")
    elapsed = time.time() - t0
    ok("a fractional timeout answers the nil array after it passed", r == b"*-1\r\n" and 0.24 <= elapsed < LONG,
       "%r after %.3fs" % (r, elapsed))
    r3 = on_worker(our_port, 1, keep)
    r3.call("HELLO", "3")
    ok("RESP3: the timeout answers _", r3.call("BZPOPMAX", "tq", "0.05") == b"_\r\n")
    ok("a timed-out client is no longer blocked", " flags=N " in client_line(admin, client_id_cached(r3)))

    # CLIENT UNBLOCK: the same scenario on redis-server gives the same replies.
    results = {}
    for name, port in (("ours", our_port), ("redis", redis_port)):
        ctl = fresh(port)
        u = Raw(port)
        uid = client_id(u)
        seq = [ctl.call("CLIENT", "UNBLOCK", str(uid))]
        ask(u, "BLPOP", "uq", "0")
        if name == "ours":
            wait_blocked(ctl, uid)
        else:
            time.sleep(0.3)
        seq.append(ctl.call("CLIENT", "UNBLOCK", str(uid)))
        seq.append(reply_within(u, LONG))
        ask(u, "BLMOVE", "uq", "ud", "LEFT", "LEFT", "0")
        if name == "ours":
            wait_blocked(ctl, uid)
        else:
            time.sleep(0.3)
        seq.append(ctl.call("CLIENT", "UNBLOCK", str(uid), "ERROR"))
        seq.append(reply_within(u, LONG))
        ask(u, "BZPOPMIN", "uq", "0")
        if name == "ours":
            wait_blocked(ctl, uid)
        else:
            time.sleep(0.3)
        seq.append(ctl.call("CLIENT", "UNBLOCK", str(uid), "TIMEOUT"))
        seq.append(reply_within(u, LONG))
        seq.append(u.call("PING"))
        seq.append(ctl.call("CLIENT", "UNBLOCK", "999999"))
        results[name] = seq
    ok("CLIENT UNBLOCK [TIMEOUT|ERROR] equals Redis 7's", results["ours"] == results["redis"],
       "ours %r redis %r" % (results["ours"], results["redis"]))
    # UNBLOCK of a client of the other worker.
    ask(a, "BLPOP", "uq2", "0")
    wait_blocked(admin, a_id)
    ok("CLIENT UNBLOCK of another worker's client", b.call("CLIENT", "UNBLOCK", str(a_id), "ERROR") == b":1\r\n" and
       reply_within(a, LONG) == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")
    ok("the unblocked client goes on", a.call("PING") == b"+PONG\r\n")

    # A role that may only read kv_db0 is refused before it blocks (Redis's ACL refuses the command at
    # once), on an empty key as on a full one, and takes nothing.
    r = on_worker(our_port, 0, keep)
    r_id = client_id_cached(r)
    ok("AUTH as a role that may only read kv_db0", r.call("AUTH", "reader", "secret") == b"+OK\r\n")
    for cmd in (["BLPOP", "pv", "0"], ["BRPOP", "pv", "pw", "0"], ["BLMOVE", "pv", "pw", "LEFT", "RIGHT", "0"],
                ["BLMPOP", "0", "1", "pv", "LEFT"], ["BZPOPMIN", "pz", "0"], ["BZMPOP", "0", "1", "pz", "MIN"]):
        ask(r, *cmd)
        got = reply_within(r, LONG)
        ok("%s of a read-only role answers NOPERM at once" % cmd[0], got is not None and got.startswith(b"-NOPERM"),
           repr(got))
    ok("the read-only role's client does not wait", " flags=N " in client_line(admin, r_id), client_line(admin, r_id))
    b.call("RPUSH", "pv", "private")
    ask(r, "BLPOP", "pv", "0")
    got = reply_within(r, LONG)
    ok("a read-only role's pop of a full list answers NOPERM", got is not None and got.startswith(b"-NOPERM"),
       repr(got))
    ok("and took nothing", admin.call("LRANGE", "pv", "0", "-1") == b"*1\r\n$7\r\nprivate\r\n")

    # Lost wake-ups: the push races the waiter's registration (no pause between them), 200 rounds, the
    # waiter and the pusher on different workers; every round must be served.
    lost = []
    for i in range(200):
        key = "race%d" % (i % 7)
        ask(a, "BLPOP", key, "0")
        b.send_raw(Raw.encode(["RPUSH", key, "v%d" % i]))
        got = reply_within(a, LONG)
        b.read_reply()
        if got != b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key.encode(), len("v%d" % i),
                                                           ("v%d" % i).encode()):
            lost.append((i, got))
            break
    ok("no lost wake-up when the push races the block (200 rounds across workers)", not lost, repr(lost))

    # The same race made certain (nodedb_kv.test_block_delay: the worker pauses between the command's
    # first snapshot and its registration): the push commits in between, and the waiter must still see it.
    psql(psql_cmd, "ALTER SYSTEM SET nodedb_kv.test_block_delay = 400")
    psql(psql_cmd, "SELECT pg_reload_conf()")
    deadline = time.time() + LONG
    while time.time() < deadline:  # until the worker has reloaded: a 10 ms timeout then takes >= 400 ms
        t0 = time.time()
        a.call("BLPOP", "nothing", "0.01")
        if time.time() - t0 >= 0.4:
            break
    ask(a, "BLPOP", "rq", "0")
    time.sleep(0.15)  # inside the pause of a's worker
    b.call("RPUSH", "rq", "between")
    got = reply_within(a, LONG)
    psql(psql_cmd, "ALTER SYSTEM RESET nodedb_kv.test_block_delay")
    psql(psql_cmd, "SELECT pg_reload_conf()")
    ok("a push committed between the first snapshot and the registration is not lost (park, then re-read)",
       got == b"*2\r\n$2\r\nrq\r\n$7\r\nbetween\r\n", repr(got))

    # A pipeline: replies before the blocking command go out, the commands after it wait for it.
    a.send_raw(Raw.encode(["SET", "pp", "1"]) + Raw.encode(["BLPOP", "pq", "0"]) + Raw.encode(["GET", "pp"]))
    first = reply_within(a, LONG)
    ok("a pipelined command before a blocked one is answered", first == b"+OK\r\n", repr(first))
    ok("the command after it waits", reply_within(a, 0.3) is None)
    b.call("RPUSH", "pq", "z")
    ok("and runs once it is served", reply_within(a, LONG) == b"*2\r\n$2\r\npq\r\n$1\r\nz\r\n" and
       reply_within(a, LONG) == b"$1\r\n1\r\n")
    for c in keep:
        c.sock.close()


_ids = {}


def client_id_cached(conn):
    if id(conn) not in _ids:
        _ids[id(conn)] = client_id(conn)
    return _ids[id(conn)]


def restart_checks(our_port, redis_port, psql_cmd, pg_ctl, datadir, logfile):
    admin = fresh(our_port)
    admin.call("RPUSH", "keep", "a", "b")
    w = Raw(our_port)
    wid = client_id(w)
    ask(w, "BLPOP", "rq", "0")
    ok("restart: the client is blocked", wait_blocked(admin, wid))
    admin.sock.close()
    subprocess.run([pg_ctl, "-D", datadir, "-l", logfile, "-m", "fast", "-w", "restart"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        w.sock.settimeout(LONG)
        closed = w.sock.recv(1) == b""
    except OSError:
        closed = True
    ok("restart: the blocked client is disconnected", closed)
    deadline = time.time() + 60
    c = None
    while time.time() < deadline:
        try:
            c = Raw(our_port)
            if c.call("PING") == b"+PONG\r\n":
                break
        except OSError:
            time.sleep(0.2)
    ok("restart: nothing lost", c is not None and c.call("LRANGE", "keep", "0", "-1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
       and c.call("EXISTS", "rq") == b":0\r\n")
    ok("restart: blocking works again", c.call("BLPOP", "rq", "0.05") == b"*-1\r\n")


def main():
    mode, our_port, redis_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rest = sys.argv[4:]
    if mode == "replies":
        replies_checks(our_port, redis_port, rest)
    elif mode == "wake":
        wake_checks(our_port, redis_port, rest)
    elif mode == "restart":
        restart_checks(our_port, redis_port, rest[3:], rest[0], rest[1], rest[2])
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
