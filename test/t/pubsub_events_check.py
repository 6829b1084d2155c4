#!/usr/bin/python3
"""Keyspace events of the container commands, "new", "del" of emptied keys, lazy expiry: checks driven by
test/t/042_pubsub_events.pl.

  pubsub_events_check.py compare <our_port> <redis_port>   events of kv_db0's hash, set, list, zset and string
                                                          commands under several flags (with "n"), also of
                                                          containers past the spill threshold, and of
                                                          the sorted-set removals and ZMPOP, byte for byte
  pubsub_events_check.py lazy <our_port> <redis_port> <psql...>
                                                          "expired" when a command finds a key expired, as
                                                          Redis 7; exactly once (never again from the
                                                          expiry worker, nor from a second reader)
  pubsub_events_check.py acl <our_port> <psql...>         messages carrying a collection's data reach only
                                                          clients that may SELECT it now (patterns vs
                                                          collections created later, REVOKE, GRANT)

Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402
from pubsub_notify_check import admin, compare_events, events_of, psql_runner, until_end  # noqa: E402

HASH = [["HSET", "h", "f", "1", "g", "2"], ["HSET", "h", "f", "3"], ["HMSET", "h2", "a", "1"],
        ["HSETNX", "h", "f", "x"], ["HSETNX", "h", "z", "1"], ["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "f", "x"],
        ["HINCRBYFLOAT", "h", "fl", "1.5"], ["HDEL", "h", "nosuch"], ["HDEL", "h", "f", "g"],
        ["HDEL", "h", "z", "n", "fl"], ["HDEL", "h", "z"], ["HINCRBY", "h3", "n", "1"], ["HDEL", "h2", "a"],
        ["HGET", "h3", "n"], ["HGETALL", "h3"]]
SET = [["SADD", "s", "a", "b", "c"], ["SADD", "s", "a"], ["SREM", "s", "nosuch"], ["SREM", "s", "a"],
       ["SPOP", "s", "0"], ["SPOP", "s", "5"], ["SPOP", "s"], ["SADD", "s1", "x"], ["SPOP", "s1"],
       ["SADD", "s2", "x", "y"], ["SREM", "s2", "x", "y"], ["SADD", "a1", "1", "2"], ["SADD", "a2", "2", "3"],
       ["SINTERSTORE", "d", "a1", "a2"], ["SUNIONSTORE", "d", "a1", "a2"], ["SDIFFSTORE", "d2", "a1", "a2"],
       ["SDIFFSTORE", "d", "a1", "a1"], ["SDIFFSTORE", "d", "a1", "a1"], ["SINTERSTORE", "d3", "a1", "nosuch"],
       ["SMEMBERS", "a1"], ["SCARD", "a1"]]
LIST = [["RPUSH", "l", "a", "b", "c"], ["LPUSH", "l", "z"], ["LPUSHX", "nol", "x"], ["RPUSHX", "l", "d"],
        ["LSET", "l", "0", "y"], ["LSET", "l", "99", "y"], ["LINSERT", "l", "BEFORE", "a", "q"],
        ["LINSERT", "l", "BEFORE", "nosuch", "q"], ["LINSERT", "nol", "BEFORE", "a", "q"], ["LREM", "l", "0", "q"],
        ["LREM", "l", "0", "nosuch"], ["LTRIM", "l", "0", "-1"], ["LTRIM", "nol", "0", "1"], ["LPOP", "l"],
        ["RPOP", "l", "2"], ["LPOP", "l", "0"], ["LMOVE", "l", "l2", "LEFT", "RIGHT"], ["RPOPLPUSH", "l2", "l"],
        ["LMOVE", "l", "l", "LEFT", "RIGHT"], ["LTRIM", "l", "5", "10"], ["LPOP", "nol"], ["RPUSH", "l3", "a"],
        ["LMOVE", "l3", "l4", "LEFT", "LEFT"], ["RPUSH", "l5", "a"], ["RPOP", "l5", "3"], ["RPUSH", "l6", "a"],
        ["LREM", "l6", "1", "a"], ["LRANGE", "l4", "0", "-1"], ["LLEN", "l4"]]
# Sorted sets of kv_db0 (zset keys): zadd / zincr, zrem, zpopmin / zpopmax, zremrangeby*, the *STORE
# events, "del" after the last member goes or when an empty result deletes a destination.
ZSET = [["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZADD", "z", "1", "a"], ["ZADD", "z", "XX", "CH", "5", "a"],
        ["ZADD", "z", "NX", "5", "a"], ["ZINCRBY", "z", "1", "b"], ["ZADD", "z", "INCR", "1", "b"],
        ["ZREM", "z", "nosuch"], ["ZREM", "z", "a"], ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "0"], ["ZPOPMAX", "z", "5"],
        ["ZPOPMIN", "nosuch"], ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
        ["ZMPOP", "2", "nosuch", "z", "MAX", "COUNT", "2"], ["ZMPOP", "1", "z", "MIN", "COUNT", "5"],
        ["ZMPOP", "1", "z", "MIN"], ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ["ZREMRANGEBYSCORE", "z", "5", "6"], ["ZREMRANGEBYSCORE", "z", "0", "1"], ["ZREMRANGEBYRANK", "z", "0", "0"],
        ["ZREMRANGEBYLEX", "z", "-", "+"], ["ZADD", "z", "1", "a", "2", "b"], ["ZADD", "y", "2", "b", "3", "c"],
        ["SADD", "s", "b"], ["ZRANGESTORE", "d", "z", "0", "-1"], ["ZRANGESTORE", "d", "z", "5", "6"],
        ["ZRANGESTORE", "d", "z", "5", "6"], ["ZUNIONSTORE", "d", "2", "z", "y"], ["ZINTERSTORE", "d2", "2", "z", "s"],
        ["ZDIFFSTORE", "d2", "2", "z", "z"], ["ZDIFFSTORE", "d2", "2", "z", "z"], ["ZINTERSTORE", "d3", "2", "z", "x"],
        ["ZRANGE", "z", "0", "-1"], ["ZCARD", "z"], ["ZSCORE", "z", "a"]]
# Containers past the spill threshold (128 items: members in kv_members): "del" follows exactly the
# command that removes the last member, not one that reads or removes only some named members.
BIG = ["m%d" % i for i in range(150)]
SPILLED = [["RPUSH", "bl"] + BIG, ["LPOP", "bl", "148"], ["LMOVE", "bl", "bl2", "LEFT", "LEFT"], ["RPOP", "bl"],
           ["RPUSH", "bl3"] + BIG, ["LTRIM", "bl3", "5", "1"],
           ["HSET", "bh"] + [x for m in BIG for x in (m, "v")], ["HDEL", "bh", "m0", "nosuch"],
           ["HDEL", "bh"] + BIG[1:],
           ["SADD", "bs"] + BIG, ["SREM", "bs", "m0"], ["SREM", "bs", "nosuch"], ["SPOP", "bs", "1"],
           ["SPOP", "bs", "500"], ["SADD", "bs2"] + BIG, ["SREM", "bs2"] + BIG]
STRING = [["SET", "a", "1"], ["SET", "a", "2"], ["SETNX", "a", "3"], ["SETNX", "b", "3"], ["INCR", "c"],
          ["INCRBY", "c", "2"], ["APPEND", "d", "x"], ["APPEND", "d", "y"], ["MSET", "m1", "1", "m2", "2", "a", "4"],
          ["MSETNX", "m3", "1", "m4", "2"], ["GETSET", "g", "v"], ["GETSET", "g", "w"], ["SETEX", "x", "100", "v"],
          ["INCRBYFLOAT", "f", "1.5"], ["SETRANGE", "r", "2", "ab"], ["COPY", "a", "a3"], ["COPY", "a", "a3"],
          ["GETDEL", "b"], ["DEL", "c", "nosuch"], ["SET", "e", "v", "GET"], ["GETEX", "e", "EX", "100"],
          ["RENAME", "a", "a2"], ["RENAME", "a2", "m1"], ["RENAMENX", "m1", "m2"], ["RENAMENX", "m1", "m9"],
          ["COPY", "m9", "m2", "REPLACE"], ["SET", "p", "v"], ["GETEX", "p", "PXAT", "1"], ["GET", "p"],
          ["SET", "q", "v"], ["EXPIRE", "q", "-1"], ["GET", "q"], ["EXPIREAT", "m2", "1"], ["EXISTS", "m2"]]


def normalize_db(frames, ours_db, theirs_db=b"0"):
    """Our frames with the <db> of the channels written as Redis's (lengths re-counted)."""
    out = []
    for frame in frames:
        def fix(m):
            text = m.group(2) + theirs_db + m.group(3)
            return b"$%d\r\n%s\r\n" % (len(text), text)
        out.append(re.sub(rb"\$(\d+)\r\n(__key(?:space|event)@)" + re.escape(ours_db) + rb"(__:[^\r]*)\r\n", fix,
                          frame))
    return out


