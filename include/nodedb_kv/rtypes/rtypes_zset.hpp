#pragma once
// Sorted sets of a kv_db<n> keyspace (type zset), pure C++: the ordering, the range bounds of the
// Z-commands, the storage interface the commands call (SortedSet) and its inline implementation
// (ZsetInline: the whole set in the row's value, in the container encoding of rtypes_codec.hpp).
//
//   zset := member score member score ...   count = 2 x members, ascending by (score, member bytewise)
//   score := 8 bytes, the IEEE 754 binary64 bits, little-endian (never NaN)
//
// A big set's members may live elsewhere (the spill of src/rtypes/README.md): an implementation of
// SortedSet over member rows plugs in behind the same calls.  See src/rtypes/README.md.
#ifdef POSTGRES_H
static_assert(false, "rtypes_zset.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nodedb_kv::rtypes {

// One member of a sorted set.
struct ZsetEntry {
	std::string member;
	double score = 0;
};

// (score, member) order: ascending score, ties by member bytewise (Redis's zslInsert / listpack order).
bool ZsetLess(double score_a, std::string_view member_a, double score_b, std::string_view member_b);

// A score interval (Redis's zrangespec): "(x" makes a bound exclusive.
struct ScoreRange {
	double min = 0, max = 0;
	bool min_exclusive = false, max_exclusive = false;
	bool Contains(double score) const;
};

// A lex interval bound (Redis's zlexrangespec item): "-" and "+" are the ends, "[x" inclusive,
// "(x" exclusive.  Members compare bytewise, shorter first on a common prefix (sdscmplex).
struct LexBound {
	enum Kind { Minus, Plus, Inclusive, Exclusive } kind = Minus;
	std::string value;
};
bool LexGteMin(std::string_view member, const LexBound &min);
bool LexLteMax(std::string_view member, const LexBound &max);

// The storage behind a sorted set, as the commands see it.  Positions are 0-based ascending ranks.
class SortedSet {
public:
	virtual ~SortedSet() = default;
	virtual size_t Size() const = 0;
	// The member's score; false if it is no member.
	virtual bool Score(std::string_view member, double *score) const = 0;
	// The member's ascending position; false if it is no member.
	virtual bool Rank(std::string_view member, size_t *rank) const = 0;
	// The members at positions [begin, end) ascending, appended to out.
	virtual void Slice(size_t begin, size_t end, std::vector<ZsetEntry> *out) const = 0;
	// The first position whose score is > score (after) or >= score (not after): Size() if none.
	virtual size_t ScoreBound(double score, bool after) const = 0;
	// Redis's lex walk: ascending from the first member >= min while <= max (rev: descending from the
	// last member <= max while >= min).  [*begin, *end) are the positions walked (empty: begin == end).
	virtual void LexWalk(const LexBound &min, const LexBound &max, bool rev, size_t *begin, size_t *end) const = 0;
	// Adds member or moves it to score; true if it was added.
	virtual bool Put(std::string_view member, double score) = 0;
	// Removes member; true if it was there.
	virtual bool Remove(std::string_view member) = 0;
	// Removes the members at positions [begin, end).
	virtual void RemoveRange(size_t begin, size_t end) = 0;
	// A storage that reads rows (the spilled set, rtypes_ztree.hpp) may fail; it has then reported
	// the failure, and its answers since are meaningless: the command must not reply.
	virtual bool
	Failed() const
	{
		return false;
	}
};

// The inline sorted set: every member in the row's value (small sets, as Redis's listpack).
// Member lookups scan (O(N), as a listpack); ranks and score bounds are binary searches.
class ZsetInline final : public SortedSet {
public:
	std::vector<ZsetEntry> entries; // ascending (score, member)

	size_t Size() const override;
	bool Score(std::string_view member, double *score) const override;
	bool Rank(std::string_view member, size_t *rank) const override;
	void Slice(size_t begin, size_t end, std::vector<ZsetEntry> *out) const override;
	size_t ScoreBound(double score, bool after) const override;
	void LexWalk(const LexBound &min, const LexBound &max, bool rev, size_t *begin, size_t *end) const override;
	bool Put(std::string_view member, double score) override;
	bool Remove(std::string_view member) override;
	void RemoveRange(size_t begin, size_t end) override;

private:
	size_t Find(std::string_view member) const;
};

// Decodes an inline zset; false if malformed (not the container encoding, an odd item count, a score
// that is not 8 bytes or is NaN, entries not strictly ascending by (score, member)).
bool DecodeZset(std::string_view value, ZsetInline *zset);
// The score of an encoded score item (8 bytes, not NaN); false if it is not one.  For readers that
// walk the items themselves (kv_zset_entries).
bool DecodeScoreItem(std::string_view item, double *score);
std::string EncodeZset(const ZsetInline &zset);

// OBJECT ENCODING as Redis 7.0 decides it for a set of this shape: "listpack" up to 128 members of at
// most 64 bytes each (zset-max-listpack-entries / -value), else "skiplist".
const char *ZsetEncoding(const SortedSet &zset);

} // namespace nodedb_kv::rtypes
