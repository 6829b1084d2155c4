// Unit tests of the spilled sorted set (src/rtypes/rtypes_ztree.cpp) over rows in a map: an oracle of
// random Put / Remove / RemoveRange against the inline set (each "command" opens the set from the rows
// and flushes it), ranks, slices, score and lex bounds, the bulk build, the stale-root check and
// refusal of damaged nodes; the node cache (rtypes_zcache.hpp) of two processes writing one set, with
// aborted writes whose stamps another writer reuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "nodedb_kv/rtypes/rtypes_zcache.hpp"
#include "nodedb_kv/rtypes/rtypes_ztree.hpp"

using namespace nodedb_kv::rtypes;

namespace {

class MapRows final : public ZtreeRows {
public:
	std::map<uint64_t, std::string> nodes;
	std::map<std::string, std::string> scores;
	int corrupt = 0, stale = 0;
	size_t reads = 0;

	bool
	GetNode(uint64_t id, std::string *bytes, bool *found) override
	{
		reads++;
		auto it = nodes.find(id);
		*found = it != nodes.end();
		if (*found)
			*bytes = it->second;
		return true;
	}
	bool
	PutNode(uint64_t id, std::string_view bytes) override
	{
		nodes[id] = std::string(bytes);
		return true;
	}
	bool
	DeleteNode(uint64_t id) override
	{
		nodes.erase(id);
		return true;
	}
	bool
	GetScore(std::string_view member, double *score, bool *found) override
	{
		reads++;
		auto it = scores.find(std::string(member));
		*found = it != scores.end();
		if (*found && !DecodeScoreItem(it->second, score))
			return false;
		return true;
	}
	bool
	PutScore(std::string_view member, double score) override
	{
		scores[std::string(member)] = EncodeScoreItem(score);
		return true;
	}
	bool
	DeleteScore(std::string_view member) override
	{
		scores.erase(std::string(member));
		return true;
	}
	void
	Corrupt() override
	{
		corrupt++;
	}
	void
	Stale() override
	{
		stale++;
	}
};

// A spilled set in rows: the header fields.
struct Header {
	uint64_t count = 0, root = 0, next = 1;
};

Header
Build(MapRows *rows, const ZsetInline &zset)
{
	std::vector<std::pair<uint64_t, std::string>> nodes;
	Header h;
	BuildZtree(zset.entries, &nodes, &h.root, &h.next);
	for (auto &[id, bytes] : nodes)
		rows->nodes[id] = bytes;
	for (const ZsetEntry &e : zset.entries)
		rows->scores[e.member] = EncodeScoreItem(e.score);
	h.count = zset.entries.size();
	return h;
}

// Runs one command's change on the rows and flushes it (through cache, if given).
template <typename Fn>
void
Command(MapRows *rows, Header *h, Fn fn, ZtreeCache *cache = nullptr)
{
	ZsetSpilled zset(rows, h->count, h->root, h->next);
	if (cache != nullptr)
		zset.UseCache(cache, "set", true);
	fn(zset);
	ASSERT_FALSE(zset.Failed());
	ASSERT_TRUE(zset.Flush());
	h->count = zset.count();
	h->root = zset.root();
	h->next = zset.next();
}

void
ExpectSame(MapRows *rows, const Header &h, const ZsetInline &oracle)
{
	ZsetSpilled zset(rows, h.count, h.root, h.next);
	ASSERT_EQ(zset.Size(), oracle.Size());
	std::vector<ZsetEntry> all;
	zset.Slice(0, zset.Size(), &all);
	ASSERT_FALSE(zset.Failed());
	ASSERT_EQ(all.size(), oracle.entries.size());
	for (size_t i = 0; i < all.size(); i++) {
		ASSERT_EQ(all[i].member, oracle.entries[i].member) << i;
		ASSERT_EQ(all[i].score, oracle.entries[i].score) << i;
	}
	ASSERT_EQ(rows->scores.size(), oracle.entries.size());
}

std::string
Name(int i)
{
	return "m" + std::to_string(i);
}

// Puts n members Name(i) with score(i) into oracle (in order) and builds the spilled set of it.
template <typename ScoreFn>
Header
BuildOf(MapRows *rows, ZsetInline *oracle, int n, ScoreFn score)
{
	for (int i = 0; i < n; i++)
		oracle->Put(Name(i), score(i));
	return Build(rows, *oracle);
}

} // namespace

