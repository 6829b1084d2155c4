#!/usr/bin/python3
"""Checks of what a RESP loop turn keeps and never waits for, run by 033_resp_turns.pl.
1. The per-transaction collection cache (src/kv/kv_cache.cpp): each pipeline is sent in one write, so
   its commands run in one loop turn (one transaction) and share the kept collection state; replies are
   compared with a real redis-server's where Redis has the same commands, else with the expected bytes.
2. FLUSHALL: every kv_db<n> the role may truncate, replies as Redis's.
3. Would-block mode: a command that meets a lock held by a psql transaction is parked without the
   worker ever waiting on a lock (pg_locks shows no lock the worker waits for), and completes after.
   Also for table locks (LOCK TABLE, REINDEX) met by RANDOMKEY, DBSIZE, SCAN, KEYS and SELECT <n>;
   INFO keyspace answers at once, leaving out a keyspace it cannot lock.
Prints "ok"/"not ok" lines.
  resp_turns_check.py <our_port> <redis_port> <psql...>
"""
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402


def pipeline(port, commands, password=None):
    c = Raw(port)
    if password is not None:
        c.call("AUTH", password[0], password[1])
    c.send_raw(b"".join(Raw.encode(cmd) for cmd in commands))
    return [c.read_reply() for _ in commands]


def same_as_redis(name, our_port, redis_port, commands):
    ours = pipeline(our_port, commands)
    theirs = pipeline(redis_port, commands)
    ok(name, ours == theirs, "ours %r\nredis %r" % (ours, theirs))


