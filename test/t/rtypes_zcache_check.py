#!/usr/bin/python3
"""RESP checks of the node cache of spilled sorted sets (src/rtypes/README.md "Node cache": each RESP
worker keeps decoded tree nodes, named by the set's prefix and the stamp of the tree's state), driven by
test/t/076_rtypes_zset_cache.pl on two RESP workers.

  rtypes_zcache_check.py <mode> <our_port> <psql...>

modes: concurrent (clients on both workers write their own members of one spilled set with ZADD / ZREM,
alone and in MULTI blocks, while a trigger on kv_members makes some writes fail and roll back and SQL
holds the header row locked now and then; each client checks, in one MULTI snapshot, the whole set
against ZCARD, ZRANK and ZSCORE and against its own members; at the end every connection reads the
oracle's set), lifecycle (DEL, SQL DELETE, SET over, RENAME, COPY, FLUSHDB and a re-created set of the
same shape: every connection reads the new contents, never a cached old tree), randmember (ZRANDMEMBER
with a count of a big spilled set reads a few rows, not every member).
Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402
from rtypes_check import fresh, psql  # noqa: E402
from rtypes_scan_check import value  # noqa: E402

CLIENTS = 8  # connections: both workers get some


def order(scores):
    return sorted(scores.items(), key=lambda kv: (kv[1], kv[0].encode()))


def as_pairs(flat):
    return [(flat[i].decode(), float(flat[i + 1])) for i in range(0, len(flat), 2)]


def run_block(c, cmds):
    """MULTI cmds EXEC: EXEC's parsed reply (a list, errors as bytes starting with '-')."""
    block = [["MULTI"]] + cmds + [["EXEC"]]
    c.send_raw(b"".join(Raw.encode(b) for b in block))
    replies = [c.read_reply() for _ in block]
    return replies[-1]


def split_exec(reply):
    """The elements of a raw EXEC array reply, each raw."""
    r = Raw.__new__(Raw)
    r.buf = reply
    r.sock = None
    head = r._line()
    n = int(head[1:])
    return [r.read_reply() for _ in range(n)]


