// Unit tests of the container encoding of kv_db<n> values (src/rtypes/rtypes_codec.cpp): the documented
// byte layout, round trips of binary-safe items, refusal of malformed values (never reading past the
// end), Redis's orders (hash insertion order, intset ascending order) and OBJECT ENCODING of strings.
#include <gtest/gtest.h>

#include <string>

#include "nodedb_kv/rtypes/rtypes_codec.hpp"

using namespace nodedb_kv::rtypes;

TEST(RtypesCodec, LayoutIsVersionCountAndLengthPrefixedItems)
{
	List list;
	list.items = {"ab", "", std::string(200, 'x')};
	std::string encoded = EncodeList(list);
	ASSERT_GE(encoded.size(), 6u);
	EXPECT_EQ(encoded[0], '\x01'); // version
	EXPECT_EQ(encoded[1], '\x03'); // three items
	EXPECT_EQ(encoded[2], '\x02'); // "ab"
	EXPECT_EQ(encoded.substr(3, 2), "ab");
	EXPECT_EQ(encoded[5], '\x00'); // ""
	EXPECT_EQ(encoded[6], '\xc8'); // 200 = 0xc8 0x01 in LEB128
	EXPECT_EQ(encoded[7], '\x01');
	EXPECT_EQ(encoded.size(), 8u + 200u);
}

TEST(RtypesCodec, RoundTripsBinarySafeItems)
{
	Hash hash;
	hash.entries = {{std::string("\0\r\n", 3), std::string("\xff\x00", 2)}, {"", ""}, {"f", std::string(70000, 'v')}};
	Hash back;
	ASSERT_TRUE(DecodeHash(EncodeHash(hash), &back));
	EXPECT_EQ(back.entries, hash.entries);
	Set set;
	EXPECT_TRUE(set.Add("b"));
	EXPECT_TRUE(set.Add("a"));
	EXPECT_FALSE(set.Add("b"));
	Set set_back;
	ASSERT_TRUE(DecodeSet(EncodeSet(set), &set_back));
	EXPECT_EQ(set_back.members, (std::vector<std::string>{"b", "a"}));
	List empty, empty_back;
	ASSERT_TRUE(DecodeList(EncodeList(empty), &empty_back));
	EXPECT_TRUE(empty_back.items.empty());
}

TEST(RtypesCodec, RefusesMalformedValues)
{
	List list;
	list.items = {"abc", "de"};
	std::string good = EncodeList(list);
	List out;
	EXPECT_FALSE(DecodeList("", &out));
	EXPECT_FALSE(DecodeList(std::string("\x02\x00", 2), &out)); // unknown version
	for (size_t cut = 1; cut < good.size(); cut++)
		EXPECT_FALSE(DecodeList(good.substr(0, cut), &out)) << cut;             // truncated
	EXPECT_FALSE(DecodeList(good + "x", &out));                                 // bytes left over
	EXPECT_FALSE(DecodeList(std::string("\x01\xff\xff\xff\xff\x0f", 6), &out)); // count beyond the value
	EXPECT_FALSE(DecodeList(std::string("\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 12), &out));
	Hash hash;
	EXPECT_FALSE(DecodeHash(good.substr(0, 1) + "\x01\x01x", &hash)); // a field without its value
	EXPECT_TRUE(DecodeList(good, &out));
}

TEST(RtypesCodec, ReaderCountsAndStops)
{
	Set set;
	set.Add("x");
	set.Add("y");
	std::string encoded = EncodeSet(set);
	Reader reader(encoded.data(), encoded.size());
	ASSERT_TRUE(reader.ok());
	EXPECT_EQ(reader.count(), 2u);
	std::string_view item;
	ASSERT_TRUE(reader.Next(&item));
	EXPECT_EQ(item, "x");
	ASSERT_TRUE(reader.Next(&item));
	EXPECT_EQ(item, "y");
	EXPECT_FALSE(reader.Next(&item));
	EXPECT_TRUE(reader.ok());
}

TEST(RtypesCodec, SetOrderIsIntsetOrderForIntegers)
{
	Set set;
	for (const char *m : {"10", "-1", "5", "0"})
		set.Add(m);
	EXPECT_TRUE(set.AllIntegers());
	EXPECT_EQ(set.Ordered(), (std::vector<std::string>{"-1", "0", "5", "10"}));
	set.Add("a");
	EXPECT_FALSE(set.AllIntegers());
	EXPECT_EQ(set.Ordered(), (std::vector<std::string>{"10", "-1", "5", "0", "a"})); // insertion order
	EXPECT_TRUE(set.Remove("5"));
	EXPECT_FALSE(set.Remove("5"));
	Set not_canonical;
	not_canonical.Add("01");
	EXPECT_FALSE(not_canonical.AllIntegers());
}

TEST(RtypesCodec, TypeNamesAndStringEncodings)
{
	Type type;
	for (Type t : {Type::String, Type::Hash, Type::Zset, Type::List, Type::Set}) {
		ASSERT_TRUE(ParseTypeName(TypeName(t), &type));
		EXPECT_EQ(type, t);
	}
	EXPECT_FALSE(ParseTypeName("none", &type));
	EXPECT_STREQ(StringEncoding("12345"), "int");
	EXPECT_STREQ(StringEncoding("012"), "embstr");
	EXPECT_STREQ(StringEncoding(std::string(44, 'x')), "embstr");
	EXPECT_STREQ(StringEncoding(std::string(45, 'x')), "raw");
}
