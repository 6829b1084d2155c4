// Unit tests of the sorted sets of kv_db<n> values (src/rtypes/rtypes_zset.cpp): the documented byte
// layout, (score, member) order with ties bytewise, the binary searches behind ranks and score ranges,
// Redis's lex walk, refusal of malformed values, OBJECT ENCODING's listpack / skiplist, and an oracle
// of random Put / Remove against a sorted copy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>

#include "nodedb_kv/rtypes/rtypes_codec.hpp"
#include "nodedb_kv/rtypes/rtypes_zset.hpp"

using namespace nodedb_kv::rtypes;

namespace {

std::vector<std::string>
Members(const ZsetInline &zset)
{
	std::vector<std::string> out;
	for (const ZsetEntry &e : zset.entries)
		out.push_back(e.member);
	return out;
}

} // namespace

TEST(RtypesZset, LayoutIsMemberThenEightByteLittleEndianScore)
{
	ZsetInline zset;
	zset.Put("a", 1.5);
	std::string encoded = EncodeZset(zset);
	// 01 (version) 02 (two items) 01 'a' 08 <1.5 = 0x3ff8000000000000, little-endian>
	std::string expected("\x01\x02\x01\x61\x08\x00\x00\x00\x00\x00\x00\xf8\x3f", 13);
	EXPECT_EQ(encoded, expected);
	ZsetInline back;
	ASSERT_TRUE(DecodeZset(encoded, &back));
	ASSERT_EQ(back.Size(), 1u);
	EXPECT_EQ(back.entries[0].member, "a");
	EXPECT_EQ(back.entries[0].score, 1.5);
}

TEST(RtypesZset, OrderIsScoreThenMemberBytewise)
{
	ZsetInline zset;
	EXPECT_TRUE(zset.Put("b", 2));
	EXPECT_TRUE(zset.Put("a", 2));
	EXPECT_TRUE(zset.Put(std::string("\xff", 1), 1));
	EXPECT_TRUE(zset.Put("", 2));
	EXPECT_TRUE(zset.Put("ab", 2));
	EXPECT_TRUE(zset.Put("z", -std::numeric_limits<double>::infinity()));
	EXPECT_FALSE(zset.Put("b", 2)); // same score: not added, unchanged
	EXPECT_EQ(Members(zset), (std::vector<std::string>{"z", "\xff", "", "a", "ab", "b"}));
	EXPECT_FALSE(zset.Put("z", 3)); // moved
	EXPECT_EQ(Members(zset).back(), "z");
	size_t rank = 0;
	ASSERT_TRUE(zset.Rank("ab", &rank));
	EXPECT_EQ(rank, 3u);
	EXPECT_FALSE(zset.Rank("nope", &rank));
	double score = 0;
	ASSERT_TRUE(zset.Score("z", &score));
	EXPECT_EQ(score, 3);
	ZsetInline back;
	ASSERT_TRUE(DecodeZset(EncodeZset(zset), &back));
	EXPECT_EQ(Members(back), Members(zset));
}

TEST(RtypesZset, ScoreBoundsAreBinarySearches)
{
	ZsetInline zset;
	for (int i = 0; i < 10; i++)
		zset.Put("m" + std::to_string(i), i / 2); // scores 0 0 1 1 2 2 3 3 4 4
	EXPECT_EQ(zset.ScoreBound(1, false), 2u);     // first >= 1
	EXPECT_EQ(zset.ScoreBound(1, true), 4u);      // first > 1
	EXPECT_EQ(zset.ScoreBound(-5, false), 0u);
	EXPECT_EQ(zset.ScoreBound(4, true), 10u);
	EXPECT_EQ(zset.ScoreBound(std::numeric_limits<double>::infinity(), false), 10u);
	ScoreRange range{1, 3, true, false}; // (1 3
	EXPECT_FALSE(range.Contains(1));
	EXPECT_TRUE(range.Contains(3));
	std::vector<ZsetEntry> slice;
	zset.Slice(zset.ScoreBound(1, true), zset.ScoreBound(3, true), &slice);
	ASSERT_EQ(slice.size(), 4u);
	EXPECT_EQ(slice.front().member, "m4");
	EXPECT_EQ(slice.back().member, "m7");
	zset.RemoveRange(2, 4);
	EXPECT_EQ(zset.Size(), 8u);
	EXPECT_FALSE(zset.Remove("m2"));
	EXPECT_TRUE(zset.Remove("m9"));
}

