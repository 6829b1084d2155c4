#!/usr/bin/python3
"""RESP checks driven by the TAP tests (test/t/*_resp_*.pl) on real sockets.

  resp_check.py compare <our_port> <redis_port>   replies byte for byte against a real redis-server
  resp_check.py clients <our_port> <psql...>       redis-py: pipelines, binary data, concurrency, locks

Prints "ok <name>" / "not ok <name>: <details>" lines; the TAP test counts them.  Exit status 0.
"""
import socket
import subprocess
import sys
import threading
import time


def fail(name, detail):
    print(f"not ok {name}: {detail}")


def ok(name, cond=True, detail=""):
    if cond:
        print(f"ok {name}")
    else:
        fail(name, detail)


class Raw:
    """A raw RESP connection: sends commands as multibulk (or raw bytes) and reads whole replies."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    @staticmethod
    def encode(args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        return out

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_reply(self):
        """Returns the reply's raw bytes."""
        line = self._line()
        out = line + b"\r\n"
        t = line[:1]
        if t in (b"+", b"-", b":", b"_", b",", b"#"):
            return out
        if t in (b"$", b"="):
            n = int(line[1:])
            if n < 0:
                return out
            while len(self.buf) < n + 2:
                self._fill()
            out += self.buf[: n + 2]
            self.buf = self.buf[n + 2:]
            return out
        if t in (b"*", b"~", b">", b"%"):
            n = int(line[1:])
            if t == b"%":
                n *= 2
            for _ in range(max(n, 0)):
                out += self.read_reply()
            return out
        raise ValueError("bad reply line %r" % line)

    def call(self, *args):
        self.send_raw(self.encode(args))
        return self.read_reply()

    def closed(self):
        try:
            self.sock.settimeout(5)
            return self.sock.recv(1) == b""
        except OSError:
            return True


