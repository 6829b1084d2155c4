// Unit tests of the text encoding of numbers (src/rtypes/rtypes_number.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "nodedb_kv/rtypes/rtypes_number.hpp"

using namespace nodedb_kv::rtypes;

static bool
Int(const std::string &text, int64_t *out)
{
	return ParseInt64(text.data(), text.size(), out);
}

TEST(KvNumber, ParsesCanonicalIntegers)
{
	int64_t v = 0;
	ASSERT_TRUE(Int("0", &v));
	EXPECT_EQ(v, 0);
	ASSERT_TRUE(Int("42", &v));
	EXPECT_EQ(v, 42);
	ASSERT_TRUE(Int("-17", &v));
	EXPECT_EQ(v, -17);
	ASSERT_TRUE(Int("9223372036854775807", &v));
	EXPECT_EQ(v, std::numeric_limits<int64_t>::max());
	ASSERT_TRUE(Int("-9223372036854775808", &v));
	EXPECT_EQ(v, std::numeric_limits<int64_t>::min());
}

TEST(KvNumber, RefusesNonCanonicalIntegers)
{
	int64_t v = 7;
	for (const char *bad : {"", "-", "+1", " 1", "1 ", "01", "-0", "1.0", "1e3", "abc", "9223372036854775808",
	                        "-9223372036854775809", "99999999999999999999999"})
		EXPECT_FALSE(Int(bad, &v)) << bad;
	EXPECT_FALSE(ParseInt64("1\0", 2, &v)) << "embedded NUL";
	EXPECT_EQ(v, 7);
}

TEST(KvNumber, ParsesFloats)
{
	double d = 0;
	ASSERT_TRUE(ParseDouble("10.5", 4, &d));
	EXPECT_EQ(d, 10.5);
	ASSERT_TRUE(ParseDouble("-3", 2, &d));
	EXPECT_EQ(d, -3);
	ASSERT_TRUE(ParseDouble("5.0e3", 5, &d));
	EXPECT_EQ(d, 5000);
	for (const char *bad : {"", " 1", "1 ", "nan", "NaN", "-nan", "0x10", "1e999", "abc", "1..2", " inf", "inf ",
	                        "infin", "in", "--inf", "+"})
		EXPECT_FALSE(ParseDouble(bad, strlen(bad), &d)) << bad;
}

// Redis's string2ld reads infinities as numbers (INCRBYFLOAT over "inf" answers "increment would
// produce NaN or Infinity"); the caller then reports the non-finite result as an overflow.
TEST(KvNumber, ParsesInfinitiesLikeRedis)
{
	for (const char *inf : {"inf", "INF", "Inf", "+inf", "infinity", "Infinity", "+Infinity", "INFINITY"}) {
		double d = 0;
		ASSERT_TRUE(ParseDouble(inf, strlen(inf), &d)) << inf;
		EXPECT_TRUE(std::isinf(d) && d > 0) << inf;
	}
	for (const char *inf : {"-inf", "-Infinity", "-INF"}) {
		double d = 0;
		ASSERT_TRUE(ParseDouble(inf, strlen(inf), &d)) << inf;
		EXPECT_TRUE(std::isinf(d) && d < 0) << inf;
	}
	double d = 7;
	EXPECT_FALSE(ParseDouble("inf\0", 4, &d)) << "embedded NUL";
	EXPECT_EQ(d, 7);
}

static std::string
Format(double value)
{
	char buffer[400];
	size_t len = FormatDouble(value, buffer, sizeof(buffer));
	return std::string(buffer, len);
}

TEST(KvNumber, FormatsFloatsLikeRedis)
{
	EXPECT_EQ(Format(10.5), "10.5");
	EXPECT_EQ(Format(3.0), "3");
	EXPECT_EQ(Format(-0.0), "0");
	EXPECT_EQ(Format(5000), "5000");
	EXPECT_EQ(Format(1e20), "100000000000000000000");
	EXPECT_EQ(Format(0.1 + 0.2), "0.30000000000000004");
	EXPECT_EQ(Format(std::numeric_limits<double>::infinity()), "");
	char tiny[4];
	EXPECT_EQ(FormatDouble(12345.5, tiny, sizeof(tiny)), 0u);
}

// Whatever FormatDouble writes, ParseDouble reads back as the same double (KV_INCR_FLOAT reads the
// text it wrote), including the longest outputs (hundreds of digits).
TEST(KvNumber, FormattedFloatsParseBack)
{
	for (double value : {0.1 + 0.2, -2.5, 1e-5, 123456.789, 1e20, 1e300, -1e300, std::numeric_limits<double>::max(),
	                     std::numeric_limits<double>::lowest()}) {
		std::string text = Format(value);
		ASSERT_FALSE(text.empty()) << value;
		double parsed = 0;
		ASSERT_TRUE(ParseDouble(text.data(), text.size(), &parsed)) << text;
		EXPECT_EQ(parsed, value) << text;
	}
	std::string too_long(kMaxDoubleChars + 1, '1');
	double parsed = 0;
	EXPECT_FALSE(ParseDouble(too_long.data(), too_long.size(), &parsed));
}

TEST(KvNumber, FormatsIntegers)
{
	char buffer[21];
	EXPECT_EQ(std::string(buffer, FormatInt64(std::numeric_limits<int64_t>::min(), buffer)), "-9223372036854775808");
	EXPECT_EQ(std::string(buffer, FormatInt64(0, buffer)), "0");
}
