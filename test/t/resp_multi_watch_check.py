#!/usr/bin/python3
"""RESP transactions, the finer points (issue 11 §3), driven by test/t/054_resp_multi_watch.pl.

  resp_multi_watch_check.py <our_port> <redis_port> <psql...>

A watched absent key created and deleted again; CLIENT LIST's multi= and flags; the privilege EXEC's
row locks need; keyspace notifications of a queued command that was rolled back; VACUUM FULL and
CLUSTER of a watched collection; Z-reads inside a block (and a pipeline) see their own writes, byte for
byte as redis-server, also over random blocks.
Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402


def psql(cmd, sql):
    r = subprocess.run(cmd + ["-At", "-c", sql], capture_output=True, text=True)
    return r.stdout.strip() + (("\nERR: " + r.stderr.strip()) if r.stderr.strip() else "")


def run_script(port, script, nconns=3):
    conns = [Raw(port) for _ in range(nconns)]
    out = []
    for i, cmd in script:
        if cmd[0] == "PIPELINE":  # several commands in one write (one loop turn of the worker)
            conns[i].send_raw(b"".join(Raw.encode(c) for c in cmd[1:]))
            out.append(b"".join(conns[i].read_reply() for _ in cmd[1:]))
        else:
            out.append(conns[i].call(*cmd))
    return out


# Replies must equal Redis 7's byte for byte.  Keys of each sequence are deleted first on both servers.
SEQUENCES = {
    "a watched absent key created and deleted by another client": [
        (0, ["WATCH", "a1:k"]), (1, ["SET", "a1:k", "1"]), (1, ["DEL", "a1:k"]), (0, ["MULTI"]),
        (0, ["SET", "a1:k", "2"]), (0, ["EXEC"]), (0, ["GET", "a1:k"]),
    ],
    "a watched absent key created and deleted by the watching client": [
        (0, ["WATCH", "a2:k"]), (0, ["SET", "a2:k", "1"]), (0, ["DEL", "a2:k"]), (0, ["MULTI"]),
        (0, ["GET", "a2:k"]), (0, ["EXEC"]),
    ],
    "the same in one pipeline (one loop turn)": [
        (0, ["PIPELINE", ["WATCH", "a3:k"], ["SET", "a3:k", "1"], ["DEL", "a3:k"], ["MULTI"], ["GET", "a3:k"],
             ["EXEC"]]),
    ],
    "created and deleted in one block of another client": [
        (0, ["WATCH", "a4:k"]), (1, ["MULTI"]), (1, ["SET", "a4:k", "1"]), (1, ["DEL", "a4:k"]), (1, ["EXEC"]),
        (0, ["MULTI"]), (0, ["GET", "a4:k"]), (0, ["EXEC"]),
    ],
    "an absent key stays untouched while other keys are created and deleted": [
        (0, ["WATCH", "a5:k"]), (1, ["SET", "a5:other", "1"]), (1, ["DEL", "a5:other"]), (0, ["MULTI"]),
        (0, ["SET", "a5:k", "1"]), (0, ["EXEC"]), (0, ["GET", "a5:k"]),
    ],
    "DEL of an absent watched key is no change": [
        (0, ["WATCH", "a6:k"]), (1, ["DEL", "a6:k"]), (0, ["MULTI"]), (0, ["SET", "a6:k", "1"]), (0, ["EXEC"]),
    ],
    "created and deleted before WATCH": [
        (1, ["SET", "a7:k", "1"]), (1, ["DEL", "a7:k"]), (0, ["WATCH", "a7:k"]), (0, ["MULTI"]),
        (0, ["SET", "a7:k", "1"]), (0, ["EXEC"]),
    ],
}


def compare_checks(our_port, redis_port):
    for name, script in SEQUENCES.items():
        keys = set()
        for _, cmd in script:
            for c in (cmd[1:] if cmd[0] == "PIPELINE" else [cmd]):
                keys.update(a for a in c[1:] if ":" in a)
        replies = []
        for port in (our_port, redis_port):
            Raw(port).call("DEL", *sorted(keys))
            replies.append(run_script(port, script))
        diffs = [f"{script[i][1]!r}: ours {a!r} redis {b!r}" for i, (a, b) in enumerate(zip(*replies)) if a != b]
        ok(f"WATCH sequence '{name}' replies equal Redis 7's", not diffs, "; ".join(diffs[:6]))


def sql_touch_checks(our_port, psql_cmd):
    """SQL creating and deleting a watched absent key counts; a rolled back insert does not."""
    a = Raw(our_port)
    a.call("SELECT", "cache")
    a.call("WATCH", "s1")
    psql(psql_cmd, "INSERT INTO cache VALUES ('s1', 'x'); DELETE FROM cache WHERE key = 's1'")
    got = [a.call("MULTI"), a.call("SET", "s1", "v"), a.call("EXEC")]
    ok("a watched absent key inserted and deleted by SQL (two transactions): EXEC answers nil",
       got[2] == b"*-1\r\n", repr(got))
    a.call("WATCH", "s2")
    psql(psql_cmd, "BEGIN; INSERT INTO cache VALUES ('s2', 'x'); DELETE FROM cache WHERE key = 's2'; COMMIT")
    got = [a.call("MULTI"), a.call("SET", "s2", "v"), a.call("EXEC")]
    ok("... in one SQL transaction: nil", got[2] == b"*-1\r\n", repr(got))
    a.call("WATCH", "s3")
    psql(psql_cmd, "BEGIN; INSERT INTO cache VALUES ('s3', 'x'); ROLLBACK")
    got = [a.call("MULTI"), a.call("SET", "s3", "v"), a.call("EXEC")]
    ok("a rolled back SQL insert of a watched absent key is no change", got[2] == b"*1\r\n+OK\r\n", repr(got))
    # integer keys: the touch is found by the key's value, whatever its type
    a.call("SELECT", "ints")
    a.call("WATCH", "42")
    psql(psql_cmd, "INSERT INTO ints VALUES (42, 'x'); DELETE FROM ints WHERE key = 42")
    got = [a.call("MULTI"), a.call("SET", "42", "v"), a.call("EXEC")]
    ok("an integer key inserted and deleted by SQL: nil", got[2] == b"*-1\r\n", repr(got))
    a.call("WATCH", "43")
    psql(psql_cmd, "INSERT INTO ints VALUES (44, 'x'); DELETE FROM ints WHERE key = 44")
    got = [a.call("MULTI"), a.call("SET", "43", "v"), a.call("EXEC")]
    ok("another integer key: EXEC runs", got[2] == b"*1\r\n+OK\r\n", repr(got))


def client_fields(listing, name):
    """flags= and multi= of the CLIENT LIST line of the client named name."""
    for line in listing.decode(errors="replace").splitlines():
        if f" name={name} " in line:
            fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            return fields.get("flags"), fields.get("multi")
    return None


def bulk_text(reply):
    m = re.match(rb"[$=](\d+)\r\n", reply)
    return reply[m.end():m.end() + int(m.group(1))] if m else reply


def client_list_checks(our_port, redis_port):
    results = []
    for port in (our_port, redis_port):
        a = Raw(port)
        a.call("CLIENT", "SETNAME", "cl-a")
        # CLIENT LIST lists the clients of its own RESP worker: watch from a connection on a's worker
        b = None
        for _ in range(40):
            b = Raw(port)
            if client_fields(bulk_text(b.call("CLIENT", "LIST")), "cl-a") is not None:
                break
        seen = [client_fields(bulk_text(b.call("CLIENT", "LIST")), "cl-a")]
        a.call("MULTI")
        seen.append(client_fields(bulk_text(b.call("CLIENT", "LIST")), "cl-a"))
        a.call("SET", "cl:k", "1")
        a.call("GET", "cl:k")
        seen.append(client_fields(bulk_text(b.call("CLIENT", "LIST")), "cl-a"))
        a.call("NOSUCHCOMMAND")
        a.call("SET", "cl:k", "2")
        seen.append(client_fields(bulk_text(b.call("CLIENT", "LIST")), "cl-a"))
        a.call("EXEC")
        seen.append(client_fields(bulk_text(b.call("CLIENT", "LIST")), "cl-a"))
        # its own line while EXEC runs the block
        a.call("MULTI")
        a.call("PING")
        a.call("CLIENT", "LIST")
        reply = a.call("EXEC")
        seen.append(client_fields(reply, "cl-a"))
        a.call("MULTI")
        a.call("DISCARD")
        seen.append(client_fields(bulk_text(b.call("CLIENT", "LIST")), "cl-a"))
        results.append(seen)
    ok("CLIENT LIST flags= and multi= of a client in and out of MULTI equal Redis 7's", results[0] == results[1],
       f"ours {results[0]!r} redis {results[1]!r}")


def privilege_checks(our_port, psql_cmd):
    """EXEC locks the watched rows when the block writes: SELECT ... FOR UPDATE's privilege (UPDATE on the
    table or on any of its columns)."""
    a = Raw(our_port)
    ok("AUTH as a role with only SELECT on cache", a.call("AUTH", "ro", "secret") == b"+OK\r\n")
    a.call("SELECT", "cache")
    ok("it may WATCH a key of cache", a.call("WATCH", "p1") == b"+OK\r\n")
    a.call("SELECT", "0")
    got = [a.call("MULTI"), a.call("SET", "p:x", "1"), a.call("EXEC")]
    ok("EXEC of a writing block that would lock the watched row: NOPERM",
       got[2] == b"-NOPERM permission denied for table cache\r\n", repr(got))
    ok("and nothing of the block was done", a.call("EXISTS", "p:x") == b":0\r\n")
    a.call("SELECT", "cache")
    a.call("WATCH", "p1")
    got = [a.call("MULTI"), a.call("GET", "p1"), a.call("EXEC")]
    ok("a read-only block locks nothing: it runs", got[2] == b"*1\r\n$1\r\nv\r\n", repr(got))
    psql(psql_cmd, "GRANT UPDATE (value) ON cache TO ro")
    a.call("WATCH", "p1")
    a.call("SELECT", "0")
    got = [a.call("MULTI"), a.call("SET", "p:x", "1"), a.call("EXEC")]
    ok("UPDATE on one column suffices, as for FOR UPDATE", got[2] == b"*1\r\n+OK\r\n", repr(got))
    psql(psql_cmd, "REVOKE UPDATE (value) ON cache FROM ro")
    psql(psql_cmd, "GRANT UPDATE ON cache TO ro")
    a.call("SELECT", "cache")
    a.call("WATCH", "p1")
    a.call("SELECT", "0")
    got = [a.call("MULTI"), a.call("SET", "p:x", "2"), a.call("EXEC")]
    ok("UPDATE on the table too", got[2] == b"*1\r\n+OK\r\n", repr(got))
    sql = psql(psql_cmd, "SET ROLE ro; SELECT key FROM cache WHERE key = 'p1' FOR UPDATE")
    ok("(SQL agrees: FOR UPDATE with that grant)", sql == "p1", sql)
    psql(psql_cmd, "REVOKE UPDATE ON cache FROM ro")
    sql = psql(psql_cmd, "SET ROLE ro; SELECT key FROM cache WHERE key = 'p1' FOR UPDATE")
    ok("(SQL agrees: FOR UPDATE without UPDATE is refused)", "permission denied for table cache" in sql, sql)


def read_events(sub, until_key, timeout=20):
    """Reads pushed messages until one names until_key; returns [(channel, payload)]."""
    events = []
    deadline = time.time() + timeout
    sub.sock.settimeout(timeout)
    while time.time() < deadline:
        reply = sub.read_reply()
        parts = re.findall(rb"\$(\d+)\r\n", reply)
        items = []
        rest = reply
        for _ in parts:
            m = re.search(rb"\$(\d+)\r\n", rest)
            n = int(m.group(1))
            items.append(rest[m.end():m.end() + n])
            rest = rest[m.end() + n + 2:]
        if len(items) == 4:  # pmessage pattern channel payload
            events.append((items[2].decode(), items[3].decode()))
            if items[3].decode() == until_key:
                return events
    return events


def notification_checks(our_port, psql_cmd):
    """A queued command rolled back in EXEC's replay (its subtransaction) sends none of its keyspace events."""
    sub = Raw(our_port)
    got = sub.call("PSUBSCRIBE", "__keyevent@0__:*")
    ok("PSUBSCRIBE to kv_db0's keyevents", got.startswith(b"*3\r\n$10\r\npsubscribe"), repr(got))
    a = Raw(our_port)
    a.call("MSET", "nt:good", "1", "nt:bad", "2", "nt:good2", "3")
    read_events(sub, "nt:good2")
    got = [a.call("MULTI"), a.call("DEL", "nt:good", "nt:bad"), a.call("SET", "nt:x", "1"), a.call("EXEC")]
    ok("EXEC: the DEL failed in place (a trigger refused its second key), the SET was done",
       got[3].startswith(b"*2\r\n-ERR nt:bad is protected") and got[3].endswith(b"+OK\r\n"), repr(got))
    ok("the DEL's first key is still there", a.call("EXISTS", "nt:good") == b":1\r\n")
    got = a.call("DEL", "nt:good2", "nt:bad")
    ok("outside MULTI the same DEL fails", got.startswith(b"-ERR nt:bad is protected"), repr(got))
    a.call("SET", "nt:marker", "1")
    events = read_events(sub, "nt:marker")
    want = [("__keyevent@0__:set", "nt:x"), ("__keyevent@0__:set", "nt:marker")]
    ok("no del event of the rolled back DELs, the other writes' events", events == want, repr(events))


