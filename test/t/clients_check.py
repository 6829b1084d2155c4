#!/usr/bin/python3
"""The shared client registry and the cross-worker parts of client-side caching, driven by
test/t/062_resp_clients.pl on real sockets.

  clients_check.py compare <our_port> <redis_port>     CLIENT LIST / INFO / KILL replies and errors and the
                                                        tracking-redir-broken push against redis-server
  clients_check.py workers <our_port> <workers>        CLIENT LIST / KILL across workers; REDIRECT checked
                                                        and delivered across workers; BCAST over every
                                                        collection; NOLOOP; the tracking-table share
  clients_check.py zsets <our_port> <workers> <psql...>  Z-command reads are tracked (any change of the
                                                        index's table invalidates the zset name)
  clients_check.py privileges <our_port> <workers>     CLIENT LIST / KILL follow pg_read_all_stats /
                                                        pg_signal_backend

Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp_check import Raw, ok  # noqa: E402
from tracking_check import expect_push, on_worker, push  # noqa: E402

# Redis 7.0's CLIENT LIST fields, in order (7.2 appends lib-name and lib-ver, as we do).
REDIS_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub", "multi",
                "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem", "events",
                "cmd", "user", "redir", "resp"]


def verbatim_text(reply):
    """The text of a CLIENT LIST / INFO reply (RESP2 bulk or RESP3 verbatim)."""
    header, _, rest = reply.partition(b"\r\n")
    body = rest[:-2]
    if header.startswith(b"="):
        body = body[4:]
    return body.decode()


def parse_lines(text):
    clients = []
    for line in text.split("\n"):
        if not line:
            continue
        fields = [kv.split("=", 1) for kv in line.split(" ")]
        clients.append(dict(fields) | {"_order": [k for k, _ in fields]})
    return clients


def client_id(c):
    return int(c.call("CLIENT", "ID")[1:-2])


def closed(c, timeout=10):
    """Whether the server closed the connection (within timeout)."""
    c.sock.settimeout(timeout)
    try:
        while True:
            data = c.sock.recv(65536)
            if not data:
                return True
    except Exception:  # noqa: BLE001  a timeout: still open
        return False
    finally:
        c.sock.settimeout(30)


def errors_transcript(port):
    """Replies whose bytes do not depend on ids or addresses."""
    c = Raw(port)
    out = []
    for args in (["LIST", "TYPE", "foo"], ["LIST", "ID", "x"], ["LIST", "foo"], ["LIST", "ID"], ["LIST", "TYPE"],
                 ["LIST", "ID", "999999"], ["LIST", "TYPE", "master"], ["LIST", "TYPE", "replica"],
                 ["KILL"], ["KILL", "TYPE", "foo"], ["KILL", "ID", "0"], ["KILL", "ID", "x"], ["KILL", "ID", "-3"],
                 ["KILL", "SKIPME", "maybe"], ["KILL", "ID"], ["KILL", "1.2.3.4:5"], ["KILL", "ADDR", "1.2.3.4:5"],
                 ["KILL", "LADDR", "1.2.3.4:5"], ["KILL", "ID", "1", "TYPE"], ["KILL", "USER", "nosuchrole"],
                 ["KILL", "NOSUCH", "x"], ["KILL", "TYPE", "master"], ["KILL", "ID", "999999"], ["INFO", "x"]):
        out.append(c.call("CLIENT", *args))
    c.sock.close()
    return out


def redir_broken_transcript(port):
    """A RESP3 tracking client whose REDIRECT target disconnects (ids replaced by ID)."""
    a, b, w = Raw(port), Raw(port), Raw(port)
    a.call("HELLO", "3")
    bid = client_id(b)
    out = [a.call("CLIENT", "TRACKING", "on", "redirect", str(bid))]
    w.call("DEL", "rb1")
    b.call("QUIT")
    b.sock.close()
    time.sleep(0.3)
    out.append(a.call("GET", "rb1"))
    out.append(w.call("SET", "rb1", "x"))
    out.append(a.read_reply())
    out.append(a.call("CLIENT", "TRACKINGINFO"))
    out.append(a.call("CLIENT", "GETREDIR"))
    flags = parse_lines(verbatim_text(a.call("CLIENT", "INFO")))[0]["flags"]
    out.append(flags.encode())
    out.append(a.call("GET", "rb1"))
    out.append(w.call("SET", "rb1", "y"))
    out.append(a.read_reply())
    out.append(a.call("CLIENT", "TRACKING", "on"))
    out.append(a.call("CLIENT", "TRACKINGINFO"))
    for c in (a, w):
        c.sock.close()
    return [x.replace(b":%d\r\n" % bid, b":ID\r\n") for x in out]


def compare(our_port, redis_port):
    our_port, redis_port = int(our_port), int(redis_port)
    ours, theirs = errors_transcript(our_port), errors_transcript(redis_port)
    for i, (x, y) in enumerate(zip(ours, theirs)):
        ok(f"CLIENT reply {i} equals Redis 7: {y[:60]!r}", x == y, f"ours {x!r}, redis {y!r}")
    ours, theirs = redir_broken_transcript(our_port), redir_broken_transcript(redis_port)
    for i, (x, y) in enumerate(zip(ours, theirs)):
        ok(f"broken redirect step {i} equals Redis 7: {y[:60]!r}", x == y, f"ours {x!r}, redis {y!r}")
    # The CLIENT LIST / INFO line: Redis 7.0's fields in its order (then lib-name, lib-ver as 7.2), and the
    # values that do not depend on the server.
    lines = {}
    for name, port in (("ours", our_port), ("redis", redis_port)):
        c = Raw(port)
        c.call("HELLO", "3")
        c.call("CLIENT", "SETNAME", "lister")
        c.call("CLIENT", "TRACKING", "on")
        info = parse_lines(verbatim_text(c.call("CLIENT", "INFO")))[0]
        listed = [x for x in parse_lines(verbatim_text(c.call("CLIENT", "LIST"))) if x["name"] == "lister"]
        lines[name] = (info, listed, c.sock.getsockname(), c.sock.getpeername())
        c.sock.close()
    info, listed, local, peer = lines["ours"]
    rinfo = lines["redis"][0]
    ok("CLIENT INFO has Redis 7.0's fields in order, then lib-name and lib-ver",
       info["_order"] == REDIS_FIELDS + ["lib-name", "lib-ver"], info["_order"])
    same = ["name", "age", "idle", "flags", "db", "sub", "psub", "ssub", "multi", "events", "cmd", "redir",
            "resp"]
    ok("CLIENT INFO values equal Redis's", all(info[k] == rinfo[k] for k in same),
       {k: (info[k], rinfo[k]) for k in same if info[k] != rinfo[k]})
    ok("addr and laddr are the connection's ends",
       info["addr"] == f"{local[0]}:{local[1]}" and info["laddr"] == f"{peer[0]}:{peer[1]}", info)
    ok("CLIENT LIST lists the client once, as CLIENT INFO does",
       len(listed) == 1 and all(listed[0][k] == info[k] for k in ("id", "addr", "laddr", "name", "flags")), listed)


def workers(port, nworkers):
    port, nworkers = int(port), int(nworkers)
    a = on_worker(port, 0, nworkers, hello3=True)
    b = on_worker(port, nworkers - 1, nworkers)
    a.call("CLIENT", "SETNAME", "alpha")
    b.call("CLIENT", "SETNAME", "beta")
    b.call("SUBSCRIBE", "chan1")
    time.sleep(0.3)  # b's worker publishes its clients after each of its turns
    listed = {int(x["id"]): x for x in parse_lines(verbatim_text(a.call("CLIENT", "LIST")))}
    ok("CLIENT LIST shows the clients of every worker", a.id in listed and b.id in listed, sorted(listed))
    ok("CLIENT LIST lists clients in id order", list(listed) == sorted(listed), list(listed))
    if b.id in listed:
        x = listed[b.id]
        ok("another worker's client: name, flags, sub, cmd, resp",
           (x["name"], x["flags"], x["sub"], x["cmd"], x["resp"]) == ("beta", "P", "1", "subscribe", "2"), x)
        ok("another worker's client: laddr is the RESP port", x["laddr"].endswith(f":{port}"), x)
    mine = listed.get(a.id, {})
    ok("the caller's own line: cmd=client|list, idle=0, resp=3",
       (mine.get("cmd"), mine.get("idle"), mine.get("resp"), mine.get("name")) == ("client|list", "0", "3", "alpha"),
       mine)
    only_b = parse_lines(verbatim_text(a.call("CLIENT", "LIST", "ID", str(b.id), "999999", str(b.id))))
    ok("CLIENT LIST ID: the clients asked for, in that order, another worker's too",
       [int(x["id"]) for x in only_b] == [b.id, b.id], only_b)
    pubsub = [int(x["id"]) for x in parse_lines(verbatim_text(a.call("CLIENT", "LIST", "TYPE", "pubsub")))]
    normal = [int(x["id"]) for x in parse_lines(verbatim_text(a.call("CLIENT", "LIST", "TYPE", "normal")))]
    ok("CLIENT LIST TYPE pubsub / normal split subscribers from the others",
       b.id in pubsub and a.id not in pubsub and a.id in normal and b.id not in normal, (pubsub, normal))

    # redir=: -1 without tracking, 0 tracking without REDIRECT, the target's id with one.
    t = on_worker(port, 0, nworkers)
    r = on_worker(port, nworkers - 1, nworkers, hello3=True)  # RESP3 target on a worker with no subscriber
    ok("redir=-1 without tracking", parse_lines(verbatim_text(t.call("CLIENT", "INFO")))[0]["redir"] == "-1")
    t.call("CLIENT", "TRACKING", "on")
    ok("redir=0 when tracking without REDIRECT", parse_lines(verbatim_text(t.call("CLIENT", "INFO")))[0]["redir"] == "0")
    t.call("CLIENT", "TRACKING", "off")
    # REDIRECT is checked against every worker's clients.
    ghost = r.id + nworkers * 5000
    got = t.call("CLIENT", "TRACKING", "on", "redirect", str(ghost))
    ok("REDIRECT to an id no worker has is refused as Redis does",
       got == b"-ERR The client ID you want redirect to does not exist\r\n", got)
    # b's worker has subscribers: close b so r's worker has none (r is a RESP3 client that subscribes
    # to nothing), then REDIRECT to r.
    b.sock.close()
    time.sleep(0.3)
    got = t.call("CLIENT", "TRACKING", "on", "redirect", str(r.id))
    ok("REDIRECT to a client of another worker is accepted", got == b"+OK\r\n", got)
    ok("redir= shows the redirect target", parse_lines(verbatim_text(t.call("CLIENT", "INFO")))[0]["redir"] == str(r.id))
    w = on_worker(port, 0, nworkers)
    t.call("GET", "x3")
    w.call("SET", "x3", "v")
    expect_push(r, push("x3"), "a RESP3 redirect target on a worker without subscribers gets the invalidation")
    # The target goes away: the tracking client (RESP2 here) is flagged R; a RESP3 one gets the push.
    r.sock.close()
    time.sleep(0.5)
    t.call("GET", "x3")
    w.call("SET", "x3", "v2")
    time.sleep(0.5)
    flags = parse_lines(verbatim_text(t.call("CLIENT", "INFO")))[0]["flags"]
    ok("a broken redirect to another worker's client shows flag R", flags == "tR", flags)
    t3 = on_worker(port, 0, nworkers, hello3=True)
    r2 = on_worker(port, nworkers - 1, nworkers)
    t3.call("CLIENT", "TRACKING", "on", "redirect", str(r2.id))
    r2.sock.close()
    time.sleep(0.5)
    t3.call("GET", "x4")
    w.call("SET", "x4", "v")
    expect_push(t3, b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % r2.id,
                "a RESP3 client whose redirect target on another worker left gets tracking-redir-broken")

    # CLIENT KILL across workers: the target's own worker closes it.
    v1 = on_worker(port, nworkers - 1, nworkers)
    v2 = on_worker(port, nworkers - 1, nworkers)
    v3 = on_worker(port, nworkers - 1, nworkers)
    v3.call("SUBSCRIBE", "chan2")
    time.sleep(0.3)
    got = a.call("CLIENT", "KILL", "ID", str(v1.id))
    ok("CLIENT KILL ID of another worker's client answers 1", got == b":1\r\n", got)
    ok("... and that client is disconnected", closed(v1))
    addr = "%s:%d" % v2.sock.getsockname()
    got = a.call("CLIENT", "KILL", addr)
    ok("CLIENT KILL addr (old form) of another worker's client answers +OK", got == b"+OK\r\n", got)
    ok("... and that client is disconnected", closed(v2))
    got = a.call("CLIENT", "KILL", "TYPE", "pubsub", "SKIPME", "yes")
    ok("CLIENT KILL TYPE pubsub counts the subscribers of every worker", got == b":1\r\n", got)
    ok("... and they are disconnected", closed(v3))
    time.sleep(0.3)
    left = [int(x["id"]) for x in parse_lines(verbatim_text(a.call("CLIENT", "LIST")))]
    ok("killed clients leave CLIENT LIST", not {v1.id, v2.id, v3.id} & set(left), left)
    got = a.call("CLIENT", "KILL", "ID", str(a.id), "SKIPME", "yes")
    ok("SKIPME yes (the default) spares the caller", got == b":0\r\n", got)
    k = on_worker(port, 0, nworkers)
    got = k.call("CLIENT", "KILL", "ID", str(k.id), "SKIPME", "no")
    ok("SKIPME no: a client may kill itself; the reply comes first", got == b":1\r\n", got)
    ok("... then it is disconnected", closed(k))

    # BCAST hears every collection (Redis: every database), not only the client's current one.
    bc = on_worker(port, 0, nworkers, hello3=True)
    bc.call("CLIENT", "TRACKING", "on", "bcast", "prefix", "bx:")
    w.call("SELECT", "1")
    w.call("SET", "bx:1", "v")
    expect_push(bc, push("bx:1"), "BCAST hears a key written in another collection (SELECT 1)")
    w.call("SELECT", "0")

    # NOLOOP: a pipelined SET then GET of one key keeps it tracked (the GET re-read it after the write),
    # so another writer's change still reaches the client; its own write does not.
    n = on_worker(port, 0, nworkers, hello3=True)
    n.call("CLIENT", "TRACKING", "on", "noloop")
    n.send_raw(Raw.encode(["SET", "nl1", "mine"]) + Raw.encode(["GET", "nl1"]))
    first, second = n.read_reply(), n.read_reply()
    ok("NOLOOP: the pipelined SET and GET answer", (first, second) == (b"+OK\r\n", b"$4\r\nmine\r\n"),
       (first, second))
    w.call("SET", "nl1", "theirs")
    expect_push(n, push("nl1"), "NOLOOP: another writer's change after a pipelined SET+GET is invalidated")
    n.call("GET", "nl2")
    n.call("SET", "nl2", "own")
    got = n.call("PING")
    ok("NOLOOP: the client's own write sends it nothing", got == b"+PONG\r\n", got)
    for c in (a, t, w, t3, bc, n):
        c.sock.close()


def zsets(port, nworkers, *psql):
    """Reads of a kv_sorted index (Z-commands) are tracked: any change of its table invalidates its name.
    Z-commands name kv_sorted indexes while a named collection is selected (in kv_db<n> they name zset keys)."""
    from tracking_check import psql_runner
    port, nworkers = int(port), int(nworkers)
    run = psql_runner(psql)
    z = on_worker(port, 0, nworkers, hello3=True)
    w = on_worker(port, nworkers - 1, nworkers)
    for c in (z, w):
        c.call("SELECT", "scores")
    z.call("CLIENT", "TRACKING", "on")
    got = z.call("ZSCORE", "lb", "alice")
    ok("ZSCORE reads the index", got == b",1\r\n", got)
    w.call("ZADD", "lb", "5", "bob")
    expect_push(z, push("lb"), "a ZADD of another member (another worker) invalidates the tracked zset")
    z.call("ZRANGE", "lb", "0", "-1", "WITHSCORES")
    run("UPDATE scores SET score = 7 WHERE key = 'alice'")
    expect_push(z, push("lb"), "a SQL UPDATE of the table invalidates the tracked zset")
    z.call("ZCARD", "public.lb")
    run("DELETE FROM scores WHERE key = 'bob'")
    expect_push(z, push("public.lb"), "a schema-qualified zset name is invalidated under that name")
    z.call("ZUNION", "2", "lb", "nosuch")
    run("INSERT INTO scores VALUES ('carol', 2)")
    expect_push(z, push("lb"), "ZUNION's numkeys keys are tracked")
    z.call("ZCARD", "lb")
    run("TRUNCATE scores")
    # Two pushes, in either order: the null invalidation (TRUNCATE of the collection the client tracks
    # in, as FLUSHDB) and the zset's name.
    z.sock.settimeout(20)
    got = []
    try:
        got = sorted([z.read_reply(), z.read_reply()])
    except Exception as e:  # noqa: BLE001
        got.append(repr(e).encode())
    z.sock.settimeout(30)
    want = sorted([b">2\r\n$10\r\ninvalidate\r\n_\r\n", push("lb")])
    ok("TRUNCATE of the table invalidates the tracked zset (and, as FLUSHDB, the selected collection)",
       got == want, f"got {got!r}, want {want!r}")
    got = z.call("PING")
    ok("nothing else was pushed", got == b"+PONG\r\n", got)
    z.sock.close()
    w.sock.close()


def share(port, nworkers, max_keys):
    """Every worker keeps at most max_keys / workers tracked keys (their sum stays within the setting)."""
    port, nworkers, max_keys = int(port), int(nworkers), int(max_keys)
    a = on_worker(port, 0, nworkers, hello3=True)
    a.call("CLIENT", "TRACKING", "on")
    per_worker = max_keys // nworkers
    n = per_worker + 3
    a.send_raw(b"".join(Raw.encode(["GET", f"sh{i}"]) for i in range(n)))
    a.sock.settimeout(10)
    got, replies = [], 0
    try:
        while replies < n or len(got) < 3:
            r = a.read_reply()
            if r.startswith(b">"):
                got.append(r)
            else:
                replies += 1
    except Exception as e:  # noqa: BLE001
        got.append(repr(e).encode())
    ok(f"past its share ({per_worker} of {max_keys} keys) a worker evicts its oldest keys",
       got == [push(f"sh{i}") for i in range(3)], got)
    a.sock.close()


def privileges(port, nworkers):
    port, nworkers = int(port), int(nworkers)

    def login(user, worker):
        c = on_worker(port, worker, nworkers)
        got = c.call("AUTH", user, "secret")
        if got != b"+OK\r\n":
            raise RuntimeError(f"AUTH {user}: {got!r}")
        return c

    u1 = login("app1", 0)
    u1b = login("app1", nworkers - 1)
    u2 = login("app2", nworkers - 1)
    mon = login("mon", 0)
    sig = login("sig", 0)
    boss = login("boss", nworkers - 1)
    time.sleep(0.3)
    seen = {x["user"] for x in parse_lines(verbatim_text(u1.call("CLIENT", "LIST")))}
    ok("a role sees only its own clients in CLIENT LIST", seen == {"app1"}, seen)
    ids = {int(x["id"]) for x in parse_lines(verbatim_text(u1.call("CLIENT", "LIST")))}
    ok("... of every worker", {u1.id, u1b.id} <= ids, ids)
    seen = {x["user"] for x in parse_lines(verbatim_text(mon.call("CLIENT", "LIST")))}
    ok("a member of pg_read_all_stats sees every role's clients", {"app1", "app2", "mon", "sig", "boss"} <= seen, seen)
    got = u1.call("CLIENT", "LIST", "ID", str(u2.id))
    ok("CLIENT LIST ID of another role's client shows nothing", verbatim_text(got) == "", got)
    got = u1.call("CLIENT", "KILL", "ID", str(u2.id))
    ok("a role cannot kill another role's client (0 killed)", got == b":0\r\n", got)
    got = u1.call("CLIENT", "KILL", "%s:%d" % u2.sock.getsockname())
    ok("... the old form answers NOPERM", got.startswith(b"-NOPERM"), got)
    ok("... and the client is still there", u2.call("PING") == b"+PONG\r\n")
    got = u1.call("CLIENT", "KILL", "USER", "app1")
    ok("a role kills its own clients on another worker (SKIPME spares the caller)", got == b":1\r\n", got)
    ok("... which are disconnected", closed(u1b))
    got = sig.call("CLIENT", "KILL", "ID", str(boss.id))
    ok("a pg_signal_backend member cannot kill a superuser's client", got == b":0\r\n", got)
    got = sig.call("CLIENT", "KILL", "ID", str(u2.id))
    ok("a pg_signal_backend member kills another role's client", got == b":1\r\n", got)
    ok("... which is disconnected", closed(u2))
    got = boss.call("CLIENT", "KILL", "ID", str(mon.id))
    ok("a superuser kills anyone's client", got == b":1\r\n", got)
    ok("... which is disconnected", closed(mon))
    for c in (u1, sig, boss):
        c.sock.close()


if __name__ == "__main__":
    try:
        {"compare": compare, "workers": workers, "share": share, "privileges": privileges,
         "zsets": zsets}[sys.argv[1]](*sys.argv[2:])
    except Exception as e:  # noqa: BLE001  a check that stops half-way is a failure, not a shorter list
        ok(f"{sys.argv[1]} checks ran to the end", False, repr(e))
        raise
