// The RESP command layer over a fake engine: the dispatcher's Redis errors (unknown command, arity,
// NOAUTH), engine statuses mapped to Redis error replies, SET's option rules, SCAN cursors, and
// Redis's glob matching.
#include <map>

#include <gtest/gtest.h>

#include "nodedb_kv/resp/resp_commands.hpp"

using namespace nodedb_kv;
using namespace nodedb_kv::resp;

namespace {

kv::Status
Ok()
{
	kv::Status status{};
	status.code = kv::Code::Ok;
	return status;
}

// An in-memory engine: enough to drive the handlers.
class FakeEngine : public Engine {
public:
	std::map<std::string, std::string> data;
	kv::Status next_failure = Ok();
	bool anonymous = false;

	kv::Status
	Fail()
	{
		kv::Status status = next_failure;
		next_failure = Ok();
		return status;
	}
	kv::Status
	Get(const Session &, std::string_view key, kv::Value *value) override
	{
		if (!next_failure.ok())
			return Fail();
		auto it = data.find(std::string(key));
		*value = {it != data.end(), it == data.end(), {nullptr, 0}, -1};
		if (it != data.end())
			value->bytes = {it->second.data(), it->second.size()};
		return Ok();
	}
	kv::Status
	Set(const Session &, std::string_view key, std::string_view value, kv::SetOptions options, bool *written,
	    kv::Value *before) override
	{
		if (!next_failure.ok())
			return Fail();
		bool exists = data.count(std::string(key)) > 0;
		if (before != nullptr)
			*before = {false, true, {nullptr, 0}, -1};
		*written = !(options.only_if_absent && exists) && !(options.only_if_present && !exists);
		if (*written)
			data[std::string(key)] = std::string(value);
		return Ok();
	}
	kv::Status
	Delete(const Session &, std::string_view key, bool *deleted) override
	{
		*deleted = data.erase(std::string(key)) > 0;
		return Ok();
	}
	kv::Status
	Exists(const Session &, std::string_view key, bool *exists) override
	{
		*exists = data.count(std::string(key)) > 0;
		return Ok();
	}
	kv::Status
	Incr(const Session &, std::string_view, int64_t, int64_t *) override
	{
		return Fail();
	}
	kv::Status
	CompareAndSwap(const Session &, std::string_view, std::string_view, std::string_view, bool *, kv::Value *) override
	{
		return Ok();
	}
	kv::Status
	Expire(const Session &, std::string_view, kv::Ttl, bool *) override
	{
		return Ok();
	}
	kv::Status
	Scan(const Session &, std::string_view after, bool from_start, size_t count, ScanPage *page) override
	{
		auto it = from_start ? data.begin() : data.upper_bound(std::string(after));
		for (; it != data.end() && page->keys.size() < count; ++it)
			page->keys.push_back(it->first);
		page->done = it == data.end();
		return Ok();
	}
	kv::Status
	Count(const Session &, int64_t *count) override
	{
		*count = static_cast<int64_t>(data.size());
		return Ok();
	}
	kv::Status
	RandomKey(const Session &, std::string *key, bool *found) override
	{
		*found = !data.empty();
		if (*found)
			*key = std::next(data.begin(), static_cast<long>(data.size() / 2))->first;
		return Ok();
	}
	kv::Status
	Flush(const Session &) override
	{
		data.clear();
		return Ok();
	}
	kv::Status
	SelectDb(Session *, int64_t, std::string_view, bool *found) override
	{
		*found = false;
		return Ok();
	}
	kv::Status
	Authenticate(Session *s, std::string_view, std::string_view password, bool *ok) override
	{
		*ok = password == "secret";
		s->authenticated = *ok;
		return Ok();
	}
	bool
	Anonymous(Session *s) override
	{
		s->authenticated = anonymous;
		return anonymous;
	}
	int64_t
	NowMillis() override
	{
		return 1000000;
	}
	int64_t
	WallMicros() override
	{
		return 1000000000;
	}
	std::string
	DefaultUser() override
	{
		return "app";
	}
	std::string
	Info(const Session &, std::string_view) override
	{
		return "";
	}
	std::vector<ClientInfo>
	Clients(const Session &) override
	{
		return {};
	}
	kv::Status
	KillClients(const Session &, const ClientFilter &, int64_t *killed, bool *self) override
	{
		*killed = 0;
		*self = false;
		return kv::Status{};
	}
	// WATCH: a key's "row version" is its value's hash (enough to see a change in these tests).
	kv::Status
	KeyVersion(uint32_t, std::string_view key, bool, kv::RowVersion *version) override
	{
		auto it = data.find(std::string(key));
		*version = {it != data.end(), 0, 0, 0, 0, 0, false, 0};
		if (it != data.end())
			version->xmin = static_cast<uint32_t>(std::hash<std::string>()(it->second));
		return Ok();
	}
};

struct Fixture {
	FakeEngine engine;
	Session session;
	std::string out;
	Writer writer{&out};

