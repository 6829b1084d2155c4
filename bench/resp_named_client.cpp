// A small pipelined, multi-connection RESP load generator for bench/resp_named_bench.sh (redis-benchmark
// cannot SELECT a named collection).  One thread, non-blocking sockets and poll(): each connection
// sends --pipeline units, reads their replies, and sends again, until --requests units are done.
// A unit is one command, or several separated by a ";" argument (e.g. MULTI ; INCR a ; EXEC), counted
// once.  In arguments, __r__ is a random integer in [0, --keyspace), __s__ a random score in
// [0, 1000000) and __i__ the unit's sequence number (for loading).  Prints
//   units=<n> seconds=<s> rps=<units per second> errors=<top-level error replies>
//   resp_named_client --port P [--select NAME] [--clients 50] [--pipeline 1] [--requests 100000]
//                     [--keyspace 1000000] -- CMD ARG ... [; CMD ARG ...]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Options {
	int port = 0;
	std::string select;
	int clients = 50;
	int pipeline = 1;
	long requests = 100000;
	long keyspace = 1000000;
	std::vector<std::vector<std::string>> unit; // commands of one unit
};

struct Conn {
	int fd = -1;
	std::string out, in;
	size_t sent = 0;
	long pending = 0; // replies still expected
};

[[noreturn]] void
Die(const char *what)
{
	perror(what);
	exit(2);
}

// The end of the reply starting at pos in buf, or std::string::npos if it is not complete yet.
size_t
ReplyEnd(const std::string &buf, size_t pos)
{
	if (pos >= buf.size())
		return std::string::npos;
	size_t eol = buf.find("\r\n", pos);
	if (eol == std::string::npos)
		return std::string::npos;
	char type = buf[pos];
	long n = strtol(buf.c_str() + pos + 1, nullptr, 10);
	size_t next = eol + 2;
	switch (type) {
	case '$':
	case '=':
	case '!':
		if (n < 0)
			return next;
		return buf.size() >= next + n + 2 ? next + n + 2 : std::string::npos;
	case '*':
	case '~':
	case '>':
	case '%':
	case '|':
		if (n < 0)
			return next;
		if (type == '%' || type == '|')
			n *= 2;
		for (long i = 0; i < n; i++) {
			next = ReplyEnd(buf, next);
			if (next == std::string::npos)
				return next;
		}
		return next;
	default:
		return next; // + - : _ , # (
	}
}

void
AppendCommand(std::string *out, const std::vector<std::string> &args)
{
	*out += "*" + std::to_string(args.size()) + "\r\n";
	for (const std::string &a : args) {
		*out += "$" + std::to_string(a.size()) + "\r\n";
		*out += a;
		*out += "\r\n";
	}
}

std::string
Expand(const std::string &arg, long seq, std::mt19937_64 &rng, long keyspace)
{
	std::string out;
	for (size_t i = 0; i < arg.size();) {
		if (arg.compare(i, 5, "__r__") == 0) {
			out += std::to_string(static_cast<long>(rng() % static_cast<uint64_t>(keyspace)));
			i += 5;
		} else if (arg.compare(i, 5, "__s__") == 0) {
			out += std::to_string(static_cast<long>(rng() % 1000000));
			i += 5;
		} else if (arg.compare(i, 5, "__i__") == 0) {
			out += std::to_string(seq);
			i += 5;
		} else
			out += arg[i++];
	}
	return out;
}

int
Connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		Die("socket");
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_port = htons(static_cast<uint16_t>(port));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0)
		Die("connect");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

// Sends all of out and waits for one reply (blocking; used for SELECT before the run).
std::string
Call(int fd, const std::vector<std::string> &args)
{
	std::string out, in;
	AppendCommand(&out, args);
	if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size()))
		Die("write");
	char buf[4096];
	while (ReplyEnd(in, 0) == std::string::npos) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			Die("read");
		in.append(buf, static_cast<size_t>(n));
	}
	return in;
}

