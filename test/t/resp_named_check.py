#!/usr/bin/python3
"""RESP checks of named collections (issue 11), driven by test/t/05N_resp_named_*.pl on real sockets.

  resp_named_check.py hash <our_port> <redis_port> <psql...>   hashes on a typed collection
  resp_named_check.py zset <our_port> <redis_port> <psql...>   sorted sets on kv_sorted indexes

Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402

# Hash commands whose replies must equal Redis 7's byte for byte.  Ours run on the typed collection
# "h" (key text, f1 text, f2 text, n bigint, x float8, t text): fields are set in column order, so
# HGETALL's order (ours: columns; Redis: insertion) agrees.
HASH_SCRIPT = [
    ["HSET", "h1", "f1", "a", "f2", "b"], ["HSET", "h1", "f1", "c", "n", "5"], ["HSET", "h1", "f1", "c", "f1", "d"],
    ["HGET", "h1", "f1"], ["HGET", "h1", "x"], ["HGET", "nokey", "f1"], ["HMGET", "h1", "f1", "f2", "x", "n"],
    ["HMGET", "nokey", "f1", "f2"], ["HGETALL", "h1"], ["HGETALL", "nokey"], ["HKEYS", "h1"], ["HVALS", "h1"],
    ["HLEN", "h1"], ["HLEN", "nokey"], ["HEXISTS", "h1", "f1"], ["HEXISTS", "h1", "x"], ["HEXISTS", "nokey", "f1"],
    ["HSTRLEN", "h1", "f1"], ["HSTRLEN", "h1", "x"], ["HSTRLEN", "nokey", "x"], ["HDEL", "h1", "f2"],
    ["HDEL", "h1", "f2"], ["HDEL", "nokey", "f2"], ["HINCRBY", "h1", "n", "10"], ["HINCRBY", "h1", "n", "-20"],
    ["HINCRBY", "h1", "f1", "1"], ["HINCRBY", "h1", "n", "x"], ["HINCRBY", "h1", "n", "9223372036854775807"],
    ["HINCRBY", "h1", "n", "1.5"], ["HINCRBYFLOAT", "h1", "x", "1.5"], ["HINCRBYFLOAT", "h1", "x", "0.1"],
    ["HINCRBYFLOAT", "h1", "x", "-3"], ["HINCRBYFLOAT", "h1", "f1", "1"], ["HINCRBYFLOAT", "h1", "x", "abc"],
    ["HINCRBYFLOAT", "h1", "x", "inf"], ["HINCRBYFLOAT", "h1", "t", "2.5"], ["HINCRBYFLOAT", "h1", "t", "1e3"],
    ["HGET", "h1", "t"], ["HSETNX", "h1", "f1", "z"], ["HSETNX", "h1", "f2", "z"], ["HGET", "h1", "f2"],
    ["HSCAN", "h1", "0"], ["HSCAN", "h1", "0", "MATCH", "f*"], ["HSCAN", "h1", "0", "COUNT", "100"],
    ["HSCAN", "h1", "x"], ["HSCAN", "h1", "0", "COUNT"], ["HSCAN", "nokey", "0"],
    ["HSET", "h1"], ["HSET", "h1", "f1"], ["HSET", "h1", "f1", "a", "f2"], ["HMSET", "h2", "f1", "v", "n", "7"],
    ["HGETALL", "h2"], ["TYPE", "h2"], ["HINCRBY", "h3", "n", "4"], ["HINCRBYFLOAT", "h4", "x", "2.5"],
    ["HGETALL", "h3"], ["HGETALL", "h4"], ["EXPIRE", "h2", "100"], ["TTL", "h2"], ["HSET", "h2", "f2", "w"],
    ["TTL", "h2"], ["PERSIST", "h2"], ["TTL", "h2"],
    ["HDEL", "h1", "f1", "f2", "n", "x", "t"], ["EXISTS", "h1"], ["HGETALL", "h1"], ["TYPE", "h1"],
    ["HGET"], ["HGETALL", "a", "b"],
]


# Sorted-set commands whose replies must equal Redis 7's: ours on kv_sorted index "zs" over
# zt (key text, score float8) ASC, and "lb" over players (score bigint) DESC (no ties in the data: a DESC
# index breaks ties key-ascending in descending order, i.e. key-descending in ascending order).
ZSET_SCRIPT = [
    ["ZADD", "zs", "1", "a", "2", "b", "3", "c"], ["ZADD", "zs", "1.5", "d"], ["ZADD", "zs", "NX", "10", "a"],
    ["ZADD", "zs", "XX", "10", "e"], ["ZADD", "zs", "XX", "CH", "5", "a"], ["ZADD", "zs", "GT", "4", "a"],
    ["ZADD", "zs", "LT", "CH", "0.5", "a"], ["ZADD", "zs", "INCR", "2", "b"], ["ZADD", "zs", "NX", "INCR", "1", "b"],
    ["ZADD", "zs", "XX", "NX", "1", "a"], ["ZADD", "zs", "GT", "LT", "1", "a"], ["ZADD", "zs", "INCR", "1", "a", "2", "b"],
    ["ZADD", "zs", "1"], ["ZADD", "zs", "x", "a"], ["ZADD", "zs", "1", "a", "2"], ["ZADD", "zs", "CH", "1", "a", "7", "g"],
    ["ZSCORE", "zs", "a"], ["ZSCORE", "zs", "nope"], ["ZSCORE", "nokey", "a"], ["ZMSCORE", "zs", "a", "nope", "b"],
    ["ZMSCORE", "nokey", "a"], ["ZCARD", "zs"], ["ZCARD", "nokey"], ["ZCOUNT", "zs", "-inf", "+inf"],
    ["ZCOUNT", "zs", "(1", "3"], ["ZCOUNT", "zs", "1", "(3"], ["ZCOUNT", "zs", "x", "1"], ["ZCOUNT", "nokey", "0", "1"],
    ["ZRANK", "zs", "a"], ["ZRANK", "zs", "c"], ["ZRANK", "zs", "nope"], ["ZRANK", "nokey", "a"],
    ["ZREVRANK", "zs", "a"], ["ZREVRANK", "zs", "g"], ["ZRANGE", "zs", "0", "-1"], ["ZRANGE", "zs", "0", "-1", "WITHSCORES"],
    ["ZRANGE", "zs", "1", "2"], ["ZRANGE", "zs", "-2", "-1", "WITHSCORES"], ["ZRANGE", "zs", "5", "10"],
    ["ZRANGE", "zs", "-100", "100"], ["ZRANGE", "zs", "3", "1"], ["ZRANGE", "zs", "0", "-1", "REV"],
    ["ZRANGE", "zs", "0", "1", "REV", "WITHSCORES"], ["ZRANGE", "zs", "(1", "3", "BYSCORE", "WITHSCORES"],
    ["ZRANGE", "zs", "3", "1", "BYSCORE", "REV"], ["ZRANGE", "zs", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"],
    ["ZRANGE", "zs", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "0", "2", "WITHSCORES"],
    ["ZRANGE", "zs", "0", "-1", "LIMIT", "1", "2"], ["ZRANGE", "zs", "a", "b"], ["ZRANGE", "zs", "0", "1", "FOO"],
    ["ZRANGE", "nokey", "0", "-1"], ["ZREVRANGE", "zs", "0", "-1", "WITHSCORES"], ["ZREVRANGE", "zs", "1", "1"],
    ["ZREVRANGE", "zs", "0", "1", "BYSCORE"], ["ZRANGEBYSCORE", "zs", "1", "3", "WITHSCORES"],
    ["ZRANGEBYSCORE", "zs", "-inf", "inf", "LIMIT", "0", "2"], ["ZRANGEBYSCORE", "zs", "-inf", "inf", "LIMIT", "2", "-1"],
    ["ZRANGEBYSCORE", "zs", "(0.5", "(4"], ["ZRANGEBYSCORE", "zs", "5", "1"],
    ["ZREVRANGEBYSCORE", "zs", "+inf", "-inf", "WITHSCORES"], ["ZREVRANGEBYSCORE", "zs", "3", "(1"],
    ["ZRANGEBYSCORE", "zs", "a", "b"], ["ZINCRBY", "zs", "2.5", "c"], ["ZINCRBY", "zs", "1", "newm"],
    ["ZINCRBY", "zs", "x", "a"], ["ZADD", "zs", "1.1", "f"], ["ZSCORE", "zs", "f"], ["ZADD", "zs", "-inf", "m"],
    ["ZSCORE", "zs", "m"], ["ZRANGE", "zs", "0", "0", "WITHSCORES"], ["ZREM", "zs", "a", "nope"], ["ZREM", "zs", "a"],
    ["ZREM", "nokey", "a"], ["ZCARD", "zs"], ["ZRANGE", "zs", "0", "-1", "WITHSCORES"],
    ["ZADD", "lb", "500", "p2", "100", "p1", "300", "p3"], ["ZINCRBY", "lb", "5", "p1"],
    ["ZREVRANGE", "lb", "0", "9", "WITHSCORES"], ["ZRANK", "lb", "p1"], ["ZREVRANK", "lb", "p1"],
    ["ZRANK", "lb", "p2"], ["ZRANGE", "lb", "0", "-1"], ["ZRANGEBYSCORE", "lb", "100", "400", "WITHSCORES"],
    ["ZREVRANGEBYSCORE", "lb", "400", "100"], ["ZSCORE", "lb", "p2"], ["ZCOUNT", "lb", "101", "500"],
    ["ZRANGE", "lb", "1", "1", "REV", "WITHSCORES"], ["ZADD", "lb", "GT", "CH", "400", "p3", "50", "p2"],
    ["ZRANGE", "lb", "0", "-1", "WITHSCORES"], ["ZADD", "lb", "INCR", "-5", "p1"],
    ["ZSCAN", "lb", "0", "COUNT", "100"], ["ZSCAN", "zs", "0", "MATCH", "*m*", "COUNT", "100"], ["ZSCAN", "zs", "x"],
    ["ZSCAN", "nokey", "0"], ["ZADD", "zs", "20", "q1", "21", "q2", "22", "q3"], ["ZPOPMAX", "zs"],
    ["ZPOPMAX", "zs", "2"], ["ZPOPMIN", "zs"], ["ZPOPMIN", "zs", "0"], ["ZPOPMIN", "zs", "-1"], ["ZPOPMIN", "nokey"],
    ["ZPOPMIN", "nokey", "2"], ["ZRANGE", "zs", "0", "-1", "WITHSCORES"],
]


def _parse_bulks(reply):
    """The bulk strings of a flat RESP2 array (or one bulk) reply."""
    out, lines = [], reply.split(b"\r\n")
    for i, line in enumerate(lines):
        if line.startswith(b"$") and line != b"$-1":
            out.append(lines[i + 1])
    return out


Raw.parse_bulks = staticmethod(_parse_bulks)


def psql(cmd, sql):
    return subprocess.run(cmd + ["-At", "-c", sql], capture_output=True, text=True).stdout.strip()


def hash_checks(our_port, redis_port, psql_cmd):
    ours, theirs = Raw(our_port), Raw(redis_port)
    ok("SELECT of the typed collection", ours.call("SELECT", "h") == b"+OK\r\n")
    mismatches = []
    for cmd in HASH_SCRIPT:
        a, b = ours.call(*cmd), theirs.call(*cmd)
        if cmd[0] == "HSCAN":  # field order differs (Redis: insertion order; ours: column order)
            a, b = sorted(a.split(b"\r\n")), sorted(b.split(b"\r\n"))
        if a != b:
            mismatches.append(f"{cmd!r}: ours {a!r} redis {b!r}")
    ok("every hash reply equals Redis 7's", not mismatches, "; ".join(mismatches[:20]))
    ours.call("HELLO", "3")
    theirs.call("HELLO", "3")
    mismatches = []
    for cmd in [["HGETALL", "h3"], ["HGETALL", "nokey"], ["HMGET", "h3", "n", "x"], ["HGET", "h3", "x"],
                ["HKEYS", "h3"], ["HINCRBYFLOAT", "h4", "x", "1.25"], ["HEXISTS", "h4", "x"], ["HSCAN", "h2", "0"]]:
        a, b = ours.call(*cmd), theirs.call(*cmd)
        if cmd[0] == "HSCAN":
            a, b = sorted(a.split(b"\r\n")), sorted(b.split(b"\r\n"))
        if a != b:
            mismatches.append(f"{cmd!r}: ours {a!r} redis {b!r}")
    ok("RESP3 hash replies equal Redis 7's", not mismatches, "; ".join(mismatches[:20]))

    # The same data read back through SQL: typed columns, NULLs for absent fields.
    ok("rows written over RESP are typed rows in SQL",
       psql(psql_cmd, "SELECT key, f1, f2, n, x, t FROM h ORDER BY key") ==
       "h2|v|w|7||\nh3|||4||\nh4||||3.75|", psql(psql_cmd, "SELECT * FROM h ORDER BY key"))
    ok("the row of an HDEL of every field is gone", psql(psql_cmd, "SELECT count(*) FROM h WHERE key = 'h1'") == "0")

    # Differences by design: unknown fields, values through the column type, WRONGTYPE both ways.
    c = Raw(our_port)
    c.call("SELECT", "players")
    ok("HSET creates a row; unnamed columns get their defaults",
       c.call("HSET", "p1", "name", "alice", "level", "3") == b":2\r\n" and
       psql(psql_cmd, "SELECT name, score, level FROM players WHERE key = 'p1'") == "alice|0|3")
    ok("HGETALL shows the defaulted column too",
       c.call("HGETALL", "p1") == b"*8\r\n$4\r\nname\r\n$5\r\nalice\r\n$5\r\nscore\r\n$1\r\n0\r\n$5\r\nlevel\r\n"
       b"$1\r\n3\r\n$4\r\nflag\r\n$1\r\nf\r\n")
    ok("HINCRBY on a bigint column", c.call("HINCRBY", "p1", "score", "10") == b":10\r\n")
    reply = c.call("GET", "p1")
    ok("GET of a typed row is a JSON object of its non-null fields",
       reply == b'$50\r\n{"name":"alice","score":10,"level":3,"flag":false}\r\n', reply)
    reply = c.call("HSET", "p1", "level", "abc", "name", "bob")
    ok("an invalid value is -ERR with PostgreSQL's message",
       reply == b'-ERR invalid input syntax for type integer: "abc"\r\n', reply)
    ok("... and nothing was written", psql(psql_cmd, "SELECT name, level FROM players WHERE key = 'p1'") == "alice|3")
    reply = c.call("HSET", "p1", "nosuch", "1")
    ok("an unknown field is a clear -ERR", reply == b'-ERR collection "players" has no value field "nosuch"\r\n', reply)
    reply = c.call("HGET", "p1", "key")
    ok("the key column is not a field", reply.startswith(b"-ERR collection"), reply)
    reply = c.call("HGET", "p1", "expires")
    ok("the expiry column is not a field", reply.startswith(b"-ERR collection"), reply)
    reply = c.call("HDEL", "p1", "level", "flag")
    ok("HDEL of a NOT NULL column is -ERR with PostgreSQL's message",
       reply.startswith(b'-ERR null value in column "flag"'), reply)
    ok("SET of a JSON object writes the named fields, defaults the rest",
       c.call("SET", "p2", '{"name":"carol","level":7,"flag":true}') == b"+OK\r\n" and
       psql(psql_cmd, "SELECT name, score, level, flag FROM players WHERE key = 'p2'") == "carol|0|7|t")
    ok("SET of a JSON object over an existing row resets unnamed fields",
       c.call("SET", "p1", '{"name":"dave","flag":false}') == b"+OK\r\n" and
       psql(psql_cmd, "SELECT name, score, level, flag FROM players WHERE key = 'p1'") == "dave|0||f")
    reply = c.call("GET", "p1")
    ok("GET shows booleans bare", reply == b'$38\r\n{"name":"dave","score":0,"flag":false}\r\n', reply)
    reply = c.call("SET", "p1", '{"name":"x","nosuch":1}')
    ok("SET with an unknown field is an error", reply.startswith(b"-ERR") or reply.startswith(b"-WRONGTYPE"), reply)
    reply = c.call("SET", "p1", "not json")
    ok("SET of a non-JSON value is -ERR", reply.startswith(b"-ERR invalid input syntax for type json"), reply)
    reply = c.call("SET", "p1", "[1,2]")
    ok("SET of a JSON array is -ERR", reply.startswith(b"-ERR"), reply)
    ok("... nothing was written", psql(psql_cmd, "SELECT name FROM players WHERE key = 'p1'") == "dave")
    ok("TYPE of a typed row is hash", c.call("TYPE", "p1") == b"+hash\r\n")
    ok("string commands on a typed collection: WRONGTYPE",
       c.call("INCR", "p1") == b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" and
       c.call("APPEND", "p1", "x").startswith(b"-WRONGTYPE"))
    ok("EXPIRE/TTL/PERSIST on typed rows",
       c.call("EXPIRE", "p1", "100") == b":1\r\n" and c.call("TTL", "p1") == b":100\r\n" and
       c.call("HSET", "p1", "level", "4") == b":1\r\n" and c.call("TTL", "p1") == b":100\r\n" and
       c.call("PERSIST", "p1") == b":1\r\n" and c.call("TTL", "p1") == b":-1\r\n")
    ok("HDEL of the last fields deletes the row (NOT NULL aside)",
       c.call("SELECT", "h") == b"+OK\r\n" and c.call("HSET", "gone", "f1", "a") == b":1\r\n" and
       c.call("HDEL", "gone", "f1") == b":1\r\n" and c.call("EXISTS", "gone") == b":0\r\n")
    c.call("SELECT", "cache")
    ok("hash commands on a blob collection: WRONGTYPE",
       all(c.call(*cmd).startswith(b"-WRONGTYPE") for cmd in
           [["HSET", "s", "value", "1"], ["HGET", "s", "value"], ["HGETALL", "s"], ["HINCRBY", "s", "value", "1"],
            ["HDEL", "s", "value"]]))
    ok("TYPE on a blob collection is string", c.call("SET", "s", "v") == b"+OK\r\n" and
       c.call("TYPE", "s") == b"+string\r\n")
    c.call("SELECT", "0")
    reply = c.call("HSET", "k", "f", "v")
    ok("hash commands on kv_db0 serve Redis hashes (issue 12)", reply == b":1\r\n" and
       c.call("TYPE", "k") == b"+hash\r\n" and c.call("HGET", "k", "f") == b"$1\r\nv\r\n", reply)

    # redis-py round trip.
    import redis
    r = redis.Redis(port=our_port, socket_timeout=30, db=0)
    r.execute_command("SELECT", "players")
    r.hset("p9", mapping={"name": "zed", "level": 9})
    ok("redis-py hset/hgetall", r.hgetall("p9") == {b"name": b"zed", b"score": b"0", b"level": b"9", b"flag": b"f"}, r.hgetall("p9"))


def zset_checks(our_port, redis_port, psql_cmd):
    import random
    # Z-commands name kv_sorted indexes when a named collection is selected (in a kv_db<n> keyspace
    # they name zset keys).
    ours, theirs = Raw(our_port), Raw(redis_port)
    ours.call("SELECT", "zt")
    mismatches = []
    for cmd in ZSET_SCRIPT:
        a, b = ours.call(*cmd), theirs.call(*cmd)
        if a != b:
            mismatches.append(f"{cmd!r}: ours {a!r} redis {b!r}")
    ok("every sorted-set reply equals Redis 7's", not mismatches, "; ".join(mismatches[:20]))
    # RESP3: doubles and WITHSCORES pairs.
    ours.call("HELLO", "3")
    theirs.call("HELLO", "3")
    mismatches = []
    for cmd in [["ZSCORE", "zs", "b"], ["ZMSCORE", "zs", "b", "nope"], ["ZRANGE", "zs", "0", "-1", "WITHSCORES"],
                ["ZREVRANGEBYSCORE", "zs", "+inf", "-inf", "WITHSCORES", "LIMIT", "0", "2"], ["ZINCRBY", "zs", "1", "b"],
                ["ZADD", "zs", "INCR", "1", "b"], ["ZPOPMIN", "zs", "1"], ["ZPOPMIN", "zs"], ["ZSCORE", "zs", "nope"]]:
        a, b = ours.call(*cmd), theirs.call(*cmd)
        if a != b:
            mismatches.append(f"{cmd!r}: ours {a!r} redis {b!r}")
    ok("RESP3 sorted-set replies equal Redis 7's", not mismatches, "; ".join(mismatches[:20]))

    # The rows behind the members: ZADD upserts (other columns default), ZREM deleted the row.
    ok("ZADD wrote typed rows with defaults; ZREM deleted the row",
       psql(psql_cmd, "SELECT key, name IS NULL, score, level FROM players ORDER BY key") ==
       "p1|t|100|\np2|t|500|\np3|t|400|" and
       psql(psql_cmd, "SELECT count(*) FROM zt WHERE key IN ('q2', 'q3', 'm')") == "0" and
       psql(psql_cmd, "SELECT count(*) FROM zt WHERE key = 'a'") == "0",
       repr(psql(psql_cmd, "SELECT * FROM players ORDER BY key")))
    c = Raw(our_port)
    c.call("SELECT", "zt")
    reply = c.call("ZADD", "lb", "1.5", "p4")
    ok("an integer score column rejects a fraction clearly", reply.startswith(b"-ERR score is not an integer"), reply)
    reply = c.call("ZADD", "players", "1", "x")
    ok("a table is not a sorted set: WRONGTYPE", reply.startswith(b"-WRONGTYPE"), reply)
    reply = c.call("ZADD", "nosuchindex", "1", "x")
    ok("ZADD needs the kv_sorted index", reply.startswith(b"-ERR no kv_sorted index"), reply)
    psql(psql_cmd, "UPDATE players SET score = 1000 WHERE key = 'p1'")
    ok("a SQL UPDATE moves the member", c.call("ZREVRANK", "lb", "p1") == b":0\r\n" and
       c.call("ZSCORE", "lb", "p1") == b"$4\r\n1000\r\n")

    # Random ZADD / ZINCRBY / ZREM / SQL workload, checked against row_number() oracles.
    rnd = random.Random(11)
    for i in range(400):
        m = f"m{rnd.randrange(60)}"
        op = rnd.random()
        if op < 0.5:
            c.call("ZADD", "lb", str(rnd.randrange(-50, 50)), m)
        elif op < 0.7:
            c.call("ZINCRBY", "lb", str(rnd.randrange(-5, 6)), m)
        elif op < 0.85:
            c.call("ZREM", "lb", m)
        else:
            psql(psql_cmd, f"INSERT INTO players (key, score) VALUES ('{m}', {rnd.randrange(-50, 50)}) "
                           "ON CONFLICT (key) DO UPDATE SET score = excluded.score")
    oracle = psql(psql_cmd, "SELECT key, score, row_number() OVER (ORDER BY score DESC, key) - 1 FROM players "
                            "WHERE score IS NOT NULL ORDER BY score, key DESC")
    rows = [line.split("|") for line in oracle.splitlines()]
    asc = [x for r in rows for x in (r[0].encode(), r[1].encode())]
    got = c.call("ZRANGE", "lb", "0", "-1", "WITHSCORES")
    want = b"*%d\r\n" % len(asc) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in asc)
    ok("ZRANGE WITHSCORES after a random workload equals the SQL order", got == want, f"{got[:200]!r} vs {want[:200]!r}")
    bad = [r for r in rows if c.call("ZREVRANK", "lb", r[0]) != b":%s\r\n" % r[2].encode()]
    ok("ZREVRANK of every member equals row_number() - 1", not bad, bad[:5])
    bad = [r for i, r in enumerate(rows) if c.call("ZRANK", "lb", r[0]) != b":%d\r\n" % i]
    ok("ZRANK of every member equals its ascending position", not bad, bad[:5])
    ok("ZCARD equals count(*)", c.call("ZCARD", "lb") == b":%d\r\n" % len(rows))
    top = c.call("ZREVRANGE", "lb", "0", "9")
    want_top = [r[0].encode() for r in sorted(rows, key=lambda r: int(r[2]))[:10]]
    ok("ZREVRANGE 0 9 equals TOPK", top == b"*%d\r\n" % len(want_top) +
       b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in want_top) and
       psql(psql_cmd, "SELECT string_agg(key, ',' ORDER BY rank) FROM TOPK('lb', 10)") ==
       ",".join(x.decode() for x in want_top))

    # ZRANDMEMBER (random: checked by properties).
    members = set(r_.decode() for r_ in Raw.parse_bulks(c.call("ZRANGE", "lb", "0", "-1")))
    one = Raw.parse_bulks(c.call("ZRANDMEMBER", "lb"))
    five = Raw.parse_bulks(c.call("ZRANDMEMBER", "lb", "5"))
    many = Raw.parse_bulks(c.call("ZRANDMEMBER", "lb", "-200"))
    ws = Raw.parse_bulks(c.call("ZRANDMEMBER", "lb", "3", "WITHSCORES"))
    ok("ZRANDMEMBER: one member, distinct counts, repeats, WITHSCORES",
       len(one) == 1 and one[0].decode() in members and len(five) == 5 and len(set(five)) == 5 and
       all(m.decode() in members for m in five) and len(many) == 200 and
       all(m.decode() in members for m in many) and len(ws) == 6 and
       all(c.call("ZSCORE", "lb", ws[i]) == b"$%d\r\n%s\r\n" % (len(ws[i + 1]), ws[i + 1]) for i in range(0, 6, 2)),
       repr((one, five, ws)))
    ok("ZRANDMEMBER of a missing set", c.call("ZRANDMEMBER", "nokey") == b"$-1\r\n" and
       c.call("ZRANDMEMBER", "nokey", "3") == b"*0\r\n" and c.call("ZRANDMEMBER", "lb", "0") == b"*0\r\n")

    # Windowed indexes: only the current window's entries are members.
    psql(psql_cmd, "INSERT INTO wt VALUES ('today1', 5, now()), ('today2', 7, now()), "
                   "('old', 9, now() - interval '2 days')")
    ok("a daily index: ZCARD and ZRANGE see only today's entries",
       c.call("ZCARD", "wlb") == b":2\r\n" and
       c.call("ZRANGE", "wlb", "0", "-1") == b"*2\r\n$6\r\ntoday1\r\n$6\r\ntoday2\r\n" and
       c.call("ZSCORE", "wlb", "old") == b"$-1\r\n" and c.call("ZRANK", "wlb", "old") == b"$-1\r\n")

    # Privileges of the client's role: table and column grants apply.
    reply = c.call("ZCARD", "secret_idx")
    ok("a sorted set on a table the role cannot read: NOPERM", reply.startswith(b"-NOPERM"), reply)
    reply = c.call("ZADD", "secret_idx", "1", "x")
    ok("... nor write", reply.startswith(b"-NOPERM"), reply)
    c.call("SELECT", "partial")
    ok("a granted column reads", c.call("HGET", "k1", "a") == b"$2\r\nva\r\n")
    reply = c.call("HGET", "k1", "b")
    ok("a column without SELECT: NOPERM", reply.startswith(b"-NOPERM"), reply)
    reply = c.call("HGETALL", "k1")
    ok("HGETALL needs every column", reply.startswith(b"-NOPERM"), reply)
    reply = c.call("HSET", "k1", "a", "x")
    ok("no UPDATE grant: HSET is NOPERM", reply.startswith(b"-NOPERM"), reply)
    ok("... and nothing changed", psql(psql_cmd, "SELECT a FROM partial WHERE key = 'k1'") == "va")
    c.call("SELECT", "0")
    reply = c.call("ZADD", "zs", "1", "k")
    ok("in the kv_db0 keyspace ZADD names a zset key of kv_db0 (NOPERM: no grant on kv_db0 here), not the index",
       reply.startswith(b"-NOPERM") and b"kv_db0" in reply and
       psql(psql_cmd, "SELECT count(*) FROM zt WHERE key = 'k'") == "0", reply)

    import redis
    r = redis.Redis(port=our_port, socket_timeout=30, single_connection_client=True)
    r.execute_command("SELECT", "zt")
    r.zadd("zs", {"py1": 42.5, "py2": 43})
    ok("redis-py zadd/zrange/zscore", r.zscore("zs", "py1") == 42.5 and
       r.zrange("zs", -2, -1, withscores=True) == [(b"py1", 42.5), (b"py2", 43.0)],
       r.zrange("zs", -2, -1, withscores=True))


def main():
    mode = sys.argv[1]
    if mode == "hash":
        hash_checks(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    elif mode == "zset":
        zset_checks(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])


if __name__ == "__main__":
    main()