	std::string
	Run(Argv argv)
	{
		out.clear();
		Execute(session, engine, writer, argv);
		return out;
	}
};

} // namespace

TEST(RespCommands, DispatcherErrors)
{
	Fixture f;
	f.engine.anonymous = true;
	EXPECT_EQ(f.Run({"FOO", "a", "b"}), "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
	EXPECT_EQ(f.Run({"get"}), "-ERR wrong number of arguments for 'get' command\r\n");
	EXPECT_EQ(f.Run({"GET", "a", "b"}), "-ERR wrong number of arguments for 'get' command\r\n");
	EXPECT_EQ(f.Run({"SeT", "a", "1"}), "+OK\r\n");
}

TEST(RespCommands, NoAuthUntilAuth)
{
	Fixture f;
	EXPECT_EQ(f.Run({"GET", "a"}), "-NOAUTH Authentication required.\r\n");
	EXPECT_EQ(f.Run({"PING"}), "+PONG\r\n");
	EXPECT_EQ(f.Run({"AUTH", "wrong"}), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	EXPECT_EQ(f.Run({"AUTH", "app", "secret"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"GET", "a"}), "$-1\r\n");
}

TEST(RespCommands, StatusesBecomeRedisErrors)
{
	Fixture f;
	f.engine.anonymous = true;
	f.engine.next_failure.code = kv::Code::TypeMismatch;
	EXPECT_EQ(f.Run({"INCR", "a"}), "-ERR value is not an integer or out of range\r\n");
	f.engine.next_failure.code = kv::Code::Overflow;
	EXPECT_EQ(f.Run({"INCR", "a"}), "-ERR increment or decrement would overflow\r\n");
	f.engine.next_failure.code = kv::Code::ReadOnly;
	EXPECT_EQ(f.Run({"SET", "a", "b"}), "-READONLY You can't write against a read only replica.\r\n");
	f.engine.next_failure.code = kv::Code::PermissionDenied;
	strcpy(f.engine.next_failure.message, "permission denied for table kv_db0");
	EXPECT_EQ(f.Run({"GET", "a"}), "-NOPERM permission denied for table kv_db0\r\n");
	f.engine.next_failure.code = kv::Code::Internal;
	strcpy(f.engine.next_failure.message, "boom\nline");
	EXPECT_EQ(f.Run({"GET", "a"}), "-ERR boom line\r\n");
}

TEST(RespCommands, SetOptionRules)
{
	Fixture f;
	f.engine.anonymous = true;
	EXPECT_EQ(f.Run({"SET", "a", "b", "NX", "XX"}), "-ERR syntax error\r\n");
	EXPECT_EQ(f.Run({"SET", "a", "b", "EX", "10", "PX", "10"}), "-ERR syntax error\r\n");
	EXPECT_EQ(f.Run({"SET", "a", "b", "EX", "0"}), "-ERR invalid expire time in 'set' command\r\n");
	EXPECT_EQ(f.Run({"SET", "a", "b", "EX", "x"}), "-ERR value is not an integer or out of range\r\n");
	EXPECT_EQ(f.Run({"SET", "a", "b", "NX"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"SET", "a", "c", "NX"}), "$-1\r\n");
}

TEST(RespCommands, ScanCursorsVisitEveryKeyOnce)
{
	Fixture f;
	f.engine.anonymous = true;
	for (int i = 0; i < 25; i++)
		f.engine.data["k" + std::to_string(i)] = "v";
	std::string cursor = "0";
	size_t seen = 0;
	for (int round = 0; round < 10; round++) {
		// "*2\r\n$<n>\r\n<cursor>\r\n*<keys>\r\n..."
		std::string reply = f.Run({"SCAN", cursor, "COUNT", "10"});
		ASSERT_EQ(reply.substr(0, 5), "*2\r\n$");
		size_t start = reply.find("\r\n", 5) + 2;
		size_t end = reply.find("\r\n", start);
		cursor = reply.substr(start, end - start);
		ASSERT_EQ(reply[end + 2], '*');
		seen += static_cast<size_t>(std::stoul(reply.substr(end + 3)));
		if (cursor == "0")
			break;
	}
	EXPECT_EQ(cursor, "0");
	EXPECT_EQ(seen, 25u);
	EXPECT_EQ(f.Run({"SCAN", "12345"}), "-ERR invalid cursor\r\n");
}

TEST(RespCommands, GlobMatchLikeRedis)
{
	EXPECT_TRUE(GlobMatch("*", ""));
	EXPECT_TRUE(GlobMatch("sess:*", "sess:abc"));
	EXPECT_FALSE(GlobMatch("sess:*", "ses:abc"));
	EXPECT_TRUE(GlobMatch("h?llo", "hello"));
	EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
	EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
	EXPECT_TRUE(GlobMatch("h[a-c]llo", "hbllo"));
	EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
	EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
	EXPECT_TRUE(GlobMatch("*a*b*", "xxaxxbxx"));
	EXPECT_TRUE(GlobMatch("KEY", "key", true));
}

TEST(RespCommands, MultiQueuesAndExecs)
{
	Fixture f;
	f.session.authenticated = true;
	EXPECT_EQ(f.Run({"EXEC"}), "-ERR EXEC without MULTI\r\n");
	EXPECT_EQ(f.Run({"DISCARD"}), "-ERR DISCARD without MULTI\r\n");
	EXPECT_EQ(f.Run({"MULTI"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"MULTI"}), "-ERR MULTI calls can not be nested\r\n");
	EXPECT_EQ(f.Run({"WATCH", "a"}), "-ERR WATCH inside MULTI is not allowed\r\n");
	EXPECT_EQ(f.Run({"SET", "a", "x"}), "+QUEUED\r\n");
	EXPECT_EQ(f.Run({"GET", "a"}), "+QUEUED\r\n");
	EXPECT_EQ(f.Run({"GET", "b"}), "+QUEUED\r\n");
	EXPECT_TRUE(f.engine.data.empty()); // nothing ran yet
	EXPECT_EQ(f.Run({"EXEC"}), "*3\r\n+OK\r\n$1\r\nx\r\n$-1\r\n");
	EXPECT_EQ(f.Run({"EXEC"}), "-ERR EXEC without MULTI\r\n");
}

TEST(RespCommands, MultiQueueErrorsAbortExec)
{
	Fixture f;
	f.session.authenticated = true;
	EXPECT_EQ(f.Run({"MULTI"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"SET", "a", "1"}), "+QUEUED\r\n");
	EXPECT_EQ(f.Run({"NOPE"}), "-ERR unknown command 'NOPE', with args beginning with: \r\n");
	EXPECT_EQ(f.Run({"SET", "b", "1"}), "+QUEUED\r\n");
	EXPECT_EQ(f.Run({"EXEC"}), "-EXECABORT Transaction discarded because of previous errors.\r\n");
	EXPECT_TRUE(f.engine.data.empty());
	EXPECT_EQ(f.Run({"MULTI"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
	EXPECT_EQ(f.Run({"DISCARD"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"MULTI"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"EXEC"}), "*0\r\n");
}

TEST(RespCommands, WatchSeesChanges)
{
	Fixture f;
	f.session.authenticated = true;
	f.engine.data["a"] = "1";
	EXPECT_EQ(f.Run({"WATCH", "a", "b"}), "+OK\r\n");
	f.engine.data["a"] = "2"; // someone else's write
	EXPECT_EQ(f.Run({"MULTI"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"SET", "a", "3"}), "+QUEUED\r\n");
	EXPECT_EQ(f.Run({"EXEC"}), "*-1\r\n");
	EXPECT_EQ(f.engine.data["a"], "2");
	// EXEC ended the watch: the next block runs
	EXPECT_EQ(f.Run({"MULTI"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"SET", "a", "3"}), "+QUEUED\r\n");
	EXPECT_EQ(f.Run({"EXEC"}), "*1\r\n+OK\r\n");
	EXPECT_EQ(f.Run({"WATCH", "b"}), "+OK\r\n");
	f.engine.data["b"] = "new";
	EXPECT_EQ(f.Run({"UNWATCH"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"MULTI"}), "+OK\r\n");
	EXPECT_EQ(f.Run({"EXEC"}), "*0\r\n");
}

// The worker restores a session copied before a turn when it replays the turn: the copy's block is
// the block as it was then, even though the shared command vector grew meanwhile.
TEST(RespCommands, MultiSessionCopyRestores)
{
	Fixture f;
	f.session.authenticated = true;
	f.Run({"MULTI"});
	f.Run({"SET", "a", "1"});
	Session saved = f.session;
	f.Run({"SET", "b", "2"});
	f.Run({"SET", "c", "3"});
	f.session = saved; // the turn is replayed
	f.Run({"SET", "d", "4"});
	EXPECT_EQ(f.Run({"EXEC"}), "*2\r\n+OK\r\n+OK\r\n");
	EXPECT_EQ(f.engine.data.count("a"), 1u);
	EXPECT_EQ(f.engine.data.count("b"), 0u);
	EXPECT_EQ(f.engine.data.count("c"), 0u);
	EXPECT_EQ(f.engine.data.count("d"), 1u);
}
