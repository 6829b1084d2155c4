// Sorted-set commands over kv_sorted indexes: zset key = index name, member = the table's key, score =
// the index's first column.  ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZRANK
// ZREVRANK ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE
// ZRANGEBYLEX ZREVRANGEBYLEX ZLEXCOUNT ZREMRANGEBYRANK/SCORE/LEX ZRANGESTORE ZUNION ZINTER ZDIFF (+STORE,
// WEIGHTS, AGGREGATE) ZINTERCARD ZPOPMIN ZPOPMAX ZMPOP ZSCAN ZRANDMEMBER, with Redis 7's replies.  The
// zset's order is ascending score, whatever the index's direction (a DESC index is read from its end;
// ties then come key-descending in ascending order, where Redis has them member-ascending).  Reads see
// the index's committed state; writes are upserts / deletes of the table's rows through the kv engine
// (ZREM deletes the row: the member is the row; a *STORE destination is an existing kv_sorted index,
// see StoreResult).  Pure C++ over the Engine.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <unordered_map>

#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/rtypes/rtypes_number.hpp"

namespace nodedb_kv::resp {
namespace {

using sortedindex::ZsetInfo;

// Redis 7.0's addReplyDouble: "%.17g", infinities as "inf" / "-inf".
std::string
FormatScore(double score)
{
	if (std::isinf(score))
		return score > 0 ? "inf" : "-inf";
	char buffer[64];
	snprintf(buffer, sizeof(buffer), "%.17g", score);
	return buffer;
}

// Redis's string2d for scores: the whole text, no NaN.  "inf", "+inf", "-inf" accepted.
bool
ParseScore(const std::string &text, double *score)
{
	if (text.empty() || isspace(static_cast<unsigned char>(text[0])))
		return false;
	char *end = nullptr;
	errno = 0;
	*score = strtod(text.c_str(), &end);
	return end == text.c_str() + text.size() && !std::isnan(*score) && (errno != ERANGE || std::isinf(*score));
}

// Redis's zslParseRange for one bound: "(x" exclusive.
bool
ParseBound(const std::string &text, double *value, bool *exclusive)
{
	*exclusive = !text.empty() && text[0] == '(';
	return ParseScore(*exclusive ? text.substr(1) : text, value);
}

// Resolves the zset key.  Replies and returns false on an error.  info->exists false: an empty set.
bool
Open(CommandContext &ctx, const std::string &key, ZsetInfo *info)
{
	kv::Status status = ctx.engine.ZsetDescribe(ctx.session, key, info);
	if (status.code == kv::Code::NotKvTable) {
		ctx.out.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
		return false;
	}
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	return true;
}

bool
Open(CommandContext &ctx, ZsetInfo *info)
{
	return Open(ctx, ctx.argv[1], info);
}

// Writes need the index to exist (RESP cannot create one).
bool
OpenForWrite(CommandContext &ctx, const std::string &key, ZsetInfo *info)
{
	if (!Open(ctx, key, info))
		return false;
	if (!info->exists) {
		ctx.out.Error("ERR no kv_sorted index \"" + key.substr(0, 128) +
		              "\": a sorted set is a kv_sorted index (CREATE INDEX ... USING kv_sorted)");
		return false;
	}
	return true;
}

bool
OpenForWrite(CommandContext &ctx, ZsetInfo *info)
{
	return OpenForWrite(ctx, ctx.argv[1], info);
}

// Members at ascending positions [start, end] (0-based, inclusive, already clamped to [0, card)).
bool
AscendingSlice(CommandContext &ctx, const std::string &key, const ZsetInfo &info, int64_t card, int64_t start,
               int64_t end, std::vector<ZMember> *out)
{
	int64_t count = end - start + 1;
	int64_t first = info.desc ? card - end : start + 1;
	kv::Status status = ctx.engine.ZsetSlice(ctx.session, key, first, count, out);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	if (info.desc)
		std::reverse(out->begin(), out->end());
	return true;
}

bool
AscendingSlice(CommandContext &ctx, const ZsetInfo &info, int64_t card, int64_t start, int64_t end,
               std::vector<ZMember> *out)
{
	return AscendingSlice(ctx, ctx.argv[1], info, card, start, end, out);
}

void
ReplyMembers(CommandContext &ctx, const std::vector<ZMember> &members, bool withscores)
{
	// RESP3 (Redis 7): WITHSCORES pairs are two-element arrays with a double.
	bool pairs = withscores && ctx.out.protocol() == Protocol::Resp3;
	ctx.out.Array(members.size() * (withscores && !pairs ? 2 : 1));
	for (const ZMember &m : members) {
		if (pairs)
			ctx.out.Array(2);
		ctx.out.Bulk(m.member);
		if (withscores)
			ctx.out.Double(m.score);
	}
}

// Ascending by score (the index read from the end when it is DESC), members with lo..hi.
bool
ScoreRange(CommandContext &ctx, const std::string &key, const ZsetInfo &info, double lo, bool lo_ex, double hi,
           bool hi_ex, std::vector<ZMember> *out)
{
	out->clear();
	if (!info.exists || lo > hi)
		return true;
	kv::Status status = ctx.engine.ZsetRangeByScore(ctx.session, key, lo, hi, out);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	if (info.desc)
		std::reverse(out->begin(), out->end());
	std::vector<ZMember> kept;
	for (ZMember &m : *out) {
		if ((lo_ex && m.score == lo) || (hi_ex && m.score == hi))
			continue;
		kept.push_back(std::move(m));
	}
	*out = std::move(kept);
	return true;
}

bool
ScoreRange(CommandContext &ctx, const ZsetInfo &info, double lo, bool lo_ex, double hi, bool hi_ex,
           std::vector<ZMember> *out)
{
	return ScoreRange(ctx, ctx.argv[1], info, lo, lo_ex, hi, hi_ex, out);
}

bool
Card(CommandContext &ctx, const std::string &key, const ZsetInfo &info, int64_t *card)
{
	*card = 0;
	if (!info.exists)
		return true;
	kv::Status status = ctx.engine.ZsetCount(ctx.session, key, card);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	return true;
}

bool
Card(CommandContext &ctx, const ZsetInfo &info, int64_t *card)
{
	return Card(ctx, ctx.argv[1], info, card);
}

// Redis's events of a command that removed members of key: event, then "del" when none is left
// (zrem, zpopmin/zpopmax, zremrangeby*).  card: the members before the removal.
void
NotifyRemoved(CommandContext &ctx, const std::string &key, const char *event, int64_t removed, int64_t card)
{
	if (removed == 0)
		return;
	Notify(ctx, pubsub::kNotifyZset, event, key);
	if (card <= removed)
		Notify(ctx, pubsub::kNotifyGeneric, "del", key);
}

// The score of member in the index (committed state); *found false if it is no member.
bool
IndexScore(CommandContext &ctx, const ZsetInfo &info, const std::string &member, bool *found, double *score)
{
	*found = false;
	if (!info.exists)
		return true;
	int64_t rank = 0;
	kv::Status status = ctx.engine.ZsetRank(ctx.session, ctx.argv[1], member, found, &rank);
	std::vector<ZMember> one;
	if (status.ok() && *found)
		status = ctx.engine.ZsetSlice(ctx.session, ctx.argv[1], rank, 1, &one);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	*found = *found && !one.empty() && one[0].member == member;
	if (*found)
		*score = one[0].score;
	return true;
}

// ZSCORE key member / ZMSCORE key member [member ...].
void
ZScoreCommand(CommandContext &ctx)
{
	ZsetInfo info;
	if (!Open(ctx, &info))
		return;
	bool multi = ctx.spec.name[1] == 'm';
	std::vector<std::pair<bool, double>> scores;
	for (size_t i = 2; i < ctx.argv.size(); i++) {
		bool found = false;
		double score = 0;
		if (!IndexScore(ctx, info, ctx.argv[i], &found, &score))
			return;
		scores.emplace_back(found, score);
	}
	if (multi)
		ctx.out.Array(scores.size());
	for (const auto &[found, score] : scores) {
		if (found)
			ctx.out.Double(score);
		else
			ctx.out.Null();
	}
}

// ZCARD key.
void
ZCardCommand(CommandContext &ctx)
{
	ZsetInfo info;
	int64_t card = 0;
	if (Open(ctx, &info) && Card(ctx, info, &card))
		ctx.out.Integer(card);
}

// ZCOUNT key min max.
void
ZCountCommand(CommandContext &ctx)
{
	double lo, hi;
	bool lo_ex, hi_ex;
	if (!ParseBound(ctx.argv[2], &lo, &lo_ex) || !ParseBound(ctx.argv[3], &hi, &hi_ex))
		return ctx.out.Error("ERR min or max is not a float");
	ZsetInfo info;
	std::vector<ZMember> members;
	if (Open(ctx, &info) && ScoreRange(ctx, info, lo, lo_ex, hi, hi_ex, &members))
		ctx.out.Integer(static_cast<int64_t>(members.size()));
}

// ZRANK / ZREVRANK key member.
void
ZRankCommand(CommandContext &ctx)
{
	bool rev = ctx.spec.name[1] == 'r' && ctx.spec.name[2] == 'e';
	ZsetInfo info;
	if (!Open(ctx, &info))
		return;
	if (!info.exists)
		return ctx.out.Null();
	bool found = false;
	int64_t rank = 0, card = 0;
	kv::Status status = ctx.engine.ZsetRank(ctx.session, ctx.argv[1], ctx.argv[2], &found, &rank);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (!found)
		return ctx.out.Null();
	if (!Card(ctx, info, &card))
		return;
	// rank is 1-based in index order; the zset's is 0-based ascending (ZREVRANK: descending).
	bool ascending_index = !info.desc;
	int64_t position = (ascending_index != rev) ? rank - 1 : card - rank;
	ctx.out.Integer(position);
}

// A lex range bound (Redis's zslParseLexRangeItem): "-" and "+" are the ends, "[x" inclusive,
// "(x" exclusive.  Members compare bytewise (shorter first on a common prefix), as sdscmplex does.
struct LexBound {
	enum Kind { Minus, Plus, Inclusive, Exclusive } kind = Minus;
	std::string value;
};

bool
ParseLexBound(const std::string &text, LexBound *bound)
{
	if (text == "+")
		bound->kind = LexBound::Plus;
	else if (text == "-")
		bound->kind = LexBound::Minus;
	else if (!text.empty() && (text[0] == '[' || text[0] == '(')) {
		bound->kind = text[0] == '[' ? LexBound::Inclusive : LexBound::Exclusive;
		bound->value = text.substr(1);
	} else
		return false;
	return true;
}

bool
LexGteMin(const std::string &member, const LexBound &min)
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
LexLteMax(const std::string &member, const LexBound &max)
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

// Every member, ascending (O(N): the whole index window is read).
bool
AllMembers(CommandContext &ctx, const std::string &key, const ZsetInfo &info, std::vector<ZMember> *out)
{
	out->clear();
	int64_t card = 0;
	if (!Card(ctx, key, info, &card))
		return false;
	return card == 0 || AscendingSlice(ctx, key, info, card, 0, card - 1, out);
}

// The members of a lex range, as Redis walks a sorted set whose members all have one score: from the
// first member (the last with REV) in range, on while in range.  Members of different scores are
// walked in the zset's order, as Redis does (the result is then only meaningful with equal scores).
// Reads the whole set (O(N)).
bool
LexRange(CommandContext &ctx, const std::string &key, const ZsetInfo &info, const LexBound &min, const LexBound &max,
         bool rev, std::vector<ZMember> *out)
{
	out->clear();
	if (!info.exists)
		return true;
	std::vector<ZMember> all;
	if (!AllMembers(ctx, key, info, &all))
		return false;
	if (rev)
		std::reverse(all.begin(), all.end());
	size_t i = 0;
	if (!rev)
		while (i < all.size() && !LexGteMin(all[i].member, min))
			i++;
	else
		while (i < all.size() && !LexLteMax(all[i].member, max))
			i++;
	for (; i < all.size(); i++) {
		if (!(rev ? LexGteMin(all[i].member, min) : LexLteMax(all[i].member, max)))
			break;
		out->push_back(std::move(all[i]));
	}
	return true;
}

// members[offset, offset + count) (count < 0: to the end; offset < 0: nothing), as Redis's LIMIT.
void
ApplyLimit(int64_t offset, int64_t count, std::vector<ZMember> *members)
{
	std::vector<ZMember> page;
	for (int64_t i = offset;
	     offset >= 0 && i < static_cast<int64_t>(members->size()) && (count < 0 || i - offset < count); i++)
		page.push_back(std::move((*members)[i]));
	*members = std::move(page);
}

enum class RangeBy { Auto, Rank, Score, Lex };

bool ScoreText(CommandContext &ctx, const ZsetInfo &info, double score, std::string *text);

// Replaces the members of the sorted set argv[1] (a *STORE destination) by result.  In the
// named-collection model the destination must be an existing kv_sorted index (a missing one is
// -ERR unless the result is empty: then the reply is 0, as Redis's deleted key); members of it that
// are not in the result lose their rows (as ZREM), the result's members are upserted with their new
// scores (rows that stay keep their other columns).  Every score is checked against the score
// column first, so an integer column refuses a fractional result before anything is written.
void
StoreResult(CommandContext &ctx, std::vector<ZMember> result)
{
	const std::string &dst = ctx.argv[1];
	ZsetInfo info;
	if (!Open(ctx, dst, &info))
		return;
	if (!info.exists && result.empty())
		return ctx.out.Integer(0);
	if (!OpenForWrite(ctx, dst, &info))
		return;
	std::vector<std::string> texts(result.size());
	for (size_t i = 0; i < result.size(); i++) {
		if (!ScoreText(ctx, info, result[i].score, &texts[i]))
			return;
	}
	std::vector<ZMember> current;
	if (!AllMembers(ctx, dst, info, &current))
		return;
	std::unordered_map<std::string, double> wanted, had;
	for (const ZMember &m : result)
		wanted.emplace(m.member, m.score);
	for (const ZMember &m : current) {
		had.emplace(m.member, m.score);
		if (wanted.count(m.member))
			continue;
		bool gone = false;
		kv::Status status = ctx.engine.ZsetRemove(ctx.session, info, m.member, &gone);
		if (!status.ok())
			return ReplyStatus(ctx, status);
	}
	for (size_t i = 0; i < result.size(); i++) {
		auto it = had.find(result[i].member);
		if (it != had.end() && it->second == result[i].score)
			continue;
		bool written = false;
		kv::Status status =
		    ctx.engine.ZsetSetScore(ctx.session, info, result[i].member, texts[i], false, false, &written);
		if (!status.ok())
			return ReplyStatus(ctx, status);
	}
	if (!result.empty())
		Notify(ctx, pubsub::kNotifyZset, ctx.spec.name, dst); // zunionstore, zinterstore, zdiffstore, zrangestore
	else if (!current.empty())
		Notify(ctx, pubsub::kNotifyGeneric, "del", dst); // an empty result deletes the destination
	ctx.out.Integer(static_cast<int64_t>(result.size()));
}

// Redis's zrangeGenericCommand: ZRANGE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX
// ZREVRANGEBYLEX ZRANGESTORE.  The source key is argv[src]; range texts follow it; options after.
// rev_fixed: the command fixes the direction (then REV is a syntax error); by: Auto for ZRANGE and
// ZRANGESTORE (BYSCORE / BYLEX options), else fixed.
void
ZRangeGeneric(CommandContext &ctx, size_t src, RangeBy by, bool rev, bool rev_fixed, bool store)
{
	bool withscores = false;
	int64_t offset = 0, count = -1;
	for (size_t i = src + 3; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		size_t left = ctx.argv.size() - i - 1;
		if (!store && EqualsIgnoreCase(opt, "withscores"))
			withscores = true;
		else if (EqualsIgnoreCase(opt, "limit") && left >= 2) {
			if (!rtypes::ParseInt64(ctx.argv[i + 1].data(), ctx.argv[i + 1].size(), &offset) ||
			    !rtypes::ParseInt64(ctx.argv[i + 2].data(), ctx.argv[i + 2].size(), &count))
				return ReplyNotInteger(ctx);
			i += 2;
		} else if (!rev_fixed && !rev && EqualsIgnoreCase(opt, "rev"))
			rev = true;
		else if (by == RangeBy::Auto && EqualsIgnoreCase(opt, "bylex"))
			by = RangeBy::Lex;
		else if (by == RangeBy::Auto && EqualsIgnoreCase(opt, "byscore"))
			by = RangeBy::Score;
		else
			return ReplySyntaxError(ctx);
	}
	if (by == RangeBy::Auto)
		by = RangeBy::Rank;
	if (count != -1 && by == RangeBy::Rank)
		return ctx.out.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
	if (withscores && by == RangeBy::Lex)
		return ctx.out.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
	const std::string &key = ctx.argv[src];
	// BYSCORE / BYLEX with REV take max then min.
	bool swap = rev && by != RangeBy::Rank;
	const std::string &min_text = swap ? ctx.argv[src + 2] : ctx.argv[src + 1];
	const std::string &max_text = swap ? ctx.argv[src + 1] : ctx.argv[src + 2];
	ZsetInfo info;
	std::vector<ZMember> members;
	if (by == RangeBy::Score) {
		double lo, hi;
		bool lo_ex, hi_ex;
		if (!ParseBound(min_text, &lo, &lo_ex) || !ParseBound(max_text, &hi, &hi_ex))
			return ctx.out.Error("ERR min or max is not a float");
		if (!Open(ctx, key, &info) || !ScoreRange(ctx, key, info, lo, lo_ex, hi, hi_ex, &members))
			return;
		if (rev)
			std::reverse(members.begin(), members.end());
		ApplyLimit(offset, count, &members);
	} else if (by == RangeBy::Lex) {
		LexBound min, max;
		if (!ParseLexBound(min_text, &min) || !ParseLexBound(max_text, &max))
			return ctx.out.Error("ERR min or max not valid string range item");
		if (!Open(ctx, key, &info) || !LexRange(ctx, key, info, min, max, rev, &members))
			return;
		ApplyLimit(offset, count, &members);
	} else {
		int64_t start = 0, end = 0;
		if (!rtypes::ParseInt64(min_text.data(), min_text.size(), &start) ||
		    !rtypes::ParseInt64(max_text.data(), max_text.size(), &end))
			return ReplyNotInteger(ctx);
		int64_t card = 0;
		if (!Open(ctx, key, &info) || !Card(ctx, key, info, &card))
			return;
		if (start < 0)
			start += card;
		if (end < 0)
			end += card;
		if (start < 0)
			start = 0;
		if (end >= card)
			end = card - 1;
		if (start <= end && start < card) {
			// REV counts positions from the top: descending positions [start, end] are ascending
			// [card-1-end, card-1-start], read backwards.
			int64_t a = rev ? card - 1 - end : start;
			int64_t b = rev ? card - 1 - start : end;
			if (!AscendingSlice(ctx, key, info, card, a, b, &members))
				return;
			if (rev)
				std::reverse(members.begin(), members.end());
		}
	}
	if (store)
		return StoreResult(ctx, std::move(members));
	ReplyMembers(ctx, members, withscores);
}

void
ZRangeCommand(CommandContext &ctx)
{
	ZRangeGeneric(ctx, 1, RangeBy::Auto, false, false, false);
}

void
ZRangeStoreCommand(CommandContext &ctx)
{
	ZRangeGeneric(ctx, 2, RangeBy::Auto, false, false, true);
}

void
ZRevRangeCommand(CommandContext &ctx)
{
	ZRangeGeneric(ctx, 1, RangeBy::Rank, true, true, false);
}

// ZRANGEBYSCORE / ZREVRANGEBYSCORE / ZRANGEBYLEX / ZREVRANGEBYLEX.
void
ZRangeByCommand(CommandContext &ctx)
{
	std::string name = ctx.spec.name;
	bool rev = name.compare(0, 4, "zrev") == 0;
	bool lex = name.size() > 3 && name.compare(name.size() - 3, 3, "lex") == 0;
	ZRangeGeneric(ctx, 1, lex ? RangeBy::Lex : RangeBy::Score, rev, true, false);
}

// The text a score column's input function gets; false if an integer column cannot hold score.
bool
ScoreText(CommandContext &ctx, const ZsetInfo &info, double score, std::string *text)
{
	if (info.integer_score) {
		if (!std::isfinite(score) || std::floor(score) != score || std::fabs(score) >= 9.2233720368547758e18) {
			ctx.out.Error(std::string("ERR score is not an integer: column \"") + info.score_column +
			              "\" of kv_sorted index \"" + ctx.argv[1].substr(0, 128) + "\" holds integers");
			return false;
		}
		char buffer[32];
		snprintf(buffer, sizeof(buffer), "%lld", static_cast<long long>(score));
		*text = buffer;
		return true;
	}
	*text = std::isinf(score) ? (score > 0 ? "Infinity" : "-Infinity") : FormatScore(score);
	return true;
}

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] (Redis's zaddGenericCommand).
void
ZAddGeneric(CommandContext &ctx, bool incr)
{
	bool nx = false, xx = false, gt = false, lt = false, ch = false;
	size_t i = 2;
	for (; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		if (EqualsIgnoreCase(opt, "nx"))
			nx = true;
		else if (EqualsIgnoreCase(opt, "xx"))
			xx = true;
		else if (EqualsIgnoreCase(opt, "gt"))
			gt = true;
		else if (EqualsIgnoreCase(opt, "lt"))
			lt = true;
		else if (EqualsIgnoreCase(opt, "ch"))
			ch = true;
		else if (EqualsIgnoreCase(opt, "incr"))
			incr = true;
		else
			break;
	}
	size_t elements = ctx.argv.size() - i;
	if (elements % 2 != 0 || elements == 0)
		return ReplySyntaxError(ctx);
	elements /= 2;
	if (nx && xx)
		return ctx.out.Error("ERR XX and NX options at the same time are not compatible");
	if ((gt && nx) || (lt && nx) || (gt && lt))
		return ctx.out.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
	if (incr && elements > 1)
		return ctx.out.Error("ERR INCR option supports a single increment-element pair");
	std::vector<double> scores(elements);
	for (size_t j = 0; j < elements; j++) {
		if (!ParseScore(ctx.argv[i + 2 * j], &scores[j]))
			return ctx.out.Error("ERR value is not a valid float");
	}
	ZsetInfo info;
	if (!OpenForWrite(ctx, &info))
		return;
	int64_t added = 0, updated = 0;
	double result = 0;
	bool result_set = false;
	for (size_t j = 0; j < elements; j++) {
		const std::string &member = ctx.argv[i + 2 * j + 1];
		bool found = false;
		double current = 0;
		kv::Status status = ctx.engine.ZsetGetScore(ctx.session, info, member, &found, &current);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		double score = scores[j];
		if ((nx && found) || (xx && !found))
			continue;
		if (incr && found) {
			score = current + score;
			if (std::isnan(score))
				return ctx.out.Error("ERR resulting score is not a number (NaN)");
		}
		if (found && ((gt && !(score > current)) || (lt && !(score < current))))
			continue;
		if (found && score == current) {
			if (incr) {
				result = score;
				result_set = true;
			}
			continue;
		}
		std::string text;
		if (!ScoreText(ctx, info, score, &text))
			return;
		bool written = false;
		status = ctx.engine.ZsetSetScore(ctx.session, info, member, text, false, false, &written);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		if (!written)
			continue;
		if (found)
			updated++;
		else
			added++;
		result = score;
		result_set = true;
	}
	if (added + updated > 0)
		Notify(ctx, pubsub::kNotifyZset, incr ? "zincr" : "zadd", ctx.argv[1]);
	if (incr) {
		if (!result_set)
			return ctx.out.Null();
		return ctx.out.Double(result);
	}
	ctx.out.Integer(ch ? added + updated : added);
}

void
ZAddCommand(CommandContext &ctx)
{
	ZAddGeneric(ctx, false);
}

// ZINCRBY key increment member.
void
ZIncrByCommand(CommandContext &ctx)
{
	double delta = 0;
	if (!ParseScore(ctx.argv[2], &delta))
		return ctx.out.Error("ERR value is not a valid float");
	ZsetInfo info;
	if (!OpenForWrite(ctx, &info))
		return;
	std::string ignored;
	if (info.integer_score && !ScoreText(ctx, info, delta, &ignored))
		return;
	double result = 0;
	kv::Status status = ctx.engine.ZsetIncrScore(ctx.session, info, ctx.argv[3], delta, &result);
	if (status.code == kv::Code::Overflow)
		return ctx.out.Error("ERR resulting score is not a number (NaN)");
	if (!status.ok())
		return ReplyStatus(ctx, status);
	Notify(ctx, pubsub::kNotifyZset, "zincr", ctx.argv[1]);
	ctx.out.Double(result);
}

// ZREM key member [member ...]: deletes the members' rows.
void
ZRemCommand(CommandContext &ctx)
{
	ZsetInfo info;
	if (!Open(ctx, &info))
		return;
	if (!info.exists)
		return ctx.out.Integer(0);
	int64_t removed = 0, card = 0;
	if (!Card(ctx, info, &card))
		return;
	for (size_t i = 2; i < ctx.argv.size(); i++) {
		bool gone = false;
		kv::Status status = ctx.engine.ZsetRemove(ctx.session, info, ctx.argv[i], &gone);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		removed += gone;
	}
	NotifyRemoved(ctx, ctx.argv[1], "zrem", removed, card);
	ctx.out.Integer(removed);
}

// ZPOPMIN / ZPOPMAX key [count]: the lowest / highest members, whose rows are deleted.  Members are
// read from the index's committed state (a client's second pop of a pipeline runs in a later turn, see
// kIndexRead; within one transaction it reports only the rows it really deleted).
void
ZPopCommand(CommandContext &ctx)
{
	bool max = ctx.spec.name[5] == 'a';
	bool has_count = ctx.argv.size() == 3;
	int64_t count = 1;
	if (ctx.argv.size() > 3)
		return ReplySyntaxError(ctx);
	if (has_count) {
		if (!rtypes::ParseInt64(ctx.argv[2].data(), ctx.argv[2].size(), &count))
			return ReplyNotInteger(ctx);
		if (count < 0)
			return ctx.out.Error("ERR value is out of range, must be positive");
	}
	ZsetInfo info;
	int64_t card = 0;
	if (!Open(ctx, &info) || !Card(ctx, info, &card))
		return;
	std::vector<ZMember> members, popped;
	if (count > 0 && card > 0) {
		int64_t n = std::min(count, card);
		if (!AscendingSlice(ctx, info, card, max ? card - n : 0, max ? card - 1 : n - 1, &members))
			return;
		if (max)
			std::reverse(members.begin(), members.end());
	}
	for (ZMember &m : members) {
		bool gone = false;
		kv::Status status = ctx.engine.ZsetRemove(ctx.session, info, m.member, &gone);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		if (gone)
			popped.push_back(std::move(m));
	}
	if (!popped.empty()) {
		Notify(ctx, pubsub::kNotifyZset, max ? "zpopmax" : "zpopmin", ctx.argv[1]);
		if (card <= static_cast<int64_t>(popped.size()))
			Notify(ctx, pubsub::kNotifyGeneric, "del", ctx.argv[1]);
	}
	if (has_count)
		return ReplyMembers(ctx, popped, true);
	// Without a count: a flat [member, score] (or an empty array), in both protocols.
	ctx.out.Array(popped.size() * 2);
	for (const ZMember &m : popped) {
		ctx.out.Bulk(m.member);
		ctx.out.Double(m.score);
	}
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is an ascending position, so members
// present throughout are returned (a member moving backwards meanwhile may be missed or repeated, as
// with any rank-based cursor).  Scores as strings, as Redis sends them.
void
ZScanCommand(CommandContext &ctx)
{
	const std::string &cursor_text = ctx.argv[2];
	int64_t cursor = 0;
	if (!rtypes::ParseInt64(cursor_text.data(), cursor_text.size(), &cursor) || cursor < 0)
		return ctx.out.Error("ERR invalid cursor");
	std::string pattern;
	bool has_pattern = false;
	int64_t count = 10;
	for (size_t i = 3; i < ctx.argv.size(); i += 2) {
		if (i + 1 >= ctx.argv.size())
			return ReplySyntaxError(ctx);
		const std::string &opt = ctx.argv[i];
		if (EqualsIgnoreCase(opt, "count")) {
			if (!rtypes::ParseInt64(ctx.argv[i + 1].data(), ctx.argv[i + 1].size(), &count))
				return ReplyNotInteger(ctx);
			if (count < 1)
				return ReplySyntaxError(ctx);
		} else if (EqualsIgnoreCase(opt, "match")) {
			pattern = ctx.argv[i + 1];
			has_pattern = pattern != "*";
		} else
			return ReplySyntaxError(ctx);
	}
	ZsetInfo info;
	int64_t card = 0;
	if (!Open(ctx, &info) || !Card(ctx, info, &card))
		return;
	std::vector<ZMember> members;
	int64_t next = 0;
	if (cursor < card) {
		int64_t end = std::min(card - 1, cursor + count - 1);
		if (!AscendingSlice(ctx, info, card, cursor, end, &members))
			return;
		next = end + 1 >= card ? 0 : end + 1;
	}
	std::vector<const ZMember *> shown;
	for (const ZMember &m : members) {
		if (!has_pattern || GlobMatch(pattern, m.member))
			shown.push_back(&m);
	}
	ctx.out.Array(2);
	ctx.out.Bulk(std::to_string(next));
	ctx.out.Array(shown.size() * 2);
	for (const ZMember *m : shown) {
		ctx.out.Bulk(m->member);
		ctx.out.Bulk(FormatScore(m->score));
	}
}

// ZRANDMEMBER key [count [WITHSCORES]]: count > 0 distinct members (all if count >= card), count < 0
// |count| members with repeats.  With a count it reads the whole set (O(N)).
void
ZRandMemberCommand(CommandContext &ctx)
{
	static std::mt19937_64 rng{std::random_device{}()};
	bool has_count = ctx.argv.size() >= 3;
	bool withscores = false;
	int64_t count = 1;
	if (ctx.argv.size() > 4)
		return ReplySyntaxError(ctx);
	if (has_count && !rtypes::ParseInt64(ctx.argv[2].data(), ctx.argv[2].size(), &count))
		return ReplyNotInteger(ctx);
	if (ctx.argv.size() == 4) {
		if (!EqualsIgnoreCase(ctx.argv[3], "withscores"))
			return ReplySyntaxError(ctx);
		withscores = true;
	}
	if (count < -(INT64_C(1) << 40) || count > (INT64_C(1) << 40))
		return ctx.out.Error("ERR value is out of range");
	ZsetInfo info;
	int64_t card = 0;
	if (!Open(ctx, &info) || !Card(ctx, info, &card))
		return;
	std::vector<ZMember> members;
	if (!has_count) {
		if (card == 0)
			return ctx.out.Null();
		int64_t p = std::uniform_int_distribution<int64_t>(0, card - 1)(rng);
		if (!AscendingSlice(ctx, info, card, p, p, &members))
			return;
		if (members.empty())
			return ctx.out.Null();
		return ctx.out.Bulk(members[0].member);
	}
	if (count == 0 || card == 0)
		return ReplyMembers(ctx, members, withscores);
	std::vector<ZMember> all;
	if (!AscendingSlice(ctx, info, card, 0, card - 1, &all))
		return;
	if (all.empty())
		return ReplyMembers(ctx, members, withscores);
	if (count < 0) {
		std::uniform_int_distribution<size_t> pick(0, all.size() - 1);
		for (int64_t i = 0; i < -count; i++)
			members.push_back(all[pick(rng)]);
	} else {
		std::shuffle(all.begin(), all.end(), rng);
		if (static_cast<size_t>(count) < all.size())
			all.resize(static_cast<size_t>(count));
		members = std::move(all);
	}
	ReplyMembers(ctx, members, withscores);
}

// ZLEXCOUNT key min max.
void
ZLexCountCommand(CommandContext &ctx)
{
	LexBound min, max;
	if (!ParseLexBound(ctx.argv[2], &min) || !ParseLexBound(ctx.argv[3], &max))
		return ctx.out.Error("ERR min or max not valid string range item");
	ZsetInfo info;
	std::vector<ZMember> members;
	if (Open(ctx, &info) && LexRange(ctx, ctx.argv[1], info, min, max, false, &members))
		ctx.out.Integer(static_cast<int64_t>(members.size()));
}

// Deletes the rows of members; replies how many were deleted.
void
RemoveMembers(CommandContext &ctx, const ZsetInfo &info, const std::vector<ZMember> &members)
{
	int64_t removed = 0, card = 0;
	if (!members.empty() && !Card(ctx, info, &card))
		return;
	for (const ZMember &m : members) {
		bool gone = false;
		kv::Status status = ctx.engine.ZsetRemove(ctx.session, info, m.member, &gone);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		removed += gone;
	}
	NotifyRemoved(ctx, ctx.argv[1], ctx.spec.name, removed, card); // zremrangebyrank/score/lex
	ctx.out.Integer(removed);
}

// ZREMRANGEBYRANK key start stop / ZREMRANGEBYSCORE key min max / ZREMRANGEBYLEX key min max: the
// members' rows are deleted (as ZREM).
void
ZRemRangeCommand(CommandContext &ctx)
{
	char kind = ctx.spec.name[11]; // zremrangeby[r]ank, [s]core, [l]ex
	ZsetInfo info;
	std::vector<ZMember> members;
	if (kind == 'r') {
		int64_t start = 0, end = 0, card = 0;
		if (!rtypes::ParseInt64(ctx.argv[2].data(), ctx.argv[2].size(), &start) ||
		    !rtypes::ParseInt64(ctx.argv[3].data(), ctx.argv[3].size(), &end))
			return ReplyNotInteger(ctx);
		if (!Open(ctx, &info) || !Card(ctx, info, &card))
			return;
		if (start < 0)
			start += card;
		if (end < 0)
			end += card;
		if (start < 0)
			start = 0;
		if (end >= card)
			end = card - 1;
		if (start <= end && start < card && !AscendingSlice(ctx, info, card, start, end, &members))
			return;
	} else if (kind == 's') {
		double lo, hi;
		bool lo_ex, hi_ex;
		if (!ParseBound(ctx.argv[2], &lo, &lo_ex) || !ParseBound(ctx.argv[3], &hi, &hi_ex))
			return ctx.out.Error("ERR min or max is not a float");
		if (!Open(ctx, &info) || !ScoreRange(ctx, info, lo, lo_ex, hi, hi_ex, &members))
			return;
	} else {
		LexBound min, max;
		if (!ParseLexBound(ctx.argv[2], &min) || !ParseLexBound(ctx.argv[3], &max))
			return ctx.out.Error("ERR min or max not valid string range item");
		if (!Open(ctx, &info) || !LexRange(ctx, ctx.argv[1], info, min, max, false, &members))
			return;
	}
	RemoveMembers(ctx, info, members);
}

// Parses "numkeys key [key ...]" at argv[at]; false after replying an error.  ZMPOP has its own
// numkeys error (Redis 7.0's texts).
bool
ParseKeys(CommandContext &ctx, size_t at, std::vector<std::string> *keys, size_t *next)
{
	bool mpop = ctx.spec.name[1] == 'm';
	int64_t numkeys = 0;
	bool parsed = rtypes::ParseInt64(ctx.argv[at].data(), ctx.argv[at].size(), &numkeys);
	if (mpop && (!parsed || numkeys < 1)) {
		ctx.out.Error("ERR numkeys should be greater than 0");
		return false;
	}
	if (!parsed) {
		ReplyNotInteger(ctx);
		return false;
	}
	if (numkeys < 1) {
		ctx.out.Error(std::string("ERR at least 1 input key is needed for '") + ctx.spec.name + "' command");
		return false;
	}
	if (numkeys > static_cast<int64_t>(ctx.argv.size() - at - 1)) {
		ReplySyntaxError(ctx);
		return false;
	}
	keys->assign(ctx.argv.begin() + at + 1, ctx.argv.begin() + at + 1 + numkeys);
	*next = at + 1 + numkeys;
	return true;
}

enum class SetOp { Union, Inter, Diff };

// Sorted by score, then member bytewise: the order of a set Redis builds (ZUNION, ZINTER, ZDIFF).
void
SortByScore(std::vector<ZMember> *members)
{
	std::sort(members->begin(), members->end(), [](const ZMember &a, const ZMember &b) {
		return a.score < b.score || (a.score == b.score && a.member < b.member);
	});
}

// Redis's zunionInterAggregate (a sum that is NaN, as inf + -inf, becomes 0).
double
Aggregate(double target, double value, char aggregate)
{
	if (aggregate == 's') {
		target += value;
		return std::isnan(target) ? 0.0 : target;
	}
	if (aggregate == 'm')
		return value < target ? value : target;
	return value > target ? value : target;
}

// Reads the input sets (each whole: O(N) in their sizes); false after replying an error.
bool
ReadInputs(CommandContext &ctx, const std::vector<std::string> &keys, std::vector<std::vector<ZMember>> *sets)
{
	sets->resize(keys.size());
	for (size_t i = 0; i < keys.size(); i++) {
		ZsetInfo info;
		if (!Open(ctx, keys[i], &info))
			return false;
		if (info.exists && !AllMembers(ctx, keys[i], info, &(*sets)[i]))
			return false;
	}
	return true;
}

// ZUNION / ZINTER / ZDIFF numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES],
// and the *STORE forms (dst first, no WITHSCORES): Redis's zunionInterDiffGenericCommand.  The inputs
// are kv_sorted indexes (a relation that is not one: WRONGTYPE; there are no plain sets here).
void
ZSetOpGeneric(CommandContext &ctx, SetOp op, bool store)
{
	std::vector<std::string> keys;
	size_t i = 0;
	if (!ParseKeys(ctx, store ? 2 : 1, &keys, &i))
		return;
	std::vector<double> weights(keys.size(), 1.0);
	char aggregate = 's';
	bool withscores = false;
	for (; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		size_t left = ctx.argv.size() - i - 1;
		if (op != SetOp::Diff && left >= keys.size() && EqualsIgnoreCase(opt, "weights")) {
			for (size_t j = 0; j < keys.size(); j++) {
				if (!ParseScore(ctx.argv[i + 1 + j], &weights[j]))
					return ctx.out.Error("ERR weight value is not a float");
			}
			i += keys.size();
		} else if (op != SetOp::Diff && left >= 1 && EqualsIgnoreCase(opt, "aggregate")) {
			const std::string &how = ctx.argv[i + 1];
			if (EqualsIgnoreCase(how, "sum"))
				aggregate = 's';
			else if (EqualsIgnoreCase(how, "min"))
				aggregate = 'm';
			else if (EqualsIgnoreCase(how, "max"))
				aggregate = 'M';
			else
				return ReplySyntaxError(ctx);
			i++;
		} else if (!store && EqualsIgnoreCase(opt, "withscores"))
			withscores = true;
		else
			return ReplySyntaxError(ctx);
	}
	std::vector<std::vector<ZMember>> sets;
	if (!ReadInputs(ctx, keys, &sets))
		return;
	std::vector<ZMember> result;
	if (op == SetOp::Diff) {
		std::unordered_map<std::string, bool> others;
		for (size_t j = 1; j < sets.size(); j++)
			for (const ZMember &m : sets[j])
				others.emplace(m.member, true);
		for (ZMember &m : sets[0])
			if (!others.count(m.member))
				result.push_back(std::move(m));
	} else {
		// Weighted scores (a NaN product, as 0 * inf, is 0), aggregated in input order.
		std::unordered_map<std::string, std::pair<double, size_t>> acc; // member -> (score, inputs seen)
		std::vector<std::string> order;
		for (size_t j = 0; j < sets.size(); j++) {
			for (const ZMember &m : sets[j]) {
				double value = weights[j] * m.score;
				if (std::isnan(value))
					value = 0;
				auto it = acc.find(m.member);
				if (it == acc.end()) {
					if (op == SetOp::Inter && j > 0)
						continue;
					acc.emplace(m.member, std::make_pair(value, size_t{1}));
					order.push_back(m.member);
				} else if (it->second.second == j || op == SetOp::Union) {
					it->second.first = Aggregate(it->second.first, value, aggregate);
					it->second.second = j + 1;
				}
			}
		}
		for (const std::string &m : order) {
			const auto &[score, seen] = acc[m];
			if (op == SetOp::Union || seen == sets.size())
				result.push_back({m, score});
		}
	}
	SortByScore(&result);
	if (store)
		return StoreResult(ctx, std::move(result));
	ReplyMembers(ctx, result, withscores);
}

void
ZUnionCommand(CommandContext &ctx)
{
	ZSetOpGeneric(ctx, SetOp::Union, false);
}
void
ZInterCommand(CommandContext &ctx)
{
	ZSetOpGeneric(ctx, SetOp::Inter, false);
}
void
ZDiffCommand(CommandContext &ctx)
{
	ZSetOpGeneric(ctx, SetOp::Diff, false);
}
void
ZUnionStoreCommand(CommandContext &ctx)
{
	ZSetOpGeneric(ctx, SetOp::Union, true);
}
void
ZInterStoreCommand(CommandContext &ctx)
{
	ZSetOpGeneric(ctx, SetOp::Inter, true);
}
void
ZDiffStoreCommand(CommandContext &ctx)
{
	ZSetOpGeneric(ctx, SetOp::Diff, true);
}

// ZINTERCARD numkeys key [key ...] [LIMIT limit].
void
ZInterCardCommand(CommandContext &ctx)
{
	std::vector<std::string> keys;
	size_t i = 0;
	if (!ParseKeys(ctx, 1, &keys, &i))
		return;
	int64_t limit = 0;
	for (; i < ctx.argv.size(); i++) {
		if (EqualsIgnoreCase(ctx.argv[i], "limit") && i + 1 < ctx.argv.size()) {
			if (!rtypes::ParseInt64(ctx.argv[i + 1].data(), ctx.argv[i + 1].size(), &limit) || limit < 0)
				return ctx.out.Error("ERR LIMIT can't be negative");
			i++;
		} else
			return ReplySyntaxError(ctx);
	}
	std::vector<std::vector<ZMember>> sets;
	if (!ReadInputs(ctx, keys, &sets))
		return;
	std::unordered_map<std::string, size_t> seen;
	for (const ZMember &m : sets[0])
		seen.emplace(m.member, 1);
	for (size_t j = 1; j < sets.size(); j++)
		for (const ZMember &m : sets[j]) {
			auto it = seen.find(m.member);
			if (it != seen.end() && it->second == j)
				it->second = j + 1;
		}
	int64_t card = 0;
	for (const auto &[member, n] : seen)
		card += n == sets.size();
	if (limit > 0 && card > limit)
		card = limit;
	ctx.out.Integer(card);
}

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first non-empty set.
void
ZMPopCommand(CommandContext &ctx)
{
	std::vector<std::string> keys;
	size_t i = 0;
	if (!ParseKeys(ctx, 1, &keys, &i))
		return;
	if (i >= ctx.argv.size())
		return ReplySyntaxError(ctx);
	bool max = false;
	if (EqualsIgnoreCase(ctx.argv[i], "max"))
		max = true;
	else if (!EqualsIgnoreCase(ctx.argv[i], "min"))
		return ReplySyntaxError(ctx);
	int64_t count = 1;
	bool has_count = false;
	for (i++; i < ctx.argv.size(); i++) {
		if (!has_count && EqualsIgnoreCase(ctx.argv[i], "count") && i + 1 < ctx.argv.size()) {
			if (!rtypes::ParseInt64(ctx.argv[i + 1].data(), ctx.argv[i + 1].size(), &count) || count <= 0)
				return ctx.out.Error("ERR count should be greater than 0");
			has_count = true;
			i++;
		} else
			return ReplySyntaxError(ctx);
	}
	for (const std::string &key : keys) {
		ZsetInfo info;
		int64_t card = 0;
		if (!Open(ctx, key, &info) || !Card(ctx, key, info, &card))
			return;
		if (card == 0)
			continue;
		int64_t n = std::min(count, card);
		std::vector<ZMember> members, popped;
		if (!AscendingSlice(ctx, key, info, card, max ? card - n : 0, max ? card - 1 : n - 1, &members))
			return;
		if (max)
			std::reverse(members.begin(), members.end());
		for (ZMember &m : members) {
			bool gone = false;
			kv::Status status = ctx.engine.ZsetRemove(ctx.session, info, m.member, &gone);
			if (!status.ok())
				return ReplyStatus(ctx, status);
			if (gone)
				popped.push_back(std::move(m));
		}
		// Redis's genericZpopCommand: zpopmin / zpopmax, then "del" for the emptied set.
		if (!popped.empty()) {
			Notify(ctx, pubsub::kNotifyZset, max ? "zpopmax" : "zpopmin", key);
			if (card <= static_cast<int64_t>(popped.size()))
				Notify(ctx, pubsub::kNotifyGeneric, "del", key);
		}
		// [key, [[member, score], ...]] in both protocols.
		ctx.out.Array(2);
		ctx.out.Bulk(key);
		ctx.out.Array(popped.size());
		for (const ZMember &m : popped) {
			ctx.out.Array(2);
			ctx.out.Bulk(m.member);
			ctx.out.Double(m.score);
		}
		return;
	}
	ctx.out.NullArray();
}

} // namespace

void
RegisterZsetCommands(CommandTable *table)
{
	table->Add({"zrandmember", -2, kReadonly | kIndexRead, ZRandMemberCommand, 1, 1, 1});
	table->Add({"zpopmin", -2, kWrite | kFast | kIndexRead, ZPopCommand, 1, 1, 1});
	table->Add({"zpopmax", -2, kWrite | kFast | kIndexRead, ZPopCommand, 1, 1, 1});
	table->Add({"zscan", -3, kReadonly | kIndexRead, ZScanCommand, 1, 1, 1});
	table->Add({"zadd", -4, kWrite | kFast, ZAddCommand, 1, 1, 1});
	table->Add({"zincrby", 4, kWrite | kFast, ZIncrByCommand, 1, 1, 1});
	table->Add({"zrem", -3, kWrite | kFast, ZRemCommand, 1, 1, 1});
	table->Add({"zscore", 3, kReadonly | kFast | kIndexRead, ZScoreCommand, 1, 1, 1});
	table->Add({"zmscore", -3, kReadonly | kFast | kIndexRead, ZScoreCommand, 1, 1, 1});
	table->Add({"zcard", 2, kReadonly | kFast | kIndexRead, ZCardCommand, 1, 1, 1});
	table->Add({"zcount", 4, kReadonly | kFast | kIndexRead, ZCountCommand, 1, 1, 1});
	table->Add({"zrank", 3, kReadonly | kFast | kIndexRead, ZRankCommand, 1, 1, 1});
	table->Add({"zrevrank", 3, kReadonly | kFast | kIndexRead, ZRankCommand, 1, 1, 1});
	table->Add({"zrange", -4, kReadonly | kIndexRead, ZRangeCommand, 1, 1, 1});
	table->Add({"zrevrange", -4, kReadonly | kIndexRead, ZRevRangeCommand, 1, 1, 1});
	table->Add({"zrangebyscore", -4, kReadonly | kIndexRead, ZRangeByCommand, 1, 1, 1});
	table->Add({"zrevrangebyscore", -4, kReadonly | kIndexRead, ZRangeByCommand, 1, 1, 1});
	table->Add({"zrangebylex", -4, kReadonly | kIndexRead, ZRangeByCommand, 1, 1, 1});
	table->Add({"zrevrangebylex", -4, kReadonly | kIndexRead, ZRangeByCommand, 1, 1, 1});
	table->Add({"zrangestore", -5, kWrite | kIndexRead, ZRangeStoreCommand, 1, 2, 1});
	table->Add({"zlexcount", 4, kReadonly | kFast | kIndexRead, ZLexCountCommand, 1, 1, 1});
	table->Add({"zremrangebyrank", 4, kWrite | kIndexRead, ZRemRangeCommand, 1, 1, 1});
	table->Add({"zremrangebyscore", 4, kWrite | kIndexRead, ZRemRangeCommand, 1, 1, 1});
	table->Add({"zremrangebylex", 4, kWrite | kIndexRead, ZRemRangeCommand, 1, 1, 1});
	table->Add({"zunion", -3, kReadonly | kIndexRead, ZUnionCommand, 0, 0, 0});
	table->Add({"zinter", -3, kReadonly | kIndexRead, ZInterCommand, 0, 0, 0});
	table->Add({"zdiff", -3, kReadonly | kIndexRead, ZDiffCommand, 0, 0, 0});
	table->Add({"zunionstore", -4, kWrite | kIndexRead, ZUnionStoreCommand, 1, 1, 1});
	table->Add({"zinterstore", -4, kWrite | kIndexRead, ZInterStoreCommand, 1, 1, 1});
	table->Add({"zdiffstore", -4, kWrite | kIndexRead, ZDiffStoreCommand, 1, 1, 1});
	table->Add({"zintercard", -3, kReadonly | kIndexRead, ZInterCardCommand, 0, 0, 0});
	table->Add({"zmpop", -4, kWrite | kIndexRead, ZMPopCommand, 0, 0, 0});
}

} // namespace nodedb_kv::resp