def concurrent_checks(our_port, psql_cmd):
    setup = fresh(our_port)
    base = {"b%04d" % i: i * 16 + 15 for i in range(2000)}
    args = ["ZADD", "cz"]
    for m, s in base.items():
        args += [str(s), m]
    ok("a spilled set of 2000 members", setup.call(*args) == b":2000\r\n")
    # Some writes fail: in a member or node row (before the tree's new state is complete), or in the
    # header's final update (after it: the state's stamp is free again for the next writer).
    psql(psql_cmd, "CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "IF random() < TG_ARGV[0]::float8 THEN RAISE EXCEPTION 'flaky refused'; END IF; "
                   "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$; "
                   "CREATE TRIGGER flaky BEFORE INSERT OR UPDATE OR DELETE ON kv_members "
                   "FOR EACH ROW EXECUTE FUNCTION flaky(0.03); "
                   "CREATE TRIGGER flaky BEFORE UPDATE ON kv_db0 FOR EACH ROW EXECUTE FUNCTION flaky(0.1)")
    own = [dict() for _ in range(CLIENTS)]
    errors, failures, checks = [], [0], [0]
    stop = threading.Event()

    def check(c, i, rnd):
        mine = list(own[i])
        probe = rnd.sample(mine, min(3, len(mine))) + ["t%d-absent" % i]
        cmds = [["ZCARD", "cz"], ["ZRANGE", "cz", "0", "-1", "WITHSCORES"]]
        cmds += [["ZRANK", "cz", m] for m in probe] + [["ZSCORE", "cz", m] for m in probe]
        parts = split_exec(run_block(c, cmds))
        card = int(value(parts[0]))
        pairs = as_pairs(value(parts[1]))
        ranks = [None if value(p) is None else int(value(p)) for p in parts[2:2 + len(probe)]]
        scores = [value(p) for p in parts[2 + len(probe):]]
        index = {m: k for k, (m, _) in enumerate(pairs)}
        problems = []
        if card != len(pairs):
            problems.append("ZCARD %s, ZRANGE %d members" % (card, len(pairs)))
        if pairs != sorted(pairs, key=lambda p: (p[1], p[0].encode())):
            problems.append("ZRANGE out of order")
        got_own = {m: s for m, s in pairs if m.startswith("t%d-" % i)}
        if got_own != own[i]:
            problems.append("own members %d in ZRANGE vs %d written" % (len(got_own), len(own[i])))
        if sum(1 for m, s in pairs if m.startswith("b") and base.get(m) == s) != len(base):
            problems.append("base members changed")
        for m, r, s in zip(probe, ranks, scores):
            if m in own[i]:
                if r != index.get(m) or s is None or float(s) != own[i][m]:
                    problems.append("%s: ZRANK %s ZSCORE %s, ZRANGE index %s score %s" % (m, r, s, index.get(m), own[i][m]))
            elif r is not None or s is not None:
                problems.append("%s absent but ZRANK %s ZSCORE %s" % (m, r, s))
        checks[0] += 1
        if problems:
            errors.append("client %d: %s" % (i, "; ".join(problems[:3])))

    def apply(i, cmd, reply):
        if reply.startswith(b"-"):
            if b"flaky refused" not in reply:
                errors.append("client %d %s: %r" % (i, cmd[0], reply[:120]))
            else:
                failures[0] += 1
            return
        if cmd[0] == "ZADD":
            own[i][cmd[3]] = float(cmd[2])
        else:
            own[i].pop(cmd[2], None)

    def run(i):
        rnd = random.Random(76 + i)
        counter = 0
        try:
            c = Raw(our_port)
            for _ in range(120):
                counter += 1
                op = rnd.random()

                def zadd():
                    nonlocal counter
                    counter += 1
                    return ["ZADD", "cz", str(counter * 16 + i), "t%d-%d" % (i, rnd.randrange(40))]

                def zrem():
                    return ["ZREM", "cz", "t%d-%d" % (i, rnd.randrange(40))]
                if op < 0.45:
                    cmd = zadd()
                    apply(i, cmd, c.call(*cmd))
                elif op < 0.6:
                    cmd = zrem()
                    apply(i, cmd, c.call(*cmd))
                elif op < 0.75:
                    cmds = [zadd(), zrem(), zadd()]
                    for cmd, reply in zip(cmds, split_exec(run_block(c, cmds))):
                        apply(i, cmd, reply)
                else:
                    check(c, i, rnd)
        except Exception as e:  # noqa: BLE001
            errors.append("client %d: %r" % (i, e))

    def sql_locker():
        # SQL holds the header row now and then (RESP writers wait and run again), then rolls back.
        while not stop.is_set():
            psql(psql_cmd, "BEGIN; UPDATE kv_db0 SET value = value WHERE key = 'cz'; SELECT pg_sleep(0.05); ROLLBACK")
            time.sleep(0.2)

    locker = threading.Thread(target=sql_locker)
    locker.start()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    locker.join()
    psql(psql_cmd, "DROP TRIGGER flaky ON kv_members; DROP TRIGGER flaky ON kv_db0; DROP FUNCTION flaky()")
    ok("%d clients on both workers wrote and checked one spilled set (%d checks, %d writes failed by the "
       "trigger and rolled back): every check agreed" % (CLIENTS, checks[0], failures[0]),
       not errors and checks[0] > 50 and failures[0] > 10, "; ".join(errors[:4]))
    want = dict(base)
    for scores in own:
        want.update(scores)
    want_order = order(want)
    bad = []
    for k in range(CLIENTS):
        c = Raw(our_port)
        got = as_pairs(value(c.call("ZRANGE", "cz", "0", "-1", "WITHSCORES")))
        if got != want_order:
            bad.append("connection %d: %d members vs %d" % (k, len(got), len(want_order)))
        rnd = random.Random(k)
        for m, s in rnd.sample(want_order, 20):
            if c.call("ZRANK", "cz", m) != b":%d\r\n" % want_order.index((m, s)):
                bad.append("connection %d: ZRANK %s" % (k, m))
                break
    ok("afterwards every connection reads the oracle's set and ranks", not bad, "; ".join(bad[:4]))
    ok("... and a write through a warm cache keeps the tree whole",
       Raw(our_port).call("ZADD", "cz", "-1", "first") == b":1\r\n"
       and all(Raw(our_port).call("ZRANK", "cz", "first") == b":0\r\n" for _ in range(CLIENTS))
       and all(Raw(our_port).call("ZRANK", "cz", want_order[-1][0]) == b":%d\r\n" % len(want_order)
               for _ in range(CLIENTS)))
    workers = psql(psql_cmd, "SELECT count(DISTINCT pid) FROM pg_stat_activity "
                             "WHERE backend_type = 'nodedb_kv RESP worker'")
    ok("two RESP workers served the clients", workers == "2", workers)