def rewrite_checks(our_port, psql_cmd):
    """VACUUM FULL and CLUSTER move every row (new ctids, same xmin): not a change of a watched key."""
    a = Raw(our_port)
    a.call("SELECT", "cache")
    a.call("SET", "v1", "1")
    for i in range(50):
        a.call("SET", f"v:pad{i}", "x")
    a.call("DEL", *[f"v:pad{i}" for i in range(0, 50, 2)])
    for cmd in ["VACUUM FULL cache", "CLUSTER cache USING cache_pkey"]:
        before = psql(psql_cmd, "SELECT ctid FROM cache WHERE key = 'v1'")
        a.call("WATCH", "v1")
        psql(psql_cmd, cmd)
        after = psql(psql_cmd, "SELECT ctid FROM cache WHERE key = 'v1'")
        got = [a.call("MULTI"), a.call("INCR", "v1"), a.call("EXEC")]
        ok(f"{cmd} moved the watched row ({before} -> {after}) and EXEC runs",
           before != after and got[2].startswith(b"*1\r\n:"), repr(got))
    a.call("WATCH", "v1")
    psql(psql_cmd, "VACUUM FULL cache")
    psql(psql_cmd, "UPDATE cache SET value = '7' WHERE key = 'v1'")
    got = [a.call("MULTI"), a.call("INCR", "v1"), a.call("EXEC")]
    ok("a change after VACUUM FULL still aborts EXEC", got[2] == b"*-1\r\n", repr(got))
    a.call("WATCH", "v1")
    psql(psql_cmd, "UPDATE cache SET value = '8' WHERE key = 'v1'")
    psql(psql_cmd, "CLUSTER cache USING cache_pkey")
    got = [a.call("MULTI"), a.call("INCR", "v1"), a.call("EXEC")]
    ok("a change before CLUSTER too", got[2] == b"*-1\r\n", repr(got))
    # The watching client changes the key itself after WATCH, in the same loop turn (one transaction: its
    # row versions share an xmin), then the table is rewritten.
    a.send_raw(b"".join(Raw.encode(c) for c in [["SET", "v2", "1"], ["WATCH", "v2"], ["SET", "v2", "2"]]))
    [a.read_reply() for _ in range(3)]
    psql(psql_cmd, "VACUUM FULL cache")
    got = [a.call("MULTI"), a.call("GET", "v2"), a.call("EXEC")]
    ok("a watched key the watcher itself changed after WATCH, then VACUUM FULL: nil", got[2] == b"*-1\r\n",
       repr(got))
    a.call("WATCH", "v:absent")
    psql(psql_cmd, "VACUUM FULL cache")
    got = [a.call("MULTI"), a.call("SET", "v:absent", "1"), a.call("EXEC")]
    ok("an absent watched key across VACUUM FULL: EXEC runs", got[2] == b"*1\r\n+OK\r\n", repr(got))