# Commands whose replies must equal Redis 7's byte for byte, in order, on a fresh keyspace.
SCRIPT = [
    ["SET", "a", "b"], ["GET", "a"], ["GET", "missing"], ["SET", "a", "c", "NX"], ["SET", "a", "d", "XX", "GET"],
    ["GET", "a"], ["SET", "a", "e", "NX", "GET"], ["SET", "n", "10"], ["INCR", "n"], ["INCRBY", "n", "5"],
    ["DECR", "n"], ["DECRBY", "n", "3"], ["INCR", "a"], ["INCRBY", "n", "x"], ["INCRBY", "n", "9223372036854775807"],
    ["DECRBY", "n", "-9223372036854775808"], ["INCR", "newcounter"], ["INCRBYFLOAT", "f", "10.5"],
    ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "abc"], ["INCRBYFLOAT", "a", "1"], ["INCRBYFLOAT", "g", "3e3"],
    ["MSET", "k1", "v1", "k2", "v2"], ["MGET", "k1", "k2", "k3"], ["MSET", "k1"], ["MSET", "k1", "v", "k2"],
    ["MSETNX", "k1", "x", "k9", "y"], ["MSETNX", "k8", "x", "k9", "y"], ["MGET", "k8", "k9"],
    ["EXISTS", "k1", "k2", "k3", "k1"], ["DEL", "k1", "k3"], ["UNLINK", "k8"], ["TYPE", "k2"], ["TYPE", "nope"],
    ["EXPIRE", "k2", "100"], ["TTL", "k2"], ["PTTL", "nope"], ["TTL", "nope"], ["TTL", "n"], ["PERSIST", "k2"],
    ["PERSIST", "k2"], ["EXPIRE", "k2", "100", "NX"], ["EXPIRE", "k2", "100", "NX"], ["EXPIRE", "k2", "100", "XX"],
    ["EXPIRE", "k2", "200", "GT"], ["EXPIRE", "k2", "300", "LT"], ["EXPIRE", "k2", "50", "LT"], ["TTL", "k2"],
    ["EXPIRE", "k2", "10", "NX", "XX"], ["EXPIRE", "k2", "10", "GT", "LT"], ["EXPIRE", "k2", "10", "FOO"],
    ["EXPIRE", "k2", "x"], ["EXPIRE", "nope", "10"], ["PEXPIRE", "k2", "100000"], ["TTL", "k2"],
    ["EXPIREAT", "k2", "32503680000"], ["EXPIRETIME", "k2"], ["PEXPIRETIME", "k2"], ["EXPIRETIME", "n"],
    ["EXPIRETIME", "nope"], ["EXPIRE", "k2", "-1"], ["GET", "k2"], ["EXISTS", "k2"],
    ["SET", "e", "v", "EX", "0"], ["SET", "e", "v", "EX", "x"], ["SET", "e", "v", "PX", "100", "KEEPTTL"],
    ["SET", "e", "v", "FOO"], ["SET", "e", "v", "EX"], ["SET", "e", "v", "NX", "XX"], ["SET", "e", "v", "EX", "100"],
    ["TTL", "e"], ["SET", "e", "w", "KEEPTTL"], ["TTL", "e"], ["SET", "e", "x"], ["TTL", "e"],
    ["SET", "e", "v", "PXAT", "32503680000000"], ["PEXPIRETIME", "e"], ["SET", "e", "v", "EXAT", "1"], ["GET", "e"],
    ["SETNX", "s1", "v"], ["SETNX", "s1", "v"], ["SETEX", "s2", "100", "v"], ["TTL", "s2"], ["SETEX", "s2", "0", "v"],
    ["PSETEX", "s3", "0", "v"], ["PSETEX", "s3", "100000", "v"], ["TTL", "s3"], ["GETSET", "s2", "new"],
    ["TTL", "s2"], ["GETSET", "nope2", "x"], ["GETDEL", "s2"], ["GETDEL", "s2"], ["APPEND", "ap", "hello"],
    ["APPEND", "ap", " world"], ["STRLEN", "ap"], ["STRLEN", "nope"], ["GETRANGE", "ap", "0", "4"],
    ["GETRANGE", "ap", "-5", "-1"], ["GETRANGE", "ap", "5", "1"], ["GETRANGE", "ap", "0", "-100"],
    ["GETRANGE", "nope", "0", "1"], ["SETRANGE", "ap", "6", "W"], ["GET", "ap"], ["SETRANGE", "sr", "3", "x"],
    ["GET", "sr"], ["SETRANGE", "ap", "-1", "x"], ["SETRANGE", "nope3", "0", ""], ["EXISTS", "nope3"],
    ["SETRANGE", "K", "9223372036854775807", "A"], ["SETRANGE", "K", "2147483647", "A"], ["EXISTS", "K"],
    ["GETEX", "ap", "EX", "100"], ["TTL", "ap"], ["GETEX", "ap", "PERSIST"], ["TTL", "ap"], ["GETEX", "ap", "FOO"],
    ["GETEX", "nope"], ["RENAME", "ap", "ap2"], ["GET", "ap2"], ["EXISTS", "ap"], ["RENAME", "nope", "x"],
    ["RENAMENX", "ap2", "n"], ["RENAMENX", "ap2", "ap4"], ["COPY", "ap4", "ap3"], ["GET", "ap3"],
    ["COPY", "ap4", "ap3"], ["COPY", "ap4", "ap3", "REPLACE"], ["COPY", "nope", "x"],
    ["COPY", "ap4", "ap5", "DB", "notanumber"], ["COPY", "ap4", "ap5", "DB", "0"], ["GET", "ap5"],
    ["SET", "big", "v"], ["PEXPIREAT", "big", "9223372036854770000"], ["EXISTS", "big"],
    ["SET", "big2", "v", "PXAT", "9223372036854770000"], ["EXISTS", "big2"], ["EXPIRE", "big2", "9223372036854775"],
    ["PEXPIREAT", "big", "-9223372036854770000"], ["EXISTS", "big"], ["DEL", "big2"],
    ["ECHO", "hi"], ["PING"], ["PING", "x"], ["PING", "a", "b"], ["GET"], ["GETX", "a", "b"], ["get", "a", "b"],
    ["CLIENT", "SETNAME", "myname"], ["CLIENT", "GETNAME"], ["CLIENT", "FOO"], ["CLIENT", "SETNAME", "a b"],
    ["CLIENT", "SETNAME"], ["SELECT", "0"], ["SELECT", "-1"], ["SELECT", "99"],
    ["HELLO", "4"], ["CONFIG", "GET", "maxmemory"], ["TIME", "x"], ["HELLO", "x"], ["HELLO", "2", "FOO"], ["SCAN", "x"], ["SCAN", "0", "COUNT", "0"],
    ["SCAN", "0", "FOO", "1"], ["SELECT", "1"], ["SET", "db1key", "v"], ["DBSIZE"], ["SELECT", "0"],
    ["GET", "db1key"], ["SET", b"bin\x00\r\nkey", b"val\x00\r\n\xff"], ["GET", b"bin\x00\r\nkey"],
    ["STRLEN", b"bin\x00\r\nkey"], ["FLUSHDB", "FOO"], ["FLUSHDB"], ["DBSIZE"], ["KEYS", "*"],
    ["SET", "x", "1"], ["SET", "y", "2"], ["SET", "xy", "3"], ["DBSIZE"], ["KEYS", "x*"], ["KEYS", "?"],
    ["KEYS", "[xz]y"], ["TIME", "x"], ["QUIT"],
]


