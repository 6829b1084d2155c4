#!/usr/bin/python3
"""RESP checks of spilled containers in kv_db0 (issue 12: hashes, sets and lists past 128 items or 8 kB
keep a header in their row and their members in kv_members), driven by test/t/072_rtypes_spill.pl.

  rtypes_spill_check.py <mode> <our_port> <redis_port> <psql...>

modes: hash, set, list (replies compared with a real redis-server, across the spill), lifecycle
(DEL / SET-over / RENAME / COPY / FLUSHDB / expiry / a dropped keyspace never resurrect members, and
kv_members_vacuum reclaims them), sql (readers by key, privileges), restart-write / restart-check.
Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402
from rtypes_check import compare, fresh, psql  # noqa: E402
from rtypes_scan_check import value  # noqa: E402

N = 300  # past the 128-item threshold


def fields(prefix, n, start=0):
    out = []
    for i in range(start, start + n):
        out += ["%s%d" % (prefix, i), "v%d" % i]
    return out


def members(prefix, n, start=0):
    return ["%s%d" % (prefix, i) for i in range(start, start + n)]


def header_length(psql_cmd, key):
    return psql(psql_cmd, "SELECT length(value) || ':' || type FROM kv_db0 WHERE key = '%s'" % key)


def member_rows(psql_cmd):
    return int(psql(psql_cmd, "SELECT count(*) FROM kv_members") or "-1")


def hash_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    psql(psql_cmd, "SELECT kv_members_vacuum()")
    script = [
        ["HSET", "h"] + fields("f", 100), ["HLEN", "h"], ["OBJECT", "ENCODING", "h"],
        ["HSET", "h"] + fields("f", 100, 90), ["HLEN", "h"],  # spills here (190)
        ["HGET", "h", "f5"], ["HGET", "h", "f189"], ["HGET", "h", "nope"], ["HMGET", "h", "f1", "nope", "f150", "f1"],
        ["HEXISTS", "h", "f7"], ["HEXISTS", "h", "nope"], ["HSTRLEN", "h", "f120"], ["HSTRLEN", "h", "nope"],
        ["HSET", "h", "f1", "new", "g1", "x", "g1", "y"], ["HGET", "h", "g1"], ["HLEN", "h"],
        ["HSETNX", "h", "f2", "z"], ["HSETNX", "h", "g2", "z"], ["HGET", "h", "g2"],
        ["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "n", "-7"], ["HINCRBY", "h", "f3", "1"],
        ["HINCRBYFLOAT", "h", "fl", "1.5"], ["HINCRBYFLOAT", "h", "fl", "2.25"], ["HGET", "h", "fl"],
        ["HDEL", "h", "f4", "f5", "nope", "f4"], ["HLEN", "h"], ["HEXISTS", "h", "f4"],
        ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"], ["TYPE", "h"], ["EXISTS", "h"],
        ["HSET", "big", "v", "x" * 9000], ["OBJECT", "ENCODING", "big"], ["HGET", "big", "v"], ["HLEN", "big"],
        ["HDEL", "big", "v"], ["EXISTS", "big"],
        ["HDEL", "h"] + ["f%d" % i for i in range(0, 200)] + ["g1", "g2", "n", "fl"], ["EXISTS", "h"], ["HLEN", "h"],
    ]
    compare("hash replies across the spill equal Redis 7's", ours, theirs, script,
            unordered={"HGETALL", "HKEYS", "HVALS"})
    ours.call("HSET", "h2", *fields("f", N))
    ok("a spilled hash keeps a 33-byte header in its row and one member row per field",
       header_length(psql_cmd, "h2") == "33:hash" and member_rows(psql_cmd) == N)
    reply = ours.call("HSCAN", "h2", "0", "MATCH", "f1*", "COUNT", "5")
    # (a page of 5 member rows in field order, f0 f1 f10 f100 f101, of which 4 match; TAP 075 pages on)
    ok("HSCAN of a spilled hash returns a page of COUNT fields and a cursor",
       not reply.startswith(b"*2\r\n$1\r\n0\r\n") and reply.endswith(
           b"*8\r\n$2\r\nf1\r\n$2\r\nv1\r\n$3\r\nf10\r\n$3\r\nv10\r\n$4\r\nf100\r\n$4\r\nv100\r\n"
           b"$4\r\nf101\r\n$4\r\nv101\r\n"), repr(reply[:40]))
    # (redis-server here keeps hashes up to 512 fields in a listpack; a spilled hash is a hash table)
    ok("OBJECT ENCODING of a spilled hash is hashtable", ours.call("OBJECT", "ENCODING", "h2") == b"$9\r\nhashtable\r\n")
    reply = ours.call("HRANDFIELD", "h2", "-5", "WITHVALUES")
    ok("HRANDFIELD of a spilled hash", reply.startswith(b"*10\r\n$") and reply.count(b"\r\nf") == 5, repr(reply[:40]))


def set_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    script = [
        ["SADD", "s"] + members("m", 100), ["SCARD", "s"], ["SADD", "s"] + members("m", 100, 50), ["SCARD", "s"],
        ["SISMEMBER", "s", "m3"], ["SISMEMBER", "s", "m149"], ["SISMEMBER", "s", "nope"],
        ["SMISMEMBER", "s", "m1", "nope", "m140", "m1"], ["SADD", "s", "m1", "x1", "x1"], ["SCARD", "s"],
        ["SREM", "s", "m2", "m3", "nope", "m2"], ["SCARD", "s"], ["SISMEMBER", "s", "m2"],
        ["SMEMBERS", "s"], ["SADD", "t", "m10", "m11", "zz"], ["SINTER", "s", "t"], ["SUNION", "t", "s"],
        ["SDIFF", "t", "s"], ["SINTERSTORE", "d", "s", "s"], ["SCARD", "d"], ["SISMEMBER", "d", "m77"],
        ["SUNIONSTORE", "d", "t"], ["SCARD", "d"], ["SDIFFSTORE", "d", "s", "t"], ["SCARD", "d"],
        ["TYPE", "s"], ["OBJECT", "ENCODING", "s"], ["SREM", "s"] + members("m", 150) + ["x1"], ["EXISTS", "s"],
    ]
    compare("set replies across the spill equal Redis 7's", ours, theirs, script,
            unordered={"SMEMBERS", "SINTER", "SUNION", "SDIFF"})
    ours.call("SADD", "s2", *members("m", N))
    popped = ours.call("SPOP", "s2", "10")
    ok("SPOP with a count on a spilled set pops distinct members",
       popped.startswith(b"*10\r\n") and ours.call("SCARD", "s2") == b":%d\r\n" % (N - 10))
    ok("SRANDMEMBER of a spilled set", ours.call("SRANDMEMBER", "s2", "3").startswith(b"*3\r\n")
       and ours.call("SRANDMEMBER", "s2").startswith(b"$"))
    cursor, seen = b"0", []
    for _ in range(1000):  # pages of 10 member rows (TAP 075 checks the cursors in depth)
        cursor, page = value(ours.call("SSCAN", "s2", cursor, "MATCH", "m2?"))
        seen += page
        if cursor == b"0":
            break
    present = [b"m2%d" % i for i in range(10) if ours.call("SISMEMBER", "s2", "m2%d" % i) == b":1\r\n"]
    ok("SSCAN of a spilled set", sorted(seen) == present, repr(seen))


def list_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    psql(psql_cmd, "SELECT kv_members_vacuum()")
    script = [
        ["RPUSH", "l"] + members("e", 100), ["LPUSH", "l"] + members("p", 60), ["LLEN", "l"],  # spills (160)
        ["OBJECT", "ENCODING", "l"], ["LRANGE", "l", "0", "-1"], ["LRANGE", "l", "-10", "-1"],
        ["LRANGE", "l", "100", "120"], ["LRANGE", "l", "150", "500"], ["LRANGE", "l", "5", "2"],
        ["LINDEX", "l", "0"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "80"], ["LINDEX", "l", "999"], ["LINDEX", "l", "-999"],
        ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "3"], ["RPOP", "l", "2"], ["LLEN", "l"],
        ["LSET", "l", "10", "S"], ["LSET", "l", "-1", "T"], ["LSET", "l", "999", "x"], ["LINDEX", "l", "10"],
        ["RPUSHX", "l", "x1", "x2"], ["LPUSHX", "l", "y1"], ["LLEN", "l"],
        ["LREM", "l", "0", "e50"], ["LINSERT", "l", "BEFORE", "e60", "ins"], ["LINSERT", "l", "AFTER", "nope", "x"],
        ["LPOS", "l", "ins"], ["LPOS", "l", "e70", "RANK", "-1"], ["LRANGE", "l", "50", "70"],
        ["LMOVE", "l", "m", "LEFT", "RIGHT"], ["LMOVE", "l", "l", "RIGHT", "LEFT"], ["RPOPLPUSH", "l", "m"],
        ["LRANGE", "m", "0", "-1"], ["LTRIM", "l", "10", "120"], ["LLEN", "l"], ["LRANGE", "l", "0", "-1"],
        ["RPUSH", "big", "x" * 9000], ["OBJECT", "ENCODING", "big"], ["LINDEX", "big", "0"], ["RPOP", "big"],
        ["EXISTS", "big"], ["RPOP", "l", "500"], ["EXISTS", "l"], ["LLEN", "l"],
    ]
    compare("list replies across the spill equal Redis 7's", ours, theirs, script)
    ours.call("RPUSH", "q", *members("e", N))
    steady = all(ours.call("LPUSH", "q", "h%d" % i) == b":%d\r\n" % (N + 1) and
                 ours.call("RPOP", "q") == b"$%d\r\ne%d\r\n" % (len("e%d" % (N - 1 - i)), N - 1 - i)
                 for i in range(50))
    ok("LPUSH / RPOP on a spilled list act as a queue", steady)
    ok("a spilled list keeps a header and one member row per element",
       header_length(psql_cmd, "q") == "33:list" and member_rows(psql_cmd) == N)


def lifecycle_checks(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    psql(psql_cmd, "SELECT kv_members_vacuum()")
    c.call("HSET", "a", *fields("f", N))
    c.call("DEL", "a")
    c.call("HSET", "a", "only", "1")
    ok("DEL then HSET: the new hash has none of the old fields", c.call("HGETALL", "a") == b"*2\r\n$4\r\nonly\r\n$1\r\n1\r\n")
    c.call("HSET", "a", *fields("g", N))
    ok("a key spilled again starts a new container",
       c.call("HLEN", "a") == b":%d\r\n" % (N + 1) and c.call("HGET", "a", "f1") == b"$-1\r\n")
    c.call("SADD", "b", *members("m", N))
    c.call("SET", "b", "plain")
    c.call("DEL", "b")
    c.call("SADD", "b", "one")
    ok("SET over a spilled set, then SADD: one member", c.call("SMEMBERS", "b") == b"*1\r\n$3\r\none\r\n")
    c.call("RPUSH", "r", *members("e", N))
    c.call("EXPIRE", "r", "100000")
    ok("RENAME carries a spilled list with its expiry",
       c.call("RENAME", "r", "r2") == b"+OK\r\n" and c.call("LLEN", "r2") == b":%d\r\n" % N
       and c.call("LINDEX", "r2", "7") == b"$2\r\ne7\r\n" and c.call("EXISTS", "r") == b":0\r\n"
       and int(c.call("TTL", "r2")[1:]) > 99000)
    ok("COPY makes an independent spilled copy",
       c.call("COPY", "r2", "r3") == b":1\r\n" and c.call("LSET", "r3", "7", "changed") == b"+OK\r\n"
       and c.call("LINDEX", "r2", "7") == b"$2\r\ne7\r\n" and c.call("LINDEX", "r3", "7") == b"$7\r\nchanged\r\n")
    c.call("RPUSH", "r", "fresh")
    ok("the old name of a renamed spilled list starts empty", c.call("LRANGE", "r", "0", "-1") == b"*1\r\n$5\r\nfresh\r\n")
    live = (N + 1) + N + N  # hash a, lists r2 and r3 (b and r are inline now)
    reclaimed = psql(psql_cmd, "SELECT kv_members_vacuum()")
    ok("kv_members_vacuum reclaims the members of deleted, replaced and renamed containers",
       reclaimed == str(3 * N) and member_rows(psql_cmd) == live, "%s %d" % (reclaimed, member_rows(psql_cmd)))
    c.call("SADD", "x", *members("m", N))
    c.call("EXPIRE", "x", "100")
    ok("an expired spilled set is gone for the readers (test clock) and its members are reclaimed",
       psql(psql_cmd, "SET nodedb_kv.test_clock_offset = '200s'; "
                      "SELECT count(*) FROM kv_set_members('kv_db0', 'x')") == "0"
       and psql(psql_cmd, "SET nodedb_kv.test_clock_offset = '200s'; SELECT kv_members_vacuum()") == str(N)
       and psql(psql_cmd, "SELECT count(*) FROM kv_set_members('kv_db0', 'x')") == "0")
    c.call("FLUSHDB")
    ok("FLUSHDB: every member row is reclaimed",
       psql(psql_cmd, "SELECT kv_members_vacuum() > 0") == "t" and member_rows(psql_cmd) == 0)
    psql(psql_cmd, "SELECT kv_create_db(3)")
    c.call("SELECT", "3")
    c.call("SADD", "k", *members("m", N))
    ok("a spilled set in kv_db3", c.call("SCARD", "k") == b":%d\r\n" % N and member_rows(psql_cmd) == N)
    c.call("SELECT", "0")
    c.call("SADD", "k", "zero")
    ok("kv_db0's key of the same name has its own members", c.call("SMEMBERS", "k") == b"*1\r\n$4\r\nzero\r\n")
    psql(psql_cmd, "TRUNCATE kv_db3")
    ok("TRUNCATE of a keyspace: its member rows are reclaimed",
       psql(psql_cmd, "SELECT kv_members_vacuum()") == str(N) and member_rows(psql_cmd) == 0)
    c.call("SELECT", "3")
    c.call("RPUSH", "k", *members("e", N))
    c.call("SELECT", "0")
    psql(psql_cmd, "DROP TABLE kv_db3")
    ok("DROP of a keyspace: its member rows are reclaimed",
       psql(psql_cmd, "SELECT kv_members_vacuum()") == str(N) and member_rows(psql_cmd) == 0)


def sql_checks(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    c.call("HSET", "sh", *fields("f", N))
    c.call("SADD", "ss", *members("m", N))
    c.call("RPUSH", "sl", *members("e", N))
    c.call("HSET", "small", "a", "1")
    ok("kv_hash_entries by key reads a spilled hash",
       psql(psql_cmd, "SELECT count(*) || ':' || max(convert_from(value, 'UTF8')) FILTER (WHERE field = 'f7') "
                      "FROM kv_hash_entries('kv_db0', 'sh')") == "%d:v7" % N)
    ok("kv_set_members by key reads a spilled set",
       psql(psql_cmd, "SELECT count(*) FROM kv_set_members('kv_db0', 'ss') m WHERE m LIKE 'm%'") == str(N))
    ok("kv_list_entries by key reads a spilled list in order",
       psql(psql_cmd, "SELECT string_agg(convert_from(value, 'UTF8'), ',' ORDER BY index) FROM "
                      "kv_list_entries('kv_db0', 'sl') WHERE index < 3 OR index = %d" % (N - 1)) == "e0,e1,e2,e%d" % (N - 1))
    ok("the readers by key read an inline container too",
       psql(psql_cmd, "SELECT string_agg(convert_from(field, 'UTF8') || '=' || convert_from(value, 'UTF8'), ',') "
                      "FROM kv_hash_entries('kv_db0', 'small')") == "a=1")
    out = subprocess.run(psql_cmd + ["-At", "-c", "SELECT count(*) FROM kv_db0, kv_hash_entries(value) WHERE key = 'sh'"],
                         capture_output=True, text=True)
    ok("kv_hash_entries(value) of a spilled header says to read by key",
       "spilled container" in out.stderr and "kv_hash_entries('kv_db0', key)" in out.stderr, out.stderr)
    out = subprocess.run(psql_cmd + ["-At", "-c", "SELECT count(*) FROM kv_set_members('kv_db0', 'sh')"],
                         capture_output=True, text=True)
    ok("a reader by key of the wrong type fails", "the key holds a hash, not a set" in out.stderr, out.stderr)
    as_app = "SET ROLE app; "
    ok("a role with privileges on kv_db0 reads spilled members by key",
       psql(psql_cmd, as_app + "SELECT count(*) FROM kv_hash_entries('kv_db0', 'sh')") == str(N))
    for sql, what in (("SELECT count(*) FROM kv_members", "kv_members itself"),
                      ("SELECT kv_members_vacuum()", "kv_members_vacuum"),
                      ("SET ROLE nobody; SELECT count(*) FROM kv_hash_entries('kv_db0', 'sh')",
                       "a spilled hash without SELECT on kv_db0")):
        out = subprocess.run(psql_cmd + ["-At", "-c", as_app + sql], capture_output=True, text=True)
        ok("no access to %s" % what, "permission denied" in out.stderr and out.stdout.strip() == "", out.stderr)


def restart_write(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    ok("spilled containers written before the crash",
       c.call("HSET", "ch", *fields("f", N)) == b":%d\r\n" % N and c.call("RPUSH", "cl", *members("e", N)) == b":%d\r\n" % N
       and c.call("SADD", "cs", *members("m", N)) == b":%d\r\n" % N and c.call("LPOP", "cl") == b"$2\r\ne0\r\n")


def restart_check(our_port, redis_port, psql_cmd):
    c = Raw(our_port)
    ok("spilled containers are intact after crash and restart",
       c.call("HLEN", "ch") == b":%d\r\n" % N and c.call("HGET", "ch", "f77") == b"$3\r\nv77\r\n"
       and c.call("LLEN", "cl") == b":%d\r\n" % (N - 1) and c.call("LINDEX", "cl", "0") == b"$2\r\ne1\r\n"
       and c.call("SISMEMBER", "cs", "m299") == b":1\r\n" and c.call("SCARD", "cs") == b":%d\r\n" % N)


def main():
    mode, our_port, redis_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    psql_cmd = sys.argv[4:]
    {"hash": hash_checks, "set": set_checks, "list": list_checks, "lifecycle": lifecycle_checks, "sql": sql_checks,
     "restart-write": restart_write, "restart-check": restart_check}[mode](our_port, redis_port, psql_cmd)


if __name__ == "__main__":
    main()