ZBLOCK = [
    ["ZADD", "zm", "2.5", "x"], ["ZRANK", "zm", "x"], ["ZSCORE", "zm", "x"], ["ZCARD", "zm"],
    ["ZRANGE", "zm", "0", "-1", "WITHSCORES"], ["ZADD", "zm", "10", "a"], ["ZREM", "zm", "c"], ["ZRANK", "zm", "a"],
    ["ZREVRANK", "zm", "b"], ["ZRANK", "zm", "c"], ["ZRANK", "zm", "d"], ["ZRANGE", "zm", "1", "3"],
    ["ZRANGEBYSCORE", "zm", "2", "5", "WITHSCORES"], ["ZCOUNT", "zm", "2", "4"],
    ["ZREVRANGE", "zm", "0", "2", "WITHSCORES"], ["ZINCRBY", "zm", "-9", "a"], ["ZRANGE", "zm", "0", "-1", "WITHSCORES"],
    ["ZPOPMIN", "zm"], ["ZRANGE", "zm", "0", "-1"], ["ZMSCORE", "zm", "a", "b", "c"], ["ZRANGE", "zm", "(1", "+inf",
                                                                                       "BYSCORE", "LIMIT", "1", "2"],
    ["ZADD", "zm", "4", "b"], ["ZRANGE", "zm", "0", "-1", "WITHSCORES"], ["ZREVRANGEBYSCORE", "zm", "+inf", "3"],
    ["ZREM", "zm", "a", "b", "d", "e", "x"], ["ZCARD", "zm"], ["ZRANGE", "zm", "0", "-1"],
]


