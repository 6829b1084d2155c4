// Unit tests of spilled containers' keys and header (src/rtypes/rtypes_spill.cpp): the 33-byte header
// round trip and its refusals, member keys that keep one container's rows contiguous and ordered
// (list positions in numeric order across the sign), prefixes that never collide, and the split the
// vacuum uses.
#include <gtest/gtest.h>

#include <string>

#include "nodedb_kv/rtypes/rtypes_spill.hpp"

using namespace nodedb_kv::rtypes;

TEST(RtypesSpill, HeaderRoundTripsAndRefusesDamage)
{
	SpillHeader header{0x0102030405060708ULL, 300, -5, 295};
	std::string encoded = EncodeSpillHeader(header);
	ASSERT_EQ(encoded.size(), kSpillHeaderSize);
	EXPECT_TRUE(IsSpilled(encoded));
	EXPECT_EQ(encoded[0], '\x02');
	EXPECT_EQ(encoded[1], '\x01'); // generation, big-endian
	SpillHeader back;
	ASSERT_TRUE(DecodeSpillHeader(encoded, &back));
	EXPECT_EQ(back.gen, header.gen);
	EXPECT_EQ(back.count, 300u);
	EXPECT_EQ(back.head, -5);
	EXPECT_EQ(back.tail, 295);
	EXPECT_FALSE(DecodeSpillHeader(encoded.substr(0, 32), &back));
	EXPECT_FALSE(DecodeSpillHeader(encoded + "x", &back));
	EXPECT_FALSE(DecodeSpillHeader(EncodeSpillHeader({0, 1, 0, 1}), &back)); // generation 0
	EXPECT_FALSE(DecodeSpillHeader(EncodeSpillHeader({7, 1, 5, 4}), &back)); // tail before head
	EXPECT_FALSE(IsSpilled(std::string("\x01\x00", 2)));                     // an inline container
	EXPECT_FALSE(IsSpilled(""));
}

TEST(RtypesSpill, GenerationsAreRandomAndNonZero)
{
	uint64_t a = NewGeneration(), b = NewGeneration();
	EXPECT_NE(a, 0u);
	EXPECT_NE(a, b);
}

TEST(RtypesSpill, MemberKeysStayInsideTheirPrefixRange)
{
	std::string prefix = MemberPrefix("public.kv_db0", "user:1", 42);
	std::string end = PrefixEnd(prefix);
	for (const std::string &member : {std::string(), std::string("a"), std::string("\xff\xff\xff", 3)}) {
		std::string key = MemberKey(prefix, member);
		EXPECT_LT(prefix, key);
		EXPECT_LT(key, end);
		std::string_view back;
		ASSERT_TRUE(MemberOf(key, prefix.size(), &back));
		EXPECT_EQ(back, member);
	}
	int64_t positions[] = {INT64_MIN, -2, -1, 0, 1, 1000, INT64_MAX};
	std::string last;
	for (int64_t position : positions) {
		std::string key = ListKey(prefix, position);
		EXPECT_LT(last, key) << position; // numeric order, also across the sign
		EXPECT_LT(key, end);
		int64_t back = 0;
		ASSERT_TRUE(PositionOf(key, prefix.size(), &back));
		EXPECT_EQ(back, position);
		std::string_view member;
		EXPECT_FALSE(MemberOf(key, prefix.size(), &member));
		last = key;
	}
}

TEST(RtypesSpill, PrefixesOfDifferentContainersNeverNest)
{
	// Length-prefixed parts: (keyspace "a", key "bc") and ("ab", "c") differ; so do two generations.
	std::string one = MemberPrefix("a", "bc", 1), two = MemberPrefix("ab", "c", 1);
	EXPECT_NE(one.substr(0, two.size()), two);
	std::string g1 = MemberPrefix("ks", "k", 1), g2 = MemberPrefix("ks", "k", 2);
	EXPECT_LT(PrefixEnd(g1), g2);
	// A key that is a prefix of another key: its members sort apart.
	std::string k = MemberPrefix("ks", "k", 9), kk = MemberPrefix("ks", "kk", 9);
	EXPECT_NE(kk.substr(0, k.size()), k);
}

TEST(RtypesSpill, SplitsAMemberKeyForTheVacuum)
{
	std::string long_key(300, 'k'); // a two-byte length
	std::string prefix = MemberPrefix("public.kv_db7", long_key, 0xabcdef);
	std::string_view keyspace, key;
	uint64_t gen = 0;
	size_t prefix_len = 0;
	std::string mkey = MemberKey(prefix, "field"); // (the views point into it)
	ASSERT_TRUE(SplitMemberKey(mkey, &keyspace, &key, &gen, &prefix_len));
	EXPECT_EQ(keyspace, "public.kv_db7");
	EXPECT_EQ(key, long_key);
	EXPECT_EQ(gen, 0xabcdefu);
	EXPECT_EQ(prefix_len, prefix.size());
	EXPECT_FALSE(SplitMemberKey(prefix.substr(0, prefix.size() - 3), &keyspace, &key, &gen, &prefix_len));
	EXPECT_FALSE(SplitMemberKey(std::string("\x7f", 1), &keyspace, &key, &gen, &prefix_len));
}
