#!/usr/bin/python3
"""RESP checks of the range, remove-range, set-operation and *STORE Z-commands on kv_sorted indexes
(issue 11 §2), driven by test/t/053_resp_named_zset_ops.pl on real sockets.

  resp_zset_ops_check.py ops <our_port> <redis_port> <psql...>

Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402

# Ours run on kv_sorted indexes (same names on the reference redis-server): zl_i (float8, ASC; every
# member has score 0, the case lex ranges are meant for), za_i / zb_i (float8 ASC inputs), zc_i
# (float8 ASC destination).  Members are lower-case ASCII, so every collation orders them bytewise.
SCRIPT = [
    # Lex ranges.
    ["ZADD", "zl_i", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g", "0", "ab"],
    ["ZRANGEBYLEX", "zl_i", "-", "+"], ["ZRANGEBYLEX", "zl_i", "[b", "(e"], ["ZRANGEBYLEX", "zl_i", "(b", "[e"],
    ["ZRANGEBYLEX", "zl_i", "(a", "[e", "LIMIT", "1", "2"], ["ZRANGEBYLEX", "zl_i", "-", "+", "LIMIT", "-1", "2"],
    ["ZRANGEBYLEX", "zl_i", "-", "+", "LIMIT", "2", "-1"], ["ZRANGEBYLEX", "zl_i", "-", "+", "LIMIT", "0", "0"],
    ["ZRANGEBYLEX", "zl_i", "-", "+", "LIMIT", "100", "2"],
    ["ZRANGEBYLEX", "zl_i", "-", "+", "LIMIT", "1", "9223372036854775807"], ["ZRANGEBYLEX", "zl_i", "a", "b"],
    ["ZRANGEBYLEX", "zl_i", "+", "-"], ["ZRANGEBYLEX", "zl_i", "[e", "[b"], ["ZRANGEBYLEX", "zl_i", "[b", "[b"],
    ["ZRANGEBYLEX", "zl_i", "(b", "(b"], ["ZRANGEBYLEX", "zl_i", "[", "[b"], ["ZRANGEBYLEX", "zl_i", "-", "(ab"],
    ["ZRANGEBYLEX", "zl_i", "-", "+", "WITHSCORES"], ["ZRANGEBYLEX", "zl_i", "-", "+", "LIMIT", "1"],
    ["ZRANGEBYLEX", "zl_i", "-", "+", "LIMIT", "x", "1"], ["ZRANGEBYLEX", "zl_i", "-", "+", "BYSCORE"],
    ["ZRANGEBYLEX", "nokey", "-", "+"], ["ZREVRANGEBYLEX", "zl_i", "+", "-"], ["ZREVRANGEBYLEX", "zl_i", "[e", "(b"],
    ["ZREVRANGEBYLEX", "zl_i", "(e", "[b", "LIMIT", "1", "1"], ["ZREVRANGEBYLEX", "zl_i", "-", "+"],
    ["ZREVRANGEBYLEX", "zl_i", "+", "-", "LIMIT", "0", "3"], ["ZREVRANGEBYLEX", "zl_i", "+", "-", "REV"],
    ["ZRANGE", "zl_i", "[b", "[d", "BYLEX"], ["ZRANGE", "zl_i", "[d", "[b", "BYLEX", "REV"],
    ["ZRANGE", "zl_i", "-", "+", "BYLEX", "LIMIT", "2", "3"], ["ZRANGE", "zl_i", "+", "-", "BYLEX", "REV", "LIMIT", "1", "2"],
    ["ZRANGE", "zl_i", "-", "+", "BYLEX", "WITHSCORES"], ["ZRANGE", "zl_i", "0", "-1", "BYLEX", "BYSCORE"],
    ["ZRANGE", "zl_i", "0", "-1", "BYLEX"], ["ZRANGE", "zl_i", "0", "-1", "LIMIT", "0", "-1"],
    ["ZRANGE", "zl_i", "0", "-1", "REV", "REV"], ["ZREVRANGE", "zl_i", "0", "1", "LIMIT", "0", "1"],
    ["ZREVRANGE", "zl_i", "0", "1", "REV"], ["ZRANGEBYSCORE", "zl_i", "0", "1", "BYLEX"],
    ["ZRANGE", "nokey", "-", "+", "BYLEX"],
    ["ZLEXCOUNT", "zl_i", "-", "+"], ["ZLEXCOUNT", "zl_i", "[b", "(e"], ["ZLEXCOUNT", "zl_i", "a", "b"],
    ["ZLEXCOUNT", "zl_i", "+", "-"], ["ZLEXCOUNT", "nokey", "-", "+"],
    ["ZREMRANGEBYLEX", "zl_i", "[f", "+"], ["ZREMRANGEBYLEX", "zl_i", "x", "y"], ["ZREMRANGEBYLEX", "nokey", "-", "+"],
    ["ZREMRANGEBYLEX", "zl_i", "(a", "(b"], ["ZRANGE", "zl_i", "0", "-1"],
    # Set operations.
    ["ZADD", "za_i", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
    ["ZADD", "zb_i", "10", "c", "20", "d", "30", "x", "40", "y", "-inf", "m", "inf", "n"],
    ["ZADD", "zb_i", "1", "zz"],
    ["ZRANGEBYSCORE", "zb_i", "-inf", "+inf", "LIMIT", "2", "9223372036854775807"],
    ["ZUNION", "2", "za_i", "zb_i"], ["ZUNION", "2", "za_i", "zb_i", "WITHSCORES"],
    ["ZUNION", "2", "za_i", "zb_i", "WEIGHTS", "2", "0.5", "WITHSCORES"],
    ["ZUNION", "2", "za_i", "zb_i", "WEIGHTS", "0", "1", "WITHSCORES"],
    ["ZUNION", "2", "za_i", "zb_i", "AGGREGATE", "MIN", "WITHSCORES"],
    ["ZUNION", "2", "za_i", "zb_i", "aggregate", "max", "withscores"], ["ZUNION", "1", "za_i"],
    ["ZUNION", "3", "za_i", "zb_i", "za_i", "WITHSCORES"], ["ZUNION", "2", "za_i", "nokey", "WITHSCORES"],
    ["ZINTER", "2", "za_i", "zb_i", "WITHSCORES"], ["ZINTER", "2", "za_i", "zb_i", "WEIGHTS", "1", "-1", "WITHSCORES"],
    ["ZINTER", "2", "za_i", "zb_i", "AGGREGATE", "MAX"], ["ZINTER", "2", "za_i", "nokey"],
    ["ZINTER", "3", "za_i", "zb_i", "za_i", "WITHSCORES"],
    ["ZDIFF", "2", "za_i", "zb_i", "WITHSCORES"], ["ZDIFF", "1", "za_i"], ["ZDIFF", "2", "za_i", "nokey"],
    ["ZDIFF", "2", "nokey", "za_i"], ["ZDIFF", "2", "za_i", "zb_i", "WEIGHTS", "1", "2"],
    ["ZDIFF", "2", "za_i", "zb_i", "AGGREGATE", "SUM"],
    ["ZUNION", "0", "za_i"], ["ZUNION", "-1", "za_i"], ["ZUNION", "3", "za_i", "zb_i"], ["ZUNION", "x", "za_i"],
    ["ZUNION", "2", "za_i", "zb_i", "WEIGHTS", "1"], ["ZUNION", "2", "za_i", "zb_i", "WEIGHTS", "1", "x"],
    ["ZUNION", "2", "za_i", "zb_i", "AGGREGATE", "foo"], ["ZUNION", "2", "za_i", "zb_i", "AGGREGATE"],
    ["ZUNION", "2", "za_i", "zb_i", "FOO"], ["ZUNION", "1", "nokey"], ["ZINTER", "0", "za_i"], ["ZDIFF", "0", "za_i"],
    ["ZINTERCARD", "2", "za_i", "zb_i"], ["ZINTERCARD", "2", "za_i", "zb_i", "LIMIT", "1"],
    ["ZINTERCARD", "2", "za_i", "zb_i", "LIMIT", "0"], ["ZINTERCARD", "2", "za_i", "zb_i", "LIMIT", "-1"],
    ["ZINTERCARD", "2", "za_i", "zb_i", "LIMIT", "x"], ["ZINTERCARD", "2", "za_i", "zb_i", "FOO"],
    ["ZINTERCARD", "0", "za_i"], ["ZINTERCARD", "3", "za_i", "zb_i"], ["ZINTERCARD", "1", "nokey"],
    ["ZINTERCARD", "x", "za_i"],
    # *STORE.
    ["ZUNIONSTORE", "zc_i", "2", "za_i", "zb_i", "WEIGHTS", "1", "2"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
    ["ZINTERSTORE", "zc_i", "2", "za_i", "zb_i"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
    ["ZDIFFSTORE", "zc_i", "2", "za_i", "zb_i"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
    ["ZUNIONSTORE", "zc_i", "2", "za_i", "zb_i", "WITHSCORES"], ["ZUNIONSTORE", "zc_i", "0", "za_i"],
    ["ZINTERSTORE", "zc_i", "2", "za_i", "zb_i", "AGGREGATE", "MIN"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "zc_i", "za_i", "1", "3"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "zc_i", "za_i", "(2", "+inf", "BYSCORE", "LIMIT", "0", "2"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "zc_i", "za_i", "0", "2", "REV"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "zc_i", "zl_i", "[b", "[d", "BYLEX"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "zc_i", "za_i", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "zc_i", "za_i", "0", "-1", "LIMIT", "0", "1"],
    ["ZRANGESTORE", "zc_i", "za_i", "x", "1"], ["ZRANGESTORE", "zc_i", "nokey", "0", "-1"], ["ZCARD", "zc_i"],
    ["ZUNIONSTORE", "zc_i", "2", "za_i", "zb_i"], ["ZRANGESTORE", "zc_i", "za_i", "10", "20"], ["ZCARD", "zc_i"],
    ["ZDIFFSTORE", "nokey2", "1", "nokey"],
    # Remove ranges.
    ["ZREMRANGEBYRANK", "za_i", "0", "0"], ["ZREMRANGEBYRANK", "za_i", "-1", "-1"], ["ZRANGE", "za_i", "0", "-1"],
    ["ZREMRANGEBYRANK", "za_i", "5", "10"], ["ZREMRANGEBYRANK", "za_i", "a", "b"], ["ZREMRANGEBYRANK", "nokey", "0", "-1"],
    ["ZREMRANGEBYSCORE", "za_i", "(2", "3"], ["ZREMRANGEBYSCORE", "za_i", "x", "1"],
    ["ZREMRANGEBYSCORE", "nokey", "-inf", "+inf"], ["ZRANGE", "za_i", "0", "-1", "WITHSCORES"],
    ["ZREMRANGEBYSCORE", "zb_i", "-inf", "(20"], ["ZRANGE", "zb_i", "0", "-1", "WITHSCORES"],
    # ZMPOP.
    ["ZADD", "za_i", "1", "a", "2", "b", "3", "c"], ["ZMPOP", "1", "za_i", "MIN"],
    ["ZMPOP", "2", "nokey", "za_i", "MAX", "COUNT", "2"], ["ZMPOP", "2", "za_i", "zb_i", "MAX", "COUNT", "10"],
    ["ZMPOP", "1", "za_i", "MIN"], ["ZMPOP", "1", "nokey", "MIN"], ["ZMPOP", "0", "za_i", "MIN"],
    ["ZMPOP", "1", "za_i", "FOO"], ["ZMPOP", "1", "za_i"], ["ZMPOP", "1", "za_i", "MIN", "COUNT", "0"],
    ["ZMPOP", "1", "za_i", "MIN", "COUNT", "x"], ["ZMPOP", "1", "za_i", "MIN", "COUNT", "1", "COUNT", "1"],
    ["ZMPOP", "1", "za_i", "MIN", "FOO"], ["ZMPOP", "2", "za_i"], ["ZMPOP", "x", "za_i", "MIN"],
    ["ZRANGE", "za_i", "0", "-1"],
]

RESP3_SCRIPT = [
    ["ZADD", "za_i", "1", "a", "2", "b", "3", "c"], ["ZADD", "zb_i", "1.5", "b", "7", "q"],
    ["ZUNION", "2", "za_i", "zb_i", "WITHSCORES"], ["ZINTER", "2", "za_i", "zb_i", "WITHSCORES"],
    ["ZDIFF", "2", "za_i", "zb_i", "WITHSCORES"], ["ZUNION", "2", "za_i", "zb_i"], ["ZRANGEBYLEX", "zl_i", "-", "+"],
    ["ZRANGESTORE", "zc_i", "za_i", "0", "-1"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
    ["ZMPOP", "1", "za_i", "MAX", "COUNT", "2"], ["ZMPOP", "1", "nokey", "MIN"], ["ZINTERCARD", "2", "za_i", "zb_i"],
    ["ZLEXCOUNT", "zl_i", "-", "+"], ["ZREMRANGEBYSCORE", "zb_i", "-inf", "+inf"],
]


def psql(cmd, sql):
    return subprocess.run(cmd + ["-At", "-c", sql], capture_output=True, text=True).stdout.strip()


def compare(ours, theirs, script):
    mismatches = []
    for cmd in script:
        a, b = ours.call(*cmd), theirs.call(*cmd)
        if a != b:
            mismatches.append(f"{cmd!r}: ours {a!r} redis {b!r}")
    return mismatches


def named(port):
    """A connection of ours with a named collection selected: Z-commands then name kv_sorted indexes (in a
    kv_db<n> keyspace they name zset keys)."""
    c = Raw(port)
    c.call("SELECT", "za")
    return c


def ops_checks(our_port, redis_port, psql_cmd):
    ours, theirs = named(our_port), Raw(redis_port)
    mismatches = compare(ours, theirs, SCRIPT)
    ok("every lex-range, remove-range, set-operation, *STORE and ZMPOP reply equals Redis 7's", not mismatches,
       "; ".join(mismatches[:20]))
    ours.call("HELLO", "3")
    theirs.call("HELLO", "3")
    mismatches = compare(ours, theirs, RESP3_SCRIPT)
    ok("RESP3 replies equal Redis 7's", not mismatches, "; ".join(mismatches[:20]))

    # Pipelines: a client's index read after its own write in one pipeline sees the write, as in Redis
    # (the worker runs the read in the next turn), whatever the turns the pipeline is split into.
    pipeline = [["ZADD", "za_i", "100", "pipe1"], ["ZRANK", "za_i", "pipe1"], ["ZSCORE", "za_i", "pipe1"],
                ["ZCARD", "za_i"], ["ZREVRANGE", "za_i", "0", "0", "WITHSCORES"], ["ZREM", "za_i", "pipe1"],
                ["ZSCORE", "za_i", "pipe1"], ["ZRANK", "za_i", "pipe1"], ["ZPOPMIN", "za_i"], ["ZPOPMIN", "za_i"],
                ["ZRANGE", "za_i", "0", "-1"]]
    for k in range(30):
        pipeline += [["ZINCRBY", "za_i", "1", "pipe2"], ["ZSCORE", "za_i", "pipe2"], ["ZREVRANK", "za_i", "pipe2"]]
    pipeline += [["ZUNIONSTORE", "zc_i", "1", "za_i"], ["ZRANGE", "zc_i", "0", "-1", "WITHSCORES"],
                 ["ZADD", "zl_i", "0", "pipe3"], ["ZRANGEBYLEX", "zl_i", "[p", "[q"]]
    replies = []
    for port in (our_port, redis_port):
        conn = named(port) if port == our_port else Raw(port)
        conn.send_raw(b"".join(Raw.encode(cmd) for cmd in pipeline))
        replies.append([conn.read_reply() for _ in pipeline])
    bad = [f"{cmd!r}: ours {a!r} redis {b!r}" for cmd, a, b in zip(pipeline, *replies) if a != b]
    ok("a pipelined write then index reads (ZADD ZRANK, ZREM ZSCORE, ZPOPMIN twice, ZINCRBY ZSCORE x30, "
       "*STORE then ZRANGE) answer as Redis", not bad, "; ".join(bad[:10]))

    # The named-collection model of *STORE: the destination is an existing kv_sorted index; members
    # not in the result lose their rows, the others keep their other columns.
    c = named(our_port)
    psql(psql_cmd, "DELETE FROM zc; DELETE FROM za; DELETE FROM zb; "
                   "INSERT INTO zc VALUES ('a', 100, 'kept'), ('gone', 1, 'x'); "
                   "INSERT INTO za VALUES ('a', 1), ('b', 2); INSERT INTO zb VALUES ('b', 5)")
    reply = c.call("ZUNIONSTORE", "zc_i", "2", "za_i", "zb_i")
    ok("ZUNIONSTORE replies the result's size", reply == b":2\r\n", reply)
    rows = psql(psql_cmd, "SELECT key, score, note FROM zc ORDER BY key")
    ok("... the destination's rows: a member that stays keeps its other columns, a new one gets defaults, "
       "one not in the result is deleted", rows == "a|1|kept\nb|7|dflt", rows)
    reply = c.call("ZUNIONSTORE", "zint_i", "1", "za_i", "WEIGHTS", "0.5")
    ok("an integer destination refuses a fractional result", reply.startswith(b"-ERR score is not an integer"), reply)
    reply = c.call("ZUNIONSTORE", "zint_i", "1", "za_i", "WEIGHTS", "2")
    ok("... and takes an integral one", reply == b":2\r\n" and
       psql(psql_cmd, "SELECT string_agg(key || '=' || score, ',' ORDER BY key) FROM zint") == "a=2,b=4", reply)
    psql(psql_cmd, "INSERT INTO zint VALUES ('z', 9)")
    reply = c.call("ZUNIONSTORE", "zint_i", "2", "za_i", "zb_i", "WEIGHTS", "1", "0.5")
    ok("... a refused result writes nothing", reply.startswith(b"-ERR score is not an integer") and
       psql(psql_cmd, "SELECT string_agg(key || '=' || score, ',' ORDER BY key) FROM zint") == "a=2,b=4,z=9", reply)
    reply = c.call("ZRANGESTORE", "nosuchindex", "za_i", "0", "-1")
    ok("a missing destination index is -ERR", reply.startswith(b"-ERR no kv_sorted index \"nosuchindex\""), reply)
    reply = c.call("ZRANGESTORE", "nosuchindex", "nokey", "0", "-1")
    ok("... unless the result is empty (Redis: 0)", reply == b":0\r\n", reply)
    reply = c.call("ZUNIONSTORE", "zc", "1", "za_i")
    ok("a destination that is a table: WRONGTYPE", reply.startswith(b"-WRONGTYPE"), reply)
    reply = c.call("ZUNION", "2", "za_i", "zc")
    ok("an input that is a table: WRONGTYPE", reply.startswith(b"-WRONGTYPE"), reply)
    reply = c.call("ZREMRANGEBYSCORE", "zc_i", "-inf", "+inf")
    ok("ZREMRANGEBYSCORE deletes the members' rows", reply == b":2\r\n" and
       psql(psql_cmd, "SELECT count(*) FROM zc") == "0", reply)
    reply = c.call("ZUNION", "1", "secret_i")
    ok("an input the role cannot read: NOPERM", reply.startswith(b"-NOPERM"), reply)
    reply = c.call("ZRANGESTORE", "ro_i", "za_i", "0", "-1")
    ok("a destination the role can read but not write: NOPERM", reply.startswith(b"-NOPERM"), reply)
    ok("... and nothing changed", psql(psql_cmd, "SELECT string_agg(key, ',') FROM ro") == "r")

    # redis-py.
    import redis
    r = redis.Redis(port=our_port, socket_timeout=30, single_connection_client=True)
    r.execute_command("SELECT", "za")
    ok("redis-py zrangebylex / zunion / zinterstore / zmpop",
       r.zrangebylex("zl_i", "-", "[c") == [b"a", b"b", b"c"] and
       r.zunion(["za_i", "zb_i"], withscores=True) == [(b"a", 1.0), (b"b", 7.0)] and
       r.zinterstore("zc_i", ["za_i", "zb_i"], aggregate="MAX") == 1 and
       r.zrange("zc_i", 0, -1, withscores=True) == [(b"b", 5.0)] and
       r.zmpop(1, ["zc_i"], max=True) == [b"zc_i", [[b"b", b"5"]]],
       repr((r.zrangebylex("zl_i", "-", "[c"), r.zunion(["za_i", "zb_i"], withscores=True))))


def main():
    if sys.argv[1] == "ops":
        ops_checks(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])


if __name__ == "__main__":
    main()