def zset_checks(our_port, redis_port, psql_cmd):
    """Z-reads see their own block's writes (issue 11 §3: one MULTI/EXEC), byte for byte as Redis 7; the same
    commands pipelined; and random blocks of writes and reads against Redis."""
    import random
    base = ["ZADD", "zm", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]
    for mode in ("MULTI", "pipeline"):
        replies = []
        for port in (our_port, redis_port):
            c = Raw(port)
            if port == our_port:
                psql(psql_cmd, "DELETE FROM zmt")
            else:
                c.call("DEL", "zm")
            c.call(*base)
            cmds = ([["MULTI"]] if mode == "MULTI" else []) + ZBLOCK + ([["EXEC"]] if mode == "MULTI" else [])
            c.send_raw(b"".join(Raw.encode(x) for x in cmds))
            got = [c.read_reply() for _ in cmds]
            got.append(c.call("ZRANGE", "zm", "0", "-1", "WITHSCORES"))
            replies.append(got)
        diffs = [f"#{i}: ours {a!r} redis {b!r}" for i, (a, b) in enumerate(zip(*replies)) if a != b]
        ok(f"Z-reads after Z-writes in one {mode}: replies equal Redis 7's", not diffs, "; ".join(diffs[:4]))
    # random blocks: writes and reads over 30 members, from a committed start
    rnd = random.Random(11)
    members = [f"m{i:02d}" for i in range(30)]
    diffs = []
    ours, theirs = Raw(our_port), Raw(redis_port)
    psql(psql_cmd, "DELETE FROM zmt")
    theirs.call("DEL", "zm")
    for block in range(40):
        cmds = [["MULTI"]]
        for _ in range(rnd.randint(1, 12)):
            op = rnd.random()
            m = rnd.choice(members)
            if op < 0.3:
                cmds.append(["ZADD", "zm", str(rnd.randint(0, 20) / 2), m])
            elif op < 0.4:
                cmds.append(["ZINCRBY", "zm", str(rnd.randint(-6, 6)), m])
            elif op < 0.5:
                cmds.append(["ZREM", "zm", m])
            elif op < 0.6:
                cmds.append(["ZRANK", "zm", m])
            elif op < 0.65:
                cmds.append(["ZREVRANK", "zm", m])
            elif op < 0.75:
                a = rnd.randint(-8, 8)
                cmds.append(["ZRANGE", "zm", str(a), str(a + rnd.randint(0, 10)), "WITHSCORES"])
            elif op < 0.85:
                lo = rnd.randint(0, 10)
                cmds.append(["ZRANGEBYSCORE", "zm", str(lo), str(lo + rnd.randint(0, 5)), "WITHSCORES"])
            elif op < 0.9:
                cmds.append(["ZCARD", "zm"])
            elif op < 0.95:
                cmds.append(["ZCOUNT", "zm", str(rnd.randint(0, 5)), str(rnd.randint(5, 10))])
            else:
                cmds.append(["ZREVRANGE", "zm", "0", str(rnd.randint(0, 5))])
        cmds.append(["EXEC"])
        got = []
        for c in (ours, theirs):
            c.send_raw(b"".join(Raw.encode(x) for x in cmds))
            got.append([c.read_reply() for _ in cmds][-1])
        if got[0] != got[1]:
            diffs.append(f"block {block} {cmds[1:-1]!r}: ours {got[0]!r} redis {got[1]!r}")
    ok("40 random MULTI blocks of Z-writes and Z-reads equal Redis 7's", not diffs, "; ".join(diffs[:2]))
    got = [ours.call("ZRANGE", "zm", "0", "-1", "WITHSCORES"), theirs.call("ZRANGE", "zm", "0", "-1", "WITHSCORES")]
    ok("and the committed sets are the same", got[0] == got[1], repr(got))
    sql = psql(psql_cmd, "SELECT count(*) FROM zmt")
    card = ours.call("ZCARD", "zm")
    ok("(the rows through SQL: as many as ZCARD)", card == f":{sql}\r\n".encode(), f"{sql!r} {card!r}")
    # SQL's RANK keeps reading committed state inside a transaction (CONTRACT.md)
    sql = psql(psql_cmd, "BEGIN; INSERT INTO zmt VALUES ('zz', -100); SELECT rank('zm', 'zz'); ROLLBACK")
    ok("SQL RANK still does not see its transaction's own write", sql == "", repr(sql))


def main():
    our_port, redis_port = int(sys.argv[1]), int(sys.argv[2])
    psql_cmd = sys.argv[3:]
    for fn, args in [(compare_checks, (our_port, redis_port)), (sql_touch_checks, (our_port, psql_cmd)),
                     (client_list_checks, (our_port, redis_port)), (privilege_checks, (our_port, psql_cmd)),
                     (notification_checks, (our_port, psql_cmd)), (rewrite_checks, (our_port, psql_cmd)),
                     (zset_checks, (our_port, redis_port, psql_cmd))]:
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            import traceback
            ok(f"{fn.__name__} ran to the end", False, repr(e) + " " + traceback.format_exc().replace("\n", " | "))


if __name__ == "__main__":
    main()