def compare(our_port, redis_port, protocol=2):
    ours, theirs = Raw(our_port), Raw(redis_port)
    mismatches = []
    if protocol == 3:
        a, b = ours.call("HELLO", "3"), theirs.call("HELLO", "3")
        ok("HELLO 3 answers a RESP3 map like Redis's", a.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n") and
           b"$5\r\nproto\r\n:3\r\n" in a, a)
        a = ours.call("HELLO")
        ok("HELLO without a version keeps RESP3 (Redis's unit/tracking)", a.startswith(b"%7\r\n") and
           b"$5\r\nproto\r\n:3\r\n" in a, a)
        ok("and the next command still answers in RESP3", ours.call("HGETALL", "nokey") == theirs.call("HGETALL", "nokey"))
        ours.call("FLUSHDB")
        theirs.call("FLUSHDB")
    for cmd in SCRIPT:
        a, b = ours.call(*cmd), theirs.call(*cmd)
        if cmd[0] == "KEYS":  # order differs (Redis: hash order; ours: key order)
            a, b = sorted(a.split(b"\r\n")), sorted(b.split(b"\r\n"))
        if a != b:
            mismatches.append(f"{cmd!r}: ours {a!r} redis {b!r}")
    ok(f"every scripted reply equals Redis 7's (RESP{protocol})", not mismatches, "; ".join(mismatches[:20]))
    ok(f"QUIT closes the connection (RESP{protocol})", ours.closed())
    if protocol == 3:
        return

    # Protocol errors: same reply, then the connection is closed.
    for name, data in [("bad multibulk length", b"*x\r\n"), ("bad bulk length", b"*1\r\n$-5\r\n"),
                       ("expected $", b"*1\r\n+PING\r\n"), ("unbalanced quotes", b'GET "a\r\n'),
                       ("600 MB bulk header", b"*2\r\n$3\r\nSET\r\n$629145600\r\n"),
                       ("too big inline", b"A" * 70000)]:
        o, r = Raw(our_port), Raw(redis_port)
        o.send_raw(b"SET before ok\r\n" + data)
        r.send_raw(b"SET before ok\r\n" + data)
        ro, rr = o.read_reply() + o.read_reply(), r.read_reply() + r.read_reply()
        ok(f"protocol error ({name}) replies like Redis and closes", ro == rr and o.closed(),
           f"ours {ro!r} redis {rr!r}")

    # Inline commands and any fragmentation.
    o = Raw(our_port)
    frame = b"*3\r\n$3\r\nSET\r\n$4\r\nfrag\r\n$5\r\nvalue\r\nGET frag\r\n"
    for byte in frame:
        o.send_raw(bytes([byte]))
        time.sleep(0.001)
    ok("a frame sent byte by byte", o.read_reply() + o.read_reply() == b"+OK\r\n$5\r\nvalue\r\n")


