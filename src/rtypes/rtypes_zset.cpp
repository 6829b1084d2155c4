// Sorted sets of kv_db<n> keyspaces (rtypes_zset.hpp): the (score, member) order, range bounds, and
// the inline storage (every member in the row's value, decoded into an ascending vector).  Pure C++.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "nodedb_kv/rtypes/rtypes_codec.hpp"
#include "nodedb_kv/rtypes/rtypes_zset.hpp"

namespace nodedb_kv::rtypes {
namespace {

constexpr size_t kScoreBytes = 8;

void
PutScore(double score, char *out)
{
	uint64_t bits = 0;
	memcpy(&bits, &score, sizeof(bits));
	for (size_t i = 0; i < kScoreBytes; i++)
		out[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
}

} // namespace

bool
DecodeScoreItem(std::string_view bytes, double *score)
{
	if (bytes.size() != kScoreBytes)
		return false;
	uint64_t bits = 0;
	for (size_t i = 0; i < kScoreBytes; i++)
		bits |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
	memcpy(score, &bits, sizeof(bits));
	return !std::isnan(*score);
}

bool
ZsetLess(double score_a, std::string_view member_a, double score_b, std::string_view member_b)
{
	if (score_a != score_b)
		return score_a < score_b;
	return member_a.compare(member_b) < 0;
}

bool
ScoreRange::Contains(double score) const
{
	bool above = min_exclusive ? score > min : score >= min;
	bool below = max_exclusive ? score < max : score <= max;
	return above && below;
}

bool
LexGteMin(std::string_view member, const LexBound &min)
{
	switch (min.kind) {
	case LexBound::Minus:
		return true;
	case LexBound::Plus:
		return false;
	case LexBound::Inclusive:
		return member.compare(min.value) >= 0;
	case LexBound::Exclusive:
		return member.compare(min.value) > 0;
	}
	return false;
}

bool
LexLteMax(std::string_view member, const LexBound &max)
{
	switch (max.kind) {
	case LexBound::Minus:
		return false;
	case LexBound::Plus:
		return true;
	case LexBound::Inclusive:
		return member.compare(max.value) <= 0;
	case LexBound::Exclusive:
		return member.compare(max.value) < 0;
	}
	return false;
}

size_t
ZsetInline::Size() const
{
	return entries.size();
}

size_t
ZsetInline::Find(std::string_view member) const
{
	for (size_t i = 0; i < entries.size(); i++) {
		if (entries[i].member == member)
			return i;
	}
	return entries.size();
}

bool
ZsetInline::Score(std::string_view member, double *score) const
{
	size_t i = Find(member);
	if (i == entries.size())
		return false;
	*score = entries[i].score;
	return true;
}

bool
ZsetInline::Rank(std::string_view member, size_t *rank) const
{
	size_t i = Find(member);
	*rank = i;
	return i < entries.size();
}

void
ZsetInline::Slice(size_t begin, size_t end, std::vector<ZsetEntry> *out) const
{
	end = std::min(end, entries.size());
	for (size_t i = begin; i < end; i++)
		out->push_back(entries[i]);
}

size_t
ZsetInline::ScoreBound(double score, bool after) const
{
	auto it = after ? std::upper_bound(entries.begin(), entries.end(), score,
	                                   [](double s, const ZsetEntry &e) { return s < e.score; })
	                : std::lower_bound(entries.begin(), entries.end(), score,
	                                   [](const ZsetEntry &e, double s) { return e.score < s; });
	return static_cast<size_t>(it - entries.begin());
}

void
ZsetInline::LexWalk(const LexBound &min, const LexBound &max, bool rev, size_t *begin, size_t *end) const
{
	// As Redis walks a listpack: linear from one end to the first member in range, then on while in
	// range (with one score for every member, as lex ranges are meant, this is the sorted interval).
	size_t n = entries.size();
	if (!rev) {
		size_t i = 0;
		while (i < n && !LexGteMin(entries[i].member, min))
			i++;
		size_t j = i;
		while (j < n && LexLteMax(entries[j].member, max))
			j++;
		*begin = i;
		*end = j;
		return;
	}
	size_t j = n;
	while (j > 0 && !LexLteMax(entries[j - 1].member, max))
		j--;
	size_t i = j;
	while (i > 0 && LexGteMin(entries[i - 1].member, min))
		i--;
	*begin = i;
	*end = j;
}

bool
ZsetInline::Put(std::string_view member, double score)
{
	if (score == 0)
		score = 0; // -0 is stored as 0 (as a listpack stores "0")
	size_t at = Find(member);
	bool added = at == entries.size();
	ZsetEntry entry;
	if (!added) {
		if (entries[at].score == score)
			return false;
		entry = std::move(entries[at]);
		entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(at));
	} else
		entry.member.assign(member.data(), member.size());
	entry.score = score;
	auto it = std::lower_bound(entries.begin(), entries.end(), entry, [](const ZsetEntry &a, const ZsetEntry &b) {
		return ZsetLess(a.score, a.member, b.score, b.member);
	});
	entries.insert(it, std::move(entry));
	return added;
}

bool
ZsetInline::Remove(std::string_view member)
{
	size_t at = Find(member);
	if (at == entries.size())
		return false;
	entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(at));
	return true;
}

void
ZsetInline::RemoveRange(size_t begin, size_t end)
{
	end = std::min(end, entries.size());
	if (begin < end)
		entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(begin),
		              entries.begin() + static_cast<std::ptrdiff_t>(end));
}

bool
DecodeZset(std::string_view value, ZsetInline *zset)
{
	zset->entries.clear();
	Reader reader(value.data(), value.size());
	if (!reader.ok() || reader.count() % 2 != 0)
		return false;
	zset->entries.reserve(static_cast<size_t>(reader.count() / 2));
	std::string_view member, score;
	while (reader.Next(&member)) {
		ZsetEntry entry;
		if (!reader.Next(&score) || !DecodeScoreItem(score, &entry.score))
			return false;
		if (!zset->entries.empty()) {
			const ZsetEntry &last = zset->entries.back();
			if (!ZsetLess(last.score, last.member, entry.score, member))
				return false; // out of order or repeated
		}
		entry.member.assign(member.data(), member.size());
		zset->entries.push_back(std::move(entry));
	}
	return reader.ok();
}

std::string
EncodeZset(const ZsetInline &zset)
{
	std::vector<char> scores(zset.entries.size() * kScoreBytes);
	std::vector<std::string_view> items;
	items.reserve(zset.entries.size() * 2);
	for (size_t i = 0; i < zset.entries.size(); i++) {
		PutScore(zset.entries[i].score, &scores[i * kScoreBytes]);
		items.push_back(zset.entries[i].member);
		items.emplace_back(&scores[i * kScoreBytes], kScoreBytes);
	}
	std::string out;
	EncodeItems(items.data(), items.size(), &out);
	return out;
}

const char *
ZsetEncoding(const SortedSet &zset)
{
	if (zset.Size() > 128)
		return "skiplist";
	std::vector<ZsetEntry> all;
	zset.Slice(0, zset.Size(), &all);
	for (const ZsetEntry &entry : all) {
		if (entry.member.size() > 64)
			return "skiplist";
	}
	return "listpack";
}

} // namespace nodedb_kv::rtypes
