#!/usr/bin/python3
"""RESP checks of spilled sorted sets in kv_db0 (issue 12: a zset past 128 members or 8 kB keeps a header
in its row, one member row per member and a counted B+tree of node rows in kv_members), driven by
test/t/073_rtypes_zset_spill.pl.

  rtypes_zspill_check.py <mode> <our_port> <redis_port> <psql...>

modes: oracle (random ZADD / ZINCRBY / ZREM against a sorted copy in Python, then every Z-command
compared byte for byte with a real redis-server over the same script), lifecycle (DEL / SET over /
RENAME / COPY / expiry / FLUSHDB / kv_members_vacuum), sql (kv_zset_entries by key, privileges),
rollback (a command failing half way, alone and inside MULTI/EXEC, leaves the set as it was), concurrent
(writers of one set on several connections), restart-write / restart-check (a crash).
Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import random
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402
from rtypes_check import compare, fresh, psql  # noqa: E402

N = 600  # members of the big set: past the 128-member threshold


def member_rows(psql_cmd):
    return int(psql(psql_cmd, "SELECT count(*) FROM kv_members") or "-1")


def fmt(score):
    """A score as the test writes it (integers and halves: exact in both servers)."""
    return repr(score) if score != int(score) else str(int(score))


def bulk(s):
    s = s.encode() if isinstance(s, str) else s
    return b"$%d\r\n%s\r\n" % (len(s), s)


class Model:
    """A sorted copy: member -> score, ranks by (score, member bytewise)."""

    def __init__(self):
        self.scores = {}

    def order(self):
        return sorted(self.scores.items(), key=lambda kv: (kv[1], kv[0].encode()))

    def rank(self, member):
        for i, (m, _) in enumerate(self.order()):
            if m == member:
                return i
        return None


def random_writes(rng, model, key, count, universe):
    """count random ZADD / ZINCRBY / ZREM commands on key, applied to model as Redis would."""
    script = []
    for _ in range(count):
        op = rng.random()
        m = "m%04d" % rng.randrange(universe)
        s = rng.randrange(-40, 40) / 2
        if op < 0.5:
            script.append(["ZADD", key, fmt(s), m])
            model.scores[m] = s
        elif op < 0.75:
            script.append(["ZINCRBY", key, fmt(s), m])
            model.scores[m] = model.scores.get(m, 0) + s
        else:
            script.append(["ZREM", key, m])
            model.scores.pop(m, None)
    return script


def oracle_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    rng = random.Random(73)
    model = Model()
    script = []
    # Built up across the spill: 100 members inline, then 500 more.
    for start, n in ((0, 100), (100, 500)):
        args = ["ZADD", "z"]
        for i in range(start, start + n):
            s = rng.randrange(0, 200) / 2
            args += [fmt(s), "m%04d" % i]
            model.scores["m%04d" % i] = s
        script.append(args)
    script += random_writes(rng, model, "z", 1500, 800)
    replies = [ours.call(*cmd) for cmd in script]
    ok("the random writes all succeed", all(not r.startswith(b"-") for r in replies),
       repr([r for r in replies if r.startswith(b"-")][:3]))
    ok("a zset of %d members keeps a 33-byte header" % len(model.scores),
       psql(psql_cmd, "SELECT length(value) || ':' || type FROM kv_db0 WHERE key = 'z'") == "33:zset")
    order = model.order()
    ok("ZCARD equals the sorted copy's size", ours.call("ZCARD", "z") == b":%d\r\n" % len(order))
    got = ours.call("ZRANGE", "z", "0", "-1")
    want = b"*%d\r\n" % len(order) + b"".join(bulk(m) for m, _ in order)
    ok("ZRANGE 0 -1 is the sorted copy's order", got == want)
    bad = []
    for i, (m, s) in enumerate(order):
        if ours.call("ZRANK", "z", m) != b":%d\r\n" % i:
            bad.append(("ZRANK", m, i))
        if ours.call("ZREVRANK", "z", m) != b":%d\r\n" % (len(order) - 1 - i):
            bad.append(("ZREVRANK", m))
        if float(ours.call("ZSCORE", "z", m).split(b"\r\n")[1]) != s:
            bad.append(("ZSCORE", m, s))
    ok("ZRANK, ZREVRANK and ZSCORE of every member equal the sorted copy's", not bad, repr(bad[:5]))
    absent = [m for m in ("m%04d" % i for i in range(800)) if m not in model.scores][:20]
    ok("ZRANK and ZSCORE of non-members are nil",
       all(ours.call("ZRANK", "z", m) == b"$-1\r\n" and ours.call("ZSCORE", "z", m) == b"$-1\r\n" for m in absent))
    for lo, hi in ((-5, 5), (0, 0), (30.5, 99)):
        members = [m for m, s in order if lo <= s <= hi]
        got = ours.call("ZRANGEBYSCORE", "z", fmt(lo), fmt(hi))
        ok("ZRANGEBYSCORE %s %s equals the sorted copy's range" % (fmt(lo), fmt(hi)),
           got == b"*%d\r\n" % len(members) + b"".join(bulk(m) for m in members))
    for a, b in ((0, 9), (100, 150), (-10, -1)):
        sl = order[a:b + 1] if a >= 0 else order[a:len(order) + b + 1]
        got = ours.call("ZRANGE", "z", str(a), str(b))
        ok("ZRANGE %d %d equals the sorted copy's slice" % (a, b),
           got == b"*%d\r\n" % len(sl) + b"".join(bulk(m) for m, _ in sl))
    ok("kv_zset_entries by key lists the sorted copy with its ranks",
       psql(psql_cmd, "SELECT string_agg(convert_from(member, 'UTF8') || ' ' || score || ' ' || rank, ',' ORDER BY rank) "
                      "FROM kv_zset_entries('kv_db0', 'z')")
       == ",".join("%s %s %d" % (m, fmt(s), i) for i, (m, s) in enumerate(order)))

    # The same script on redis-server, then every Z-command on both.
    for cmd in script:
        theirs.call(*cmd)
    lex = ["ZADD", "lx"]
    for i in range(300):
        lex += ["0", "w%03d" % i]
    checks = [
        lex, ["OBJECT", "ENCODING", "z"], ["OBJECT", "ENCODING", "lx"], ["ZCARD", "z"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZRANGE", "z", "5", "25", "REV", "WITHSCORES"],
        ["ZREVRANGE", "z", "0", "10"], ["ZRANGE", "z", "-3", "-1"], ["ZRANGE", "z", "10", "5"],
        ["ZRANGE", "z", "(-3", "7.5", "BYSCORE", "WITHSCORES"], ["ZRANGE", "z", "7.5", "(-3", "BYSCORE", "REV"],
        ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "100", "20"],
        ["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "3", "7", "WITHSCORES"],
        ["ZRANGEBYSCORE", "z", "(0", "(10"], ["ZREVRANGEBYSCORE", "z", "10", "-10", "WITHSCORES", "LIMIT", "2", "5"],
        ["ZCOUNT", "z", "-inf", "+inf"], ["ZCOUNT", "z", "(0", "10"], ["ZCOUNT", "z", "5", "1"],
        ["ZRANK", "z", "m0003"], ["ZREVRANK", "z", "m0010"], ["ZRANK", "z", "nope"],
        ["ZSCORE", "z", "m0042"], ["ZMSCORE", "z", "m0001", "nope", "m0500", "m0001"],
        ["ZLEXCOUNT", "lx", "-", "+"], ["ZLEXCOUNT", "lx", "[w010", "(w020"], ["ZLEXCOUNT", "lx", "(w299", "+"],
        ["ZRANGEBYLEX", "lx", "[w100", "[w110"], ["ZREVRANGEBYLEX", "lx", "(w200", "[w190"],
        ["ZRANGEBYLEX", "lx", "-", "+", "LIMIT", "250", "10"], ["ZRANGE", "lx", "[w005", "(w009", "BYLEX"],
        ["ZRANGE", "lx", "(w009", "[w005", "BYLEX", "REV", "LIMIT", "1", "2"], ["ZRANGEBYLEX", "lx", "[w9", "[w0"],
        ["ZADD", "z", "NX", "99", "m0001", "99", "brand-new"], ["ZADD", "z", "XX", "CH", "1", "m0001", "1", "absent"],
        ["ZADD", "z", "GT", "CH", "-100", "m0002", "100", "m0003"], ["ZADD", "z", "LT", "-100", "m0004"],
        ["ZADD", "z", "INCR", "2.5", "m0005"], ["ZADD", "z", "XX", "INCR", "1", "absent"],
        ["ZINCRBY", "z", "-1.5", "m0006"], ["ZINCRBY", "z", "3", "newly"], ["ZADD", "z", "1", "m0007", "1", "m0007"],
        ["ZADD", "z", "0", "m0008"], ["ZADD", "z", "-0", "m0009"], ["ZSCORE", "z", "m0009"],
        ["ZADD", "z", "inf", "top"], ["ZINCRBY", "z", "-inf", "top"], ["ZSCORE", "z", "top"],
        ["ZREM", "z", "m0010", "m0011", "nope", "m0010"], ["ZCARD", "z"],
        ["ZREMRANGEBYRANK", "z", "0", "4"], ["ZREMRANGEBYRANK", "z", "-3", "-1"],
        ["ZREMRANGEBYSCORE", "z", "(2", "4"], ["ZREMRANGEBYLEX", "lx", "[w050", "(w060"], ["ZCARD", "lx"],
        ["ZPOPMIN", "z"], ["ZPOPMIN", "z", "3"], ["ZPOPMAX", "z", "2"], ["ZPOPMAX", "z"],
        ["ZMPOP", "2", "nokey", "z", "MIN", "COUNT", "4"], ["ZMPOP", "1", "z", "MAX"],
        ["ZRANGESTORE", "dst", "z", "0", "199"], ["OBJECT", "ENCODING", "dst"], ["ZCARD", "dst"],
        ["ZRANGE", "dst", "150", "160", "WITHSCORES"],
        ["ZRANGESTORE", "dst2", "z", "0", "9"], ["OBJECT", "ENCODING", "dst2"],
        ["ZUNIONSTORE", "u", "2", "z", "lx", "WEIGHTS", "2", "1"], ["ZCARD", "u"], ["ZRANGE", "u", "0", "20", "WITHSCORES"],
        ["ZINTERSTORE", "i", "2", "z", "dst", "AGGREGATE", "MAX"], ["ZRANGE", "i", "0", "-1", "WITHSCORES"],
        ["ZDIFFSTORE", "d", "2", "z", "dst"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        ["ZUNION", "2", "dst", "dst2", "WITHSCORES"], ["ZINTER", "2", "z", "dst2"], ["ZDIFF", "2", "dst", "dst2"],
        ["ZINTERCARD", "2", "z", "dst"], ["ZINTERCARD", "2", "z", "dst", "LIMIT", "7"],
        ["ZRANDMEMBER", "z", "0"], ["TYPE", "z"], ["EXISTS", "z"],
        ["ZREMRANGEBYRANK", "z", "0", "-1"], ["EXISTS", "z"], ["ZCARD", "z"], ["ZRANGE", "z", "0", "-1"],
        ["SET", "dst", "x"], ["ZCARD", "dst"], ["ZPOPMIN", "lx", "1000"], ["EXISTS", "lx"],
    ]
    compare("every Z-command on spilled sets equals Redis 7's replies", ours, theirs, checks)
    ok("the spilled sets' rows are gone from the live keys (vacuum reclaims them)",
       psql(psql_cmd, "SELECT kv_members_vacuum() >= 0") == "t")
    reply = ours.call("ZRANDMEMBER", "u", "-5", "WITHSCORES")
    ok("ZRANDMEMBER of a spilled set", reply.startswith(b"*10\r\n"), repr(reply[:30]))
    reply = ours.call("ZRANDMEMBER", "u")
    ok("ZRANDMEMBER without count names a member", ours.call("ZSCORE", "u", reply.split(b"\r\n")[1]) != b"$-1\r\n")
    seen, cursor, calls = {}, b"0", 0
    while True:
        reply = ours.call("ZSCAN", "u", cursor, "COUNT", "50")
        parts = reply.split(b"\r\n")
        cursor, items = parts[2], parts[5:-1:2]
        for i in range(0, len(items), 2):
            seen[items[i]] = items[i + 1]
        calls += 1
        if cursor == b"0" or calls > 100:
            break
    want = ours.call("ZRANGE", "u", "0", "-1", "WITHSCORES").split(b"\r\n")[2:-1:2]
    ok("ZSCAN of a spilled set pages through every member with its score",
       calls > 2 and seen == {want[i]: want[i + 1] for i in range(0, len(want), 2)}, "%d calls" % calls)
    reply = ours.call("ZSCAN", "u", "0", "MATCH", "w00*", "COUNT", "1000")
    ok("ZSCAN of a spilled set with MATCH", reply.startswith(b"*2\r\n$1\r\n0\r\n*20\r\n"), repr(reply[:40]))
    # 8 kB of members spill too (Redis: a member over 64 bytes makes a skiplist).
    long_members = ["ZADD", "long"]
    for i in range(40):
        long_members += [str(i), ("%03d" % i) * 80]
    compare("a zset of few long members spills past 8 kB", ours, theirs,
            [long_members, ["OBJECT", "ENCODING", "long"], ["ZRANK", "long", "005" * 80], ["ZRANGE", "long", "38", "-1"]])
    ok("its row holds the header", psql(psql_cmd, "SELECT length(value) FROM kv_db0 WHERE key = 'long'") == "33")


def lifecycle_checks(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    psql(psql_cmd, "SELECT kv_members_vacuum()")
    args = ["ZADD", "a"]
    for i in range(300):
        args += [str(i), "m%d" % i]
    c.call(*args)
    rows = member_rows(psql_cmd)
    ok("a spilled zset of 300 members: 300 member rows and a few node rows", 300 < rows < 320, str(rows))
    c.call("DEL", "a")
    c.call("ZADD", "a", "1", "only")
    ok("DEL then ZADD: the new set has none of the old members",
       c.call("ZRANGE", "a", "0", "-1") == b"*1\r\n$4\r\nonly\r\n" and c.call("ZRANK", "a", "m5") == b"$-1\r\n")
    c.call(*args)
    ok("a key spilled again starts a new container", c.call("ZCARD", "a") == b":301\r\n"
       and c.call("ZRANK", "a", "m5") == b":6\r\n")
    c.call("SET", "a", "plain")
    c.call("DEL", "a")
    ok("SET over a spilled zset, then ZADD: one member",
       c.call("ZADD", "a", "1", "x") == b":1\r\n" and c.call("ZCARD", "a") == b":1\r\n")
    args[1] = "r"
    c.call(*args)
    c.call("EXPIRE", "r", "100000")
    ok("RENAME carries a spilled zset with its expiry",
       c.call("RENAME", "r", "r2") == b"+OK\r\n" and c.call("ZCARD", "r2") == b":300\r\n"
       and c.call("ZRANK", "r2", "m7") == b":7\r\n" and c.call("EXISTS", "r") == b":0\r\n"
       and int(c.call("TTL", "r2")[1:]) > 99000)
    ok("COPY makes an independent spilled copy",
       c.call("COPY", "r2", "r3") == b":1\r\n" and c.call("ZADD", "r3", "-1", "m7") == b":0\r\n"
       and c.call("ZRANK", "r2", "m7") == b":7\r\n" and c.call("ZRANK", "r3", "m7") == b":0\r\n"
       and c.call("ZINCRBY", "r2", "1000", "m0") == b"$4\r\n1000\r\n" and c.call("ZRANK", "r3", "m0") == b":1\r\n")
    ok("the old name of a renamed spilled zset starts empty",
       c.call("ZADD", "r", "1", "fresh") == b":1\r\n" and c.call("ZRANGE", "r", "0", "-1") == b"*1\r\n$5\r\nfresh\r\n")
    before = member_rows(psql_cmd)
    reclaimed = int(psql(psql_cmd, "SELECT kv_members_vacuum()") or "-1")
    ok("kv_members_vacuum reclaims the rows of deleted, replaced and renamed zsets and keeps the live ones",
       reclaimed > 600 and member_rows(psql_cmd) == before - reclaimed
       and c.call("ZCARD", "r2") == b":300\r\n" and c.call("ZRANK", "r3", "m299") == b":299\r\n",
       "%d of %d" % (reclaimed, before))
    args[1] = "x"
    c.call(*args)
    c.call("EXPIRE", "x", "100")
    ok("an expired spilled zset is gone for the readers (test clock)",
       psql(psql_cmd, "SET nodedb_kv.test_clock_offset = '200s'; "
                      "SELECT count(*) FROM kv_zset_entries('kv_db0', 'x')") == "0"
       and int(psql(psql_cmd, "SET nodedb_kv.test_clock_offset = '200s'; SELECT kv_members_vacuum()") or "0") > 300)
    c.call("FLUSHDB")
    ok("FLUSHDB: every member row is reclaimed",
       psql(psql_cmd, "SELECT kv_members_vacuum() > 0") == "t" and member_rows(psql_cmd) == 0)
    psql(psql_cmd, "SELECT kv_create_db(4)")
    c.call("SELECT", "4")
    args[1] = "k"
    c.call(*args)
    c.call("SELECT", "0")
    c.call("ZADD", "k", "0", "zero")
    ok("kv_db0's key of the same name has its own members", c.call("ZRANGE", "k", "0", "-1") == b"*1\r\n$4\r\nzero\r\n")
    psql(psql_cmd, "TRUNCATE kv_db4")
    ok("TRUNCATE of a keyspace: its zset's rows are reclaimed",
       int(psql(psql_cmd, "SELECT kv_members_vacuum()") or "0") > 300 and member_rows(psql_cmd) == 0)
    c.call("SELECT", "4")
    c.call(*args)
    c.call("SELECT", "0")
    psql(psql_cmd, "DROP TABLE kv_db4")
    ok("DROP of a keyspace: its zset's rows are reclaimed",
       int(psql(psql_cmd, "SELECT kv_members_vacuum()") or "0") > 300 and member_rows(psql_cmd) == 0)


def sql_checks(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    args = ["ZADD", "sz"]
    for i in range(300):
        args += [str(300 - i), "m%03d" % i]
    c.call(*args)
    c.call("ZADD", "small", "2", "b", "1", "a")
    ok("kv_zset_entries by key reads a spilled zset in rank order",
       psql(psql_cmd, "SELECT count(*) || ':' || string_agg(convert_from(member, 'UTF8') || '=' || score || '@' || rank, ',' "
                      "ORDER BY rank) FILTER (WHERE rank < 2 OR rank = 299) FROM kv_zset_entries('kv_db0', 'sz')")
       == "300:m299=1@0,m298=2@1,m000=300@299")
    ok("kv_zset_entries by key reads an inline zset too",
       psql(psql_cmd, "SELECT string_agg(convert_from(member, 'UTF8') || '=' || score || '@' || rank, ',' ORDER BY rank) "
                      "FROM kv_zset_entries('kv_db0', 'small')") == "a=1@0,b=2@1")
    out = subprocess.run(psql_cmd + ["-At", "-c", "SELECT count(*) FROM kv_db0, kv_zset_entries(value) WHERE key = 'sz'"],
                         capture_output=True, text=True)
    ok("kv_zset_entries(value) of a spilled header says to read by key",
       "spilled container" in out.stderr and "kv_zset_entries('kv_db0', key)" in out.stderr, out.stderr)
    c.call("SET", "str", "x")
    out = subprocess.run(psql_cmd + ["-At", "-c", "SELECT count(*) FROM kv_zset_entries('kv_db0', 'str')"],
                         capture_output=True, text=True)
    ok("kv_zset_entries by key of a string fails", "the key holds a string, not a zset" in out.stderr, out.stderr)
    ok("kv_zset_entries by key of a missing key is empty",
       psql(psql_cmd, "SELECT count(*) FROM kv_zset_entries('kv_db0', 'missing')") == "0")
    as_app = "SET ROLE app; "
    ok("a role with privileges on kv_db0 reads a spilled zset by key",
       psql(psql_cmd, as_app + "SELECT count(*) FROM kv_zset_entries('kv_db0', 'sz')") == "300")
    out = subprocess.run(psql_cmd + ["-At", "-c", as_app + "SET ROLE nobody; SELECT count(*) FROM kv_zset_entries('kv_db0', 'sz')"],
                         capture_output=True, text=True)
    ok("no access to a spilled zset without SELECT on kv_db0",
       "permission denied" in out.stderr and out.stdout.strip() == "", out.stderr)
    psql(psql_cmd, "REVOKE ALL ON kv_db0 FROM app; GRANT SELECT ON kv_db0 TO app")
    r = Raw(our_port)
    r.call("AUTH", "app", "app")
    reply_read = r.call("ZRANK", "sz", "m000")
    reply_write = r.call("ZADD", "sz", "1", "m000")
    psql(psql_cmd, "GRANT ALL ON kv_db0 TO app")
    ok("a role with SELECT only reads a spilled zset and may not write it",
       reply_read == b":299\r\n" and reply_write.startswith(b"-") and b"permission denied" in reply_write,
       repr((reply_read, reply_write)))
    ok("the refused write changed nothing", c.call("ZRANK", "sz", "m000") == b":299\r\n")


def rollback_checks(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    args = ["ZADD", "rb"]
    for i in range(400):
        args += [str(i % 50), "m%03d" % i]
    c.call(*args)
    before = c.call("ZRANGE", "rb", "0", "-1", "WITHSCORES")
    rows_before = psql(psql_cmd, "SELECT md5(string_agg(key || value, '' ORDER BY key)) FROM kv_members")
    # A trigger makes the member row of "boom" fail: the command has written nodes and other rows by then.
    psql(psql_cmd, "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "IF position('boom'::bytea in NEW.key) > 0 THEN RAISE EXCEPTION 'boom refused'; "
                   "END IF; RETURN NEW; END $$; "
                   "CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON kv_members FOR EACH ROW EXECUTE FUNCTION boom()")
    reply = c.call("ZADD", "rb", "-5", "a-first", "7", "m001", "3", "boom", "1000", "z-last")
    ok("a ZADD whose member row fails half way replies the error", reply.startswith(b"-") and b"boom refused" in reply,
       repr(reply))
    ok("... and leaves the set and its rows as they were",
       c.call("ZRANGE", "rb", "0", "-1", "WITHSCORES") == before
       and psql(psql_cmd, "SELECT md5(string_agg(key || value, '' ORDER BY key)) FROM kv_members") == rows_before)
    c.send_raw(Raw.encode(["MULTI"]) + Raw.encode(["ZADD", "rb", "-1", "x-ok"]) +
               Raw.encode(["ZADD", "rb", "2", "boom", "-2", "m100"]) + Raw.encode(["ZINCRBY", "rb", "1", "x-ok"]) +
               Raw.encode(["EXEC"]))
    replies = [c.read_reply() for _ in range(5)]
    exec_reply = replies[4]
    ok("inside MULTI/EXEC the failing command's error is in EXEC's reply, the others ran",
       exec_reply.startswith(b"*3\r\n:1\r\n-") and b"boom refused" in exec_reply and exec_reply.endswith(b"$1\r\n0\r\n"),
       repr(exec_reply))
    want = Model()
    flat = before.split(b"\r\n")[1:-1]
    for i in range(0, len(flat), 4):
        want.scores[flat[i + 1].decode()] = float(flat[i + 3])
    want.scores["x-ok"] = 0
    order = want.order()
    got = c.call("ZRANGE", "rb", "0", "-1")
    ok("the failed command inside EXEC was rolled back alone; the set is consistent",
       got == b"*%d\r\n" % len(order) + b"".join(bulk(m) for m, _ in order)
       and c.call("ZRANK", "rb", "m100") == b":%d\r\n" % want.rank("m100")
       and c.call("ZRANK", "rb", "x-ok") == b":%d\r\n" % want.rank("x-ok")
       and c.call("ZSCORE", "rb", "boom") == b"$-1\r\n")
    psql(psql_cmd, "DROP TRIGGER boom ON kv_members; DROP FUNCTION boom()")
    ok("the set takes writes again after the failures",
       c.call("ZADD", "rb", "-100", "boom") == b":1\r\n" and c.call("ZRANK", "rb", "boom") == b":0\r\n")


def concurrent_checks(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    args = ["ZADD", "cz"]
    for i in range(200):
        args += ["0", "m%03d" % i]
    c.call(*args)
    errors = []

    def writer(t):
        w = Raw(our_port)
        for j in range(150):
            reply = w.call("ZINCRBY", "cz", "1", "m%03d" % ((t * 37 + j * 11) % 200))
            if reply.startswith(b"-"):
                errors.append(reply)
            if j % 10 == 0:
                w.call("ZADD", "cz", "0", "t%d-%d" % (t, j))
                w.call("ZREM", "cz", "t%d-%d" % (t, j))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = Model()
    for i in range(200):
        want.scores["m%03d" % i] = 0
    for t in range(4):
        for j in range(150):
            want.scores["m%03d" % ((t * 37 + j * 11) % 200)] += 1
    order = want.order()
    got = c.call("ZRANGE", "cz", "0", "-1", "WITHSCORES")
    ok("4 connections x 150 ZINCRBY (and ZADD/ZREM) on one spilled set: no error, every increment counted",
       not errors and got == b"*%d\r\n" % (2 * len(order)) + b"".join(bulk(m) + bulk(fmt(s)) for m, s in order),
       repr(errors[:3]))
    bad = [m for i, (m, _) in enumerate(order) if c.call("ZRANK", "cz", m) != b":%d\r\n" % i]
    ok("... and every rank agrees with the scores", not bad, repr(bad[:5]))


def restart_write(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    args = ["ZADD", "cr"]
    for i in range(500):
        args += [str(i), "m%03d" % i]
    ok("a spilled zset written before the crash",
       c.call(*args) == b":500\r\n" and c.call("ZINCRBY", "cr", "1000", "m000") == b"$4\r\n1000\r\n"
       and c.call("ZREM", "cr", "m001") == b":1\r\n")


def restart_check(our_port, redis_port, psql_cmd):
    c = Raw(our_port)
    ok("the spilled zset is intact after crash and restart",
       c.call("ZCARD", "cr") == b":499\r\n" and c.call("ZRANK", "cr", "m000") == b":498\r\n"
       and c.call("ZRANK", "cr", "m002") == b":0\r\n" and c.call("ZSCORE", "cr", "m499") == b"$3\r\n499\r\n"
       and c.call("ZRANGE", "cr", "0", "1") == b"*2\r\n$4\r\nm002\r\n$4\r\nm003\r\n")
    ok("and takes writes after it",
       c.call("ZADD", "cr", "-1", "m499") == b":0\r\n" and c.call("ZRANK", "cr", "m499") == b":0\r\n")


def main():
    mode, our_port, redis_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    psql_cmd = sys.argv[4:]
    {"oracle": oracle_checks, "lifecycle": lifecycle_checks, "sql": sql_checks, "rollback": rollback_checks,
     "concurrent": concurrent_checks, "restart-write": restart_write,
     "restart-check": restart_check}[mode](our_port, redis_port, psql_cmd)


if __name__ == "__main__":
    main()
