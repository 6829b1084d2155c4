#!/usr/bin/python3
"""RESP checks of named collections (issue 11), driven by test/t/05N_resp_named_*.pl on real sockets.

  resp_named_check.py hash <our_port> <redis_port> <psql...>   hashes on a typed collection

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

    # The same data read back through SQL: typed columns, NULLs for absent fields.
    ok("rows written over RESP are typed rows in SQL",
       psql(psql_cmd, "SELECT key, f1, f2, n, x, t FROM h ORDER BY key") ==
       "h2|v|w|7||\nh3|||4||\nh4||||2.5|", psql(psql_cmd, "SELECT * FROM h ORDER BY key"))
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
    ok("hash commands on kv_db0 are refused clearly for now", reply.startswith(b"-ERR hash commands need"), reply)

    # redis-py round trip.
    import redis
    r = redis.Redis(port=our_port, socket_timeout=30, db=0)
    r.execute_command("SELECT", "players")
    r.hset("p9", mapping={"name": "zed", "level": 9})
    ok("redis-py hset/hgetall", r.hgetall("p9") == {b"name": b"zed", b"score": b"0", b"level": b"9", b"flag": b"f"}, r.hgetall("p9"))


def main():
    mode = sys.argv[1]
    if mode == "hash":
        hash_checks(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])


if __name__ == "__main__":
    main()
