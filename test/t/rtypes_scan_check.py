#!/usr/bin/python3
"""HSCAN / SSCAN / ZSCAN cursors, concurrent writers of one spilled container, and the members vacuum
of the expiry worker (issue 12), driven by test/t/075_rtypes_scan.pl.

  rtypes_scan_check.py <mode> <our_port> <redis_port> <psql...>

modes:
- scan: replies of small containers and the errors byte for byte vs redis-server; cursors over spilled
  hashes and sets: COUNT-sized pages, MATCH, every member present throughout returned exactly once
  while another client adds and deletes members;
- zsetop: ZUNION / ZINTER (+STORE) aggregation order byte for byte vs redis-server;
- concurrent: many clients on both RESP workers HSET/HDEL and SADD/SREM the same members of one spilled
  hash and set (the replies' sum, HLEN/SCARD and the member rows agree) and RPUSH/LPOP one spilled list
  (every element popped once, none lost);
- vacuum-setup / vacuum-check: member rows of containers deleted, overwritten, emptied and expired by
  RESP disappear without kv_members_vacuum(); a live container keeps its members.
Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import os
import random
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402
from rtypes_check import compare, fresh, psql  # noqa: E402


def parse(data, at=0):
    """Decodes one RESP2 reply from data[at:]: (value, next offset); errors as ("ERR", text)."""
    end = data.index(b"\r\n", at)
    t, line = data[at:at + 1], data[at + 1:end]
    at = end + 2
    if t == b"+" or t == b":":
        return line, at
    if t == b"-":
        return ("ERR", line), at
    if t == b"$":
        n = int(line)
        if n < 0:
            return None, at
        return data[at:at + n], at + n + 2
    if t == b"*":
        out = []
        for _ in range(int(line)):
            item, at = parse(data, at)
            out.append(item)
        return out, at
    raise ValueError("unexpected reply %r" % data[at - 1:at + 20])


def value(reply):
    return parse(reply)[0]


def fields(prefix, n, start=0):
    out = []
    for i in range(start, start + n):
        out += ["%s%d" % (prefix, i), "v%d" % i]
    return out


def scan_all(conn, cmd, key, count, match=None, between=None, pairs=True):
    """Iterates cmd (HSCAN/SSCAN/ZSCAN) to the end: (list of members in order returned, {member: value},
    page sizes, problems)."""
    cursor = b"0"
    seen, values, sizes, problems = [], {}, [], []
    for _ in range(100000):
        args = [cmd, key, cursor, "COUNT", str(count)]
        if match is not None:
            args += ["MATCH", match]
        reply = value(conn.call(*args))
        if not isinstance(reply, list) or len(reply) != 2:
            problems.append("bad reply %r" % (reply,))
            break
        cursor, items = reply
        step = 2 if pairs else 1
        sizes.append(len(items) // step)
        for i in range(0, len(items), step):
            seen.append(items[i])
            if pairs:
                values[items[i]] = items[i + 1]
        if cursor == b"0":
            break
        if between is not None:
            between()
    return seen, values, sizes, problems


def scan_checks(our_port, redis_port, psql_cmd):
    ours, theirs = fresh(our_port), fresh(redis_port)
    # Small containers (Redis: listpack / intset): everything at once with cursor 0, whatever the cursor
    # and COUNT; errors in Redis 7.0's order (cursor, then key and type, then options).
    script = [
        ["HSET", "h"] + fields("f", 20), ["HSCAN", "h", "0"], ["HSCAN", "h", "0", "COUNT", "2"],
        ["HSCAN", "h", "0", "MATCH", "f1*"], ["HSCAN", "h", "0", "MATCH", "*", "COUNT", "100"],
        ["HSCAN", "h", "12345"], ["HSCAN", "h", "abc"], ["HSCAN", "h", "-1"], ["HSCAN", "h", ""],
        ["HSCAN", "h", "18446744073709551616"], ["HSCAN", "h", "0", "COUNT", "0"],
        ["HSCAN", "h", "0", "COUNT", "x"], ["HSCAN", "h", "0", "MATCH"], ["HSCAN", "h", "0", "FOO", "1"],
        ["HSCAN", "nokey", "0"], ["HSCAN", "nokey", "0", "COUNT", "0"], ["HSCAN", "nokey", "x"],
        ["SET", "str", "v"], ["HSCAN", "str", "0"], ["HSCAN", "str", "0", "COUNT", "0"], ["SSCAN", "str", "0"],
        ["ZSCAN", "str", "0"], ["HSCAN", "str", "x"],
        ["SADD", "ints", "5", "-3", "100", "7"], ["SSCAN", "ints", "0"], ["SSCAN", "ints", "0", "MATCH", "1*"],
        ["SSCAN", "ints", "7", "COUNT", "1"], ["SSCAN", "nokey", "0"], ["SSCAN", "ints", "x"],
        ["SSCAN", "ints", "0", "COUNT", "-1"],
        ["ZADD", "z", "1", "a", "2.5", "b", "-1", "c", "1e20", "d"], ["ZSCAN", "z", "0"],
        ["ZSCAN", "z", "0", "MATCH", "[ab]"], ["ZSCAN", "z", "99", "COUNT", "1"], ["ZSCAN", "nokey", "0"],
        ["ZSCAN", "z", "abc"], ["ZSCAN", "z", "0", "COUNT", "0"], ["ZSCAN", "nokey", "0", "COUNT", "0"],
        ["ZSCAN", "z", "0", "NOVALUES"],
    ]
    compare("HSCAN / SSCAN / ZSCAN of small containers and their errors equal Redis 7.0's", ours, theirs, script)

    # A spilled hash: pages of at most COUNT fields, each field once, values right.
    n = 300
    ours.call("HSET", "sh", *fields("f", n))
    theirs.call("HSET", "sh", *fields("f", n))
    expect = {b"f%d" % i: b"v%d" % i for i in range(n)}
    seen, values, sizes, problems = scan_all(ours, "HSCAN", "sh", 7)
    ok("HSCAN of a spilled hash pages through it: every field once, pages of at most COUNT",
       not problems and sorted(seen) == sorted(expect) and values == expect and max(sizes) <= 7 and len(sizes) > 30,
       "%r pages %r" % (problems, sizes[:10]))
    theirs_seen, theirs_values, _, _ = scan_all(theirs, "HSCAN", "sh", 7)
    ok("the spilled hash's HSCAN iteration returns what redis-server's returns", values == theirs_values)
    seen, values, sizes, problems = scan_all(ours, "HSCAN", "sh", 10, match="f1*")
    want = {k: v for k, v in expect.items() if k.startswith(b"f1")}
    theirs_seen, theirs_values, _, _ = scan_all(theirs, "HSCAN", "sh", 10, match="f1*")
    ok("HSCAN MATCH of a spilled hash: the matching fields once each (as redis-server's)",
       not problems and sorted(seen) == sorted(want) and values == want == theirs_values, repr(problems))
    reply = value(ours.call("HSCAN", "sh", "0", "COUNT", "1000"))
    ok("HSCAN COUNT larger than the hash returns it whole with cursor 0",
       reply[0] == b"0" and len(reply[1]) == 2 * n, repr(reply[:1]))
    reply = value(ours.call("HSCAN", "sh", "0", "COUNT", "5", "NOVALUES"))
    ok("HSCAN NOVALUES of a spilled hash returns fields only",
       reply[0] != b"0" and len(reply[1]) == 5 and all(f.startswith(b"f") for f in reply[1]), repr(reply))
    # The cursor is the connection's: an unknown one (or another connection's) is refused.
    cursor = value(ours.call("HSCAN", "sh", "0", "COUNT", "5"))[0]
    other = Raw(our_port)
    ok("a cursor of another connection is an invalid cursor",
       other.call("HSCAN", "sh", cursor) == b"-ERR invalid cursor\r\n")
    ok("an unknown cursor on a spilled hash is an invalid cursor",
       ours.call("HSCAN", "sh", "987654321") == b"-ERR invalid cursor\r\n")
    ok("a SCAN cursor is no HSCAN cursor",
       ours.call("HSCAN", "sh", value(ours.call("SCAN", "0", "COUNT", "1"))[0]) == b"-ERR invalid cursor\r\n")

    # Guarantee under concurrent change: fields present for the whole iteration come back exactly once;
    # deleted and added ones may or may not; nothing that never existed comes back.
    stable = {b"f%d" % i for i in range(0, n, 2)}
    volatile = [b"f%d" % i for i in range(1, n, 2)]
    random.seed(75)
    random.shuffle(volatile)
    added = []
    writer = Raw(our_port)

    def between():
        if volatile:
            writer.call("HDEL", "sh", volatile.pop())
        name = "new%d" % random.randrange(10 ** 6)
        added.append(name.encode())
        writer.call("HSET", "sh", name, "x")

    seen, values, sizes, problems = scan_all(ours, "HSCAN", "sh", 6, between=between)
    counts = {}
    for f in seen:
        counts[f] = counts.get(f, 0) + 1
    missing = [f for f in stable if counts.get(f, 0) != 1]
    strange = [f for f in counts if f not in expect and f not in added]
    ok("HSCAN under concurrent HSET/HDEL: every field present throughout exactly once, nothing invented",
       not problems and not missing and not strange, "missing %r strange %r" % (missing[:5], strange[:5]))

    # A spilled set.
    ours.call("SADD", "ss", *["m%d" % i for i in range(n)])
    theirs.call("SADD", "ss", *["m%d" % i for i in range(n)])
    seen, _, sizes, problems = scan_all(ours, "SSCAN", "ss", 9, pairs=False)
    theirs_seen, _, _, _ = scan_all(theirs, "SSCAN", "ss", 9, pairs=False)
    ok("SSCAN of a spilled set: every member once, pages of at most COUNT, as redis-server's members",
       not problems and sorted(seen) == sorted(set(theirs_seen)) and len(seen) == n and max(sizes) <= 9,
       "%r %d" % (problems, len(seen)))
    seen, _, _, problems = scan_all(ours, "SSCAN", "ss", 4, match="m2?", pairs=False)
    ok("SSCAN MATCH of a spilled set", not problems and sorted(seen) == sorted(b"m2%d" % i for i in range(10)),
       repr(seen[:12]))
    # The iteration goes on after the container is deleted and recreated (a new generation).
    cursor = value(ours.call("SSCAN", "ss", "0", "COUNT", "5"))[0]
    ours.call("DEL", "ss")
    ok("SSCAN of a deleted set with an old cursor: the empty scan", ours.call("SSCAN", "ss", cursor) ==
       b"*2\r\n$1\r\n0\r\n*0\r\n")


def zsetop_checks(our_port, redis_port, psql_cmd):
    """ZUNION / ZINTER (+STORE) aggregate in Redis 7.0's order: inputs by size, smallest first (SUM's
    rounding shows it); a NaN weighted score of a later intersection input is ignored by MIN / MAX."""
    ours, theirs = fresh(our_port), fresh(redis_port)
    script = [
        ["ZADD", "a", "1e16", "x"], ["ZADD", "b", "1", "x", "0", "y"], ["ZADD", "c", "-1e16", "x", "0", "y", "0", "z"],
        ["ZINTER", "3", "c", "a", "b", "WITHSCORES"], ["ZINTER", "3", "a", "b", "c", "WITHSCORES"],
        ["ZUNION", "3", "c", "a", "b", "WITHSCORES"], ["ZUNION", "3", "b", "c", "a", "WITHSCORES"],
        ["ZINTER", "3", "c", "a", "b", "WEIGHTS", "1", "2", "3", "WITHSCORES"],
        ["ZUNION", "3", "c", "a", "b", "WEIGHTS", "3", "1", "2", "WITHSCORES"],
        ["ZINTERSTORE", "d1", "3", "c", "a", "b"], ["ZRANGE", "d1", "0", "-1", "WITHSCORES"],
        ["ZUNIONSTORE", "d2", "3", "c", "a", "b"], ["ZRANGE", "d2", "0", "-1", "WITHSCORES"],
        ["SADD", "s", "x", "y"], ["ZINTER", "3", "c", "s", "a", "WITHSCORES"], ["ZUNION", "3", "c", "s", "a", "WITHSCORES"],
        ["ZADD", "j1", "inf", "m", "1", "p", "2", "q"], ["ZADD", "j2", "5", "m"],
        ["ZINTER", "2", "j1", "j2", "WEIGHTS", "0", "1", "AGGREGATE", "MIN", "WITHSCORES"],
        ["ZINTER", "2", "j1", "j2", "WEIGHTS", "0", "1", "AGGREGATE", "MAX", "WITHSCORES"],
        ["ZINTER", "2", "j1", "j2", "WEIGHTS", "0", "1", "WITHSCORES"],
        ["ZINTER", "2", "j2", "j1", "WEIGHTS", "0", "1", "AGGREGATE", "MIN", "WITHSCORES"],
        ["ZUNION", "2", "j1", "j2", "WEIGHTS", "0", "1", "AGGREGATE", "MIN", "WITHSCORES"],
        ["ZINTERCARD", "3", "c", "a", "b"],
    ]
    compare("ZUNION / ZINTER (+STORE) aggregate in Redis 7.0's input order, byte for byte", ours, theirs, script)
    ours.call("HELLO", "3")
    theirs.call("HELLO", "3")
    compare("the same in RESP3", ours, theirs, [["ZINTER", "3", "c", "a", "b", "WITHSCORES"],
                                                ["ZUNION", "3", "b", "c", "a", "WITHSCORES"]])


def concurrent_checks(our_port, redis_port, psql_cmd):
    """Many clients on both workers change the same members of one spilled hash and one spilled set, and
    push to and pop from one spilled list."""
    setup = fresh(our_port)
    base = 200  # untouched fields: the containers stay spilled and never empty
    setup.call("HSET", "ch", *fields("base", base))
    setup.call("SADD", "cs", *["base%d" % i for i in range(base)])
    clients, ops, names, pad = 12, 200, 16, 200
    totals = {"hash": [0] * clients, "set": [0] * clients}
    setup.call("RPUSH", "cl", *["base%d" % i for i in range(base)])
    pushed, popped = [[] for _ in range(clients)], [[] for _ in range(clients)]
    errors = []

    def op(c, rnd, i, cmds):
        """One change, alone or at the end of a MULTI block whose earlier commands widen the window
        between the block's snapshot and the container's header lock; returns its integer reply."""
        if rnd.random() < 0.5:
            return value(c.call(*cmds))
        block = [["MULTI"]] + [["SET", "pad%d" % i, str(k)] for k in range(pad)] + [cmds, ["EXEC"]]
        c.send_raw(b"".join(Raw.encode(b) for b in block))
        replies = [c.read_reply() for _ in block]
        return value(replies[-1])[-1]

    def run(i):
        rnd = random.Random(i)
        try:
            c = Raw(our_port)
            for _ in range(ops):
                f = "g%d" % rnd.randrange(names)
                if rnd.random() < 0.5:
                    totals["hash"][i] += int(op(c, rnd, i, ["HSET", "ch", f, "x%d" % i]))
                else:
                    totals["hash"][i] -= int(op(c, rnd, i, ["HDEL", "ch", f]))
                m = "g%d" % rnd.randrange(names)
                if rnd.random() < 0.5:
                    totals["set"][i] += int(op(c, rnd, i, ["SADD", "cs", m]))
                else:
                    totals["set"][i] -= int(op(c, rnd, i, ["SREM", "cs", m]))
                item = "c%d-%d" % (i, len(pushed[i]))
                op(c, rnd, i, ["RPUSH", "cl", item])
                pushed[i].append(item.encode())
                popped[i].append(op(c, rnd, i, ["LPOP", "cl"]))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok("the concurrent clients ran without errors", not errors, "; ".join(errors[:3]))
    hlen = int(setup.call("HLEN", "ch")[1:-2])
    scard = int(setup.call("SCARD", "cs")[1:-2])
    hrows = int(psql(psql_cmd, "SELECT count(*) FROM kv_hash_entries('kv_db0', 'ch')") or -1)
    srows = int(psql(psql_cmd, "SELECT count(*) FROM kv_set_members('kv_db0', 'cs')") or -1)
    hall = len(value(setup.call("HKEYS", "ch")))
    sall = len(value(setup.call("SMEMBERS", "cs")))
    expect_h = base + sum(totals["hash"])
    expect_s = base + sum(totals["set"])
    ok("spilled hash under concurrent HSET/HDEL: base + sum of replies == HLEN == member rows",
       expect_h == hlen == hrows == hall, "replies %d HLEN %d rows %d HKEYS %d" % (expect_h, hlen, hrows, hall))
    ok("spilled set under concurrent SADD/SREM: base + sum of replies == SCARD == member rows",
       expect_s == scard == srows == sall, "replies %d SCARD %d rows %d SMEMBERS %d" % (expect_s, scard, srows, sall))
    rest = value(setup.call("LRANGE", "cl", "0", "-1"))
    all_popped = [p for ps in popped for p in ps]
    everything = sorted([b"base%d" % i for i in range(base)] + [p for ps in pushed for p in ps])
    ok("spilled list under concurrent RPUSH/LPOP: no pop found it empty, nothing lost or popped twice",
       None not in all_popped and sorted(all_popped + rest) == everything and
       int(setup.call("LLEN", "cl")[1:-2]) == len(rest) == base,
       "nil pops %d, popped %d + left %d vs %d" % (all_popped.count(None), len(all_popped), len(rest),
                                                  len(everything)))
    workers = psql(psql_cmd, "SELECT count(DISTINCT pid) FROM pg_stat_activity "
                             "WHERE backend_type = 'nodedb_kv RESP worker'")
    ok("two RESP workers served the clients", workers == "2", workers)


def vacuum_setup(our_port, redis_port, psql_cmd):
    c = fresh(our_port)
    psql(psql_cmd, "SELECT kv_members_vacuum()")
    c.call("HSET", "keep", *fields("f", 150))
    c.call("HSET", "gone", *fields("f", 300))
    c.call("SADD", "over", *["m%d" % i for i in range(200)])
    c.call("RPUSH", "lst", *["e%d" % i for i in range(200)])
    c.call("HSET", "exp", *fields("f", 250))
    rows = psql(psql_cmd, "SELECT count(*) FROM kv_members")
    ok("five spilled containers have their member rows", rows == str(150 + 300 + 200 + 200 + 250), rows)
    c.call("DEL", "gone")
    c.call("SET", "over", "now a string")
    c.call("LPOP", "lst", "200")  # emptied: deleted with its last element
    c.call("PEXPIRE", "exp", "5000")


def vacuum_check(our_port, redis_port, psql_cmd):
    c = Raw(our_port)
    ok("the live spilled hash is intact", c.call("HLEN", "keep") == b":150\r\n" and
       c.call("HGET", "keep", "f149") == b"$4\r\nv149\r\n")
    ok("the expired hash is gone", c.call("EXISTS", "exp") == b":0\r\n")


def main():
    mode, our_port, redis_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    psql_cmd = sys.argv[4:]
    {"scan": scan_checks, "zsetop": zsetop_checks, "concurrent": concurrent_checks, "vacuum-setup": vacuum_setup,
     "vacuum-check": vacuum_check}[mode](our_port, redis_port, psql_cmd)


if __name__ == "__main__":
    main()
