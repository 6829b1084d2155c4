// The tracking table of a RESP worker and the bus records of client-side caching (resp_tracking.hpp,
// tracking_key.hpp): remember / invalidate / evict keep the shared filter's counts in step, records
// round-trip and malformed payloads stop the decoder instead of reading past the end.
#include <gtest/gtest.h>

#include <map>

#include "nodedb_kv/resp/resp_tracking.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

namespace {

using nodedb_kv::resp::Tracker;
namespace tracking = nodedb_kv::tracking;

std::map<uint64_t, int> filter;

void
Filter(uint64_t hash, int delta)
{
	filter[hash] += delta;
	if (filter[hash] == 0)
		filter.erase(hash);
}

TEST(RespTracking, RememberInvalidateKeepsTheFilterInStep)
{
	filter.clear();
	Tracker t(5, Filter);
	std::vector<Tracker::Evicted> evicted;
	t.Remember(100, "k", 1, 10, &evicted);
	t.Remember(100, "k", 2, 10, &evicted);
	t.Remember(100, "k", 1, 10, &evicted); // a client once per key
	t.Remember(101, "k", 3, 10, &evicted); // another collection: another key
	EXPECT_TRUE(evicted.empty());
	EXPECT_EQ(t.Size(), 2u);
	EXPECT_EQ(filter[tracking::KeyHash(5, 100, "k")], 1);
	EXPECT_EQ(t.Invalidate(100, "k"), (std::vector<uint64_t>{1, 2}));
	EXPECT_TRUE(t.Invalidate(100, "k").empty()); // invalidated once, until read again
	EXPECT_EQ(filter.count(tracking::KeyHash(5, 100, "k")), 0u);
	EXPECT_EQ(t.InvalidateRelation(101), (std::vector<uint64_t>{3}));
	EXPECT_EQ(t.Size(), 0u);
	EXPECT_TRUE(filter.empty());
}

TEST(RespTracking, EvictsTheOldestPastMaxKeys)
{
	filter.clear();
	Tracker t(5, Filter);
	std::vector<Tracker::Evicted> evicted;
	for (int i = 0; i < 5; i++)
		t.Remember(100, "k" + std::to_string(i), 7, 3, &evicted);
	ASSERT_EQ(evicted.size(), 2u);
	EXPECT_EQ(evicted[0].key, "k0");
	EXPECT_EQ(evicted[1].key, "k1");
	EXPECT_EQ(evicted[0].clients, (std::vector<uint64_t>{7}));
	EXPECT_EQ(t.Size(), 3u);
	EXPECT_EQ(filter.size(), 3u);
}

TEST(RespTracking, RecordsRoundTripAndMalformedPayloadsStop)
{
	std::string payload;
	tracking::AppendRecord(&payload, {tracking::RecordKind::Redirect, 5, 100, 42, false, std::string_view("a\0b", 3)});
	tracking::AppendRecord(&payload, {tracking::RecordKind::Redirect, 5, 100, 43, true, {}});
	std::string key_record(tracking::RecordSize(2), '\0');
	tracking::WriteRecord(key_record.data(), tracking::RecordKind::Key, 5, 101, "xy");
	payload += key_record;
	size_t offset = 0;
	tracking::Record r;
	ASSERT_TRUE(tracking::NextRecord(payload, &offset, &r));
	EXPECT_EQ(r.target, 42u);
	EXPECT_EQ(r.key, std::string_view("a\0b", 3));
	ASSERT_TRUE(tracking::NextRecord(payload, &offset, &r));
	EXPECT_TRUE(r.key_null);
	ASSERT_TRUE(tracking::NextRecord(payload, &offset, &r));
	EXPECT_EQ(r.kind, tracking::RecordKind::Key);
	EXPECT_EQ(r.relid, 101u);
	EXPECT_EQ(r.key, "xy");
	EXPECT_FALSE(tracking::NextRecord(payload, &offset, &r));
	// Truncated and garbage payloads (anyone may PUBLISH on the internal channel).
	offset = 0;
	EXPECT_FALSE(tracking::NextRecord(std::string_view(key_record).substr(0, key_record.size() - 1), &offset, &r));
	offset = 0;
	EXPECT_FALSE(tracking::NextRecord("garbage that is long enough to be a header", &offset, &r));
	offset = 100;
	EXPECT_FALSE(tracking::NextRecord("short", &offset, &r));
}

} // namespace
