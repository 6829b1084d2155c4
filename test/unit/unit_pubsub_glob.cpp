// Unit tests of Redis's glob matcher (src/pubsub/pubsub_glob.cpp).  Every expectation was taken from a
// real redis-server 7.0 (KEYS <pattern> over one key; PSUBSCRIBE for the empty text, since KEYS and SCAN
// answer "*" without matching), including its quirks: an unclosed `[` class,
// reversed ranges, a trailing backslash, range ends compared as signed char, and the early stop that
// keeps hostile `*a*a*...` patterns linear.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>

#include "nodedb_kv/pubsub/pubsub_glob.hpp"

using nodedb_kv::pubsub::GlobMatch;
using nodedb_kv::pubsub::GlobMayMatchPrefix;

namespace {

struct Case {
	const char *pattern;
	std::string text;
	bool match;
};

const Case kRedis[] = {
    {"*", "", false}, // stringmatchlen itself (PSUBSCRIBE * + PUBLISH ""); KEYS/SCAN special-case "*"
    {"*", "abc", true},
    {"a*", "abc", true},
    {"*c", "abc", true},
    {"a*c", "ac", true},
    {"a*c", "abbbc", true},
    {"a*c", "abcd", false},
    {"?", "", false},
    {"?", "a", true},
    {"??", "a", false},
    {"a?c", "abc", true},
    {"h[ae]llo", "hello", true},
    {"h[ae]llo", "hillo", false},
    {"h[^e]llo", "hello", false},
    {"h[^e]llo", "hallo", true},
    {"h[a-b]llo", "hbllo", true},
    {"h[b-a]llo", "hallo", true},
    {"h[a-b]llo", "hcllo", false},
    {"\\*", "*", true},
    {"\\*", "a", false},
    {"a\\", "a\\", true},
    {"[\\]]", "]", true},
    {"[abc", "a", true},
    {"[abc", "b", true},
    {"ab[", "ab", false},
    {"[]", "a", false},
    {"*a*a*a*a*a*a*a*a*b", std::string(40, 'a'), false},
    {"**a", "a", true},
    {"a**", "a", true},
    {"a*", "a", true},
    {"[a-]", "-", false},
    {"[-a]", "-", true},
    {"[^]", "a", true},
    {"x[a-c]*", "xbzzz", true},
    {"\\", "\\", true},
    {"[\xe9]", "\xe9", true},
    {"[a-\xe9]", "b", false}, // 0xe9 is negative as a signed char: the range is [-23, 'a']
    {"*?", "", false},
    {"*?", "a", true},
    {"?*", "", false},
};

TEST(PubsubGlob, MatchesRedis)
{
	for (const Case &c : kRedis) {
		std::string pattern(c.pattern);
		EXPECT_EQ(GlobMatch(pattern.data(), pattern.size(), c.text.data(), c.text.size()), c.match)
		    << "pattern '" << pattern << "' text '" << c.text << "'";
	}
}

TEST(PubsubGlob, BinarySafe)
{
	std::string text("a\0b", 3), pattern("a?b");
	EXPECT_TRUE(GlobMatch(pattern.data(), pattern.size(), text.data(), text.size()));
	std::string nul_pattern("a\0*", 3);
	EXPECT_TRUE(GlobMatch(nul_pattern.data(), nul_pattern.size(), text.data(), text.size()));
	EXPECT_FALSE(GlobMatch(nul_pattern.data(), nul_pattern.size(), "ab", 2));
}

TEST(PubsubGlob, NoCase)
{
	EXPECT_TRUE(GlobMatch("H[A-C]LLO", 9, "hbllo", 5, true));
	EXPECT_FALSE(GlobMatch("H[A-C]LLO", 9, "hbllo", 5, false));
}

bool
MayPrefix(const char *pattern, const char *prefix)
{
	return GlobMayMatchPrefix(pattern, strlen(pattern), prefix, strlen(prefix));
}

// PSUBSCRIBE's privilege check: may a pattern match a collection's keyspace channels
// (__keyspace@<db>__:<any key>)?  Never false when some channel could match.
TEST(PubsubGlob, MayMatchPrefix)
{
	const char *ks = "__keyspace@s.t__:";
	EXPECT_TRUE(MayPrefix("__key*", ks));
	EXPECT_TRUE(MayPrefix("*", ks));
	EXPECT_TRUE(MayPrefix("__keyspace@s.t__:*", ks));
	EXPECT_TRUE(MayPrefix("__keyspace@s.t__:k1", ks)); // a key: the text goes on past the prefix
	EXPECT_TRUE(MayPrefix("__keyspace@?.t__:x", ks));
	EXPECT_TRUE(MayPrefix("__keyspace@[rs].t__:x", ks));
	EXPECT_TRUE(MayPrefix("__keyspace@[^a].t__:x", ks)); // a class counts as any byte
	EXPECT_TRUE(MayPrefix("__k\\eyspace*", ks));
	EXPECT_FALSE(MayPrefix("__keyspace@s.t_", ks)); // no wildcard, shorter than the channel
	EXPECT_FALSE(MayPrefix("__keyspace@sessions__:*", ks));
	EXPECT_FALSE(MayPrefix("__keyevent@*", ks));
	EXPECT_FALSE(MayPrefix("x*", ks));
	EXPECT_FALSE(MayPrefix("", ks));
	std::string hostile;
	for (int i = 0; i < 40; i++)
		hostile += "*_";
	EXPECT_TRUE(GlobMayMatchPrefix(hostile.data(), hostile.size(), ks, strlen(ks))); // budget: true
}

TEST(PubsubGlob, HostilePatternIsFast)
{
	std::string pattern;
	for (int i = 0; i < 30; i++)
		pattern += "*a";
	pattern += "*b";
	std::string text(20000, 'a');
	auto start = std::chrono::steady_clock::now();
	EXPECT_FALSE(GlobMatch(pattern.data(), pattern.size(), text.data(), text.size()));
	EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

} // namespace