def compare(our_port, redis_port):
    for name, script in (("hash", HASH), ("set", SET), ("list", LIST), ("kv_db0 sorted-set", ZSET),
                         ("spilled container", SPILLED)):
        for flags in ("KEA", "KEAn", "Elg", "Ehsg", "Ezg", "En", "Kg"):
            compare_events(f"{name} commands under {flags!r}", events_of(our_port, flags, script),
                           events_of(redis_port, flags, script, False))
    for flags in ("KEAn", "En", "E$", "Eg"):
        compare_events(f"string commands under {flags!r}", events_of(our_port, flags, STRING),
                       events_of(redis_port, flags, STRING, False))
    # Sorted sets (a kv_sorted index of the collection zt): ZREM / ZPOP* / ZREMRANGEBY* / ZMPOP of the
    # last member are followed by "del", ZMPOP sends zpopmin / zpopmax.  ("n" is left out: a member is a
    # row here, the set itself is the index.)
    zset = [["SELECT", "zt"], ["ZADD", "zs", "1", "a", "2", "b", "3", "c"], ["ZREM", "zs", "a"],
            ["ZPOPMIN", "zs"], ["ZREM", "zs", "c"], ["ZADD", "zs", "1", "a", "2", "b", "3", "c", "4", "d"],
            ["ZMPOP", "2", "nosuch", "zs", "MAX", "COUNT", "2"], ["ZMPOP", "1", "zs", "MIN"],
            ["ZMPOP", "1", "zs", "MIN", "COUNT", "5"], ["ZMPOP", "1", "zs", "MIN"],
            ["ZADD", "zs", "1", "a", "2", "b"], ["ZPOPMAX", "zs", "5"], ["ZADD", "zs", "1", "a", "2", "b"],
            ["ZREMRANGEBYSCORE", "zs", "0", "1"], ["ZREMRANGEBYRANK", "zs", "0", "-1"], ["ZADD", "zs", "1", "a"],
            ["ZREMRANGEBYLEX", "zs", "-", "+"], ["ZADD", "zs", "1", "a"],
            ["ZRANGESTORE", "zs2", "zs", "0", "-1"], ["ZINTERSTORE", "zs2", "2", "zs", "nosuch"],
            ["ZINTERSTORE", "zs2", "2", "zs", "nosuch"], ["ZREM", "zs", "a"]]
    theirs_zset = [cmd for cmd in zset if cmd[0] != "SELECT"]
    for flags in ("KEA", "Ezg"):
        ours = normalize_db(events_of(our_port, flags, zset), b"zt")
        compare_events(f"sorted-set removals, ZMPOP and *STORE under {flags!r}", ours,
                       events_of(redis_port, flags, theirs_zset, False))


