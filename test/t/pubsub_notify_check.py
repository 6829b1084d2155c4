#!/usr/bin/python3
"""Keyspace notifications, pubsub_role, the soft output limit: checks driven by test/t/041_pubsub_notify.pl.

  pubsub_notify_check.py compare <our_port> <redis_port>  keyspace events of RESP commands and CONFIG
                                                         GET/SET notify-keyspace-events, byte for byte
  pubsub_notify_check.py sql <our_port> <psql...>        SQL writers' events, named collections, CONFIG
                                                         SET seen by SQL backends, the parameter wins
  pubsub_notify_check.py expired <our_port> <psql...>    redis-py listener gets the expiry worker's event
  pubsub_notify_check.py role <our_port> <psql...>       nodedb_kv.pubsub_role
  pubsub_notify_check.py soft <our_port> <psql...>       soft output limit: kept, then dropped after
                                                         soft seconds (test clock), counted in the view

Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import SCRIPT, Raw, ok  # noqa: E402


def until_end(sub, timeout=30):
    """Every frame sub receives up to (not including) the message on channel "end"."""
    sub.sock.settimeout(timeout)
    frames = []
    while True:
        frame = sub.read_reply()
        if frame == Raw.encode(["message", "end", "x"]):
            return frames
        frames.append(frame)


ADMIN = ("AUTH", "admin", "secret")  # CONFIG SET needs a superuser on our side


def admin(port, ours=True):
    c = Raw(port)
    if ours:
        got = c.call(*ADMIN)
        assert got == b"+OK\r\n", got
    return c


def events_of(port, flags, script, ours=True):
    """The keyspace frames (pmessage of __key*__:*) that running script on port produces under flags."""
    c = admin(port, ours)
    got = c.call("CONFIG", "SET", "notify-keyspace-events", flags)
    assert got == b"+OK\r\n", got
    sub = admin(port, ours)  # __key*__:* may match every collection's keyspace channels: SELECT on all
    sub.call("PSUBSCRIBE", "__key*__:*")
    sub.call("SUBSCRIBE", "end")
    for cmd in script:
        c.call(*cmd)
    c.call("PUBLISH", "end", "x")
    frames = until_end(sub)
    c.call("CONFIG", "SET", "notify-keyspace-events", "")
    c.call("SELECT", "0")
    c.call("FLUSHDB")
    sub.sock.close()
    c.sock.close()
    return frames


def compare_events(name, ours, theirs):
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            ok(f"{name}: event {i} equals Redis 7", False, f"ours {a!r}, redis {b!r}")
            return
    ok(f"{name}: {len(theirs)} events equal Redis 7's", len(ours) == len(theirs),
       f"{len(ours)} vs {len(theirs)}: ours {ours[len(theirs):][:3]!r} redis {theirs[len(ours):][:3]!r}")


SMALL = [["SET", "a", "1"], ["SET", "b", "1", "EX", "100"], ["INCR", "c"], ["EXPIRE", "b", "50"],
         ["PERSIST", "b"], ["DEL", "a", "b"], ["APPEND", "c", "x"], ["EXPIRE", "c", "-1"]]


def compare(our_port, redis_port):
    # Every RESP write command of the string/keys script with every class on (the events and their order).
    script = [cmd for cmd in SCRIPT if cmd[0] not in ("QUIT", "CLIENT", "HELLO")]
    ours, theirs = events_of(our_port, "KEA", script), events_of(redis_port, "KEA", script, False)
    # Redis also expires a key lazily when a command touches it ("expired" then): so do we (the script
    # touches an expired key once: its keyspace and keyevent messages).
    lazy = [f for f in ours if b"expired\r\n" in f]
    ok("a key found expired by a command is an \"expired\" event", len(lazy) == 2, lazy)
    compare_events("KEA over the RESP command script", ours, theirs)
    # The flags choose channels and classes.
    for flags in ("E$", "Kg", "K$x", "KEg", "K", "E", "A", "gE", "AKEm"):
        compare_events(f"flags {flags!r}", events_of(our_port, flags, SMALL),
                       events_of(redis_port, flags, SMALL, False))
    # CONFIG GET shows Redis's normalised letters; a bad letter is Redis's error and changes nothing.
    for flags in ("KEA", "gx$E", "Kn", "Km", "AKEmn", "Ag", "g$lshzxetd", "Eh", "", "n"):
        replies = []
        for port in (our_port, redis_port):
            c = admin(port, port == our_port)
            c.call("CONFIG", "SET", "notify-keyspace-events", "Kg")
            replies.append((c.call("CONFIG", "SET", "notify-keyspace-events", flags),
                            c.call("CONFIG", "GET", "notify-keyspace-events"),
                            c.call("CONFIG", "SET", "notify-keyspace-events", flags + "Q"),
                            c.call("CONFIG", "GET", "notify-keyspace-events")))
            c.call("CONFIG", "SET", "notify-keyspace-events", "")
        ok(f"CONFIG SET/GET notify-keyspace-events {flags!r} equal Redis 7", replies[0] == replies[1], replies)
    c = Raw(our_port)
    got = c.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
    ok("CONFIG SET notify-keyspace-events needs a superuser",
       got == b"-NOPERM this user has no permissions to run the 'config|set' command\r\n", got)
    got = c.call("CONFIG", "GET", "notify-keyspace-*")
    ok("CONFIG GET with a pattern finds notify-keyspace-events",
       got == b"*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n", got)


def psql_runner(psql):
    return lambda q: subprocess.run(list(psql) + ["-At", "-c", q], capture_output=True, text=True)  # noqa: E731


def sql(port, *psql):
    run = psql_runner(psql)
    c = admin(port)
    # CONFIG SET in a RESP worker reaches every SQL backend (shared memory), without a reload.
    c.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
    sub = admin(port)
    sub.call("PSUBSCRIBE", "__key*__:*")
    sub.call("SUBSCRIBE", "end")
    run("INSERT INTO kv_db0 (key, value) VALUES ('q1', 'v')")
    run("UPDATE kv_db0 SET value = 'w' WHERE key = 'q1'")
    run("BEGIN; INSERT INTO kv_db0 (key, value) VALUES ('rolled', 'v'); ROLLBACK;")
    run("BEGIN; INSERT INTO kv_db0 (key, value) VALUES ('kept', 'v'); SAVEPOINT s;"
        " INSERT INTO kv_db0 (key, value) VALUES ('undone', 'v'); ROLLBACK TO s; COMMIT;")
    run("DELETE FROM kv_db0 WHERE key = 'q1'")
    run("INSERT INTO kv_db1 (key, value) VALUES ('\\x00ff'::bytea, 'v')")
    run("TRUNCATE kv_db1")
    run("INSERT INTO sessions VALUES ('s1', 'admin')")
    run("INSERT INTO s.t VALUES (5, 'five')")
    # A RESP write on a named collection: its event name and the collection as <db>.
    w = Raw(port)
    w.call("SELECT", "prof")
    w.call("HSET", "u1", "name", "ann")
    w.call("SELECT", "sessions")
    w.call("SET", "r1", "v")
    w.call("PUBLISH", "end", "x")

    def pm(channel, payload):
        return Raw.encode(["pmessage", "__key*__:*", channel, payload])

    expect = [pm(b"__keyspace@0__:q1", "set"), pm("__keyevent@0__:set", b"q1"),
              pm(b"__keyspace@0__:q1", "set"), pm("__keyevent@0__:set", b"q1"),
              pm(b"__keyspace@0__:kept", "set"), pm("__keyevent@0__:set", b"kept"),
              pm(b"__keyspace@0__:q1", "del"), pm("__keyevent@0__:del", b"q1"),
              pm(b"__keyspace@1__:\x00\xff", "set"), pm("__keyevent@1__:set", b"\x00\xff"),
              pm(b"__keyspace@sessions__:s1", "set"), pm("__keyevent@sessions__:set", b"s1"),
              pm(b"__keyspace@s.t__:5", "set"), pm("__keyevent@s.t__:set", b"5"),
              pm(b"__keyspace@prof__:u1", "hset"), pm("__keyevent@prof__:hset", b"u1"),
              pm(b"__keyspace@sessions__:r1", "set"), pm("__keyevent@sessions__:set", b"r1")]
    got = until_end(sub)
    ok("SQL writes are set/del events (bytea keys raw, kv_db<n> is db n, a collection is its channel name),"
       " none for rollbacks, savepoints rolled back or TRUNCATE; RESP writes on a collection", got == expect,
       "\n".join(repr(f) for f in got))
    # The parameter changing wins over CONFIG SET (for every process, once reloaded).
    run("ALTER SYSTEM SET nodedb_kv.notify_keyspace_events = 'Eg'")
    run("SELECT pg_reload_conf()")
    deadline = time.time() + 30
    got = None
    while time.time() < deadline:
        got = c.call("CONFIG", "GET", "notify-keyspace-events")
        if got.endswith(b"$2\r\ngE\r\n"):
            break
        time.sleep(0.1)
    ok("a changed nodedb_kv.notify_keyspace_events replaces CONFIG SET's flags", got.endswith(b"$2\r\ngE\r\n"), got)
    time.sleep(0.5)  # let every backend see the reload before the write (not a pass/fail decision)
    run("INSERT INTO kv_db0 (key, value) VALUES ('q2', 'v')")  # set: class $ is off now
    run("DELETE FROM kv_db0 WHERE key = 'q2'")
    c.call("PUBLISH", "end", "x")
    got = until_end(sub)
    ok("only the parameter's classes and channels are published", got == [pm("__keyevent@0__:del", b"q2")], got)
    r = run("ALTER SYSTEM SET nodedb_kv.notify_keyspace_events = 'KQ'")
    ok("a bad letter in the parameter is refused", "invalid keyspace event class character" in r.stderr, r.stderr)
    run("ALTER SYSTEM RESET nodedb_kv.notify_keyspace_events")
    run("SELECT pg_reload_conf()")
    deadline = time.time() + 30
    while time.time() < deadline and not c.call("CONFIG", "GET", "notify-keyspace-events").endswith(b"$0\r\n\r\n"):
        time.sleep(0.1)
    # Hash and sorted-set commands on named collections: Redis's event names (keyevent channel only).
    c.call("CONFIG", "SET", "notify-keyspace-events", "Ehz")
    w.call("SELECT", "prof")
    for cmd in (["HSET", "u2", "name", "bo"], ["HSETNX", "u2", "name", "x"], ["HSETNX", "u2", "age", "3"],
                ["HINCRBY", "u2", "age", "1"], ["HDEL", "u2", "nosuch"], ["HDEL", "u2", "age"]):
        w.call(*cmd)
    w.call("SELECT", "zt")
    for cmd in (["ZADD", "zs", "1", "a", "2", "b", "3", "c"], ["ZADD", "zs", "NX", "5", "a"], ["ZINCRBY", "zs", "2", "a"],
                ["ZADD", "zs", "INCR", "1", "b"], ["ZREM", "zs", "nosuch"], ["ZREM", "zs", "c"], ["ZPOPMIN", "zs"],
                ["ZREMRANGEBYSCORE", "zs", "0", "100"]):
        w.call(*cmd)
    w.call("PUBLISH", "end", "x")
    got = until_end(sub)
    expect = [pm("__keyevent@prof__:hset", b"u2"), pm("__keyevent@prof__:hset", b"u2"),
              pm("__keyevent@prof__:hincrby", b"u2"), pm("__keyevent@prof__:hdel", b"u2"),
              pm("__keyevent@zt__:zadd", b"zs"), pm("__keyevent@zt__:zincr", b"zs"), pm("__keyevent@zt__:zincr", b"zs"),
              pm("__keyevent@zt__:zrem", b"zs"), pm("__keyevent@zt__:zpopmin", b"zs"),
              pm("__keyevent@zt__:zremrangebyscore", b"zs")]
    ok("hash and sorted-set commands: Redis's event names, only when something changed", got == expect,
       "\n".join(repr(f) for f in got))
    # "n": a key created by SQL (an INSERT) is also a "new" event, before its "set" (as Redis orders them).
    c.call("CONFIG", "SET", "notify-keyspace-events", "En$")
    run("INSERT INTO kv_db0 (key, value) VALUES ('n1', 'v')")
    run("UPDATE kv_db0 SET value = 'w' WHERE key = 'n1'")
    c.call("PUBLISH", "end", "x")
    got = until_end(sub)
    ok("an INSERT is new + set, an UPDATE set", got == [pm("__keyevent@0__:new", b"n1"), pm("__keyevent@0__:set", b"n1"),
                                                     pm("__keyevent@0__:set", b"n1")], got)
    c.call("CONFIG", "SET", "notify-keyspace-events", "")
    run("DELETE FROM kv_db0; DELETE FROM sessions; DELETE FROM s.t; DELETE FROM prof; DELETE FROM zt")


def expired(port, *psql):
    import redis
    run = psql_runner(psql)
    r = redis.Redis(port=int(port), username="admin", password="secret")
    r.config_set("notify-keyspace-events", "Ex")
    p = r.pubsub()
    p.psubscribe("__keyevent@*__:expired")
    first = p.get_message(timeout=10)
    ok("redis-py psubscribes to expired events", first is not None and first["type"] == "psubscribe", first)
    run("INSERT INTO kv_db0 VALUES ('gone', 'string', 'v', kv_ttl(-1))")
    r.set("stays", "v", ex=1000)
    run("ALTER SYSTEM SET nodedb_kv.ttl_enabled = on")
    run("SELECT pg_reload_conf()")
    msg = None
    deadline = time.time() + 60
    while msg is None and time.time() < deadline:
        msg = p.get_message(timeout=1)
    ok("the expiry worker's delete is __keyevent@0__:expired with the key, as Redis sends it",
       msg is not None and msg["channel"] == b"__keyevent@0__:expired" and msg["data"] == b"gone", msg)
    run("ALTER SYSTEM RESET nodedb_kv.ttl_enabled")
    run("SELECT pg_reload_conf()")
    r.config_set("notify-keyspace-events", "")
    r.delete("stays")


def reload_and_wait(run, port, check, timeout=30):
    run("SELECT pg_reload_conf()")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def role(port, *psql):
    run = psql_runner(psql)
    nope = b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
    d = Raw(port)
    ok("a collection's keyspace channel needs SELECT on it", d.call("SUBSCRIBE", "__keyspace@s.t__:5") == nope)
    ok("... its keyevent channel too", d.call("SUBSCRIBE", "__keyevent@s.t__:set") == nope)
    got = d.call("SUBSCRIBE", "__keyevent@sessions__:set", "__keyevent@0__:del")
    ok("... granted: subscribed", got.startswith(b"*3\r\n$9\r\nsubscribe"), got)
    p = Raw(port)
    for pattern in ("__key*", "__keyspace@s.t__:*", "__keyevent@s.*", "__keyspace@?.t__:5", "_[_]keyevent@s.t__:*"):
        got = p.call("PSUBSCRIBE", pattern)
        ok("a pattern that may match an unreadable collection's keyspace channels is NOPERM: " + pattern,
           got == nope, got)
    got = p.call("PSUBSCRIBE", "__keyevent@sessions__:*")
    ok("... one that matches only readable collections' channels is not",
       got == b"*3\r\n$10\r\npsubscribe\r\n$23\r\n__keyevent@sessions__:*\r\n:1\r\n", got)
    run("CREATE ROLE pubsubers")
    run("ALTER SYSTEM SET nodedb_kv.pubsub_role = 'pubsubers'")
    nope = b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
    c = Raw(port)
    applied = reload_and_wait(run, port, lambda: c.call("PUBLISH", "plain", "m") == nope)
    ok("with nodedb_kv.pubsub_role set, a non-member's PUBLISH is NOPERM", applied)
    ok("... SUBSCRIBE to a plain channel is NOPERM", c.call("SUBSCRIBE", "plain") == nope)
    ok("... PSUBSCRIBE of any pattern is NOPERM", c.call("PSUBSCRIBE", "x*") == nope)
    got = c.call("SUBSCRIBE", "sessions")
    ok("... a collection's change channel still only needs SELECT", got.startswith(b"*3\r\n$9\r\nsubscribe"), got)
    c.call("UNSUBSCRIBE")
    r = run("SET ROLE app; SELECT kv_publish('plain', 'm')")
    ok("kv_publish by a non-member is 42501", "permission denied to publish to channel \"plain\"" in r.stderr,
       r.stderr)
    run("GRANT pubsubers TO app")  # membership is checked at each command: no reload needed
    sub = Raw(port)
    got = sub.call("SUBSCRIBE", "plain")
    ok("a member may SUBSCRIBE", got == b"*3\r\n$9\r\nsubscribe\r\n$5\r\nplain\r\n:1\r\n", got)
    ok("a member may PUBLISH", c.call("PUBLISH", "plain", "m") == b":1\r\n")
    sub.sock.settimeout(30)
    ok("and the message arrives", sub.read_reply() == Raw.encode(["message", "plain", "m"]))
    r = run("SET ROLE app; SELECT kv_publish('plain', 'sql')")
    ok("kv_publish by a member", r.stdout.strip() == "1", r.stderr)
    run("REVOKE pubsubers FROM app")
    run("ALTER SYSTEM RESET nodedb_kv.pubsub_role")
    ok("the role unset: PUBLISH open again",
       reload_and_wait(run, port, lambda: c.call("PUBLISH", "plain", "m") == b":1\r\n"))
    run("DROP ROLE pubsubers")


def stats(run):
    r = run("SELECT clients_dropped FROM kv_pubsub_stats")
    return int(r.stdout.strip())


def soft(port, *psql):
    run = psql_runner(psql)
    before = stats(run)
    slow_sub, pub = Raw(port), Raw(port)
    slow_sub.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow_sub.call("SUBSCRIBE", "soft")
    payload = "z" * 60000
    for _ in range(200):  # 12 MB: past the 1 MB soft limit of this test, below its 64 MB hard limit
        pub.call("PUBLISH", "soft", payload)
    ok("past the soft limit for less than its seconds: still subscribed",
       pub.call("PUBSUB", "NUMSUB", "soft") == b"*2\r\n$4\r\nsoft\r\n:1\r\n" and stats(run) == before)
    # 120 s later (the test clock): the next delivery drops it.
    run("ALTER SYSTEM SET nodedb_kv.test_clock_offset = 120")
    run("SELECT pg_reload_conf()")
    deadline = time.time() + 30
    while time.time() < deadline and stats(run) == before:
        pub.call("PUBLISH", "soft", "tick")
        time.sleep(0.1)
    ok("past the soft limit for longer than nodedb_kv.pubsub_client_buffer_soft_seconds: dropped, counted in"
       " kv_pubsub_stats", stats(run) == before + 1)
    ok("the dropped subscriber's connection is closed", drained_then_closed(slow_sub))
    run("ALTER SYSTEM RESET nodedb_kv.test_clock_offset")
    run("SELECT pg_reload_conf()")


def drained_then_closed(conn):
    conn.sock.settimeout(10)
    try:
        while conn.sock.recv(1 << 20):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


if __name__ == "__main__":
    mode = sys.argv[1]
    try:
        {"compare": compare, "sql": sql, "expired": expired, "role": role, "soft": soft}[mode](*sys.argv[2:])
    except Exception as e:  # a crash of the script is a failure, with its reason
        import traceback
        traceback.print_exc()
        print(f"not ok {mode} raised {e!r}")
