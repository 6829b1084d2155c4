#!/usr/bin/python3
"""RESP checks of sorted sets as keys of kv_db0 (issue 12), driven by test/t/071_rtypes_zset.pl.

  rtypes_zset_check.py <mode> <our_port> <redis_port> <psql...>

modes: resp2 / resp3 (every Z-command's reply compared byte for byte with a real redis-server),
random (ZRANDMEMBER and ZPOP by their properties), oracle (random ZADD / ZINCRBY / ZREM against a
sorted copy and against redis-server), keys (WRONGTYPE, TYPE, OBJECT ENCODING, SCAN TYPE, RENAME,
COPY, EXPIRE, SET over a zset, empty zset deleted), sql (kv_zset_entries of zsets written over RESP).
Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402
from rtypes_check import compare, fresh, psql  # noqa: E402

SETUP = [
    ["ZADD", "z1", "1", "a", "2", "b", "3", "c", "2", "bb", "-1.5", "neg", "+inf", "top", "-inf", "bottom"],
    ["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "ab"],
    ["ZADD", "z2", "10", "a", "20", "x", "0.1", "c"],
    ["SADD", "s1", "a", "x", "q"],
]

SCRIPT = SETUP + [
    # ZADD flags and replies.
    ["ZADD", "z1", "5", "a"], ["ZADD", "z1", "CH", "5", "a", "6", "new"], ["ZADD", "z1", "NX", "9", "a", "9", "nx"],
    ["ZADD", "z1", "XX", "9", "a", "9", "xx"], ["ZADD", "z1", "XX", "CH", "9", "a"], ["ZADD", "z1", "GT", "CH", "1", "a"],
    ["ZADD", "z1", "GT", "CH", "10", "a"], ["ZADD", "z1", "LT", "CH", "11", "a"], ["ZADD", "z1", "LT", "CH", "4", "a"],
    ["ZADD", "z1", "INCR", "2", "a"], ["ZADD", "z1", "INCR", "NX", "2", "a"], ["ZADD", "z1", "INCR", "XX", "2", "zz"],
    ["ZADD", "z1", "INCR", "GT", "-1", "a"], ["ZADD", "z1", "NX", "XX", "1", "a"], ["ZADD", "z1", "GT", "LT", "1", "a"],
    ["ZADD", "z1", "NX", "GT", "1", "a"], ["ZADD", "z1", "INCR", "1", "a", "2", "b"], ["ZADD", "z1", "1"],
    ["ZADD", "z1", "1", "a", "2"], ["ZADD", "z1", "x", "a"], ["ZADD", "z1", "nan", "a"], ["ZADD", "z1", "FOO", "1", "a"],
    ["ZADD", "z1", "1e400", "big"], ["ZADD", "z1", "0.1", "tenth"], ["ZADD", "z1", "1.5e-7", "tiny"],
    ["ZADD", "z1", "-0", "negzero"], ["ZADD", "xxnew", "XX", "1", "a"], ["EXISTS", "xxnew"],
    ["ZADD", "inf", "+inf", "p"], ["ZADD", "inf", "INCR", "-inf", "p"], ["ZINCRBY", "inf", "-inf", "p"],
    ["ZINCRBY", "z1", "2.5", "a"], ["ZINCRBY", "z1", "1", "fresh"], ["ZINCRBY", "z1", "x", "a"],
    ["ZINCRBY", "newz", "3", "m"], ["ZINCRBY", "z1", "1"],
    # Reads.
    ["ZSCORE", "z1", "a"], ["ZSCORE", "z1", "nope"], ["ZSCORE", "nokey", "a"], ["ZSCORE", "z1", "tenth"],
    ["ZSCORE", "z1", "top"], ["ZSCORE", "z1", "tiny"], ["ZSCORE", "z1", "negzero"],
    ["ZMSCORE", "z1", "a", "nope", "bottom"], ["ZMSCORE", "nokey", "a", "b"], ["ZCARD", "z1"], ["ZCARD", "nokey"],
    ["ZCOUNT", "z1", "-inf", "+inf"], ["ZCOUNT", "z1", "(1", "3"], ["ZCOUNT", "z1", "2", "(3"], ["ZCOUNT", "z1", "5", "1"],
    ["ZCOUNT", "z1", "x", "1"], ["ZCOUNT", "nokey", "0", "1"], ["ZCOUNT", "z1", "((1", "2"],
    ["ZLEXCOUNT", "lex", "-", "+"], ["ZLEXCOUNT", "lex", "[b", "(e"], ["ZLEXCOUNT", "lex", "(a", "[b"],
    ["ZLEXCOUNT", "lex", "+", "-"], ["ZLEXCOUNT", "lex", "b", "c"], ["ZLEXCOUNT", "nokey", "-", "+"],
    ["ZRANK", "z1", "a"], ["ZRANK", "z1", "bottom"], ["ZRANK", "z1", "nope"], ["ZRANK", "nokey", "a"],
    ["ZREVRANK", "z1", "a"], ["ZREVRANK", "z1", "top"], ["ZREVRANK", "z1", "nope"],
    ["ZRANGE", "z1", "0", "-1"], ["ZRANGE", "z1", "0", "-1", "WITHSCORES"], ["ZRANGE", "z1", "2", "4"],
    ["ZRANGE", "z1", "-3", "-1", "WITHSCORES"], ["ZRANGE", "z1", "5", "2"], ["ZRANGE", "z1", "-100", "100"],
    ["ZRANGE", "z1", "50", "60"], ["ZRANGE", "z1", "0", "2", "REV"], ["ZRANGE", "z1", "0", "2", "REV", "WITHSCORES"],
    ["ZRANGE", "z1", "(1", "3", "BYSCORE"], ["ZRANGE", "z1", "3", "(1", "BYSCORE", "REV", "WITHSCORES"],
    ["ZRANGE", "z1", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "3"],
    ["ZRANGE", "z1", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "2", "2", "WITHSCORES"],
    ["ZRANGE", "z1", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "3"],
    ["ZRANGE", "z1", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "-1"], ["ZRANGE", "lex", "[b", "(e", "BYLEX"],
    ["ZRANGE", "lex", "(e", "[b", "BYLEX", "REV"], ["ZRANGE", "lex", "-", "+", "BYLEX", "LIMIT", "2", "3"],
    ["ZRANGE", "lex", "+", "-", "BYLEX", "REV", "LIMIT", "0", "2"], ["ZRANGE", "z1", "0", "1", "LIMIT", "0", "1"],
    ["ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES"], ["ZRANGE", "z1", "0", "1", "BYSCORE", "BYLEX"],
    ["ZRANGE", "z1", "a", "1"], ["ZRANGE", "z1", "x", "1", "BYSCORE"], ["ZRANGE", "lex", "x", "+", "BYLEX"],
    ["ZRANGE", "nokey", "0", "-1"], ["ZRANGE", "z1", "0", "-1", "REV", "REV"], ["ZRANGE", "z1", "0"],
    ["ZREVRANGE", "z1", "0", "2"], ["ZREVRANGE", "z1", "0", "2", "WITHSCORES"], ["ZREVRANGE", "z1", "0", "1", "REV"],
    ["ZRANGEBYSCORE", "z1", "1", "3"], ["ZRANGEBYSCORE", "z1", "(1", "(3", "WITHSCORES"],
    ["ZRANGEBYSCORE", "z1", "-inf", "+inf", "LIMIT", "1", "2"], ["ZRANGEBYSCORE", "z1", "1", "3", "REV"],
    ["ZREVRANGEBYSCORE", "z1", "3", "1"], ["ZREVRANGEBYSCORE", "z1", "+inf", "-inf", "WITHSCORES", "LIMIT", "0", "3"],
    ["ZRANGEBYLEX", "lex", "[a", "[c"], ["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "1", "2"],
    ["ZREVRANGEBYLEX", "lex", "[c", "[a"], ["ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", "1", "2"],
    ["ZRANGEBYLEX", "lex", "a", "c"], ["ZRANGEBYLEX", "lex", "[a", "[c", "WITHSCORES"],
    # Stores, set operations.
    ["ZRANGESTORE", "dst", "z1", "0", "2"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "dst", "z1", "(1", "+inf", "BYSCORE", "LIMIT", "0", "2"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "dst", "lex", "[b", "[d", "BYLEX", "REV"], ["ZRANGE", "dst", "0", "-1"],
    ["ZRANGESTORE", "dst", "nokey", "0", "-1"], ["EXISTS", "dst"], ["ZRANGESTORE", "dst", "z1", "0", "1", "WITHSCORES"],
    ["ZUNION", "2", "z1", "z2"], ["ZUNION", "2", "z1", "z2", "WITHSCORES"],
    ["ZUNION", "2", "z1", "z2", "WEIGHTS", "2", "0.5", "WITHSCORES"],
    ["ZUNION", "2", "z1", "z2", "AGGREGATE", "MIN", "WITHSCORES"], ["ZUNION", "2", "z1", "z2", "AGGREGATE", "MAX", "WITHSCORES"],
    ["ZINTER", "2", "z1", "z2", "WITHSCORES"], ["ZINTER", "2", "z2", "s1", "WITHSCORES"],
    ["ZUNION", "2", "z2", "s1", "WITHSCORES"], ["ZDIFF", "2", "z1", "z2"], ["ZDIFF", "2", "z1", "z2", "WITHSCORES"],
    ["ZDIFF", "1", "nokey"], ["ZINTER", "2", "z1", "nokey"], ["ZUNION", "0", "z1"], ["ZUNION", "3", "z1"],
    ["ZUNION", "x", "z1"], ["ZUNION", "2", "z1", "z2", "WEIGHTS", "1"], ["ZUNION", "2", "z1", "z2", "WEIGHTS", "1", "x"],
    ["ZUNION", "2", "z1", "z2", "AGGREGATE", "AVG"], ["ZDIFF", "2", "z1", "z2", "WEIGHTS", "1", "2"],
    ["ZUNIONSTORE", "u", "2", "z1", "z2"], ["ZRANGE", "u", "0", "-1", "WITHSCORES"],
    ["ZINTERSTORE", "i", "2", "z1", "z2", "WEIGHTS", "1", "3"], ["ZRANGE", "i", "0", "-1", "WITHSCORES"],
    ["ZDIFFSTORE", "d", "2", "z1", "z2"], ["ZCARD", "d"], ["ZINTERSTORE", "i", "2", "z1", "nokey"], ["EXISTS", "i"],
    ["ZUNIONSTORE", "u", "2", "z1", "z2", "WITHSCORES"], ["ZINTERCARD", "2", "z1", "z2"],
    ["ZINTERCARD", "2", "z1", "z2", "LIMIT", "1"], ["ZINTERCARD", "2", "z1", "z2", "LIMIT", "-1"],
    ["ZINTERCARD", "1", "nokey"], ["ZINTERCARD", "2", "z1", "s1"], ["ZINTERCARD", "0", "z1"],
    ["SET", "str", "v"], ["ZUNION", "2", "z1", "str"], ["ZUNIONSTORE", "u", "2", "z1", "str", "FOO"],
    ["ZINTERCARD", "2", "str", "z1", "LIMIT", "-1"], ["ZUNIONSTORE", "str", "1", "z2"], ["TYPE", "str"],
    # Removals and pops.
    ["ZREM", "z1", "a", "nope", "b"], ["ZREM", "nokey", "a"], ["ZREM", "z1"], ["ZREMRANGEBYRANK", "u", "0", "1"],
    ["ZRANGE", "u", "0", "-1"], ["ZREMRANGEBYRANK", "u", "-2", "-1"], ["ZREMRANGEBYRANK", "u", "x", "1"],
    ["ZREMRANGEBYRANK", "nokey", "0", "1"], ["ZREMRANGEBYSCORE", "z1", "(2", "3"], ["ZRANGE", "z1", "0", "-1"],
    ["ZREMRANGEBYSCORE", "z1", "x", "3"], ["ZREMRANGEBYLEX", "lex", "[b", "(d"], ["ZRANGE", "lex", "0", "-1"],
    ["ZREMRANGEBYLEX", "lex", "b", "d"], ["ZREMRANGEBYSCORE", "nokey", "0", "1"],
    ["ZPOPMIN", "z1"], ["ZPOPMAX", "z1"], ["ZPOPMIN", "z1", "2"], ["ZPOPMAX", "z1", "2"], ["ZPOPMIN", "z1", "0"],
    ["ZPOPMIN", "nokey"], ["ZPOPMIN", "nokey", "2"], ["ZPOPMIN", "z1", "-1"], ["ZPOPMIN", "z1", "x"],
    ["ZPOPMIN", "z1", "1", "2"], ["ZPOPMAX", "str"], ["ZPOPMIN", "z1", "100"], ["EXISTS", "z1"],
    ["ZMPOP", "2", "nokey", "z2", "MIN"], ["ZMPOP", "2", "nokey", "z2", "MAX", "COUNT", "5"], ["EXISTS", "z2"],
    ["ZMPOP", "1", "nokey", "MIN"], ["ZMPOP", "0", "z2", "MIN"], ["ZMPOP", "1", "z2", "UP"],
    ["ZMPOP", "1", "z2", "MIN", "COUNT", "0"], ["ZMPOP", "2", "str", "z2", "MIN"],
    # ZSCAN (a small set: everything at once) and ZRANDMEMBER's fixed answers.
    ["ZSCAN", "lex", "0"], ["ZSCAN", "inf", "0"], ["ZSCAN", "lex", "0", "MATCH", "a*"], ["ZSCAN", "lex", "0", "COUNT", "1"],
    ["ZSCAN", "lex", "x"], ["ZSCAN", "nokey", "0"], ["ZSCAN", "nokey", "0", "COUNT", "0"], ["ZSCAN", "lex", "0", "COUNT", "0"],
    ["ZSCAN", "lex", "0", "FOO", "1"], ["ZRANDMEMBER", "nokey"], ["ZRANDMEMBER", "nokey", "3"],
    ["ZRANDMEMBER", "lex", "0"], ["ZRANDMEMBER", "lex", "10"], ["ZRANDMEMBER", "lex", "10", "WITHSCORES"],
    ["ZRANDMEMBER", "lex", "x"], ["ZRANDMEMBER", "lex", "1", "FOO"], ["ZRANDMEMBER", "lex", "1", "WITHSCORES", "x"],
    ["ZADD", "one", "7", "m"], ["ZRANDMEMBER", "one"], ["ZRANDMEMBER", "one", "-3", "WITHSCORES"],
    # Binary members, empty members, ties bytewise.
    ["ZADD", "bin", "1", "\x00\r\n", "1", "", "1", "\xff", "1", "A"], ["ZRANGE", "bin", "0", "-1", "WITHSCORES"],
    ["ZRANK", "bin", ""], ["ZSCORE", "bin", "\x00\r\n"], ["ZRANGEBYLEX", "bin", "[", "+"],
    ["ZADD"], ["ZSCORE", "z1"], ["ZRANK", "z1", "a", "b"],
]

RESP3_SCRIPT = SETUP + [
    ["ZSCORE", "z1", "a"], ["ZSCORE", "z1", "nope"], ["ZMSCORE", "z1", "a", "nope"], ["ZINCRBY", "z1", "1.5", "a"],
    ["ZADD", "z1", "INCR", "1", "b"], ["ZADD", "z1", "INCR", "NX", "1", "b"], ["ZRANGE", "z1", "0", "-1", "WITHSCORES"],
    ["ZRANGE", "z1", "0", "-1"], ["ZRANGEBYSCORE", "z1", "1", "3", "WITHSCORES"], ["ZREVRANGE", "z1", "0", "1", "WITHSCORES"],
    ["ZUNION", "2", "z1", "z2", "WITHSCORES"], ["ZRANDMEMBER", "nokey", "2", "WITHSCORES"], ["ZRANDMEMBER", "nokey"],
    ["ZSCAN", "z2", "0"], ["ZPOPMIN", "z1"], ["ZPOPMIN", "z1", "2"], ["ZPOPMAX", "z1", "1"], ["ZPOPMIN", "nokey"],
    ["ZPOPMIN", "nokey", "1"], ["ZMPOP", "1", "z2", "MAX", "COUNT", "2"], ["ZMPOP", "1", "nokey", "MIN"],
    ["ZRANK", "z1", "nope"], ["ZADD", "one", "1", "m"], ["ZRANDMEMBER", "one", "1", "WITHSCORES"],
    ["ZRANDMEMBER", "one", "-2", "WITHSCORES"], ["ZCARD", "z1"],
]


def resp2_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    compare("every sorted-set reply on kv_db0 equals Redis 7's (RESP2)", ours, theirs, SCRIPT)


def resp3_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    ours.call("HELLO", "3")
    theirs.call("HELLO", "3")
    compare("sorted-set replies on kv_db0 equal Redis 7's (RESP3)", ours, theirs, RESP3_SCRIPT)


def members_of(reply):
    lines = reply.split(b"\r\n")
    return [x for x in lines[1:] if x and not x[:1] in (b"$", b"*", b",")]


def random_checks(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    names = [f"m{i}" for i in range(30)]
    c.call("ZADD", "big", *[x for i, m in enumerate(names) for x in (str(i), m)])
    picked = members_of(c.call("ZRANDMEMBER", "big", "5"))
    ok("ZRANDMEMBER 5 gives 5 distinct members", len(picked) == 5 and len(set(picked)) == 5 and
       all(p.decode() in names for p in picked), repr(picked))
    reply = c.call("ZRANDMEMBER", "big", "-40", "WITHSCORES")
    ok("ZRANDMEMBER -40 WITHSCORES gives 40 pairs", reply.startswith(b"*80\r\n"), repr(reply[:20]))
    one = c.call("ZRANDMEMBER", "big")
    ok("ZRANDMEMBER gives one member", one.split(b"\r\n")[1].decode() in names, repr(one))
    popped = c.call("ZPOPMAX", "big", "3")
    ok("ZPOPMAX 3 pops the three highest", popped == b"*6\r\n$3\r\nm29\r\n$2\r\n29\r\n$3\r\nm28\r\n$2\r\n28\r\n"
       b"$3\r\nm27\r\n$2\r\n27\r\n" and c.call("ZCARD", "big") == b":27\r\n", repr(popped))


def oracle_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    rng = random.Random(71)
    oracle = {}
    mismatches = []
    for step in range(600):
        member = f"p{rng.randrange(60)}"
        op = rng.randrange(4)
        if op == 0:
            score = rng.choice([rng.randrange(-20, 20), rng.randrange(100) / 8])
            cmd = ["ZADD", "lb", str(score), member]
            oracle[member] = float(score)
        elif op == 1:
            delta = rng.randrange(-10, 10) / 4
            cmd = ["ZINCRBY", "lb", str(delta), member]
            oracle[member] = oracle.get(member, 0.0) + delta
        elif op == 2:
            cmd = ["ZREM", "lb", member]
            oracle.pop(member, None)
        else:
            cmd = ["ZRANK", "lb", member]
        a, b = ours.call(*cmd), theirs.call(*cmd)
        if a != b:
            mismatches.append(f"{cmd!r}: ours {a!r} redis {b!r}")
    expected = sorted(oracle.items(), key=lambda kv: (kv[1], kv[0].encode()))
    got = members_of(ours.call("ZRANGE", "lb", "0", "-1"))
    ok("random ZADD / ZINCRBY / ZREM / ZRANK equal Redis 7's step by step", not mismatches, "; ".join(mismatches[:5]))
    ok("the sorted set equals a sorted copy of the oracle", [g.decode() for g in got] == [m for m, _ in expected],
       f"{got[:5]!r} vs {expected[:5]!r}")
    ranks_ok = all(ours.call("ZRANK", "lb", m) == f":{i}\r\n".encode() for i, (m, _) in enumerate(expected))
    ok("every member's ZRANK is its position in the sorted copy", ranks_ok)
    revs_ok = all(ours.call("ZREVRANK", "lb", m) == f":{len(expected) - 1 - i}\r\n".encode()
                  for i, (m, _) in enumerate(expected))
    ok("every member's ZREVRANK is its position from the top", revs_ok)
    compare("the final set and its ranges equal Redis 7's", ours, theirs,
            [["ZRANGE", "lb", "0", "-1", "WITHSCORES"], ["ZCARD", "lb"], ["ZCOUNT", "lb", "-5", "5"],
             ["ZRANGEBYSCORE", "lb", "(0", "+inf", "WITHSCORES", "LIMIT", "3", "7"], ["ZREVRANGE", "lb", "0", "9"]])


def keys_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    script = [
        ["ZADD", "k", "1", "a", "2", "b"], ["TYPE", "k"], ["OBJECT", "ENCODING", "k"], ["EXISTS", "k"],
        ["GET", "k"], ["HGET", "k", "f"], ["LPUSH", "k", "x"], ["SADD", "k", "m"], ["INCR", "k"], ["APPEND", "k", "x"],
        ["HSET", "h", "f", "v"], ["ZADD", "h", "1", "a"], ["ZSCORE", "h", "a"], ["ZRANGE", "h", "0", "-1"],
        ["ZCARD", "h"], ["ZRANK", "h", "a"], ["ZREM", "h", "a"], ["ZINCRBY", "h", "1", "a"], ["ZPOPMIN", "h"],
        ["ZRANGESTORE", "dst", "h", "0", "-1"], ["ZREMRANGEBYRANK", "h", "0", "1"], ["ZMSCORE", "h", "a"],
        ["ZSCAN", "h", "0"], ["ZRANDMEMBER", "h"], ["ZCOUNT", "h", "0", "1"], ["ZLEXCOUNT", "h", "-", "+"],
        ["RPUSH", "l", "a"], ["ZADD", "l", "1", "a"], ["SET", "s", "v"], ["ZADD", "s", "1", "a"],
        ["ZADD", "wide", "1", "x" * 65], ["OBJECT", "ENCODING", "wide"],
        ["ZADD", "many", *[x for i in range(129) for x in (str(i), f"m{i}")]], ["OBJECT", "ENCODING", "many"],
        ["ZCARD", "many"],
        # RENAME / COPY carry the type and expiry; EXPIRE family; SET replaces a zset.
        ["EXPIRE", "k", "1000"], ["RENAME", "k", "k2"], ["TYPE", "k2"], ["TTL", "k2"], ["ZRANGE", "k2", "0", "-1", "WITHSCORES"],
        ["COPY", "k2", "k3"], ["TYPE", "k3"], ["ZSCORE", "k3", "b"], ["TTL", "k3"], ["ZADD", "k2", "3", "c"],
        ["TTL", "k2"], ["ZREM", "k2", "c"], ["TTL", "k2"], ["PERSIST", "k2"], ["TTL", "k2"],
        ["ZUNIONSTORE", "k3", "1", "k2"], ["TTL", "k3"], ["SET", "k3", "v"], ["TYPE", "k3"], ["GET", "k3"],
        ["RENAME", "h", "k2"], ["TYPE", "k2"],
        # The last member goes: the key goes.
        ["ZADD", "e", "1", "a"], ["ZREM", "e", "a"], ["EXISTS", "e"], ["ZADD", "e", "1", "a", "2", "b"],
        ["ZPOPMIN", "e", "5"], ["EXISTS", "e"], ["ZADD", "e", "1", "a"], ["ZREMRANGEBYSCORE", "e", "-inf", "+inf"],
        ["EXISTS", "e"], ["ZADD", "e", "1", "a"], ["ZMPOP", "1", "e", "MAX"], ["EXISTS", "e"], ["TYPE", "e"],
        ["ZADD", "x1", "1", "a"], ["EXPIRE", "x1", "-1"], ["EXISTS", "x1"], ["ZADD", "x2", "1", "a"],
        ["PEXPIRE", "x2", "100000"], ["DBSIZE"],
    ]
    compare("zsets across types (WRONGTYPE, TYPE, OBJECT ENCODING, RENAME, COPY, expiry, SET) equal Redis 7's",
            ours, theirs, script)
    compare("SCAN TYPE zset and KEYS equal Redis 7's", ours, theirs,
            [["SCAN", "0", "COUNT", "1000", "TYPE", "zset"], ["SCAN", "0", "COUNT", "1000", "TYPE", "hash"],
             ["KEYS", "*"]], unordered={"SCAN", "KEYS"})
    ok("an expired zset is absent in SQL too (test clock)",
       psql(psql_cmd, "SELECT count(*) FROM kv_db0 WHERE key = 'x2'") == "1" and
       psql(psql_cmd, "SET nodedb_kv.test_clock_offset = '200s'; SELECT count(*) FROM kv_db0 WHERE key = 'x2'") == "0")
    ok("the kv_db0 row of a zset has type zset",
       psql(psql_cmd, "SELECT type FROM kv_db0 WHERE key = 'many'") == "zset")


def tracking_checks(our_port, redis_port, psql_cmd):
    """CLIENT TRACKING of zset keys (RESP3 push) and a pipelined write then reads of one client."""
    reader, writer = fresh(our_port), Raw(our_port)
    reader.call("HELLO", "3")
    writer.call("ZADD", "tz", "1", "a")
    reader.call("CLIENT", "TRACKING", "ON")
    got = reader.call("ZSCORE", "tz", "a")
    writer.call("ZADD", "tz", "2", "a")
    push = reader.read_reply()
    ok("a tracked ZSCORE's key is invalidated by another client's ZADD",
       got == b",1\r\n" and push == b">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ntz\r\n", repr((got, push)))
    pipeline = [["ZADD", "pz", "5", "m"], ["ZRANK", "pz", "m"], ["ZINCRBY", "pz", "1", "m"], ["ZSCORE", "pz", "m"],
                ["ZPOPMIN", "pz"], ["ZCARD", "pz"]]
    replies = []
    for port in (our_port, redis_port):
        conn = Raw(port)
        conn.send_raw(b"".join(Raw.encode(cmd) for cmd in pipeline))
        replies.append([conn.read_reply() for _ in pipeline])
    ok("a pipelined ZADD then reads of the same key answer as Redis", replies[0] == replies[1], repr(replies))


def sql_checks(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    c.call("ZADD", "lb", "3", "carol", "1.5", "alice", "1.5", "aaron", "-inf", "zed")
    got = psql(psql_cmd, "SELECT string_agg(convert_from(z.member, 'UTF8') || '=' || z.score || '@' || z.rank, ',' "
                         "ORDER BY z.rank) FROM kv_db0 d, kv_zset_entries(d.value) z WHERE d.key = 'lb'")
    ok("kv_zset_entries reads a zset written over RESP, ascending with ranks",
       got == "zed=-Infinity@0,aaron=1.5@1,alice=1.5@2,carol=3@3", got)
    c.call("ZINCRBY", "lb", "10", "alice")
    got = psql(psql_cmd, "SELECT z.rank FROM kv_db0 d, kv_zset_entries(d.value) z "
                         "WHERE d.key = 'lb' AND z.member = 'alice'")
    ok("kv_zset_entries's rank is ZRANK's", got == "3" and c.call("ZRANK", "lb", "alice") == b":3\r\n", got)
    # Past the spill threshold (128 items) a zset spills (TAP 073), whether grown by ZADD or written whole
    # by a *STORE: its row holds a header, kv_zset_entries reads it by key.
    c.call("ZADD", "big", *[x for i in range(200) for x in (str(i), f"m{i}")])
    c.call("ZADD", "big", "7.5", "extra")
    c.call("ZUNIONSTORE", "big2", "1", "big")
    got = psql(psql_cmd, "SELECT string_agg(convert_from(d.key, 'UTF8') || '=' || length(d.value) || '/' || "
                         "(SELECT count(*) FROM kv_zset_entries('kv_db0', d.key)), ',' ORDER BY d.key) "
                         "FROM kv_db0 d WHERE d.key IN ('big', 'big2')")
    ok("a zset of 201 members spills (ZADD, ZUNIONSTORE): kv_zset_entries reads it by key",
       got == "big=33/201,big2=33/201" and c.call("ZRANK", "big2", "extra") == b":8\r\n", got)


def restart_write(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    ok("a zset written before the crash", c.call("ZADD", "cz", "2", "b", "1", "a") == b":2\r\n")


def restart_check(our_port, redis_port, psql_cmd):
    c = Raw(our_port)
    reply = c.call("ZRANGE", "cz", "0", "-1", "WITHSCORES")
    ok("the zset is intact after crash and restart",
       reply == b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n" and c.call("TYPE", "cz") == b"+zset\r\n", repr(reply))


def main():
    mode, our_port, redis_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    psql_cmd = sys.argv[4:]
    {"resp2": resp2_checks, "resp3": resp3_checks, "random": random_checks, "oracle": oracle_checks,
     "keys": keys_checks, "tracking": tracking_checks, "sql": sql_checks, "restart-write": restart_write,
     "restart-check": restart_check}[mode](our_port, redis_port, psql_cmd)


if __name__ == "__main__":
    main()
