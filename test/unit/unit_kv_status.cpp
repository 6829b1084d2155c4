// Unit tests of the status table (src/kv/kv_status.cpp): each engine code's SQLSTATE and Redis error
// prefix, as CONTRACT.md lists them ("Atomic operations" errors; RESP "Errors": privilege -> NOPERM,
// standby -> READONLY, the rest -ERR).  SQL and RESP report a failure through this one table.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <string>

#include "nodedb_kv/kv/kv_api.hpp"

using namespace nodedb_kv::kv;

namespace {

struct Expected {
	Code code;
	const char *sqlstate;
	const char *prefix;
};

const Expected kContract[] = {
    {Code::Ok, "00000", ""},
    {Code::TypeMismatch, "42846", "ERR"},     // -ERR value is not an integer or out of range
    {Code::Overflow, "22003", "ERR"},         // -ERR increment or decrement would overflow
    {Code::UnknownField, "42703", "ERR"},     // unknown field
    {Code::NotKvTable, "42809", "ERR"},       // SELECT of a non-kv table: -ERR
    {Code::NoSuchCollection, "42P01", "ERR"}, // a dropped collection
    {Code::PermissionDenied, "42501", "NOPERM"},
    {Code::ReadOnly, "25006", "READONLY"}, // -READONLY You can't write against a read only replica.
    {Code::InvalidArgument, "22023", "ERR"},
    {Code::Unsupported, "0A000", "ERR"},
    {Code::WrongType, "42809", "WRONGTYPE"}, // a kv_db<n> key of another Redis type
};

} // namespace

TEST(KvStatus, ContractCodesMapToSqlstateAndRedisPrefix)
{
	for (const Expected &e : kContract) {
		const CodeInfo &info = DescribeCode(e.code);
		EXPECT_STREQ(info.sqlstate, e.sqlstate) << "code " << static_cast<int>(e.code);
		EXPECT_STREQ(info.redis_prefix, e.prefix) << "code " << static_cast<int>(e.code);
	}
}

// Every code (also ones added after this test) has a well-formed SQLSTATE and a prefix Redis clients
// know: an upper-case word, ERR unless the contract names another.  Ok alone has no prefix and the
// success class 00.
TEST(KvStatus, EveryCodeIsWellFormed)
{
	for (int c = 0; c < 256; c++) {
		const CodeInfo &info = DescribeCode(static_cast<Code>(c));
		ASSERT_NE(info.sqlstate, nullptr) << c;
		ASSERT_NE(info.redis_prefix, nullptr) << c;
		ASSERT_EQ(strlen(info.sqlstate), 5u) << c;
		for (const char *p = info.sqlstate; *p; p++)
			EXPECT_TRUE(isdigit(static_cast<unsigned char>(*p)) || isupper(static_cast<unsigned char>(*p))) << c;
		std::string prefix = info.redis_prefix;
		if (c == static_cast<int>(Code::Ok)) {
			EXPECT_EQ(prefix, "");
			EXPECT_STREQ(info.sqlstate, "00000");
			continue;
		}
		EXPECT_NE(std::string(info.sqlstate, 2), "00") << c;
		EXPECT_TRUE(prefix == "ERR" || prefix == "NOPERM" || prefix == "READONLY" || prefix == "WRONGTYPE" ||
		            prefix == "NOAUTH" || prefix == "BUSY")
		    << "code " << c << " prefix " << prefix;
	}
}

// The same failure reads the same from SQL and RESP: only the privilege, standby and wrong-type codes
// leave -ERR.
TEST(KvStatus, OnlyPrivilegeAndStandbyLeaveErr)
{
	EXPECT_STREQ(DescribeCode(Code::PermissionDenied).redis_prefix, "NOPERM");
	EXPECT_STREQ(DescribeCode(Code::ReadOnly).redis_prefix, "READONLY");
	for (Code code : {Code::TypeMismatch, Code::Overflow, Code::UnknownField, Code::NotKvTable, Code::NoSuchCollection,
	                  Code::InvalidArgument, Code::Unsupported})
		EXPECT_STREQ(DescribeCode(code).redis_prefix, "ERR") << static_cast<int>(code);
}