TEST(RtypesZtree, BuildThenReadMatchesTheInlineSet)
{
	for (int n : {1, 5, 96, 97, 129, 1000, 20000}) {
		ZsetInline oracle;
		for (int i = 0; i < n; i++)
			oracle.entries.push_back({Name(i), (i * 7919) % 1000 / 10.0});
		std::sort(oracle.entries.begin(), oracle.entries.end(), [](const ZsetEntry &a, const ZsetEntry &b) {
			return ZsetLess(a.score, a.member, b.score, b.member);
		});
		MapRows rows;
		Header h = Build(&rows, oracle);
		ExpectSame(&rows, h, oracle);
		ZsetSpilled zset(&rows, h.count, h.root, h.next);
		for (int i = 0; i < n; i += std::max(1, n / 50)) {
			size_t rank = 0, want = 0;
			ASSERT_TRUE(zset.Rank(Name(i), &rank));
			ASSERT_TRUE(oracle.Rank(Name(i), &want));
			EXPECT_EQ(rank, want);
			double score = 0;
			ASSERT_TRUE(zset.Score(Name(i), &score));
			EXPECT_EQ(score, oracle.entries[want].score);
		}
		for (double s : {-1.0, 0.0, 0.5, 10.0, 55.5, 99.9, 100.0}) {
			EXPECT_EQ(zset.ScoreBound(s, false), oracle.ScoreBound(s, false)) << s;
			EXPECT_EQ(zset.ScoreBound(s, true), oracle.ScoreBound(s, true)) << s;
		}
		size_t rank = 0;
		EXPECT_FALSE(zset.Rank("absent", &rank));
		EXPECT_EQ(rows.corrupt + rows.stale, 0);
	}
}

TEST(RtypesZtree, RandomEditsAgreeWithTheInlineSet)
{
	std::mt19937_64 random(12);
	ZsetInline oracle;
	MapRows rows;
	Header h = BuildOf(&rows, &oracle, 200, [&](int) { return static_cast<double>(random() % 50); });
	for (int step = 0; step < 3000; step++) {
		int op = static_cast<int>(random() % 10);
		std::string member = Name(static_cast<int>(random() % 3000));
		double score = static_cast<double>(static_cast<int>(random() % 200) - 100) / 4;
		if (op < 6) {
			bool want = oracle.Put(member, score);
			bool got = false;
			Command(&rows, &h, [&](ZsetSpilled &z) { got = z.Put(member, score); });
			ASSERT_EQ(got, want);
		} else if (op < 9) {
			bool want = oracle.Remove(member);
			bool got = false;
			Command(&rows, &h, [&](ZsetSpilled &z) { got = z.Remove(member); });
			ASSERT_EQ(got, want);
		} else if (oracle.Size() > 300) {
			size_t begin = random() % oracle.Size(), end = begin + random() % 200;
			oracle.RemoveRange(begin, end);
			Command(&rows, &h, [&](ZsetSpilled &z) { z.RemoveRange(begin, end); });
		}
		if (step % 100 == 0)
			ExpectSame(&rows, h, oracle);
	}
	ExpectSame(&rows, h, oracle);
	ZsetSpilled zset(&rows, h.count, h.root, h.next);
	for (const ZsetEntry &e : oracle.entries) {
		size_t rank = 0, want = 0;
		ASSERT_TRUE(zset.Rank(e.member, &rank));
		oracle.Rank(e.member, &want);
		ASSERT_EQ(rank, want);
	}
	for (size_t b = 0; b + 10 < oracle.Size(); b += 37) {
		std::vector<ZsetEntry> got, want;
		zset.Slice(b, b + 10, &got);
		oracle.Slice(b, b + 10, &want);
		ASSERT_EQ(got.size(), want.size());
		for (size_t i = 0; i < got.size(); i++)
			ASSERT_EQ(got[i].member, want[i].member);
	}
}

TEST(RtypesZtree, ManyPutsInOneCommandThenEmptying)
{
	MapRows rows;
	ZsetInline oracle;
	Header h = BuildOf(&rows, &oracle, 130, [](int i) { return static_cast<double>(i); });
	Command(&rows, &h, [&](ZsetSpilled &z) {
		for (int i = 0; i < 5000; i++)
			z.Put(Name(i), -i);
	});
	for (int i = 0; i < 5000; i++)
		oracle.Put(Name(i), -i);
	ExpectSame(&rows, h, oracle);
	// ZPOPMIN-like removals from the front, then everything.
	Command(&rows, &h, [&](ZsetSpilled &z) { z.RemoveRange(0, 1000); });
	oracle.RemoveRange(0, 1000);
	ExpectSame(&rows, h, oracle);
	Command(&rows, &h, [&](ZsetSpilled &z) { z.RemoveRange(0, z.Size()); });
	EXPECT_EQ(h.count, 0u);
	EXPECT_EQ(h.root, 0u);
	EXPECT_TRUE(rows.nodes.empty());
	EXPECT_TRUE(rows.scores.empty());
}

