#!/usr/bin/python3
"""RESP checks of Redis-typed keys in kv_db0 (issue 12), driven by test/t/07N_rtypes_*.pl.

  rtypes_check.py <mode> <our_port> <redis_port> <psql...>

modes: keys (types, WRONGTYPE matrix, SET/DEL/RENAME/COPY across types, OBJECT ENCODING, expiry),
hash, set, list (every reply compared with a real redis-server, RESP2 and RESP3), sql (the SQL readers
of rows written over RESP), restart-write / restart-check (containers across a crash).
Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402


def psql(cmd, sql):
    done = subprocess.run(cmd + ["-At", "-c", sql], capture_output=True, text=True)
    if done.stderr:
        print(done.stderr, file=sys.stderr)
    return done.stdout.strip()


def sorted_lines(reply):
    return sorted(reply.split(b"\r\n"))


def compare(name, ours, theirs, script, unordered=()):
    """Runs script on both connections; commands named in unordered compare their lines as a multiset
    (Redis answers them in hash-table order)."""
    mismatches = []
    for cmd in script:
        a, b = ours.call(*cmd), theirs.call(*cmd)
        if cmd[0].upper() in unordered:
            a, b = sorted_lines(a), sorted_lines(b)
        if a != b:
            mismatches.append(f"{cmd!r}: ours {a!r} redis {b!r}")
    ok(name, not mismatches, "; ".join(mismatches[:12]))


def fresh(port):
    c = Raw(port)
    c.call("FLUSHDB")
    return c


WRONG = {
    "string": [["GET", "{k}"], ["INCR", "{k}"], ["APPEND", "{k}", "x"], ["STRLEN", "{k}"], ["GETRANGE", "{k}", "0", "1"],
               ["SET", "{k}", "v", "GET"], ["GETSET", "{k}", "v"], ["GETDEL", "{k}"], ["INCRBYFLOAT", "{k}", "1"],
               ["SETRANGE", "{k}", "0", "x"], ["DECRBY", "{k}", "2"]],
    "hash": [["HSET", "{k}", "f", "v"], ["HGET", "{k}", "f"], ["HGETALL", "{k}"], ["HLEN", "{k}"], ["HDEL", "{k}", "f"],
             ["HINCRBY", "{k}", "f", "1"], ["HMGET", "{k}", "f"], ["HSCAN", "{k}", "0"], ["HRANDFIELD", "{k}"],
             ["HEXISTS", "{k}", "f"]],
    "set": [["SADD", "{k}", "m"], ["SREM", "{k}", "m"], ["SMEMBERS", "{k}"], ["SISMEMBER", "{k}", "m"], ["SCARD", "{k}"],
            ["SPOP", "{k}"], ["SINTER", "{k}"], ["SUNION", "{k}", "nokey"], ["SDIFF", "nokey", "{k}"], ["SSCAN", "{k}", "0"],
            ["SINTERCARD", "2", "nokey", "{k}"], ["SMOVE", "{k}", "nokey", "m"]],
    "list": [["LPUSH", "{k}", "e"], ["RPUSH", "{k}", "e"], ["LPOP", "{k}"], ["RPOP", "{k}", "2"], ["LLEN", "{k}"],
             ["LRANGE", "{k}", "0", "-1"], ["LINDEX", "{k}", "0"], ["LSET", "{k}", "0", "x"], ["LREM", "{k}", "0", "e"],
             ["LTRIM", "{k}", "0", "1"], ["LINSERT", "{k}", "BEFORE", "a", "b"], ["LPOS", "{k}", "e"],
             ["LMOVE", "{k}", "nokey", "LEFT", "LEFT"], ["LPUSHX", "{k}", "e"]],
    "zset": [["ZADD", "{k}", "1", "m"], ["ZINCRBY", "{k}", "1", "m"], ["ZREM", "{k}", "m"], ["ZSCORE", "{k}", "m"],
             ["ZMSCORE", "{k}", "m"], ["ZCARD", "{k}"], ["ZCOUNT", "{k}", "0", "1"], ["ZLEXCOUNT", "{k}", "-", "+"],
             ["ZRANK", "{k}", "m"], ["ZRANGE", "{k}", "0", "-1"], ["ZRANGEBYSCORE", "{k}", "0", "1"],
             ["ZREMRANGEBYRANK", "{k}", "0", "1"], ["ZPOPMIN", "{k}"], ["ZRANDMEMBER", "{k}"], ["ZSCAN", "{k}", "0"],
             ["ZMPOP", "1", "{k}", "MIN"], ["ZRANGESTORE", "nokey", "{k}", "0", "-1"], ["ZUNION", "1", "{k}"],
             ["ZINTERCARD", "1", "{k}"], ["ZDIFFSTORE", "nokey", "1", "{k}"]],
}
MAKE = {"string": ["SET", "{k}", "12"], "hash": ["HSET", "{k}", "f", "1"], "set": ["SADD", "{k}", "1"],
        "list": ["RPUSH", "{k}", "a", "b"], "zset": ["ZADD", "{k}", "1", "a"]}


def fill(cmd, key):
    return [a.replace("{k}", key) for a in cmd]


def keys_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    # The WRONGTYPE matrix: every type's key against every other type's commands.
    script = []
    for held in MAKE:
        key = "wt:" + held
        script.append(fill(MAKE[held], key))
        for other, cmds in WRONG.items():
            if other != held:
                script += [fill(c, key) for c in cmds]
        script += [["TYPE", key], ["EXISTS", key], ["OBJECT", "ENCODING", key]]
    compare("the WRONGTYPE matrix across string, hash, set, list and zset equals Redis 7's", ours, theirs, script)

    script = [
        # SET replaces any type; DEL and EXISTS work on all of them.
        ["HSET", "k1", "a", "1"], ["SET", "k1", "s"], ["TYPE", "k1"], ["GET", "k1"],
        ["SADD", "k2", "x"], ["SET", "k2", "v", "NX"], ["SET", "k2", "v", "XX"], ["TYPE", "k2"],
        ["RPUSH", "k3", "a"], ["SET", "k3", "v", "GET"], ["TYPE", "k3"], ["MSET", "k3", "m"], ["TYPE", "k3"],
        ["HSET", "k4", "f", "v"], ["SETNX", "k4", "x"], ["MGET", "k4", "k3", "nokey"],
        ["DEL", "k1", "k2", "k3", "k4", "nokey"], ["EXISTS", "k1", "k2", "k3", "k4"],
        # An emptied container is deleted.
        ["HSET", "e1", "f", "v"], ["HDEL", "e1", "f"], ["EXISTS", "e1"], ["TYPE", "e1"],
        ["SADD", "e2", "m"], ["SREM", "e2", "m"], ["EXISTS", "e2"], ["RPUSH", "e3", "a"], ["LPOP", "e3"],
        ["EXISTS", "e3"], ["RPUSH", "e4", "a", "b"], ["LTRIM", "e4", "5", "6"], ["EXISTS", "e4"],
        # RENAME / COPY carry the type (and the expiry); RENAME over another type replaces it.
        ["HSET", "r1", "f", "v", "g", "w"], ["EXPIRE", "r1", "1000"], ["RENAME", "r1", "r2"], ["TYPE", "r2"],
        ["HGETALL", "r2"], ["TTL", "r2"], ["EXISTS", "r1"], ["SADD", "r3", "a", "b"], ["RENAME", "r2", "r3"],
        ["TYPE", "r3"], ["RENAMENX", "r3", "r3"], ["RPUSH", "r4", "x"], ["RENAMENX", "r3", "r4"],
        ["COPY", "r3", "r5"], ["TYPE", "r5"], ["HGETALL", "r5"], ["TTL", "r5"], ["COPY", "r4", "r5"],
        ["COPY", "r4", "r5", "REPLACE"], ["TYPE", "r5"], ["LRANGE", "r5", "0", "-1"],
        # Expiry on containers.
        ["SADD", "x1", "a"], ["TTL", "x1"], ["PEXPIRE", "x1", "5000"], ["EXPIRE", "x1", "100", "GT"], ["TTL", "x1"],
        ["PERSIST", "x1"], ["TTL", "x1"], ["RPUSH", "x2", "a"], ["EXPIRE", "x2", "50"], ["RPUSH", "x2", "b"],
        ["TTL", "x2"], ["LPOP", "x2"], ["TTL", "x2"], ["HSET", "x3", "f", "v"], ["EXPIRE", "x3", "-1"],
        ["EXISTS", "x3"], ["HGET", "x3", "f"], ["SET", "x2", "v"], ["TTL", "x2"], ["RPUSH", "x4", "a"],
        ["PEXPIRE", "x4", "100000"],
        # OBJECT ENCODING as Redis 7.0 names it.
        ["SET", "o1", "12345"], ["SET", "o2", "short"], ["SET", "o3", "x" * 50], ["HSET", "o4", "f", "v"],
        ["HSET", "o5", "f", "v" * 70], ["SADD", "o6", "1", "2"], ["SADD", "o7", "a"], ["RPUSH", "o8", "a"],
        ["OBJECT", "ENCODING", "o1"], ["OBJECT", "ENCODING", "o2"], ["OBJECT", "ENCODING", "o3"],
        ["OBJECT", "ENCODING", "o4"], ["OBJECT", "ENCODING", "o5"], ["OBJECT", "ENCODING", "o6"],
        ["OBJECT", "ENCODING", "o7"], ["OBJECT", "ENCODING", "o8"], ["OBJECT", "ENCODING", "nokey"],
        ["OBJECT", "REFCOUNT", "o4"], ["DBSIZE"],
    ]
    compare("SET, DEL, RENAME, COPY, expiry and OBJECT across types equal Redis 7's", ours, theirs, script)
    compare("KEYS and SCAN ... TYPE across types equal Redis 7's", ours, theirs,
            [["KEYS", "*"], ["KEYS", "o*"], ["SCAN", "0", "COUNT", "1000", "TYPE", "hash"],
             ["SCAN", "0", "COUNT", "1000", "TYPE", "set"], ["SCAN", "0", "COUNT", "1000", "TYPE", "list"],
             ["SCAN", "0", "COUNT", "1000", "TYPE", "string"], ["SCAN", "0", "COUNT", "1000", "TYPE", "zset"]],
            unordered={"KEYS", "SCAN"})
    ok("the kv_db0 rows carry the Redis type",
       psql(psql_cmd, "SELECT string_agg(convert_from(key, 'UTF8') || '=' || type, ',' ORDER BY key) FROM kv_db0 "
                      "WHERE key IN ('o1', 'o4', 'o6', 'o8')") == "o1=string,o4=hash,o6=set,o8=list")
    ok("an expired container is absent in SQL too (test clock)",
       psql(psql_cmd, "SELECT count(*) FROM kv_db0 WHERE key = 'x4'") == "1" and
       psql(psql_cmd, "SET nodedb_kv.test_clock_offset = '200s'; SELECT count(*) FROM kv_db0 WHERE key = 'x4'") == "0"
       and psql(psql_cmd, "SET nodedb_kv.test_clock_offset = '200s'; "
                          "SELECT count(*) FROM kv_db0 WHERE key = 'r5'") == "1")
    compare("FLUSHDB empties every type", ours, theirs, [["FLUSHDB"], ["DBSIZE"], ["EXISTS", "o4", "o6", "o8"]])


HASH_SCRIPT = [
    ["HSET", "h1", "f1", "a", "f2", "b"], ["HSET", "h1", "f1", "c", "n", "5"], ["HSET", "h1", "f1", "c", "f1", "d"],
    ["HGET", "h1", "f1"], ["HGET", "h1", "x"], ["HGET", "nokey", "f1"], ["HMGET", "h1", "f1", "f2", "x", "n"],
    ["HMGET", "nokey", "f1", "f2"], ["HGETALL", "h1"], ["HGETALL", "nokey"], ["HKEYS", "h1"], ["HVALS", "h1"],
    ["HLEN", "h1"], ["HLEN", "nokey"], ["HEXISTS", "h1", "f1"], ["HEXISTS", "h1", "x"], ["HEXISTS", "nokey", "f1"],
    ["HSTRLEN", "h1", "f1"], ["HSTRLEN", "h1", "x"], ["HSTRLEN", "nokey", "x"], ["HDEL", "h1", "f2"],
    ["HDEL", "h1", "f2"], ["HDEL", "nokey", "f2"], ["HDEL", "h1", "zz", "n", "f2"], ["HSET", "h1", "n", "5", "f2", "q"],
    ["HINCRBY", "h1", "n", "10"], ["HINCRBY", "h1", "n", "-20"],
    ["HINCRBY", "h1", "f1", "1"], ["HINCRBY", "h1", "n", "x"], ["HINCRBY", "h1", "n", "9223372036854775807"],
    ["HINCRBY", "h1", "n", "-9223372036854775808"], ["HINCRBY", "h1", "n", "1.5"], ["HINCRBY", "h1", "new", "3"],
    ["HINCRBYFLOAT", "h1", "x", "1.5"], ["HINCRBYFLOAT", "h1", "x", "0.1"],
    ["HINCRBYFLOAT", "h1", "x", "-3"], ["HINCRBYFLOAT", "h1", "f1", "1"], ["HINCRBYFLOAT", "h1", "x", "abc"],
    ["HINCRBYFLOAT", "h1", "x", "inf"], ["HINCRBYFLOAT", "h1", "t", "2.5"], ["HINCRBYFLOAT", "h1", "t", "1e3"],
    ["HINCRBYFLOAT", "h1", "n", "1"], ["HGET", "h1", "t"], ["HGET", "h1", "n"],
    ["HSETNX", "h1", "f1", "z"], ["HSETNX", "h1", "f9", "z"], ["HSETNX", "h5", "f", "z"], ["HGET", "h1", "f9"],
    ["HGETALL", "h1"], ["HSCAN", "h1", "0"], ["HSCAN", "h1", "0", "MATCH", "f*"], ["HSCAN", "h1", "0", "COUNT", "100"],
    ["HSCAN", "h1", "x"], ["HSCAN", "h1", "0", "COUNT"], ["HSCAN", "h1", "0", "COUNT", "0"], ["HSCAN", "nokey", "0"],
    ["HSET", "h1"], ["HSET", "h1", "f1"], ["HSET", "h1", "f1", "a", "f2"], ["HMSET", "h2", "f1", "v", "n", "7"],
    ["HMSET", "h2", "f1"], ["HGETALL", "h2"], ["TYPE", "h2"], ["HINCRBY", "h3", "n", "4"],
    ["HINCRBYFLOAT", "h4", "x", "2.5"], ["HGETALL", "h3"], ["HGETALL", "h4"], ["EXPIRE", "h2", "100"], ["TTL", "h2"],
    ["HSET", "h2", "f2", "w"], ["TTL", "h2"], ["HDEL", "h2", "f2"], ["TTL", "h2"], ["PERSIST", "h2"], ["TTL", "h2"],
    ["HSET", "bin", "\x00\r\n", "\xff\x00"], ["HGETALL", "bin"], ["HSET", "bin", "", ""], ["HGET", "bin", ""],
    ["HRANDFIELD", "nokey"], ["HRANDFIELD", "nokey", "3"], ["HRANDFIELD", "h2", "5"], ["HRANDFIELD", "h2", "5", "WITHVALUES"],
    ["HRANDFIELD", "h2", "0"], ["HRANDFIELD", "h2", "x"], ["HRANDFIELD", "h2", "1", "FOO"], ["HRANDFIELD", "h3", "-3"],
    ["HRANDFIELD", "h2", "-9223372036854775808"], ["HRANDFIELD", "nokey", "-9223372036854775808", "WITHVALUES"],
    ["HRANDFIELD", "h3", "-2", "WITHVALUES"], ["HRANDFIELD", "h3"],
    ["HDEL", "h1", "f1", "n", "x", "t", "f2", "f9", "new"], ["EXISTS", "h1"], ["HGETALL", "h1"], ["TYPE", "h1"],
    ["HGET"], ["HGETALL", "a", "b"],
]


def hash_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    compare("every hash reply equals Redis 7's (RESP2)", ours, theirs, HASH_SCRIPT)
    ours.call("HELLO", "3")
    theirs.call("HELLO", "3")
    compare("hash replies equal Redis 7's (RESP3)", ours, theirs,
            [["HGETALL", "h2"], ["HGETALL", "nokey"], ["HMGET", "h2", "n", "x"], ["HGET", "h2", "x"], ["HKEYS", "h2"],
             ["HINCRBYFLOAT", "h4", "x", "1.25"], ["HEXISTS", "h4", "x"], ["HSCAN", "h2", "0"],
             ["HRANDFIELD", "h3", "1", "WITHVALUES"], ["HRANDFIELD", "h3", "-2", "WITHVALUES"], ["HLEN", "h2"]])
    # HRANDFIELD by properties: distinct fields for a positive count, repeats allowed for a negative one.
    c = Raw(our_port)
    fields = [f"f{i}" for i in range(20)]
    c.call("HSET", "big", *[x for f in fields for x in (f, f.upper())])
    reply = c.call("HRANDFIELD", "big", "5").split(b"\r\n")
    picked = [x for x in reply[1:] if x and not x.startswith(b"$")]
    ok("HRANDFIELD 5 gives 5 distinct fields of the hash",
       reply[0] == b"*5" and len(set(picked)) == 5 and all(p.decode() in fields for p in picked), repr(reply))
    reply = c.call("HRANDFIELD", "big", "-50").split(b"\r\n")
    picked = [x for x in reply[1:] if x and not x.startswith(b"$")]
    ok("HRANDFIELD -50 gives 50 fields (repeats)", reply[0] == b"*50" and len(picked) == 50 and
       all(p.decode() in fields for p in picked))
    ok("kv_hash_entries reads a hash written over RESP",
       psql(psql_cmd, "SELECT string_agg(convert_from(f.field, 'UTF8') || '=' || convert_from(f.value, 'UTF8'), ',') "
                      "FROM kv_db0 d, kv_hash_entries(d.value) f WHERE d.key = 'h2'") == "f1=v,n=7")


SET_SCRIPT = [
    ["SADD", "s1", "3", "1", "2"], ["SADD", "s1", "2", "5"], ["SMEMBERS", "s1"], ["SCARD", "s1"], ["SCARD", "nokey"],
    ["SISMEMBER", "s1", "1"], ["SISMEMBER", "s1", "9"], ["SISMEMBER", "nokey", "1"], ["SMISMEMBER", "s1", "1", "9", "5"],
    ["SMISMEMBER", "nokey", "1"], ["SREM", "s1", "1", "9"], ["SREM", "nokey", "1"], ["SMEMBERS", "s1"],
    ["SMEMBERS", "nokey"], ["SADD", "s2", "5", "6", "-1", "10"], ["SINTER", "s1", "s2"], ["SUNION", "s1", "s2"],
    ["SDIFF", "s2", "s1"], ["SDIFF", "s1", "nokey"], ["SINTER", "s1", "nokey"], ["SUNION", "nokey"],
    ["SINTERCARD", "2", "s1", "s2"], ["SINTERCARD", "1", "s2"], ["SINTERCARD", "1", "s2", "LIMIT", "2"],
    ["SINTERCARD", "2", "s2", "s2", "LIMIT", "0"], ["SINTERCARD", "2", "s1", "nokey"], ["SINTERCARD", "0", "s1"],
    ["SINTERCARD", "x", "s1"], ["SINTERCARD", "3", "s1", "s2"], ["SINTERCARD", "1", "s1", "LIMIT"],
    ["SINTERCARD", "1", "s1", "LIMIT", "-1"], ["SINTERCARD", "1", "s1", "LIMIT", "x"], ["SINTERCARD", "1", "s1", "FOO", "1"],
    ["SINTERCARD", "1"], ["SADD", "ms1", "a", "b", "c"], ["SADD", "ms2", "c", "d"], ["SMOVE", "ms1", "ms2", "a"],
    ["SISMEMBER", "ms2", "a"], ["SCARD", "ms1"], ["SMOVE", "ms1", "ms2", "zz"], ["SMOVE", "nokey", "ms2", "a"],
    ["SMOVE", "ms1", "ms1", "b"], ["SMOVE", "ms1", "ms1", "zz"], ["SMOVE", "ms1", "ms3", "b"], ["SMEMBERS", "ms3"],
    ["SMOVE", "ms1", "ms3", "c"], ["EXISTS", "ms1"], ["SMOVE", "ms3", "ms2", "c"], ["SCARD", "ms2"], ["SCARD", "ms3"],
    ["SMOVE", "ms2"], ["SET", "mstr", "x"], ["SMOVE", "mstr", "ms2", "a"], ["SMOVE", "ms2", "mstr", "a"],
    ["SMOVE", "nokey", "mstr", "a"], ["SISMEMBER", "ms2", "a"], ["SRANDMEMBER", "s2", "-9223372036854775808"], ["SRANDMEMBER", "nokey", "-9223372036854775808"],
    ["SINTERSTORE", "d1", "s1", "s2"], ["SMEMBERS", "d1"], ["SUNIONSTORE", "d2", "s1", "s2"], ["SMEMBERS", "d2"],
    ["SDIFFSTORE", "d3", "s2", "s1"], ["SMEMBERS", "d3"], ["SINTERSTORE", "d1", "s1", "nokey"], ["EXISTS", "d1"],
    ["HSET", "hx", "f", "v"], ["SUNIONSTORE", "hx", "s1"], ["TYPE", "hx"], ["EXPIRE", "d2", "100"],
    ["SUNIONSTORE", "d2", "s1"], ["TTL", "d2"],
    ["SSCAN", "s2", "0"], ["SSCAN", "s2", "0", "MATCH", "1*"], ["SSCAN", "s2", "x"], ["SSCAN", "nokey", "0"],
    ["SPOP", "nokey"], ["SPOP", "nokey", "2"], ["SPOP", "s1", "-1"], ["SPOP", "s1", "0"], ["SPOP", "s1", "10"],
    ["EXISTS", "s1"], ["SRANDMEMBER", "nokey"], ["SRANDMEMBER", "nokey", "2"], ["SRANDMEMBER", "s2", "10"],
    ["SRANDMEMBER", "s2", "0"], ["SRANDMEMBER", "s2", "x"], ["SADD", "s3", "7"], ["SPOP", "s3"], ["EXISTS", "s3"],
    ["SADD", "s4", "x"], ["SRANDMEMBER", "s4"], ["SRANDMEMBER", "s4", "-3"], ["SADD", "s1"], ["SPOP", "s4", "1", "2"],
]
# Sets of strings: Redis answers in hash-table order, compared as multisets.
SET_STRINGS = [
    ["SADD", "t1", "b", "a", "c"], ["SMEMBERS", "t1"], ["SADD", "t2", "c", "d", "1"], ["SINTER", "t1", "t2"],
    ["SUNION", "t1", "t2"], ["SDIFF", "t1", "t2"], ["SSCAN", "t1", "0"], ["SMEMBERS", "t2"],
    ["SPOP", "t1", "5"], ["SRANDMEMBER", "t2", "5"],
]


def set_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    compare("every set reply equals Redis 7's (RESP2)", ours, theirs, SET_SCRIPT)
    compare("sets of strings equal Redis 7's as multisets", ours, theirs, SET_STRINGS,
            unordered={"SMEMBERS", "SINTER", "SUNION", "SDIFF", "SSCAN", "SPOP", "SRANDMEMBER"})
    ours.call("HELLO", "3")
    theirs.call("HELLO", "3")
    compare("set replies equal Redis 7's (RESP3)", ours, theirs,
            [["SMEMBERS", "s2"], ["SMEMBERS", "nokey"], ["SINTER", "s2", "d2"], ["SMISMEMBER", "s2", "5", "0"],
             ["SPOP", "nokey", "2"], ["SRANDMEMBER", "s2", "10"], ["SRANDMEMBER", "nokey", "2"], ["SSCAN", "s2", "0"],
             ["SADD", "u", "1"], ["SPOP", "u", "3"]])
    c = Raw(our_port)
    c.call("SADD", "big", *[str(i) for i in range(30)])
    reply = c.call("SPOP", "big", "4").split(b"\r\n")
    popped = [x for x in reply[1:] if x and not x.startswith(b"$")]
    ok("SPOP 4 removes 4 distinct members", len(set(popped)) == 4 and c.call("SCARD", "big") == b":26\r\n" and
       all(c.call("SISMEMBER", "big", p) == b":0\r\n" for p in popped), repr(reply))
    reply = c.call("SRANDMEMBER", "big", "-40").split(b"\r\n")
    ok("SRANDMEMBER -40 gives 40 members", reply[0] == b"*40", repr(reply[:3]))
    ok("kv_set_members reads a set written over RESP",
       psql(psql_cmd, "SELECT string_agg(convert_from(m, 'UTF8'), ',' ORDER BY convert_from(m, 'UTF8')::int) "
                      "FROM kv_db0, kv_set_members(value) AS m WHERE key = 's2'") == "-1,5,6,10")


LIST_SCRIPT = [
    ["LPUSH", "l1", "a", "b", "c"], ["RPUSH", "l1", "d", "e"], ["LRANGE", "l1", "0", "-1"], ["LLEN", "l1"],
    ["LLEN", "nokey"], ["LPUSHX", "nokey", "a"], ["RPUSHX", "nokey", "a"], ["EXISTS", "nokey"], ["LPUSHX", "l1", "z"],
    ["RPUSHX", "l1", "y", "x"], ["LRANGE", "l1", "0", "-1"], ["LRANGE", "l1", "-3", "-1"], ["LRANGE", "l1", "2", "3"],
    ["LRANGE", "l1", "5", "2"], ["LRANGE", "l1", "-100", "100"], ["LRANGE", "l1", "50", "60"], ["LRANGE", "l1", "a", "b"],
    ["LRANGE", "nokey", "0", "-1"], ["LINDEX", "l1", "0"], ["LINDEX", "l1", "-1"], ["LINDEX", "l1", "99"],
    ["LINDEX", "l1", "x"], ["LINDEX", "nokey", "0"], ["LSET", "l1", "1", "B"], ["LSET", "l1", "-1", "X"],
    ["LSET", "l1", "99", "v"], ["LSET", "nokey", "0", "v"], ["LRANGE", "l1", "0", "-1"],
    ["LPOP", "l1"], ["RPOP", "l1"], ["LPOP", "l1", "2"], ["RPOP", "l1", "0"], ["LPOP", "l1", "-1"], ["LPOP", "nokey"],
    ["LPOP", "nokey", "2"], ["RPOP", "nokey", "0"], ["LPOP", "l1", "1", "2"], ["LRANGE", "l1", "0", "-1"],
    ["RPUSH", "l2", "a", "b", "a", "c", "a", "b", "a"], ["LREM", "l2", "2", "a"], ["LRANGE", "l2", "0", "-1"],
    ["LREM", "l2", "-1", "a"], ["LRANGE", "l2", "0", "-1"], ["LREM", "l2", "0", "b"], ["LREM", "l2", "0", "q"],
    ["LREM", "nokey", "0", "a"], ["LRANGE", "l2", "0", "-1"],
    ["RPUSH", "l3", "1", "2", "3", "4", "5", "6"], ["LTRIM", "l3", "1", "-2"], ["LRANGE", "l3", "0", "-1"],
    ["LTRIM", "l3", "-2", "100"], ["LRANGE", "l3", "0", "-1"], ["LTRIM", "nokey", "0", "1"], ["LTRIM", "l3", "x", "1"],
    ["LINSERT", "l3", "BEFORE", "5", "4.5"], ["LINSERT", "l3", "AFTER", "6", "7"], ["LINSERT", "l3", "AFTER", "9", "x"],
    ["LINSERT", "nokey", "AFTER", "9", "x"], ["LINSERT", "l3", "MIDDLE", "5", "x"], ["LRANGE", "l3", "0", "-1"],
    ["RPUSH", "l4", "a", "b", "c", "1", "2", "3", "c", "c"], ["LPOS", "l4", "c"], ["LPOS", "l4", "c", "RANK", "2"],
    ["LPOS", "l4", "c", "RANK", "-1"], ["LPOS", "l4", "c", "COUNT", "0"], ["LPOS", "l4", "c", "COUNT", "2"],
    ["LPOS", "l4", "c", "RANK", "-2", "COUNT", "5"], ["LPOS", "l4", "c", "MAXLEN", "2"],
    ["LPOS", "l4", "c", "COUNT", "0", "MAXLEN", "7"], ["LPOS", "l4", "z"], ["LPOS", "l4", "z", "COUNT", "1"],
    ["LPOS", "nokey", "z"], ["LPOS", "nokey", "z", "COUNT", "1"], ["LPOS", "l4", "c", "RANK", "0"],
    ["LPOS", "l4", "c", "COUNT", "-1"], ["LPOS", "l4", "c", "MAXLEN", "-1"], ["LPOS", "l4", "c", "FOO", "1"],
    ["LPOS", "l4", "c", "RANK"],
    ["LMOVE", "l4", "l5", "LEFT", "RIGHT"], ["LMOVE", "l4", "l5", "RIGHT", "LEFT"], ["LRANGE", "l5", "0", "-1"],
    ["LMOVE", "l5", "l5", "LEFT", "RIGHT"], ["LRANGE", "l5", "0", "-1"], ["LMOVE", "nokey", "l5", "LEFT", "LEFT"],
    ["LMOVE", "l4", "l5", "UP", "LEFT"], ["SET", "str", "v"], ["LMOVE", "l4", "str", "LEFT", "LEFT"],
    ["LRANGE", "l4", "0", "-1"], ["RPOPLPUSH", "l4", "l6"], ["LRANGE", "l6", "0", "-1"],
    ["RPUSH", "one", "x"], ["LMOVE", "one", "l6", "LEFT", "LEFT"], ["EXISTS", "one"], ["LRANGE", "l6", "0", "-1"],
    ["RPUSH", "bin", "\x00\r\n", ""], ["LRANGE", "bin", "0", "-1"], ["LPUSH", "l1"],
]


def list_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    compare("every list reply equals Redis 7's (RESP2)", ours, theirs, LIST_SCRIPT)
    ours.call("HELLO", "3")
    theirs.call("HELLO", "3")
    compare("list replies equal Redis 7's (RESP3)", ours, theirs,
            [["LRANGE", "l6", "0", "-1"], ["LPOP", "nokey"], ["LPOP", "nokey", "2"], ["LPOP", "l6", "0"],
             ["LINDEX", "l6", "50"], ["LPOS", "l6", "zz"], ["LPOS", "l6", "c", "COUNT", "0"], ["LMOVE", "nokey", "a", "LEFT", "LEFT"]])
    ok("kv_list_entries reads a list written over RESP",
       psql(psql_cmd, "SELECT string_agg(i || ':' || convert_from(e, 'UTF8'), ',' ORDER BY i) "
                      "FROM kv_db0, kv_list_entries(value) AS l(i, e) WHERE key = 'l3'") == "0:4,1:4.5,2:5")


def restart_write(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    ok("containers written before the crash",
       c.call("HSET", "ch", "a", "1", "b", "2") == b":2\r\n" and c.call("RPUSH", "cl", "x", "y", "z") == b":3\r\n"
       and c.call("SADD", "cs", "m1", "m2") == b":2\r\n" and c.call("EXPIRE", "cl", "100000") == b":1\r\n")


def restart_check(our_port, redis_port, psql_cmd):
    c = Raw(our_port)
    ok("containers are intact after crash and restart",
       c.call("HGETALL", "ch") == b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
       and c.call("LRANGE", "cl", "0", "-1") == b"*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n"
       and c.call("SISMEMBER", "cs", "m2") == b":1\r\n" and c.call("TYPE", "cs") == b"+set\r\n"
       and c.call("TTL", "cl").startswith(b":9"))


def main():
    mode, our_port, redis_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    psql_cmd = sys.argv[4:]
    {"keys": keys_checks, "hash": hash_checks, "set": set_checks, "list": list_checks,
     "restart-write": restart_write, "restart-check": restart_check}[mode](our_port, redis_port, psql_cmd)


if __name__ == "__main__":
    main()