def main(our_port, redis_port, psql):
    def sql(text):
        return subprocess.run(psql + ["-At", "-c", text], check=True, capture_output=True, text=True).stdout.strip()

    # Writes then FLUSHDB (TRUNCATE of a collection the turn holds open) then writes and reads again.
    same_as_redis("SET, GET, FLUSHDB, SET, GET in one turn", our_port, redis_port,
                  [["SET", "a", "1"], ["GET", "a"], ["INCR", "c"], ["FLUSHDB"], ["GET", "a"], ["SET", "b", "2"],
                   ["GET", "b"], ["INCR", "c"], ["DBSIZE"], ["FLUSHDB"], ["DBSIZE"]])
    # Reads and writes of one key in every order, new keys (defaults of the kept executor state), expiry.
    cmds = []
    for i in range(300):
        k = "k%d" % (i % 40)
        cmds += [["SET", k, "v%d" % i], ["GET", k], ["INCR", "n%d" % (i % 7)], ["APPEND", k, "x"],
                 ["EXISTS", k, "nope"], ["SET", "t%d" % i, "v", "EX", "100"], ["TTL", "t%d" % i]]
    cmds += [["MSET"] + [x for i in range(20) for x in ("m%d" % i, "w%d" % i)], ["MGET", "m0", "m19", "k3", "n1"],
             ["DEL", "k1", "k2", "m0"], ["DBSIZE"], ["FLUSHDB"]]
    same_as_redis("a 2,105-command turn of reads, writes, new keys and deletes", our_port, redis_port, cmds)

    # Two collections in one turn (SELECT switches the kept state), then what SQL sees.
    reply = pipeline(our_port, [["SET", "x", "db0"], ["SELECT", "cache"], ["SET", "x", "cache"], ["GET", "x"],
                                ["SELECT", "0"], ["GET", "x"], ["INCR", "i"], ["SELECT", "cache"], ["GET", "x"],
                                ["INCR", "i"], ["INCR", "i"], ["SELECT", "0"], ["GET", "i"]])
    ok("two collections in one turn", reply == [b"+OK\r\n", b"+OK\r\n", b"+OK\r\n", b"$5\r\ncache\r\n", b"+OK\r\n",
                                                 b"$3\r\ndb0\r\n", b":1\r\n", b"+OK\r\n", b"$5\r\ncache\r\n",
                                                 b":1\r\n", b":2\r\n", b"+OK\r\n", b"$1\r\n1\r\n"], repr(reply))
    ok("SQL sees both collections' rows",
       sql("SELECT string_agg(value, ',' ORDER BY key) FROM cache") == "2,cache" and
       sql("SELECT convert_from(value, 'UTF8') FROM kv_db0 WHERE key = 'x'") == "db0")

    # A collection with a trigger (its executor state is not kept): every write fires it.
    reply = pipeline(our_port, [["SELECT", "audited"]] + [["SET", "a%d" % (i % 3), str(i)] for i in range(30)] +
                     [["INCR", "a1"], ["GET", "a1"]])
    ok("writes to a collection with triggers", reply[-1] == b"$2\r\n29\r\n" and reply[-2] == b":29\r\n", repr(reply[-3:]))
    ok("its AFTER trigger fired once per write", sql("SELECT count(*) FROM audit") == "31", sql("SELECT count(*) FROM audit"))

    # DDL between turns: a new column with a default, a new index; the next turn sees both.
    pipeline(our_port, [["SELECT", "cache"], ["SET", "before", "1"]])
    sql("ALTER TABLE cache ADD COLUMN note text DEFAULT 'n'; CREATE INDEX ON cache (value)")
    reply = pipeline(our_port, [["SELECT", "cache"], ["HSET", "after", "value", "new"], ["HGET", "after", "note"],
                                ["HGET", "before", "note"]])
    ok("ALTER TABLE between turns is seen by the next one", reply[1:] == [b":1\r\n", b"$1\r\nn\r\n", b"$1\r\nn\r\n"],
       repr(reply))
    found = sql("SET enable_seqscan = off; SELECT key FROM cache WHERE value = 'new'")
    ok("the new index holds the new row", found == "after", found + sql("SELECT key, value, note FROM cache"))

    # Two roles in the same turns: each command is checked with its own role's privileges.
    results = {}

    def run(name, password, commands):
        results[name] = pipeline(our_port, commands, password)

    rounds = 50
    writer = threading.Thread(target=run, args=("app", ("app", "secret"), [["SET", "p", "v"], ["GET", "p"]] * rounds))
    reader = threading.Thread(target=run, args=("nobody", ("nobody", "secret"), [["GET", "p"], ["SET", "p", "x"]] * rounds))
    writer.start()
    reader.start()
    writer.join(60)
    reader.join(60)
    ok("the privileged client's commands succeed",
       results.get("app") == [b"+OK\r\n", b"$1\r\nv\r\n"] * rounds, repr(results.get("app", [])[:4]))
    ok("the unprivileged client's commands get NOPERM",
       len(results.get("nobody", [])) == 2 * rounds and all(r.startswith(b"-NOPERM") for r in results["nobody"]),
       repr(results.get("nobody", [])[:4]))

    # REVOKE and GRANT between a client's turns.
    c = Raw(our_port)
    c.call("AUTH", "app", "secret")
    c.call("SET", "r", "1")
    sql("REVOKE ALL ON kv_db0 FROM app")
    reply = c.call("GET", "r")
    ok("REVOKE between turns applies to the next turn", reply.startswith(b"-NOPERM"), reply)
    sql("GRANT ALL ON kv_db0 TO app")
    ok("GRANT between turns applies to the next turn", c.call("GET", "r") == b"$1\r\n1\r\n")


def flushall(our_port, redis_port, psql):
    def sql(text):
        return subprocess.run(psql + ["-At", "-c", text], check=True, capture_output=True, text=True).stdout.strip()

    same_as_redis("FLUSHALL empties every keyspace", our_port, redis_port,
                  [["SET", "a", "1"], ["SELECT", "1"], ["SET", "b", "2"], ["DBSIZE"], ["FLUSHALL"], ["DBSIZE"],
                   ["SELECT", "0"], ["DBSIZE"], ["SET", "c", "3"], ["FLUSHALL", "ASYNC"], ["DBSIZE"],
                   ["FLUSHALL", "sync"], ["FLUSHALL", "x"], ["FLUSHALL", "a", "b"]])
    ok("FLUSHALL leaves a keyspace the role may not TRUNCATE, and named collections",
       sql("SELECT (SELECT count(*) FROM kv_db2) || ',' || (SELECT count(*) > 0 FROM cache)") == "1,true",
       sql("SELECT (SELECT count(*) FROM kv_db2) || ',' || (SELECT count(*) FROM cache)"))


