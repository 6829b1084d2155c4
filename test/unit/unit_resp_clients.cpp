// CLIENT LIST / KILL's pure part (resp_clients.hpp): a session's line in Redis 7's field order and flag
// letters, CLIENT KILL's filters with Redis 7.0's errors, the matching rules; and the tracking pieces the
// cross-worker work added: a held tracking table keeps dropped keys in the filter until released, and a
// Key record carries the writing client (NOLOOP).
#include <gtest/gtest.h>

#include <map>

#include "nodedb_kv/resp/resp_clients.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_tracking.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

namespace {

using namespace nodedb_kv::resp;
namespace tracking = nodedb_kv::tracking;

ClientInfo
Describe(const Session &s)
{
	ConnFacts facts;
	facts.fd = 9;
	facts.last_ms = 1000;
	facts.laddr = "127.0.0.1:6379";
	ClientInfo info;
	DescribeClient(s, facts, 1, &info);
	return info;
}

TEST(RespClients, LineHasRedisFieldsInOrder)
{
	Session s;
	s.id = 7;
	s.address = "127.0.0.1:5000";
	s.created_ms = 1000;
	s.name = "alpha";
	s.last_command = "client|list";
	std::string line = FormatClientLine(Describe(s), 3500);
	EXPECT_EQ(line, "id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=9 name=alpha age=2 idle=2 flags=N db=0 sub=0 "
	                "psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 "
	                "omem=0 tot-mem=0 events=r cmd=client|list user=default redir=-1 resp=2 lib-name= lib-ver=");
}

TEST(RespClients, FlagsAndTrackingFields)
{
	Session s;
	s.id = 3;
	s.channels = {"a", "b"};
	s.patterns = {"p*"};
	s.tracking.on = true;
	s.tracking.bcast = true;
	s.tracking.broken = true;
	s.tracking.redirect = 12;
	s.protocol = Protocol::Resp3;
	ClientInfo info = Describe(s);
	EXPECT_STREQ(info.flags, "PtRB");
	EXPECT_EQ(info.sub, 2);
	EXPECT_EQ(info.psub, 1);
	EXPECT_EQ(info.redir, 12);
	EXPECT_EQ(info.resp, 3);
	EXPECT_EQ(TypeOfClient(info), ClientType::PubSub);
	s.tracking = Session::Tracking();
	s.tracking.on = true;
	EXPECT_EQ(Describe(s).redir, 0); // tracking without REDIRECT
	s.tracking.on = false;
	EXPECT_EQ(Describe(s).redir, -1);
}

TEST(RespClients, LongNamesAreCut)
{
	Session s;
	s.name = std::string(500, 'n');
	EXPECT_EQ(std::string(Describe(s).name), std::string(127, 'n'));
}

TEST(RespClients, KillFilterErrorsAsRedis)
{
	ClientFilter f;
	std::string error;
	auto parse = [&](std::vector<std::string> args) {
		args.insert(args.begin(), {"client", "kill"});
		error.clear();
		return ParseKillFilter(args, &f, &error);
	};
	EXPECT_TRUE(parse({"1.2.3.4:5"}));
	EXPECT_TRUE(f.old_form);
	EXPECT_FALSE(f.skipme);
	EXPECT_EQ(f.addr, "1.2.3.4:5");
	EXPECT_FALSE(parse({"id", "0"}));
	EXPECT_EQ(error, "ERR client-id should be greater than 0");
	EXPECT_FALSE(parse({"id", "x"}));
	EXPECT_EQ(error, "ERR client-id should be greater than 0");
	EXPECT_FALSE(parse({"type", "foo"}));
	EXPECT_EQ(error, "ERR Unknown client type 'foo'");
	EXPECT_FALSE(parse({"skipme", "maybe"}));
	EXPECT_EQ(error, "ERR syntax error");
	EXPECT_FALSE(parse({"id", "1", "type"}));
	EXPECT_EQ(error, "ERR syntax error");
	EXPECT_FALSE(parse({"nosuch", "1"}));
	EXPECT_EQ(error, "ERR syntax error");
	EXPECT_TRUE(parse({"ID", "5", "TYPE", "pubsub", "SKIPME", "no", "USER", "app", "LADDR", "x"}));
	EXPECT_FALSE(f.old_form);
	EXPECT_EQ(f.id, 5u);
	EXPECT_TRUE(f.has_type);
	EXPECT_EQ(f.type, ClientType::PubSub);
	EXPECT_FALSE(f.skipme);
	EXPECT_EQ(f.user, "app");
	EXPECT_EQ(f.laddr, "x");
}

TEST(RespClients, MatchingRules)
{
	Session s;
	s.id = 4;
	s.address = "10.0.0.1:7";
	s.user = "app";
	ClientInfo info = Describe(s);
	ClientFilter f;
	EXPECT_TRUE(ClientMatches(f, info, 9));
	EXPECT_FALSE(ClientMatches(f, info, 4)); // SKIPME yes by default
	f.skipme = false;
	EXPECT_TRUE(ClientMatches(f, info, 4));
	f.id = 5;
	EXPECT_FALSE(ClientMatches(f, info, 9));
	f.id = 4;
	f.addr = "10.0.0.1:7";
	f.laddr = "127.0.0.1:6379";
	f.has_user = true;
	f.user = "app";
	EXPECT_TRUE(ClientMatches(f, info, 9));
	f.user = "other";
	EXPECT_FALSE(ClientMatches(f, info, 9));
	f.user = "app";
	f.has_type = true;
	f.type = ClientType::PubSub;
	EXPECT_FALSE(ClientMatches(f, info, 9));
	f.type = ClientType::Normal;
	EXPECT_TRUE(ClientMatches(f, info, 9));
	f.type = ClientType::Master;
	EXPECT_FALSE(ClientMatches(f, info, 9));
}

std::map<uint64_t, int> filter;

void
Filter(uint64_t hash, int delta)
{
	filter[hash] += delta;
	if (filter[hash] == 0)
		filter.erase(hash);
}

TEST(RespClients, HeldTrackerKeepsDroppedKeysInTheFilter)
{
	filter.clear();
	Tracker t(5, Filter);
	std::vector<Tracker::Evicted> evicted;
	t.Remember(100, "k", 1, 10, &evicted);
	uint64_t hash = tracking::KeyHash(5, 100, "k");
	t.Hold(true);
	EXPECT_FALSE(t.InvalidatedWhileHeld(100, "k"));
	EXPECT_EQ(t.Invalidate(100, "k"), (std::vector<uint64_t>{1}));
	EXPECT_TRUE(t.InvalidatedWhileHeld(100, "k"));
	EXPECT_FALSE(t.InvalidatedWhileHeld(101, "k"));
	EXPECT_EQ(filter[hash], 1); // still counted while held
	t.Remember(100, "k", 1, 10, &evicted);
	EXPECT_EQ(filter[hash], 2);
	t.Hold(false);
	EXPECT_EQ(filter[hash], 1); // tracked again, counted once
	EXPECT_FALSE(t.InvalidatedWhileHeld(100, "k"));
	t.Clear();
	EXPECT_TRUE(filter.empty());
	EXPECT_EQ(t.Size(), 0u);
}

TEST(RespClients, KeyRecordsCarryTheWritingClient)
{
	char buf[128];
	size_t n = tracking::WriteRecord(buf, tracking::RecordKind::Key, 1, 2, "key", 42);
	size_t offset = 0;
	tracking::Record record;
	ASSERT_TRUE(tracking::NextRecord(std::string_view(buf, n), &offset, &record));
	EXPECT_EQ(record.target, 42u);
	EXPECT_EQ(record.key, "key");
	n = tracking::WriteRecord(buf, tracking::RecordKind::Key, 1, 2, "key");
	offset = 0;
	ASSERT_TRUE(tracking::NextRecord(std::string_view(buf, n), &offset, &record));
	EXPECT_EQ(record.target, 0u);
}

TEST(RespClients, RedirBrokenFrameAsRedis)
{
	EXPECT_EQ(RedirBrokenFrame(24), ">2\r\n$21\r\ntracking-redir-broken\r\n:24\r\n");
}

} // namespace
