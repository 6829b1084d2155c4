#!/usr/bin/python3
"""RESP transactions (MULTI EXEC DISCARD WATCH UNWATCH, issue 11 §3), driven by test/t/052_resp_multi.pl.

  resp_multi_check.py <our_port> <redis_port> <psql...>

Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402

import redis  # noqa: E402


def psql(cmd, sql):
    r = subprocess.run(cmd + ["-At", "-c", sql], capture_output=True, text=True)
    return r.stdout.strip() + (("\nERR: " + r.stderr.strip()) if r.stderr.strip() else "")


def run_script(conns, script):
    """script: list of (connection index, command) or (index, "CLOSE?").  Returns the replies."""
    out = []
    for i, cmd in script:
        if cmd == "CLOSED?":
            out.append(b"closed" if conns[i].closed() else b"open")
        else:
            out.append(conns[i].call(*cmd))
    return out


# Sequences whose replies must equal Redis 7's byte for byte.  Each runs on fresh connections (index 0,
# 1, 2) with keys of its own, after DEL of those keys on both servers.
SEQUENCES = {
    "basic": [
        (0, ["MULTI"]), (0, ["MULTI"]), (0, ["WATCH", "t1:a"]), (0, ["SET", "t1:a", "x"]), (0, ["INCR", "t1:a"]),
        (0, ["GET", "t1:a"]), (0, ["INCR", "t1:n"]), (0, ["EXEC"]), (0, ["GET", "t1:a"]), (0, ["GET", "t1:n"]),
    ],
    "without MULTI": [(0, ["EXEC"]), (0, ["DISCARD"]), (0, ["exec"]), (0, ["UNWATCH"])],
    "queue-time errors abort EXEC": [
        (0, ["MULTI"]), (0, ["SET", "t2:a", "1"]), (0, ["NOSUCHCMD", "x"]), (0, ["SET", "t2:a"]),
        (0, ["INCR", "t2:a"]), (0, ["EXEC"]), (0, ["GET", "t2:a"]), (0, ["EXEC"]),
    ],
    "arity error of GET": [(0, ["MULTI"]), (0, ["GET"]), (0, ["EXEC"])],
    "DISCARD": [
        (0, ["MULTI"]), (0, ["SET", "t3:a", "1"]), (0, ["DISCARD"]), (0, ["GET", "t3:a"]), (0, ["EXEC"]),
        (0, ["DISCARD"]),
    ],
    "empty block": [(0, ["MULTI"]), (0, ["EXEC"]), (0, ["WATCH", "t4:a"]), (0, ["MULTI"]), (0, ["EXEC"])],
    "UNWATCH is queued, WATCH without key is an arity error": [
        (0, ["MULTI"]), (0, ["UNWATCH"]), (0, ["WATCH"]), (0, ["EXEC"]),
    ],
    "WATCH: own write before MULTI": [
        (0, ["SET", "t5:a", "1"]), (0, ["WATCH", "t5:a"]), (0, ["SET", "t5:a", "2"]), (0, ["MULTI"]),
        (0, ["GET", "t5:a"]), (0, ["EXEC"]), (0, ["MULTI"]), (0, ["GET", "t5:a"]), (0, ["EXEC"]),
    ],
    "WATCH: another client's write": [
        (0, ["SET", "t6:a", "1"]), (0, ["WATCH", "t6:a", "t6:b"]), (1, ["SET", "t6:a", "1"]), (0, ["MULTI"]),
        (0, ["INCR", "t6:a"]), (0, ["EXEC"]), (0, ["GET", "t6:a"]),
    ],
    "WATCH: another client creates a watched absent key": [
        (0, ["WATCH", "t7:a"]), (1, ["SET", "t7:a", "1"]), (0, ["MULTI"]), (0, ["SET", "t7:a", "2"]), (0, ["EXEC"]),
        (0, ["GET", "t7:a"]),
    ],
    "WATCH: another client deletes": [
        (0, ["SET", "t8:a", "1"]), (0, ["WATCH", "t8:a"]), (1, ["DEL", "t8:a"]), (0, ["MULTI"]), (0, ["SET", "t8:a", "2"]),
        (0, ["EXEC"]), (0, ["GET", "t8:a"]),
    ],
    "WATCH: untouched keys, other keys written": [
        (0, ["SET", "t9:a", "1"]), (0, ["WATCH", "t9:a", "t9:absent"]), (1, ["SET", "t9:other", "1"]),
        (0, ["MULTI"]), (0, ["INCR", "t9:a"]), (0, ["EXEC"]),
    ],
    "UNWATCH forgets": [
        (0, ["SET", "t10:a", "1"]), (0, ["WATCH", "t10:a"]), (0, ["UNWATCH"]), (1, ["SET", "t10:a", "2"]),
        (0, ["MULTI"]), (0, ["GET", "t10:a"]), (0, ["EXEC"]),
    ],
    "EXEC and DISCARD clear watches": [
        (0, ["SET", "t11:a", "1"]), (0, ["WATCH", "t11:a"]), (0, ["MULTI"]), (0, ["DISCARD"]), (1, ["SET", "t11:a", "2"]),
        (0, ["MULTI"]), (0, ["GET", "t11:a"]), (0, ["EXEC"]), (0, ["WATCH", "t11:a"]), (0, ["MULTI"]), (0, ["EXEC"]),
        (1, ["SET", "t11:a", "3"]), (0, ["MULTI"]), (0, ["GET", "t11:a"]), (0, ["EXEC"]),
    ],
    "WATCH a key twice": [
        (0, ["SET", "t12:a", "1"]), (0, ["WATCH", "t12:a", "t12:a"]), (0, ["WATCH", "t12:a"]), (1, ["SET", "t12:a", "2"]),
        (0, ["MULTI"]), (0, ["GET", "t12:a"]), (0, ["EXEC"]),
    ],
    "QUIT inside MULTI": [(0, ["MULTI"]), (0, ["SET", "t13:a", "1"]), (0, ["QUIT"]), (0, "CLOSED?"), (1, ["GET", "t13:a"])],
    "RESET inside MULTI": [
        (0, ["SET", "t14:a", "1"]), (0, ["WATCH", "t14:a"]), (0, ["MULTI"]), (0, ["SET", "t14:a", "2"]), (0, ["RESET"]),
        (0, ["GET", "t14:a"]), (0, ["EXEC"]), (0, ["MULTI"]), (0, ["GET", "t14:a"]), (0, ["EXEC"]),
    ],
    "SUBSCRIBE inside MULTI": [
        (0, ["MULTI"]), (0, ["SUBSCRIBE", "t15:ch"]), (0, ["GET", "t15:a"]), (0, ["EXEC"]), (0, ["PING"]),
        (0, ["GET", "t15:a"]), (0, ["UNSUBSCRIBE"]), (0, ["MULTI"]), (0, ["EXEC"]),
    ],
    "PUBLISH inside MULTI": [
        (1, ["SUBSCRIBE", "t16:ch"]), (0, ["MULTI"]), (0, ["PUBLISH", "t16:ch", "hello"]), (0, ["SET", "t16:a", "v"]),
        (0, ["EXEC"]),
    ],
    "expiry commands inside MULTI": [
        (0, ["MULTI"]), (0, ["SET", "t17:a", "v", "EX", "100"]), (0, ["TTL", "t17:a"]), (0, ["PERSIST", "t17:a"]),
        (0, ["TTL", "t17:a"]), (0, ["DEL", "t17:a"]), (0, ["EXISTS", "t17:a"]), (0, ["EXEC"]),
    ],
    "mixed reply types": [
        (0, ["MSET", "t18:a", "1", "t18:b", "2"]), (0, ["MULTI"]), (0, ["MGET", "t18:a", "t18:b", "t18:c"]),
        (0, ["INCRBYFLOAT", "t18:f", "1.5"]), (0, ["GET", "t18:none"]), (0, ["TYPE", "t18:a"]), (0, ["ECHO", "x"]),
        (0, ["PING"]), (0, ["EXEC"]),
    ],
    "RESP3": [
        (0, ["HELLO", "3"]), (0, ["MULTI"]), (0, ["SET", "t19:a", "x"]), (0, ["INCR", "t19:a"]), (0, ["GET", "t19:none"]),
        (0, ["MGET", "t19:a"]), (0, ["EXEC"]), (0, ["SET", "t19:b", "1"]), (0, ["WATCH", "t19:b"]),
        (1, ["SET", "t19:b", "2"]), (0, ["MULTI"]), (0, ["GET", "t19:b"]), (0, ["EXEC"]), (0, ["MULTI"]),
        (0, ["FOO"]), (0, ["EXEC"]), (0, ["EXEC"]),
    ],
    "CLIENT inside MULTI": [
        (0, ["MULTI"]), (0, ["GET", "t20:none"]), (0, ["CLIENT", "SETNAME", "x"]), (0, ["GET", "t20:none"]), (0, ["EXEC"]),
    ],
}


def compare_checks(our_port, redis_port):
    for name, script in SEQUENCES.items():
        keys = sorted({c[1] for _, c in script if isinstance(c, list) and len(c) > 1 and ":" in str(c[1])})
        replies = []
        for port in (our_port, redis_port):
            setup = Raw(port)
            if keys:
                setup.call("DEL", *keys)
            conns = [Raw(port) for _ in range(3)]
            # HELLO's reply names the server: compare only its type
            got = run_script(conns, script)
            got = [r[:2] if cmd[0] == "HELLO" else r for (_, cmd), r in zip(script, got)]
            replies.append(got)
        diffs = [f"{script[i][1]!r}: ours {a!r} redis {b!r}" for i, (a, b) in enumerate(zip(*replies)) if a != b]
        ok(f"MULTI sequence '{name}' replies equal Redis 7's", not diffs, "; ".join(diffs[:6]))
    # FLUSHDB touches the watched keys that existed (Redis 7), not a watched absent key
    replies = []
    for port in (our_port, redis_port):
        a, b = Raw(port), Raw(port)
        got = [a.call("SET", "f:a", "1"), a.call("WATCH", "f:a"), b.call("FLUSHDB"), a.call("MULTI"),
               a.call("GET", "f:a"), a.call("EXEC"), a.call("WATCH", "f:absent"), b.call("FLUSHDB"), a.call("MULTI"),
               a.call("GET", "f:a"), a.call("EXEC")]
        replies.append(got)
    ok("WATCH and FLUSHDB as Redis 7", replies[0] == replies[1], f"ours {replies[0]!r} redis {replies[1]!r}")


def named_checks(our_port, psql_cmd):
    a, b = Raw(our_port), Raw(our_port)
    ok("SELECT a blob collection", a.call("SELECT", "cache") == b"+OK\r\n")
    b.call("SELECT", "cache")
    got = [a.call("MULTI"), a.call("SET", "c1", "v"), a.call("APPEND", "c1", "w"), a.call("GET", "c1"),
           a.call("INCR", "c1"), a.call("EXEC")]
    ok("MULTI on a named collection", got == [b"+OK\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n",
                                               b"+QUEUED\r\n",
                                               b"*4\r\n+OK\r\n:2\r\n$2\r\nvw\r\n"
                                               b"-ERR value is not an integer or out of range\r\n"], repr(got))
    ok("the block's write is in the table", psql(psql_cmd, "SELECT value FROM cache WHERE key = 'c1'") == "vw")
    # watched by collection + key: SELECT away does not forget it, and the same name elsewhere is another key
    a.call("SET", "c2", "1")
    a.call("WATCH", "c2")
    a.call("SELECT", "0")
    b.call("SET", "c2", "2")  # on cache
    got = [a.call("MULTI"), a.call("SET", "c2", "x"), a.call("EXEC")]
    ok("a watched key of a collection SELECTed away from still counts", got[2] == b"*-1\r\n", repr(got))
    a.call("SELECT", "cache")
    a.call("WATCH", "c2")
    a.call("SELECT", "0")
    Raw(our_port).call("SET", "c2", "db0")  # kv_db0's c2, not the watched one
    got = [a.call("MULTI"), a.call("GET", "c2"), a.call("EXEC")]
    ok("the same key name in another collection is not the watched key", got[2] == b"*1\r\n$3\r\ndb0\r\n", repr(got))
    # SELECT inside MULTI: the later commands of the block address the new collection, and it stays
    got = [a.call("MULTI"), a.call("SELECT", "cache"), a.call("GET", "c1"), a.call("EXEC"), a.call("GET", "c1")]
    ok("SELECT inside MULTI", got[3:] == [b"*2\r\n+OK\r\n$2\r\nvw\r\n", b"$2\r\nvw\r\n"], repr(got))
    # hashes on a typed collection
    h = Raw(our_port)
    h.call("SELECT", "players")
    got = [h.call("MULTI"), h.call("HSET", "p1", "name", "alice", "level", "3"), h.call("HINCRBY", "p1", "score", "10"),
           h.call("HINCRBY", "p1", "name", "1"), h.call("HGET", "p1", "score"), h.call("EXEC")]
    ok("hash commands in a block on a typed collection",
       got[5] == b"*4\r\n:2\r\n:10\r\n-ERR hash value is not an integer\r\n$2\r\n10\r\n", repr(got))
    ok("the typed row through SQL", psql(psql_cmd, "SELECT name, score, level FROM players WHERE key = 'p1'")
       == "alice|10|3")
    h.call("WATCH", "p1")
    psql(psql_cmd, "UPDATE players SET level = 4 WHERE key = 'p1'")
    got = [h.call("MULTI"), h.call("HSET", "p1", "level", "5"), h.call("EXEC"), h.call("HGET", "p1", "level")]
    ok("WATCH on a typed row invalidated by SQL UPDATE", got[2:] == [b"*-1\r\n", b"$1\r\n4\r\n"], repr(got))


def runtime_error_checks(our_port, psql_cmd):
    """A PostgreSQL error in a queued command (a CHECK constraint) fails that command in place; the
    others are done and committed."""
    a = Raw(our_port)
    a.call("SELECT", "chk")
    got = [a.call("MULTI"), a.call("SET", "r1", "1"), a.call("SET", "r2", "500"), a.call("INCR", "r1"),
           a.call("SET", "r3", "3"), a.call("EXEC")]
    rep = got[5]
    ok("a PostgreSQL error appears in place in EXEC's array",
       rep.startswith(b"*4\r\n+OK\r\n-ERR new row for relation \"chk\" violates check constraint")
       and rep.endswith(b"\r\n:2\r\n+OK\r\n"), repr(got))
    ok("the other commands of the block are committed",
       psql(psql_cmd, "SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM chk") == "r1=2,r3=3",
       psql(psql_cmd, "SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM chk"))
    # the failed command's effects are gone, a later one in the same block sees the earlier ones
    got = [a.call("MULTI"), a.call("SET", "r4", "10"), a.call("INCRBY", "r4", "200"), a.call("GET", "r4"),
           a.call("EXEC")]
    ok("a failed INCRBY leaves the value of the block's earlier SET",
       got[4].startswith(b"*3\r\n+OK\r\n-ERR new row") and got[4].endswith(b"$2\r\n10\r\n"), repr(got))
    ok("the connection goes on after it", a.call("GET", "r4") == b"$2\r\n10\r\n")


def watch_pg_checks(our_port, psql_cmd):
    """WATCH invalidated by SQL and KV functions (kv_db0's key is bytea)."""
    def fresh(key, value="1"):
        c = Raw(our_port)
        c.call("SET", key, value)
        c.call("WATCH", key)
        return c

    def exec_after(c, key):
        return [c.call("MULTI"), c.call("SET", key, "mine"), c.call("EXEC")][2]

    c = fresh("w:upd")
    psql(psql_cmd, "UPDATE kv_db0 SET value = 'sql' WHERE key = 'w:upd'::bytea")
    ok("WATCH invalidated by a SQL UPDATE", exec_after(c, "w:upd") == b"*-1\r\n")
    c = fresh("w:same")
    psql(psql_cmd, "UPDATE kv_db0 SET value = value WHERE key = 'w:same'::bytea")
    ok("WATCH invalidated by a SQL UPDATE that changes nothing", exec_after(c, "w:same") == b"*-1\r\n")
    c = fresh("w:del")
    psql(psql_cmd, "DELETE FROM kv_db0 WHERE key = 'w:del'::bytea")
    ok("WATCH invalidated by a SQL DELETE", exec_after(c, "w:del") == b"*-1\r\n")
    c = Raw(our_port)
    c.call("DEL", "w:ins")
    c.call("WATCH", "w:ins")
    psql(psql_cmd, "INSERT INTO kv_db0 (key, value) VALUES ('w:ins'::bytea, 'sql')")
    ok("WATCH of an absent key invalidated by a SQL INSERT", exec_after(c, "w:ins") == b"*-1\r\n")
    c = fresh("w:fn")
    out = psql(psql_cmd, "SELECT kv_getset('kv_db0', 'w:fn'::bytea, 'fn'::bytea, field => 'value')")
    got = exec_after(c, "w:fn")
    ok("WATCH invalidated by a KV function", got == b"*-1\r\n", f"{got!r} {out}")
    c = fresh("w:rolled")
    psql(psql_cmd, "BEGIN; UPDATE kv_db0 SET value = 'x' WHERE key = 'w:rolled'::bytea; ROLLBACK")
    ok("a rolled-back SQL UPDATE does not invalidate WATCH",
       exec_after(c, "w:rolled") == b"*1\r\n+OK\r\n")
    c = fresh("w:ok")
    psql(psql_cmd, "SELECT value FROM kv_db0 WHERE key = 'w:ok'::bytea FOR UPDATE")
    ok("a SQL read (even FOR UPDATE) does not invalidate WATCH", exec_after(c, "w:ok") == b"*1\r\n+OK\r\n")
    ok("the block's write reached SQL", psql(psql_cmd, "SELECT convert_from(value, 'UTF8') FROM kv_db0 "
                                                      "WHERE key = 'w:ok'::bytea") == "mine")


def other_worker_checks(our_port):
    """A write through another RESP worker invalidates WATCH (client ids tell the worker: id = index + 1
    + n * workers)."""
    a = Raw(our_port)
    ida = int(a.call("CLIENT", "ID")[1:-2])
    other = None
    for _ in range(40):
        c = Raw(our_port)
        if int(c.call("CLIENT", "ID")[1:-2]) % 2 != ida % 2:
            other = c
            break
    if other is None:
        ok("a client on the other RESP worker", False, "every connection landed on the same worker")
        return
    a.call("SET", "ow:a", "1")
    a.call("WATCH", "ow:a")
    other.call("SET", "ow:a", "1")
    got = [a.call("MULTI"), a.call("INCR", "ow:a"), a.call("EXEC")]
    ok("WATCH invalidated by a client of the other RESP worker", got[2] == b"*-1\r\n", repr(got))
    a.call("WATCH", "ow:a")
    other.call("GET", "ow:a")
    got = [a.call("MULTI"), a.call("INCR", "ow:a"), a.call("EXEC")]
    ok("a read on the other worker does not", got[2] == b"*1\r\n:2\r\n", repr(got))


def expiry_checks(our_port, psql_cmd):
    """A watched key that expires before EXEC aborts it (Redis 7); one already expired at WATCH does not."""
    a = Raw(our_port)
    a.call("SET", "x:a", "1", "EX", "100")
    a.call("SET", "x:gone", "1", "EX", "50")
    a.call("WATCH", "x:a")
    b = Raw(our_port)
    psql(psql_cmd, "ALTER SYSTEM SET nodedb_kv.test_clock_offset = '75s'")
    psql(psql_cmd, "SELECT pg_reload_conf()")
    deadline = time.time() + 30
    while b.call("EXISTS", "x:gone") != b":0\r\n" and time.time() < deadline:
        time.sleep(0.05)
    ok("the test clock moved for the RESP workers", b.call("EXISTS", "x:gone") == b":0\r\n")
    b.call("WATCH", "x:gone")  # already expired when watched
    psql(psql_cmd, "ALTER SYSTEM SET nodedb_kv.test_clock_offset = '150s'")
    psql(psql_cmd, "SELECT pg_reload_conf()")
    while a.call("EXISTS", "x:a") != b":0\r\n" and time.time() < deadline:
        time.sleep(0.05)
    got = [a.call("MULTI"), a.call("GET", "x:a"), a.call("EXEC")]
    ok("WATCH of a key that expired meanwhile: EXEC answers nil", got[2] == b"*-1\r\n", repr(got))
    got = [b.call("MULTI"), b.call("GET", "x:gone"), b.call("EXEC")]
    ok("WATCH of a key expired before WATCH: EXEC runs", got[2] == b"*1\r\n$-1\r\n", repr(got))
    psql(psql_cmd, "ALTER SYSTEM RESET nodedb_kv.test_clock_offset")
    psql(psql_cmd, "SELECT pg_reload_conf()")


def redis_py_checks(our_port, psql_cmd):
    r = redis.Redis(port=our_port)
    r.delete("py:x", "py:y")
    p = r.pipeline()  # transaction=True: MULTI ... EXEC
    p.set("py:x", 1).incr("py:x").get("py:x").incrby("py:y", 5)
    ok("redis-py pipeline() (MULTI/EXEC)", p.execute() == [True, 2, b"2", 5])
    p = r.pipeline(transaction=False)
    p.incr("py:x").get("py:x")
    ok("redis-py pipeline(transaction=False)", p.execute() == [3, b"3"])
    p = r.pipeline()
    p.set("py:s", "str").incr("py:s").get("py:s")
    try:
        p.execute()
        ok("redis-py pipeline raises the in-place error", False, "no exception")
    except redis.ResponseError as e:
        ok("redis-py pipeline raises the in-place error", "not an integer" in str(e), str(e))
    ok("the block's other commands were done", r.get("py:s") == b"str")
    # transaction(func, *watches): a retry loop of optimistic increments from 8 threads
    r.set("py:counter", 0)
    errors = []

    def worker():
        rr = redis.Redis(port=our_port)
        try:
            for _ in range(25):
                def incr(pipe):
                    v = int(pipe.get("py:counter"))
                    pipe.multi()
                    pipe.set("py:counter", v + 1)
                rr.transaction(incr, "py:counter")
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    ok("r.transaction(func, watches) from 8 threads loses no increment",
       not errors and r.get("py:counter") == b"200", f"{errors[:3]} counter={r.get('py:counter')}")


def atomicity_checks(our_port, psql_cmd):
    """8 clients each MULTI; INCR a; INCR b; EXEC, while checkers (RESP blocks and SQL) never see a != b."""
    r = redis.Redis(port=our_port)
    r.set("at:a", 0)
    r.set("at:b", 0)
    stop = threading.Event()
    errors, seen = [], {"resp": 0, "sql": 0}
    rounds = 40

    def writer():
        rr = redis.Redis(port=our_port)
        try:
            for _ in range(rounds):
                res = rr.pipeline().incr("at:a").incr("at:b").execute()
                if res[0] != res[1]:
                    errors.append(f"writer saw {res}")
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    def resp_checker():
        rr = redis.Redis(port=our_port)
        while not stop.is_set():
            a, b = rr.pipeline().get("at:a").get("at:b").execute()
            seen["resp"] += 1
            if a != b:
                errors.append(f"RESP checker saw a={a} b={b}")

    def sql_checker():
        proc = subprocess.Popen(psql_cmd + ["-At"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                bufsize=1)
        q = ("SELECT string_agg(convert_from(value, 'UTF8'), ',' ORDER BY key) FROM kv_db0 "
             "WHERE key IN ('at:a'::bytea, 'at:b'::bytea);\n")
        while not stop.is_set():
            proc.stdin.write(q)
            line = proc.stdout.readline().strip()
            seen["sql"] += 1
            parts = line.split(",")
            if len(parts) != 2 or parts[0] != parts[1]:
                errors.append(f"SQL checker saw {line!r}")
        proc.stdin.close()
        proc.wait(30)

    checkers = [threading.Thread(target=resp_checker), threading.Thread(target=sql_checker)]
    writers = [threading.Thread(target=writer) for _ in range(8)]
    for t in checkers + writers:
        t.start()
    for t in writers:
        t.join(300)
    stop.set()
    for t in checkers:
        t.join(60)
    ok("EXEC blocks are atomic for RESP and SQL readers", not errors, "; ".join(errors[:5]))
    ok("the checkers ran", seen["resp"] > 0 and seen["sql"] > 0, repr(seen))
    ok("every block was applied once", r.mget("at:a", "at:b") == [b"%d" % (8 * rounds)] * 2,
       repr(r.mget("at:a", "at:b")))


def limits_checks(our_port):
    # a client that disconnects mid-MULTI: nothing of its block happens, other clients go on
    a = Raw(our_port)
    a.call("DEL", "d:a")
    a.call("MULTI")
    a.call("SET", "d:a", "1")
    a.sock.close()
    b = Raw(our_port)
    ok("a block of a client gone mid-MULTI never runs", b.call("EXISTS", "d:a") == b":0\r\n")
    # a huge block is bounded: past 64 MiB of queued commands, an error, and EXEC aborts
    c = Raw(our_port)
    c.call("MULTI")
    big = "x" * (1 << 20)
    payload = b"".join(Raw.encode(["SET", "big:%d" % i, big]) for i in range(70))
    c.send_raw(payload)
    replies = [c.read_reply() for _ in range(70)]
    errs = [r for r in replies if r.startswith(b"-")]
    ok("a block past 64 MiB is refused", len(errs) > 0 and errs[0].startswith(b"-ERR MULTI block too large"),
       repr(errs[:1]))
    ok("and its EXEC aborts", c.call("EXEC") == b"-EXECABORT Transaction discarded because of previous errors.\r\n")
    ok("nothing of it was written", c.call("EXISTS", "big:0") == b":0\r\n")


def main():
    our_port, redis_port = int(sys.argv[1]), int(sys.argv[2])
    psql_cmd = sys.argv[3:]
    for fn, args in [(compare_checks, (our_port, redis_port)), (named_checks, (our_port, psql_cmd)),
                     (runtime_error_checks, (our_port, psql_cmd)), (watch_pg_checks, (our_port, psql_cmd)),
                     (other_worker_checks, (our_port,)), (expiry_checks, (our_port, psql_cmd)),
                     (redis_py_checks, (our_port, psql_cmd)), (atomicity_checks, (our_port, psql_cmd)),
                     (limits_checks, (our_port,))]:
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            import traceback
            ok(f"{fn.__name__} ran to the end", False, repr(e) + " " + traceback.format_exc().replace("\n", " | "))


if __name__ == "__main__":
    main()