def would_block(our_port, psql):
    def sql(text):
        return subprocess.run(psql + ["-At", "-c", text], check=True, capture_output=True, text=True).stdout.strip()

    waits = ("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
             "WHERE NOT l.granted AND a.backend_type = 'nodedb_kv RESP worker'")
    c = Raw(our_port)
    c.call("AUTH", "app", "secret")
    c.call("SET", "wb", "1")
    cases = [("a row locked FOR UPDATE", "wb", "SELECT 1 FROM kv_db0 WHERE key = 'wb' FOR UPDATE", "COMMIT", b":2\r\n"),
             ("a row being updated", "wb", "UPDATE kv_db0 SET value = '10' WHERE key = 'wb'", "COMMIT", b":11\r\n"),
             ("a key being inserted", "wbnew", "INSERT INTO kv_db0 (key, value) VALUES ('wbnew', '5')", "COMMIT",
              b":6\r\n"),
             ("a key being inserted, then rolled back", "wbnew2",
              "INSERT INTO kv_db0 (key, value) VALUES ('wbnew2', '5')", "ROLLBACK", b":1\r\n")]
    for name, key, statement, end, expected in cases:
        holder = subprocess.Popen(psql, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        holder.stdin.write(("BEGIN;\n%s;\n\\echo held\n" % statement).encode())
        holder.stdin.flush()
        line = holder.stdout.readline()
        while line and b"held" not in line:
            line = holder.stdout.readline()
        waiter = Raw(our_port)
        waiter.call("AUTH", "app", "secret")
        waiter.send_raw(Raw.encode(["INCR", key]))
        samples = [sql(waits) for _ in range(15)]
        other = Raw(our_port).call("GET", "wb")
        waiter.sock.setblocking(False)
        try:
            early = waiter.sock.recv(100)
        except BlockingIOError:
            early = b""
        waiter.sock.setblocking(True)
        waiter.sock.settimeout(30)
        ok("%s: the INCR waits for it" % name, early == b"", early)
        ok("%s: the worker never waits on a lock meanwhile" % name, all(s == "0" for s in samples), samples)
        ok("%s: other clients are served" % name, other.startswith(b"$"), other)
        holder.stdin.write(("%s;\n" % end).encode())
        holder.stdin.close()
        holder.wait()
        reply = waiter.read_reply()
        ok("%s: the INCR completes after %s" % (name, end), reply == expected, reply)


def table_locks(our_port, psql):
    """Whole-collection commands (RANDOMKEY, DBSIZE, SCAN, SELECT <n>, INFO keyspace) and a table or
    primary key locked by a psql transaction: parked (or, INFO, answered without that keyspace), never
    a lock wait of the worker; answered once the lock is gone."""
    def sql(text):
        return subprocess.run(psql + ["-At", "-c", text], check=True, capture_output=True, text=True).stdout.strip()

    waits = ("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
             "WHERE NOT l.granted AND a.backend_type = 'nodedb_kv RESP worker'")
    setup = Raw(our_port)
    setup.call("AUTH", "app", "secret")
    setup.call("SET", "tl0", "v")
    setup.call("SELECT", "1")
    setup.call("FLUSHDB")
    setup.call("SET", "tl", "v")
    scan = b"*2\r\n$1\r\n0\r\n*1\r\n$2\r\ntl\r\n"
    # (holder's statement, commands parked while it holds its lock, commands answered at once)
    cases = [("LOCK TABLE kv_db1 IN ACCESS EXCLUSIVE MODE",
              [(["RANDOMKEY"], b"$2\r\ntl\r\n"), (["DBSIZE"], b":1\r\n"), (["SCAN", "0"], scan),
               (["KEYS", "*"], b"*1\r\n$2\r\ntl\r\n")],
              [(["DBSIZE"], b":1\r\n")]),
             ("REINDEX INDEX kv_db1_pkey",
              [(["SCAN", "0"], scan), (["KEYS", "*"], b"*1\r\n$2\r\ntl\r\n")],
              [(["RANDOMKEY"], b"$2\r\ntl\r\n"), (["DBSIZE"], b":1\r\n")])]
    for statement, parked_cmds, prompt_cmds in cases:
        conns = []
        for _ in parked_cmds:
            w = Raw(our_port)
            w.call("AUTH", "app", "secret")
            w.call("SELECT", "1")
            conns.append(w)
        other = Raw(our_port)
        other.call("AUTH", "app", "secret")
        holder = subprocess.Popen(psql, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        holder.stdin.write(("BEGIN;\n%s;\n\\echo held\n" % statement).encode())
        holder.stdin.flush()
        line = holder.stdout.readline()
        while line and b"held" not in line:
            line = holder.stdout.readline()
        parked = []
        for w, (cmd, expected) in zip(conns, parked_cmds):
            w.send_raw(Raw.encode(cmd))
            parked.append((w, cmd, expected))
        if statement.startswith("LOCK"):
            # SELECT 1 resolves kv_db1 itself: parked too (the client's later commands wait behind it).
            w = Raw(our_port)
            w.call("AUTH", "app", "secret")
            w.send_raw(Raw.encode(["SELECT", "1"]) + Raw.encode(["DBSIZE"]))
            parked.append((w, ["SELECT", "1", "+ DBSIZE"], b"+OK\r\n:1\r\n"))
        samples = [sql(waits) for _ in range(15)]
        served = other.call("GET", "tl0")
        other.sock.settimeout(5)
        try:
            info = other.call("INFO", "keyspace")
        except OSError as e:  # parked behind the lock (timeout): a failure, not a crash of this script
            info = repr(e).encode()
            other = Raw(our_port)
            other.call("AUTH", "app", "secret")
        other.sock.settimeout(30)
        prompt = []
        if statement.startswith("REINDEX"):
            other.call("SELECT", "1")
            prompt = [(cmd, other.call(*cmd), expected) for cmd, expected in prompt_cmds]
        early = []
        for w, cmd, _ in parked:
            w.sock.setblocking(False)
            try:
                early.append(w.sock.recv(100))
            except BlockingIOError:
                early.append(b"")
            w.sock.setblocking(True)
            w.sock.settimeout(30)
        ok("%s: %s wait for it" % (statement, ", ".join(" ".join(c) for _, c, _ in parked)),
           all(e == b"" for e in early), early)
        ok("%s: the worker never waits on a lock meanwhile" % statement, all(s == "0" for s in samples), samples)
        ok("%s: other clients are served" % statement, served == b"$1\r\nv\r\n", served)
        if statement.startswith("LOCK"):
            ok("%s: INFO keyspace answers at once, without the locked keyspace" % statement,
               b"db0:keys=" in info and b"db1:" not in info, info)
        else:
            ok("%s: INFO keyspace answers at once (its figures need no index here)" % statement,
               b"db0:keys=" in info and b"db1:keys=1," in info, info)
            ok("%s: RANDOMKEY and DBSIZE need no index: answered at once" % statement,
               all(got == expected for _, got, expected in prompt), prompt)
        holder.stdin.write(b"COMMIT;\n")
        holder.stdin.close()
        holder.wait()
        replies = []
        for w, cmd, expected in parked:
            got = w.read_reply()
            if cmd[-1] == "+ DBSIZE":
                got += w.read_reply()
            replies.append((cmd, got, expected))
        ok("%s: the parked commands complete after COMMIT" % statement,
           all(got == expected for _, got, expected in replies), replies)
    info = setup.call("INFO", "keyspace")
    ok("INFO keyspace lists the keyspace again once it is unlocked", b"db1:keys=1,expires=0" in info, info)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
    flushall(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
    would_block(int(sys.argv[1]), sys.argv[3:])
    table_locks(int(sys.argv[1]), sys.argv[3:])
