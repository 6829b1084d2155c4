// A worker's blocked clients (resp_blocking.hpp) over a fake shared registry that keeps waiters in
// arrival order, as blocking_registry.cpp does: a wake-up record wakes only a key's first waiter, a
// client that waits already keeps its place, forgetting a waiter passes the key on to the next one, and
// a full registry refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "nodedb_kv/resp/resp_blocking.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

namespace {

using nodedb_kv::resp::Blocker;

struct FakeRegistry {
	std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> waits; // client, hash, seq
	uint64_t seq = 1;
	size_t capacity = 100;
	std::vector<uint64_t> woken; // hashes of wake-up records sent
};
FakeRegistry fake;

bool
Park(uint64_t client, int, const uint64_t *hashes, size_t n)
{
	for (auto &w : fake.waits)
		if (std::get<0>(w) == client)
			return true;
	if (fake.waits.size() + n > fake.capacity)
		return false;
	uint64_t seq = fake.seq++;
	for (size_t i = 0; i < n; i++)
		fake.waits.emplace_back(client, hashes[i], seq);
	return true;
}

size_t
Unpark(uint64_t client, uint64_t *waited, size_t cap)
{
	std::vector<uint64_t> mine;
	for (auto &w : fake.waits)
		if (std::get<0>(w) == client)
			mine.push_back(std::get<1>(w));
	fake.waits.erase(
	    std::remove_if(fake.waits.begin(), fake.waits.end(), [&](const auto &w) { return std::get<0>(w) == client; }),
	    fake.waits.end());
	size_t n = 0;
	for (uint64_t hash : mine)
		for (auto &w : fake.waits)
			if (std::get<1>(w) == hash && n < cap && std::find(waited, waited + n, hash) == waited + n)
				waited[n++] = hash;
	return n;
}

bool
IsFirst(uint64_t client, uint64_t hash)
{
	uint64_t mine = 0, best = UINT64_MAX;
	for (auto &w : fake.waits) {
		if (std::get<1>(w) != hash)
			continue;
		best = std::min(best, std::get<2>(w));
		if (std::get<0>(w) == client)
			mine = std::get<2>(w);
	}
	return mine != 0 && mine == best;
}

void
Wake(const uint64_t *hashes, size_t n)
{
	fake.woken.insert(fake.woken.end(), hashes, hashes + n);
}

Blocker
MakeBlocker()
{
	fake = FakeRegistry();
	return Blocker(0, 5, {Park, Unpark, IsFirst, Wake});
}

std::string
Record(std::initializer_list<const char *> keys)
{
	std::string payload;
	for (const char *key : keys) {
		uint64_t hash = nodedb_kv::tracking::KeyHash(5, 16384, key);
		payload.append(reinterpret_cast<const char *>(&hash), sizeof(hash));
	}
	return payload;
}

TEST(RespBlocking, OnlyTheFirstWaiterOfAKeyIsWoken)
{
	Blocker blocker = MakeBlocker();
	ASSERT_TRUE(blocker.Watch(11, 16384, {"q"}));
	ASSERT_TRUE(blocker.Watch(12, 16384, {"q"}));
	ASSERT_TRUE(blocker.Watch(13, 16384, {"other", "q"}));
	std::vector<uint64_t> woken;
	blocker.OnRecord(Record({"q"}), &woken);
	EXPECT_EQ(woken, std::vector<uint64_t>{11});
	woken.clear();
	blocker.OnRecord(Record({"nobody"}), &woken);
	EXPECT_TRUE(woken.empty());
}

TEST(RespBlocking, ForgettingTheFirstPassesTheKeyOn)
{
	Blocker blocker = MakeBlocker();
	blocker.Watch(11, 16384, {"q"});
	blocker.Watch(12, 16384, {"q"});
	blocker.Forget(11);
	EXPECT_FALSE(blocker.Waiting(11));
	ASSERT_EQ(fake.woken.size(), 1u); // a wake-up record for q: 12 may be served now
	std::vector<uint64_t> woken;
	std::string record(reinterpret_cast<const char *>(fake.woken.data()), sizeof(uint64_t));
	blocker.OnRecord(record, &woken);
	EXPECT_EQ(woken, std::vector<uint64_t>{12});
	blocker.Forget(12);
	EXPECT_EQ(fake.woken.size(), 1u); // nobody waits for q any more: no record
	EXPECT_FALSE(blocker.Any());
}

TEST(RespBlocking, AClientThatWaitsKeepsItsPlace)
{
	Blocker blocker = MakeBlocker();
	blocker.Watch(11, 16384, {"q"});
	blocker.Watch(12, 16384, {"q"});
	blocker.Watch(11, 16384, {"q"}); // its command ran again (woken, nothing left): same place
	std::vector<uint64_t> woken;
	blocker.OnRecord(Record({"q"}), &woken);
	EXPECT_EQ(woken, std::vector<uint64_t>{11});
}

TEST(RespBlocking, OneWakeUpPerClientAndKeysOfOtherCollectionsDiffer)
{
	Blocker blocker = MakeBlocker();
	blocker.Watch(11, 16384, {"a", "b", "a"});
	blocker.Watch(12, 16385, {"a"});
	std::vector<uint64_t> woken;
	blocker.OnRecord(Record({"a", "b"}), &woken);
	EXPECT_EQ(woken, std::vector<uint64_t>{11});
}

TEST(RespBlocking, AFullRegistryRefuses)
{
	Blocker blocker = MakeBlocker();
	fake.capacity = 2;
	EXPECT_TRUE(blocker.Watch(11, 16384, {"a", "b"}));
	EXPECT_FALSE(blocker.Watch(12, 16384, {"c"}));
	EXPECT_FALSE(blocker.Waiting(12));
}

} // namespace
