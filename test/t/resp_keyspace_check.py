#!/usr/bin/python3
"""RANDOMKEY and INFO keyspace (src/kv/kv_scan.cpp), run by 034_resp_keyspace.pl.
1. Replies equal a real redis-server's where they are deterministic: an empty keyspace (RESP2 and
   RESP3), one key, INFO keyspace of keys without expiry, keys and expires of keys with one.
2. RANDOMKEY: only live keys; spread over a collection of more than 64 pages (the random-page path);
   the one key left in a sparse collection of hundreds of pages (bytea and text keys: the primary-key
   fallback); never an expired key (test clock); NOPERM without SELECT.
3. INFO keyspace: exact figures for small collections, estimates within 10% for a large one, only the
   collections the role may read, a sparse collection still listed.
4. Neither command runs a sequential scan of the collection (pg_stat_user_tables.seq_scan, with DBSIZE,
   which scans, as the control).
Prints "ok"/"not ok" lines.
  resp_keyspace_check.py <our_port> <redis_port> <psql...>
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402


def pipeline(conn, commands):
    conn.send_raw(b"".join(Raw.encode(cmd) for cmd in commands))
    return [conn.read_reply() for _ in commands]


def bulk(reply):
    """The payload of a bulk reply (None for a null)."""
    if reply in (b"$-1\r\n", b"_\r\n"):
        return None
    head, rest = reply.split(b"\r\n", 1)
    assert head[:1] in (b"$", b"="), reply
    return rest[: int(head[1:])]


def keyspace_lines(reply):
    text = bulk(reply).decode()
    return {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)))
            for m in re.finditer(r"^([^:\r\n]+):keys=(\d+),expires=(\d+),avg_ttl=(\d+)\r$", text, re.M)}


def main(our_port, redis_port, psql):
    def sql(text):
        return subprocess.run(psql + ["-At", "-c", text], check=True, capture_output=True, text=True).stdout.strip()

    ours, theirs = Raw(our_port), Raw(redis_port)

    # 1. Against redis-server.  kv_db4 (not readable by app) holds a key: it is not listed.
    script = [["FLUSHALL"], ["RANDOMKEY"], ["INFO", "keyspace"], ["SET", "a", "1"], ["RANDOMKEY"],
              ["INFO", "keyspace"], ["SET", "b", "2"], ["SET", "c", "3"], ["SELECT", "2"], ["SET", "x", "y"],
              ["INFO", "keyspace"], ["DEL", "x"], ["RANDOMKEY"], ["SELECT", "0"], ["DEL", "a", "b", "c"],
              ["RANDOMKEY"], ["INFO", "keyspace"], ["RANDOMKEY", "extra"]]
    a, b = pipeline(ours, script), pipeline(theirs, script)
    ok("RANDOMKEY and INFO keyspace in one turn: replies as redis-server's", a == b, "ours %r\nredis %r" % (a, b))
    for conn in (ours, theirs):
        conn.call("HELLO", "3")
    a, b = ours.call("RANDOMKEY"), theirs.call("RANDOMKEY")
    ok("RANDOMKEY of an empty keyspace in RESP3: as redis-server's", a == b == b"_\r\n", "ours %r redis %r" % (a, b))
    for conn in (ours, theirs):
        conn.call("HELLO", "2")
    script = [["SELECT", "3"], ["SET", "t1", "v", "EX", "100"], ["SET", "t2", "v", "EX", "200"], ["SET", "p", "v"],
              ["INFO", "keyspace"]]
    a, b = pipeline(ours, script), pipeline(theirs, script)
    mine, redis = keyspace_lines(a[-1]), keyspace_lines(b[-1])
    ok("INFO keyspace of keys with an expiry: keys and expires as redis-server's",
       list(mine) == ["db3"] and mine["db3"][:2] == redis["db3"][:2] == (3, 2), "ours %r redis %r" % (a, b))
    ok("avg_ttl is the average remaining time to live in ms", 140000 < mine["db3"][2] <= 150000, repr(mine))
    ok("one key: RANDOMKEY returns it as redis-server does", ours.call("SELECT", "2") == theirs.call("SELECT", "2") and
       ours.call("SET", "only", "1") == theirs.call("SET", "only", "1") and
       ours.call("RANDOMKEY") == theirs.call("RANDOMKEY") == b"$4\r\nonly\r\n")
    ours.call("DEL", "only")

    # 2. A collection of more than 64 pages: random pages; every reply is a live key, spread over the keys.
    sql("INSERT INTO kv_db1 (key, value, expires) SELECT convert_to('k' || i, 'UTF8'), convert_to(repeat('x', 200), "
        "'UTF8'), CASE WHEN i % 2 = 0 THEN now() + interval '1000 s' END FROM generate_series(1, 3000) i")
    pages = int(sql("SELECT pg_relation_size('kv_db1') / 8192"))
    ok("kv_db1 spans more than 64 pages", pages > 64, str(pages))
    ours.call("SELECT", "1")
    got = [bulk(r) for r in pipeline(ours, [["RANDOMKEY"]] * 300)]
    keys = {b"k%d" % i for i in range(1, 3001)}
    ok("RANDOMKEY on a large collection returns its keys", all(k in keys for k in got), repr(got[:10]))
    ok("... spread over the collection (at least 150 distinct keys in 300 draws)", len(set(got)) >= 150,
       str(len(set(got))))
    pages_seen = {int(k[1:]) * 250 // 8192 for k in got}
    ok("... from many pages", len(pages_seen) >= 30, str(len(pages_seen)))
    lines = keyspace_lines(ours.call("INFO", "keyspace"))
    keys1, expires1, avg1 = lines.get("db1", (0, 0, 0))
    ok("INFO keyspace estimates a large collection's keys within 10%", 2700 <= keys1 <= 3300, repr(lines))
    ok("... and its keys with an expiry", 1350 <= expires1 <= 1650, repr(lines))
    ok("... and their avg_ttl", 900000 < avg1 <= 1000000, repr(lines))
    ok("INFO keyspace lists the readable keyspaces in order, not kv_db4", list(lines) == ["db1", "db3"], repr(lines))

    # Sparse collections: hundreds of pages, one or two live keys (autovacuum is off).
    sql("INSERT INTO kv_db2 (key, value) SELECT convert_to('s' || i, 'UTF8'), convert_to(repeat('x', 200), 'UTF8') "
        "FROM generate_series(1, 20000) i")
    sql("DELETE FROM kv_db2 WHERE key <> 's12345'")
    ours.call("SELECT", "2")
    got = set(pipeline(ours, [["RANDOMKEY"]] * 20))
    ok("RANDOMKEY finds the one key of a sparse collection", got == {b"$6\r\ns12345\r\n"}, repr(got))
    lines = keyspace_lines(ours.call("INFO", "keyspace"))
    ok("INFO keyspace lists a sparse collection", lines.get("db2", (0,))[0] == 1, repr(lines))
    sql("INSERT INTO cache (key, value) SELECT 'c' || i, repeat('x', 200) FROM generate_series(1, 8000) i")
    sql("DELETE FROM cache WHERE key NOT IN ('c77', 'c7777')")
    ours.call("SELECT", "cache")
    got = set(pipeline(ours, [["RANDOMKEY"]] * 20))
    ok("RANDOMKEY on a sparse collection with text keys", got <= {b"$3\r\nc77\r\n", b"$5\r\nc7777\r\n"} and got,
       repr(got))
    ours.call("SET", "n1", "v")
    lines = keyspace_lines(ours.call("INFO", "keyspace"))
    ok("INFO keyspace shows the selected named collection under its name", "cache" in lines and
       list(lines)[:3] == ["db1", "db2", "db3"], repr(lines))

    # Privileges: reader may read kv_db0 only.
    ours.call("SELECT", "0")
    ours.call("SET", "r", "1")
    reader = Raw(our_port)
    reader.call("AUTH", "reader", "secret")
    ok("RANDOMKEY with SELECT", reader.call("RANDOMKEY") == b"$1\r\nr\r\n")
    reader.call("SELECT", "1")
    reply = reader.call("RANDOMKEY")
    ok("RANDOMKEY without SELECT: NOPERM", reply.startswith(b"-NOPERM"), repr(reply))
    lines = keyspace_lines(reader.call("INFO", "keyspace"))
    ok("INFO keyspace lists only the collections the role may read", list(lines) == ["db0"], repr(lines))

    # 4. No sequential scan: DBSIZE scans (the control), RANDOMKEY and INFO do not.
    def seq_scans():
        return int(sql("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'kv_db1'"))

    def wait_for(count):
        deadline = time.time() + 30
        while seq_scans() != count and time.time() < deadline:
            time.sleep(0.2)
        return seq_scans()

    def settled():
        # the worker's counts reach pg_stat within about a second of its last command: wait for calm
        prev, deadline = seq_scans(), time.time() + 30
        while time.time() < deadline:
            time.sleep(1.5)
            cur = seq_scans()
            if cur == prev:
                return cur
            prev = cur
        return prev

    ours.call("SELECT", "1")
    before = settled()
    ours.call("DBSIZE")
    ok("control: DBSIZE's sequential scan is counted", wait_for(before + 1) == before + 1)
    # A second scan right after the worker flushed the first (within PostgreSQL's 1 s flush interval),
    # then a write, then nothing: the worker must still flush the count on its own.  It once kept it
    # until a later transaction (PostgreSQL times the flush by the last commit record's timestamp,
    # which stands still while the worker is idle), i.e. forever on an idle connection.
    pipeline(ours, [["DBSIZE"], ["SET", "stats-probe", "v"]])
    ok("an idle worker's last counts reach pg_stat_user_tables", wait_for(before + 2) == before + 2,
       str(seq_scans() - before))
    pipeline(ours, [["RANDOMKEY"]] * 50 + [["INFO", "keyspace"]] * 5 + [["INFO"]])
    ours.call("DBSIZE")
    ok("RANDOMKEY and INFO keyspace run no sequential scan", wait_for(before + 3) == before + 3 and
       settled() == before + 3, str(seq_scans() - before))

    # Expired keys: never returned, not counted (the test clock moves past t1 and t2's expiry).
    sql("ALTER SYSTEM SET nodedb_kv.test_clock_offset = '300s'")
    sql("SELECT pg_reload_conf()")
    ours.call("SELECT", "3")
    deadline = time.time() + 30
    while ours.call("EXISTS", "t1") != b":0\r\n" and time.time() < deadline:
        time.sleep(0.05)
    got = set(pipeline(ours, [["RANDOMKEY"]] * 30))
    ok("RANDOMKEY never returns an expired key", got == {b"$1\r\np\r\n"}, repr(got))
    lines = keyspace_lines(ours.call("INFO", "keyspace"))
    ok("INFO keyspace counts no expired key", lines.get("db3") == (1, 0, 0), repr(lines))
    ours.call("DEL", "p")
    ok("RANDOMKEY of a keyspace whose keys all expired or went: nil", ours.call("RANDOMKEY") == b"$-1\r\n")
    sql("ALTER SYSTEM RESET nodedb_kv.test_clock_offset")
    sql("SELECT pg_reload_conf()")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