TEST(RtypesZset, LexWalkFollowsRedis)
{
	ZsetInline zset;
	for (const char *m : {"a", "b", "c", "d", "e"})
		zset.Put(m, 0);
	LexBound min{LexBound::Inclusive, "b"}, max{LexBound::Exclusive, "d"};
	size_t begin = 0, end = 0;
	zset.LexWalk(min, max, false, &begin, &end);
	EXPECT_EQ(begin, 1u);
	EXPECT_EQ(end, 3u);
	zset.LexWalk(min, max, true, &begin, &end);
	EXPECT_EQ(begin, 1u);
	EXPECT_EQ(end, 3u);
	LexBound minus{LexBound::Minus, ""}, plus{LexBound::Plus, ""};
	zset.LexWalk(minus, plus, false, &begin, &end);
	EXPECT_EQ(end - begin, 5u);
	zset.LexWalk(plus, minus, false, &begin, &end);
	EXPECT_EQ(end - begin, 0u);
	EXPECT_TRUE(LexGteMin("b", min));
	EXPECT_FALSE(LexLteMax("d", max));
}

TEST(RtypesZset, RefusesMalformedValues)
{
	ZsetInline zset;
	EXPECT_FALSE(DecodeZset(std::string("\x01\x01\x01\x61", 4), &zset));         // odd item count
	EXPECT_FALSE(DecodeZset(std::string("\x01\x02\x01\x61\x01\x31", 6), &zset)); // score of 1 byte
	std::string nan("\x01\x02\x01\x61\x08\x00\x00\x00\x00\x00\x00\xf8\x7f", 13);
	EXPECT_FALSE(DecodeZset(nan, &zset));
	ZsetInline two;
	two.entries = {{"b", 1}, {"a", 2}};
	EXPECT_TRUE(DecodeZset(EncodeZset(two), &zset));
	two.entries = {{"b", 2}, {"a", 1}}; // out of order
	EXPECT_FALSE(DecodeZset(EncodeZset(two), &zset));
	two.entries = {{"a", 1}, {"a", 1}}; // repeated
	EXPECT_FALSE(DecodeZset(EncodeZset(two), &zset));
	two.entries = {{"b", 1}, {"a", 1}}; // tie not bytewise
	EXPECT_FALSE(DecodeZset(EncodeZset(two), &zset));
	EXPECT_FALSE(DecodeZset("", &zset));
	EXPECT_TRUE(DecodeZset(std::string("\x01\x00", 2), &zset));
	EXPECT_EQ(zset.Size(), 0u);
}

TEST(RtypesZset, EncodingIsListpackUntil128MembersOf64Bytes)
{
	ZsetInline zset;
	for (int i = 0; i < 128; i++)
		zset.Put(std::to_string(i), i);
	EXPECT_STREQ(ZsetEncoding(zset), "listpack");
	zset.Put("x", 0);
	EXPECT_STREQ(ZsetEncoding(zset), "skiplist");
	ZsetInline wide;
	wide.Put(std::string(64, 'w'), 1);
	EXPECT_STREQ(ZsetEncoding(wide), "listpack");
	wide.Put(std::string(65, 'w'), 1);
	EXPECT_STREQ(ZsetEncoding(wide), "skiplist");
}

TEST(RtypesZset, OracleOfRandomPutsAndRemoves)
{
	std::mt19937_64 rng(12);
	ZsetInline zset;
	std::map<std::string, double> oracle;
	for (int step = 0; step < 5000; step++) {
		std::string member = "m" + std::to_string(rng() % 200);
		int op = static_cast<int>(rng() % 3);
		if (op == 2) {
			EXPECT_EQ(zset.Remove(member), oracle.erase(member) == 1);
			continue;
		}
		double score = static_cast<double>(static_cast<int>(rng() % 50)) / 4;
		if (op == 1 && oracle.count(member))
			score += oracle[member]; // an increment
		EXPECT_EQ(zset.Put(member, score), oracle.count(member) == 0);
		oracle[member] = score;
		if (step % 250 == 0) {
			ZsetInline back;
			ASSERT_TRUE(DecodeZset(EncodeZset(zset), &back));
			zset = back;
		}
	}
	std::vector<std::pair<double, std::string>> sorted;
	for (const auto &[member, score] : oracle)
		sorted.emplace_back(score, member);
	std::sort(sorted.begin(), sorted.end());
	ASSERT_EQ(zset.Size(), sorted.size());
	for (size_t i = 0; i < sorted.size(); i++) {
		EXPECT_EQ(zset.entries[i].member, sorted[i].second);
		EXPECT_EQ(zset.entries[i].score, sorted[i].first);
		size_t rank = 0;
		ASSERT_TRUE(zset.Rank(sorted[i].second, &rank));
		EXPECT_EQ(rank, i);
	}
}