TEST(RtypesZtree, LexBoundsOnOneScore)
{
	ZsetInline oracle;
	MapRows rows;
	Header h = BuildOf(&rows, &oracle, 500, [](int) { return 0.0; });
	ZsetSpilled zset(&rows, h.count, h.root, h.next);
	std::vector<std::pair<LexBound, LexBound>> ranges = {
	    {{LexBound::Minus, ""}, {LexBound::Plus, ""}},
	    {{LexBound::Inclusive, "m1"}, {LexBound::Exclusive, "m2"}},
	    {{LexBound::Exclusive, "m250"}, {LexBound::Inclusive, "m3"}},
	    {{LexBound::Inclusive, "m9"}, {LexBound::Inclusive, "m1"}},
	    {{LexBound::Plus, ""}, {LexBound::Minus, ""}},
	};
	for (auto &[min, max] : ranges) {
		for (bool rev : {false, true}) {
			size_t b = 0, e = 0, wb = 0, we = 0;
			zset.LexWalk(min, max, rev, &b, &e);
			oracle.LexWalk(min, max, rev, &wb, &we);
			EXPECT_EQ(e - b, we - wb);
			if (we > wb) {
				EXPECT_EQ(b, wb);
			}
		}
	}
}

TEST(RtypesZtree, ReadsAreLogarithmic)
{
	ZsetInline oracle;
	for (int i = 0; i < 100000; i++)
		oracle.entries.push_back({Name(1000000 + i), static_cast<double>(i)});
	MapRows rows;
	Header h = Build(&rows, oracle);
	ZsetSpilled zset(&rows, h.count, h.root, h.next);
	rows.reads = 0;
	size_t rank = 0;
	ASSERT_TRUE(zset.Rank(Name(1000000 + 77777), &rank));
	EXPECT_EQ(rank, 77777u);
	EXPECT_LE(rows.reads, 5u); // the member row and one node per level (3 levels at 100k)
}

TEST(RtypesZtree, AStaleRootOrADamagedNodeFails)
{
	ZsetInline oracle;
	MapRows rows;
	Header h = BuildOf(&rows, &oracle, 300, [](int i) { return static_cast<double>(i); });
	{
		ZsetSpilled zset(&rows, h.count, h.root, h.next + 1); // a header newer than the rows
		size_t rank = 0;
		EXPECT_FALSE(zset.Rank(Name(5), &rank) && !zset.Failed());
		EXPECT_TRUE(zset.Failed());
		EXPECT_EQ(rows.stale, 1);
	}
	rows.nodes[h.root] = "garbage";
	ZsetSpilled zset(&rows, h.count, h.root, h.next);
	EXPECT_EQ(zset.ScoreBound(1, false), 0u);
	EXPECT_TRUE(zset.Failed());
	EXPECT_EQ(rows.corrupt, 1);
	EXPECT_FALSE(zset.Put("x", 1));
	EXPECT_FALSE(zset.Flush());
}

namespace {

// The rank of every member through cache, as a reader (header h): their mismatches with the oracle.
size_t
WrongRanks(MapRows *rows, const Header &h, ZtreeCache *cache, const ZsetInline &oracle)
{
	ZsetSpilled zset(rows, h.count, h.root, h.next);
	zset.UseCache(cache, "set", false);
	size_t wrong = 0;
	for (size_t i = 0; i < oracle.entries.size(); i++) {
		size_t rank = 0;
		if (!zset.Rank(oracle.entries[i].member, &rank) || rank != i)
			wrong++;
	}
	return wrong + (zset.Failed() ? 1 : 0);
}

} // namespace

