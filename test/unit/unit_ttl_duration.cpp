// Unit tests of the pure TTL arithmetic (include/nodedb_kv/ttl/ttl_duration.hpp).
#include <gtest/gtest.h>

#include <limits>

#include "nodedb_kv/ttl/ttl_duration.hpp"

using nodedb_kv::ttl::AddMicros;
using nodedb_kv::ttl::kMaxTtlMicros;
using nodedb_kv::ttl::SecondsToMicros;

TEST(TtlDuration, ConvertsWholeAndFractionalSeconds)
{
	int64_t us = 0;
	ASSERT_TRUE(SecondsToMicros(3600, &us));
	EXPECT_EQ(us, INT64_C(3600000000));
	ASSERT_TRUE(SecondsToMicros(1.5, &us));
	EXPECT_EQ(us, 1500000);
	ASSERT_TRUE(SecondsToMicros(-2, &us));
	EXPECT_EQ(us, -2000000);
	ASSERT_TRUE(SecondsToMicros(0.0000004, &us));
	EXPECT_EQ(us, 0);
	ASSERT_TRUE(SecondsToMicros(0.0000006, &us));
	EXPECT_EQ(us, 1);
}

TEST(TtlDuration, RefusesNonFiniteAndHugeValues)
{
	int64_t us = 42;
	EXPECT_FALSE(SecondsToMicros(std::numeric_limits<double>::quiet_NaN(), &us));
	EXPECT_FALSE(SecondsToMicros(std::numeric_limits<double>::infinity(), &us));
	EXPECT_FALSE(SecondsToMicros(-std::numeric_limits<double>::infinity(), &us));
	EXPECT_FALSE(SecondsToMicros(1e300, &us));
	EXPECT_FALSE(SecondsToMicros(static_cast<double>(kMaxTtlMicros) / 1e6 * 2, &us));
	EXPECT_EQ(us, 42) << "output untouched on failure";
}

TEST(TtlDuration, AddDetectsOverflow)
{
	int64_t sum = 0;
	EXPECT_TRUE(AddMicros(10, -20, &sum));
	EXPECT_EQ(sum, -10);
	EXPECT_FALSE(AddMicros(std::numeric_limits<int64_t>::max(), 1, &sum));
	EXPECT_FALSE(AddMicros(std::numeric_limits<int64_t>::min(), -1, &sum));
}