def expired_keys(run, keys):
    run("INSERT INTO kv_db0 VALUES "
        + ", ".join(f"('{k}', 'string', 'v', kv_ttl(-1))" for k in keys))


def lazy(our_port, redis_port, *psql):
    run = psql_runner(psql)
    # The same keys, expired, on both servers: ours through SQL (already past their expiry), Redis's with
    # a 1 ms expiry and active expiry off (the sleep is Redis's, not a decision of this test).
    keys = ["g1", "g2", "g3", "g4", "g5", "g6", "g7"]
    expired_keys(run, keys)
    r = admin(redis_port, False)
    r.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    for k in keys:
        r.call("SET", k, "v", "PX", "1")
    time.sleep(0.05)
    script = [["GET", "g1"], ["GET", "g1"], ["EXISTS", "g2"], ["SET", "g3", "new"], ["INCR", "g4"],
              ["TTL", "g5"], ["APPEND", "g6", "x"], ["HSET", "g7", "f", "v"], ["GET", "g3"]]
    for flags in ("KEA", "KEAn", "Ex"):
        if flags != "KEA":
            expired_keys(run, keys)
            for k in keys:
                r.call("SET", k, "v", "PX", "1")
            time.sleep(0.05)
        ours = events_of(our_port, flags, [["SELECT", "0"]] + script)
        theirs = events_of(redis_port, flags, script, False)
        compare_events(f"lazy expiry of read and written keys under {flags!r}", ours, theirs)
    r.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")

    c = admin(our_port)
    c.call("CONFIG", "SET", "notify-keyspace-events", "Exg")
    sub = admin(our_port)
    sub.call("PSUBSCRIBE", "__keyevent@0__:*")
    sub.call("SUBSCRIBE", "end")

    def pm(event, key):
        return Raw.encode(["pmessage", "__keyevent@0__:*", "__keyevent@0__:" + event, key])

    # Two clients (on either worker) read the same expired key again and again: one "expired" in all.
    expired_keys(run, ["twice"])
    a, b = Raw(our_port), Raw(our_port)
    for _ in range(20):
        a.send_raw(Raw.encode(["GET", "twice"]))
        b.send_raw(Raw.encode(["GET", "twice"]))
    for _ in range(20):
        a.read_reply()
        b.read_reply()
    c.call("PUBLISH", "end", "x")
    got = until_end(sub)
    ok("two readers of an expired key: one expired event", got == [pm("expired", "twice")], got)
    # The key is gone from the table (lazily deleted), not only hidden.
    r2 = run("SET nodedb_kv.show_expired = on; SELECT count(*) FROM kv_db0 WHERE key = 'twice'")
    ok("the lazily expired row is deleted", r2.stdout.strip() == "0", r2.stdout + r2.stderr)

    # A reader without DELETE privilege does not delete: the expiry worker reports the key later.
    run("CREATE ROLE reader LOGIN PASSWORD 'secret'; GRANT SELECT ON kv_db0 TO reader")
    expired_keys(run, ["ro", "worker"])
    ro = Raw(our_port)
    got = ro.call("AUTH", "reader", "secret")
    ok("reader authenticates", got == b"+OK\r\n", got)
    got = ro.call("GET", "ro")
    ok("reader gets nil for an expired key", got == b"$-1\r\n", got)
    c.call("PUBLISH", "end", "x")
    got = until_end(sub)
    ok("no event for a reader who may not delete", got == [], got)
    r2 = run("SET nodedb_kv.show_expired = on; SELECT count(*) FROM kv_db0 WHERE key = 'ro'")
    ok("the reader left the expired row in place", r2.stdout.strip() == "1", r2.stdout + r2.stderr)

    # The expiry worker: "expired" for the rows left (ro, worker), never again for the lazily expired ones.
    run("ALTER SYSTEM SET nodedb_kv.ttl_enabled = on")
    run("SELECT pg_reload_conf()")
    deadline = time.time() + 60
    seen = []
    sub.sock.settimeout(60)
    while time.time() < deadline and len(seen) < 2:
        seen.append(sub.read_reply())
    run("ALTER SYSTEM RESET nodedb_kv.ttl_enabled")
    run("SELECT pg_reload_conf()")
    c.call("PUBLISH", "end", "x")
    seen += until_end(sub)
    ok("the expiry worker reports only the keys nobody expired lazily", sorted(seen) == sorted(
        [pm("expired", "ro"), pm("expired", "worker")]), seen)
    c.call("CONFIG", "SET", "notify-keyspace-events", "")
    run("DELETE FROM kv_db0")
    run("REVOKE ALL ON kv_db0 FROM reader; DROP ROLE reader")