def clients(our_port, psql):
    import redis

    r = redis.Redis(port=our_port, socket_timeout=30)
    r.flushdb()

    # Pipelines: 10k commands, read-your-writes inside one pipeline.
    p = r.pipeline(transaction=False)
    for i in range(10000):
        p.set(f"p:{i}", i)
    p.incr("p:0")
    p.get("p:0")
    res = p.execute()
    ok("a 10k-command pipeline", len(res) == 10002 and res[-1] == b"1" and r.dbsize() == 10000, repr(res[-3:]))

    # A failing command inside a pipeline leaves the others committed.
    r.set("text", "abc")
    p = r.pipeline(transaction=False)
    p.set("before", "1")
    p.incr("text")
    p.set("after", "2")
    res = p.execute(raise_on_error=False)
    ok("a failing command in a pipeline fails alone", res[0] is True and isinstance(res[1], redis.ResponseError)
       and res[2] is True and r.get("before") == b"1" and r.get("after") == b"2", repr(res))

    # scan_iter sees every key once.
    keys = set(r.scan_iter(match="p:*", count=333))
    ok("scan_iter returns every key once", len(keys) == 10000, len(keys))

    # Binary-safe 8 MiB value.
    big = bytes(range(256)) * (8 * 4096)
    r.set(b"\x00bin\r\n", big)
    ok("an 8 MiB binary value round-trips", r.get(b"\x00bin\r\n") == big)

    # 8 clients x INCR on one key: exact total.
    r.delete("counter")
    def incr_many():
        c = redis.Redis(port=our_port, socket_timeout=60)
        for _ in range(250):
            c.incr("counter")
    threads = [threading.Thread(target=incr_many) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    ok("8 clients x 250 INCR give exactly 2000", r.get("counter") == b"2000", r.get("counter"))

    # SET NX race: one winner.
    r.delete("race")
    wins = []
    def try_nx(i):
        c = redis.Redis(port=our_port, socket_timeout=60)
        if c.set("race", i, nx=True):
            wins.append(i)
    threads = [threading.Thread(target=try_nx, args=(i,)) for i in range(16)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    ok("SET NX race has exactly one winner", len(wins) == 1 and r.get("race") == str(wins[0]).encode(), wins)

    # A psql transaction holding a row lock stalls neither the worker nor other clients; the waiting
    # command completes once the lock is released.
    r.set("locked", "1")
    holder = subprocess.Popen(psql, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    holder.stdin.write(b"BEGIN;\nSELECT 1 FROM kv_db0 WHERE key = 'locked' FOR UPDATE;\n\\echo locked\n")
    holder.stdin.flush()
    line = holder.stdout.readline()
    while line and b"locked" not in line:
        line = holder.stdout.readline()
    result = {}
    def blocked_incr():
        c = redis.Redis(port=our_port, socket_timeout=60)
        t0 = time.time()
        result["value"] = c.incr("locked")
        result["seconds"] = time.time() - t0
    waiter = threading.Thread(target=blocked_incr)
    waiter.start()
    time.sleep(0.3)
    t0 = time.time()
    others = [redis.Redis(port=our_port, socket_timeout=10) for _ in range(4)]
    for i, c in enumerate(others):
        c.set(f"free{i}", i)
        c.get(f"free{i}")
    elapsed = time.time() - t0
    ok("other clients are served while a row lock is held elsewhere", elapsed < 2 and waiter.is_alive(), elapsed)
    holder.stdin.write(b"COMMIT;\n")
    holder.stdin.close()
    holder.wait()
    waiter.join()
    ok("the waiting command completes after the lock is released", result.get("value") == 2, result)

    # A lock held longer than nodedb_kv.resp_lock_wait: the command gets an error, the connection lives.
    holder = subprocess.Popen(psql, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    holder.stdin.write(b"BEGIN;\nSELECT 1 FROM kv_db0 WHERE key = 'locked' FOR UPDATE;\n\\echo locked\n")
    holder.stdin.flush()
    line = holder.stdout.readline()
    while line and b"locked" not in line:
        line = holder.stdout.readline()
    c = redis.Redis(port=our_port, socket_timeout=30)
    try:
        c.incr("locked")
        ok("a lock wait past resp_lock_wait is an error", False, "no error")
    except redis.ResponseError as e:
        ok("a lock wait past resp_lock_wait is an error", "resp_lock_wait" in str(e), str(e))
    ok("the connection still works after a lock-wait error", c.ping())
    holder.stdin.write(b"ROLLBACK;\n")
    holder.stdin.close()
    holder.wait()

    # Handshake commands real clients send.
    c = redis.Redis(port=our_port, client_name="tapclient", socket_timeout=10)
    ok("client_name handshake", c.client_getname() == "tapclient" or c.client_getname() == b"tapclient")
    names = [entry.get("name") for entry in c.client_list()]
    ok("CLIENT LIST shows the client (clients of the same worker)", "tapclient" in names, names)
    info = r.info()
    ok("INFO parses", "connected_clients" in info, info)


def auth(our_port):
    """Run against a node without an anonymous role; roles app (GRANT ALL ON kv_db0), noperm, nologin,
    expired and md5user (MD5 verifier) exist, all with password 'secret'; resp_default_user = app."""
    c = Raw(our_port)
    ok("before AUTH: NOAUTH", c.call("GET", "x") == b"-NOAUTH Authentication required.\r\n")
    ok("before AUTH: PING works", c.call("PING") == b"+PONG\r\n")
    ok("HELLO without auth: NOAUTH", c.call("HELLO", "2").startswith(b"-NOAUTH HELLO must be called"))
    u = Raw(our_port)
    u.send_raw(b"*11\r\n")
    ok("before AUTH: more than 10 arguments is Redis's protocol error",
       u.read_reply() == b"-ERR Protocol error: unauthenticated multibulk length\r\n" and u.closed())
    p = Raw(our_port)
    p.send_raw(Raw.encode(["AUTH", "app", "secret"]) + Raw.encode(["MSET"] + ["a", "b"] * 10))
    ok("a pipelined AUTH lifts the limit for the next command",
       p.read_reply() == b"+OK\r\n" and p.read_reply() == b"+OK\r\n")
    ok("wrong password: WRONGPASS", c.call("AUTH", "app", "nope") ==
       b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    for role in ["nologin", "expired", "nosuchrole"]:
        ok(f"AUTH as {role}: WRONGPASS", c.call("AUTH", role, "secret").startswith(b"-WRONGPASS"))
    ok("AUTH with the default user", c.call("AUTH", "secret") == b"+OK\r\n")
    ok("after AUTH commands run", c.call("SET", "k", "v") == b"+OK\r\n")
    m = Raw(our_port)
    ok("AUTH against an MD5 verifier", m.call("AUTH", "md5user", "secret") == b"+OK\r\n")
    h = Raw(our_port)
    reply = h.call("HELLO", "2", "AUTH", "app", "secret", "SETNAME", "h1")
    ok("HELLO 2 AUTH user pass SETNAME", reply.startswith(b"*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n") and
       h.call("CLIENT", "GETNAME") == b"$2\r\nh1\r\n", reply)
    n = Raw(our_port)
    n.call("AUTH", "noperm", "secret")
    reply = n.call("GET", "k")
    ok("a role without privileges: NOPERM", reply.startswith(b"-NOPERM permission denied for table kv_db0"), reply)
    return c


def auth_delay(our_port):
    """Repeated failures from one address delay the WRONGPASS reply; other clients are not delayed."""
    c = Raw(our_port)
    for _ in range(4):
        c.call("AUTH", "app", "nope")
    t0 = time.time()
    reply = c.call("AUTH", "app", "nope")
    slow = time.time() - t0
    other = Raw(our_port)
    t0 = time.time()
    other.call("PING")
    fast = time.time() - t0
    ok("the 5th failed AUTH is answered late", reply.startswith(b"-WRONGPASS") and slow >= 0.4, slow)
    ok("another client is not delayed", fast < 0.3, fast)
    ok("a correct AUTH afterwards works", c.call("AUTH", "app", "secret") == b"+OK\r\n")


def revoke(our_port, psql):
    c = Raw(our_port)
    c.call("AUTH", "app", "secret")
    ok("GET with the privilege", c.call("GET", "k") == b"$1\r\nv\r\n")
    subprocess.run(psql + ["-c", "REVOKE ALL ON kv_db0 FROM app"], check=True)
    reply = c.call("GET", "k")
    ok("REVOKE while connected applies at once", reply.startswith(b"-NOPERM"), reply)
    subprocess.run(psql + ["-c", "GRANT ALL ON kv_db0 TO app"], check=True)
    ok("GRANT while connected applies at once", c.call("GET", "k") == b"$1\r\nv\r\n")


def abuse(our_port):
    """Bad clients harm neither the server nor other clients."""
    import redis
    r = redis.Redis(port=our_port, socket_timeout=30)
    args = []
    for i in range(5000):
        args += [f"many:{i}", str(i)]
    ok("a 10k-argument MSET", r.execute_command("MSET", *args) == b"OK" or r.execute_command("MSET", *args) is True)
    ok("a 10k-argument DEL", r.delete(*[f"many:{i}" for i in range(5000)]) == 5000)
    # Slowloris: half a frame, then silence.
    slow = Raw(our_port)
    slow.send_raw(b"*3\r\n$3\r\nSET\r\n$4\r\nslow")
    t0 = time.time()
    ok("a stalled half frame does not delay others", r.ping() and time.time() - t0 < 1)
    slow.send_raw(b"\r\n$1\r\nv\r\n")
    ok("the stalled client completes its frame later", slow.read_reply() == b"+OK\r\n")
    # Many idle connections.
    idle = [socket.create_connection(("127.0.0.1", our_port)) for _ in range(500)]
    t0 = time.time()
    ok("500 idle connections do not slow others", r.set("idle", "1") and time.time() - t0 < 1)
    for s in idle:
        s.close()
    # A client that never reads its replies (10k GETs of 100 KB each, unread).
    r.set("big", b"x" * 100000)
    hog = Raw(our_port)
    hog.send_raw(Raw.encode(["GET", "big"]) * 10000)
    time.sleep(0.5)
    t0 = time.time()
    got = r.get("idle")
    elapsed = time.time() - t0
    ok("a client that does not read its replies does not stall others", got == b"1" and elapsed < 1, elapsed)
    hog.sock.close()
    ok("the server still answers", r.ping())


def max_clients(our_port, limit):
    conns = [Raw(our_port) for _ in range(limit)]
    for c in conns:
        c.call("PING")
    extra = Raw(our_port)
    reply = extra.read_reply()
    ok("past resp_max_clients: -ERR max number of clients reached", reply ==
       b"-ERR max number of clients reached\r\n", reply)
    ok("past resp_max_clients: closed", extra.closed())
    conns[0].sock.close()
    time.sleep(0.3)
    ok("a slot frees when a client leaves", Raw(our_port).call("PING") == b"+PONG\r\n")


def idle_timeout(our_port):
    """nodedb_kv.resp_timeout = 1: an idle client is closed within seconds, an active one is not."""
    idle, active = Raw(our_port), Raw(our_port)
    idle.call("PING")
    t0 = time.time()
    closed = False
    while time.time() - t0 < 10:
        active.call("PING")
        idle.sock.settimeout(0.2)
        try:
            if idle.sock.recv(1) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except OSError:
            closed = True
            break
    ok("an idle client is closed after resp_timeout", closed and time.time() - t0 >= 0.9, time.time() - t0)
    ok("an active client is kept", active.call("PING") == b"+PONG\r\n")


def writer(our_port, out_path, seconds):
    """Writes SET w:<i> <i> until the connection breaks or time runs out; records the last acked i."""
    c = Raw(our_port)
    acked = -1
    deadline = time.time() + seconds
    try:
        i = 0
        while time.time() < deadline:
            if c.call("SET", f"w:{i}", str(i)) != b"+OK\r\n":
                break
            acked = i
            i += 1
            with open(out_path, "w") as f:
                f.write(str(acked))
    except (OSError, EOFError):
        pass
    with open(out_path, "w") as f:
        f.write(str(acked))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "compare":
        compare(int(sys.argv[2]), int(sys.argv[3]))
        compare(int(sys.argv[2]), int(sys.argv[3]), 3)
    elif mode == "clients":
        clients(int(sys.argv[2]), sys.argv[3:])
    elif mode == "auth":
        auth(int(sys.argv[2]))
        auth_delay(int(sys.argv[2]))
        revoke(int(sys.argv[2]), sys.argv[3:])
    elif mode == "abuse":
        abuse(int(sys.argv[2]))
    elif mode == "max_clients":
        max_clients(int(sys.argv[2]), int(sys.argv[3]))
    elif mode == "idle_timeout":
        idle_timeout(int(sys.argv[2]))
    elif mode == "writer":
        writer(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