Options
Parse(int argc, char **argv)
{
	Options o;
	int i = 1;
	for (; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--")
			break;
		if (i + 1 >= argc) {
			fprintf(stderr, "%s wants a value\n", a.c_str());
			exit(2);
		}
		const char *v = argv[++i];
		if (a == "--port")
			o.port = atoi(v);
		else if (a == "--select")
			o.select = v;
		else if (a == "--clients")
			o.clients = atoi(v);
		else if (a == "--pipeline")
			o.pipeline = atoi(v);
		else if (a == "--requests")
			o.requests = atol(v);
		else if (a == "--keyspace")
			o.keyspace = atol(v);
		else {
			fprintf(stderr, "unknown option %s\n", a.c_str());
			exit(2);
		}
	}
	o.unit.emplace_back();
	for (i++; i < argc; i++) {
		if (strcmp(argv[i], ";") == 0)
			o.unit.emplace_back();
		else
			o.unit.back().push_back(argv[i]);
	}
	if (o.port <= 0 || o.clients <= 0 || o.pipeline <= 0 || o.requests <= 0 || o.keyspace <= 0 ||
	    o.unit.front().empty()) {
		fprintf(stderr, "usage: resp_named_client --port P [--select NAME] [--clients N] [--pipeline N] "
		                "[--requests N] [--keyspace N] -- CMD ARG ... [; CMD ARG ...]\n");
		exit(2);
	}
	return o;
}

} // namespace

int
main(int argc, char **argv)
{
	Options o = Parse(argc, argv);
	std::vector<Conn> conns(static_cast<size_t>(o.clients));
	for (Conn &c : conns) {
		c.fd = Connect(o.port);
		if (!o.select.empty()) {
			std::string reply = Call(c.fd, {"SELECT", o.select});
			if (reply != "+OK\r\n") {
				fprintf(stderr, "SELECT %s: %s", o.select.c_str(), reply.c_str());
				return 2;
			}
		}
		fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
	}
	std::mt19937_64 rng(12345);
	long issued = 0, done = 0, errors = 0;
	auto start = std::chrono::steady_clock::now();
	std::vector<pollfd> fds(conns.size());
	char buf[1 << 16];
	while (done < o.requests) {
		for (size_t k = 0; k < conns.size(); k++) {
			Conn &c = conns[k];
			if (c.pending == 0 && issued < o.requests) {
				c.out.clear();
				c.sent = 0;
				for (int p = 0; p < o.pipeline && issued < o.requests; p++, issued++) {
					for (const auto &cmd : o.unit) {
						std::vector<std::string> args;
						for (const std::string &a : cmd)
							args.push_back(Expand(a, issued, rng, o.keyspace));
						AppendCommand(&c.out, args);
						c.pending++;
					}
				}
			}
			fds[k] = {c.fd, static_cast<short>(POLLIN | (c.sent < c.out.size() ? POLLOUT : 0)), 0};
		}
		if (poll(fds.data(), fds.size(), 10000) <= 0)
			Die("poll (no progress for 10 s)");
		for (size_t k = 0; k < conns.size(); k++) {
			Conn &c = conns[k];
			if ((fds[k].revents & POLLOUT) && c.sent < c.out.size()) {
				ssize_t n = write(c.fd, c.out.data() + c.sent, c.out.size() - c.sent);
				if (n > 0)
					c.sent += static_cast<size_t>(n);
			}
			if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t n = read(c.fd, buf, sizeof(buf));
				if (n == 0) {
					fprintf(stderr, "connection closed by the server\n");
					return 2;
				}
				if (n > 0)
					c.in.append(buf, static_cast<size_t>(n));
				size_t pos = 0, end;
				while (c.pending > 0 && (end = ReplyEnd(c.in, pos)) != std::string::npos) {
					if (c.in[pos] == '-')
						errors++;
					pos = end;
					c.pending--;
					if (c.pending % static_cast<long>(o.unit.size()) == 0)
						done++;
				}
				c.in.erase(0, pos);
			}
		}
	}
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	printf("units=%ld seconds=%.3f rps=%.0f errors=%ld\n", done, seconds, done / seconds, errors);
	for (Conn &c : conns)
		close(c.fd);
	return 0;
}