def acl(our_port, *psql):
    run = psql_runner(psql)
    c = admin(our_port)
    c.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
    # app (the anonymous role) subscribes to patterns before the collections exist: nothing to refuse then.
    sub = Raw(our_port)
    for pattern in ("later*", "__keyevent@later*", "__keyspace@later*"):
        got = sub.call("PSUBSCRIBE", pattern)
        ok(f"PSUBSCRIBE {pattern} before any collection matches it", got.startswith(b"*3\r\n$10\r\npsubscribe"), got)
    sub.call("SUBSCRIBE", "end")
    run("CREATE TABLE later_secret (key text PRIMARY KEY, v text) USING kv;"
        " CREATE TABLE later_open (key text PRIMARY KEY, v text) USING kv; GRANT SELECT ON later_open TO app")
    run("INSERT INTO later_secret VALUES ('s1', 'x'); INSERT INTO later_open VALUES ('o1', 'x');"
        " UPDATE later_secret SET v = 'y'; DELETE FROM later_secret")
    c.call("PUBLISH", "end", "x")
    got = until_end(sub)
    leaked = [f for f in got if b"later_secret" in f or b"s1" in f]
    ok("a pattern never delivers the changes or keyspace events of a collection created later that the"
       " subscriber cannot SELECT", leaked == [], leaked)
    ok("... and delivers those of one it can: change event, __keyspace@ and __keyevent@ set",
       len(got) == 3 and all(b"later_open" in f for f in got), got)

    # A REVOKE after SUBSCRIBE stops delivery on the change channel and the keyspace channels; a GRANT
    # lets it through again (the cached answers are invalidated).
    ex = Raw(our_port)
    for name in ("later_open", "__keyspace@later_open__:o2", "__keyevent@later_open__:set"):
        got = ex.call("SUBSCRIBE", name)
        ok(f"SUBSCRIBE {name} with SELECT", got.startswith(b"*3\r\n$9\r\nsubscribe"), got)
    ex.call("SUBSCRIBE", "end")
    run("INSERT INTO later_open VALUES ('o2', 'x')")
    c.call("PUBLISH", "end", "x")
    got = until_end(ex)
    ok("granted: the change event and both keyspace messages arrive", len(got) == 3, got)
    until_end(sub)
    run("REVOKE SELECT ON later_open FROM app")
    run("UPDATE later_open SET v = 'z' WHERE key = 'o2'")
    c.call("PUBLISH", "end", "x")
    got = until_end(ex)
    ok("after REVOKE nothing of the collection reaches the exact subscriber", got == [], got)
    got = until_end(sub)
    ok("... nor the pattern subscriber", got == [], got)
    run("GRANT SELECT ON later_open TO app")
    run("UPDATE later_open SET v = 'w' WHERE key = 'o2'")
    c.call("PUBLISH", "end", "x")
    got = until_end(ex)
    ok("GRANT again: delivered again", len(got) == 3, got)
    # Role membership counts too: SELECT through a role app is granted later.
    run("REVOKE SELECT ON later_open FROM app; CREATE ROLE readers; GRANT SELECT ON later_open TO readers")
    run("UPDATE later_open SET v = 'v' WHERE key = 'o2'")
    c.call("PUBLISH", "end", "x")
    got = until_end(ex)
    ok("revoked again: nothing", got == [], got)
    run("GRANT readers TO app")
    run("UPDATE later_open SET v = 'u' WHERE key = 'o2'")
    c.call("PUBLISH", "end", "x")
    got = until_end(ex)
    ok("SELECT through a role granted after the SUBSCRIBE: delivered", len(got) == 3, got)
    c.call("CONFIG", "SET", "notify-keyspace-events", "")
    run("DROP TABLE later_secret, later_open; DROP ROLE readers")


if __name__ == "__main__":
    mode = sys.argv[1]
    try:
        {"compare": compare, "lazy": lazy, "acl": acl}[mode](*sys.argv[2:])
    except Exception as e:  # a crash of the script is a failure, with its reason
        import traceback
        traceback.print_exc()
        print(f"not ok {mode} raised {e!r}")