TEST(RtypesZtree, TwoProcessCachesFollowEachOthersWrites)
{
	// Two workers, each with its cache, write one set in turns (each command its own committed
	// transaction) and read it: the answers are the oracle's, and a warm reader reads only member rows.
	std::mt19937_64 random(7);
	ZsetInline oracle;
	MapRows rows;
	Header h = BuildOf(&rows, &oracle, 3000, [&](int) { return static_cast<double>(random() % 100); });
	ZtreeCache caches[2];
	for (int step = 0; step < 2000; step++) {
		ZtreeCache &cache = caches[random() % 2];
		std::string member = Name(static_cast<int>(random() % 4000));
		double score = static_cast<double>(random() % 100);
		if (random() % 4 != 0) {
			oracle.Put(member, score);
			Command(
			    &rows, &h, [&](ZsetSpilled &z) { z.Put(member, score); }, &cache);
		} else {
			oracle.Remove(member);
			Command(
			    &rows, &h, [&](ZsetSpilled &z) { z.Remove(member); }, &cache);
		}
		cache.Commit();
		if (step % 400 == 0) {
			ASSERT_EQ(WrongRanks(&rows, h, &caches[0], oracle), 0u) << step;
			ASSERT_EQ(WrongRanks(&rows, h, &caches[1], oracle), 0u) << step;
		}
	}
	ASSERT_EQ(WrongRanks(&rows, h, &caches[1], oracle), 0u);
	ExpectSame(&rows, h, oracle);
	rows.reads = 0;
	ASSERT_EQ(WrongRanks(&rows, h, &caches[1], oracle), 0u);
	EXPECT_EQ(rows.reads, oracle.entries.size()); // the member rows only: every node came from the cache
	EXPECT_GT(caches[1].bytes(), 0u);
}

TEST(RtypesZtree, AnAbortedWritesStampTakenByAnotherWriterIsNotAnsweredFromTheCache)
{
	ZsetInline oracle;
	MapRows rows;
	Header h = BuildOf(&rows, &oracle, 2000, [](int i) { return static_cast<double>(i); });
	for (bool abort : {true, false}) {
		ZtreeCache a, b;
		MapRows saved = rows;
		Header before = h;
		ASSERT_EQ(WrongRanks(&rows, h, &a, oracle), 0u); // a's cache holds the committed state
		// a writes (stamp before.next + 1 ...), then its transaction aborts: the rows go back.
		Command(
		    &rows, &h, [&](ZsetSpilled &z) { z.Put("a-only", -1); }, &a);
		uint64_t a_stamp = h.next;
		rows = saved;
		h = before;
		if (abort)
			a.Abort();
		else
			a.Commit(); // (what a cache blind to aborts would do)
		// b writes something else from the same state: the same stamp, other contents.
		ZsetInline changed = oracle;
		changed.Put("b-only", 1e9);
		Command(
		    &rows, &h, [&](ZsetSpilled &z) { z.Put("b-only", 1e9); }, &b);
		b.Commit();
		ASSERT_EQ(h.next, a_stamp);
		size_t wrong = WrongRanks(&rows, h, &a, changed);
		if (abort)
			EXPECT_EQ(wrong, 0u);
		else
			EXPECT_GT(wrong, 0u); // the test would catch a cache that keeps aborted states
		rows = saved;
		h = before;
	}
}

TEST(RtypesZtree, TheCacheOfASubtransactionThatAbortedIsForgottenAndMineStatesCommit)
{
	ZsetInline oracle;
	MapRows rows;
	Header h = BuildOf(&rows, &oracle, 1000, [](int i) { return static_cast<double>(i); });
	ZtreeCache cache;
	Command(
	    &rows, &h, [&](ZsetSpilled &z) { z.Put("x", 0.5); }, &cache); // kept, uncommitted
	oracle.Put("x", 0.5);
	MapRows saved = rows;
	Header before = h;
	Command(
	    &rows, &h, [&](ZsetSpilled &z) { z.Put("y", 1.5); }, &cache); // in a subtransaction...
	rows = saved;                                                     // ... rolled back
	h = before;
	cache.SubAbort();
	ASSERT_EQ(WrongRanks(&rows, h, &cache, oracle), 0u);
	cache.Commit();
	rows.reads = 0;
	ASSERT_EQ(WrongRanks(&rows, h, &cache, oracle), 0u);
	EXPECT_EQ(rows.reads, oracle.entries.size());
}

TEST(RtypesZtree, TheCacheStaysWithinItsBudget)
{
	ZsetInline oracle;
	for (int i = 0; i < 50000; i++)
		oracle.entries.push_back({Name(1000000 + i), static_cast<double>(i)});
	MapRows rows;
	Header h = Build(&rows, oracle);
	ZtreeCache cache(256 << 10);
	ASSERT_EQ(WrongRanks(&rows, h, &cache, oracle), 0u);
	EXPECT_LE(cache.bytes(), size_t{256} << 10);
	EXPECT_GT(cache.bytes(), 0u);
	cache.Clear();
	EXPECT_EQ(cache.bytes(), 0u);
}