def lifecycle_checks(our_port, psql_cmd):
    writer = fresh(our_port)
    readers = [Raw(our_port) for _ in range(CLIENTS)]
    n = 1000

    def make(key, sign):
        args = ["ZADD", key]
        for i in range(n):
            args += [str(sign * i), "m%04d" % i]
        return writer.call(*args)

    def everyone(key, member, rank):
        return [r.call("ZRANK", key, member) for r in readers] == [b":%d\r\n" % rank] * CLIENTS

    make("g", 1)
    ok("every connection reads a new spilled set (and caches its tree)",
       everyone("g", "m0000", 0) and everyone("g", "m0999", n - 1))
    writer.call("DEL", "g")
    make("g", -1)
    ok("DEL, then the same key re-created with the same shape and other scores: every connection reads the "
       "new set", everyone("g", "m0000", n - 1) and everyone("g", "m0999", 0))
    psql(psql_cmd, "DELETE FROM kv_db0 WHERE key = 'g'")
    make("g", 1)
    ok("SQL DELETE, then re-created: the new set", everyone("g", "m0000", 0) and everyone("g", "m0999", n - 1))
    writer.call("SET", "g", "x")
    make("h", 1)
    writer.call("DEL", "g")
    make("g", -1)
    ok("SET over it, then re-created: the new set", everyone("g", "m0000", n - 1))
    writer.call("RENAME", "g", "g2")
    writer.call("ZADD", "g2", "-5000", "new")
    ok("RENAME, then a write: every connection reads the renamed set with the write",
       everyone("g2", "new", 0) and everyone("g2", "m0000", n))
    writer.call("COPY", "g2", "g3")
    writer.call("ZREM", "g3", "new")
    ok("COPY, then a write to the copy: the original is unchanged everywhere, the copy changed",
       everyone("g2", "new", 0) and everyone("g3", "m0000", n - 1) and everyone("g3", "m0999", 0))
    writer.call("FLUSHDB")
    make("g2", 1)
    ok("FLUSHDB, then re-created: the new set",
       everyone("g2", "m0000", 0) and all(r.call("ZRANK", "g2", "new") == b"$-1\r\n" for r in readers))
    psql(psql_cmd, "SELECT kv_members_vacuum()")
    psql(psql_cmd, "VACUUM kv_members")
    ok("after a vacuum of kv_members every connection still reads the set",
       everyone("g2", "m0999", n - 1) and writer.call("ZADD", "g2", "-1", "m0999") == b":0\r\n"
       and everyone("g2", "m0999", 0))


def member_reads(psql_cmd):
    return int(psql(psql_cmd, "SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) FROM pg_stat_user_tables "
                              "WHERE relname = 'kv_members'") or "-1")


def randmember_checks(our_port, psql_cmd):
    """ZRANDMEMBER with a count of a big spilled set picks members by position (a descent each), not by
    reading every member row."""
    c = fresh(our_port)
    n = 20000
    want = {}
    for start in range(0, n, 1000):
        args = ["ZADD", "big"]
        for i in range(start, start + 1000):
            args += [str(i / 2), "m%05d" % i]
            want["m%05d" % i] = i / 2
        c.call(*args)
    problems = []
    for count in (5, -7, 100):
        got = value(c.call("ZRANDMEMBER", "big", str(count), "WITHSCORES"))
        pairs = as_pairs(got)
        if len(pairs) != abs(count) or any(want.get(m) != s for m, s in pairs) or \
                (count > 0 and len(set(m for m, _ in pairs)) != count):
            problems.append("%d: %r" % (count, pairs[:3]))
    ok("ZRANDMEMBER big 5 / -7 / 100 WITHSCORES: that many members of the set (distinct for a positive count) "
       "with their scores", not problems, "; ".join(problems))
    # Rows of kv_members the worker reads for ZRANDMEMBER big 5, counted by the statistics (without the
    # node cache, which would hide the reads): a ZSCORE (one member row) after it marks when the
    # worker's counts have reached pg_stat_user_tables.
    psql(psql_cmd, "ALTER SYSTEM SET nodedb_kv.zset_node_cache = 0")
    psql(psql_cmd, "SELECT pg_reload_conf()")
    time.sleep(1)
    before = member_reads(psql_cmd)
    c.call("ZRANDMEMBER", "big", "5")
    c.call("ZSCORE", "big", "m00001")
    after = before
    for _ in range(100):
        after = member_reads(psql_cmd)
        if after > before:
            break
        time.sleep(0.1)
    ok("... reading a few rows of kv_members (nodedb_kv.zset_node_cache = 0), not the whole tree",
       before < after < before + 60, "%d -> %d" % (before, after))
    psql(psql_cmd, "ALTER SYSTEM RESET nodedb_kv.zset_node_cache")
    psql(psql_cmd, "SELECT pg_reload_conf()")


def main():
    mode, our_port = sys.argv[1], int(sys.argv[2])
    psql_cmd = sys.argv[3:]
    {"concurrent": concurrent_checks, "lifecycle": lifecycle_checks,
     "randmember": randmember_checks}[mode](our_port, psql_cmd)


if __name__ == "__main__":
    main()
