// Sorted-set commands over kv_sorted indexes: zset key = index name, member = the table's key, score =
// the index's first column.  ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZRANK
// ZREVRANK ZRANGE (BYSCORE REV LIMIT WITHSCORES) ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZPOPMIN ZPOPMAX
// ZSCAN ZRANDMEMBER, with Redis
// 7's replies.  The zset's order is ascending score, whatever the index's direction (a DESC index is
// read from its end; ties then come key-descending in ascending order, where Redis has them
// member-ascending).  Reads see the index's committed state; writes are upserts / deletes of the
// table's rows through the kv engine (ZREM deletes the row: the member is the row).  Not here:
// BYLEX, ZUNION/ZINTER/ZDIFF and the *STORE commands.  Pure C++ over the Engine.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "nodedb_kv/kv/kv_number.hpp"
#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"

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
Open(CommandContext &ctx, ZsetInfo *info)
{
	kv::Status status = ctx.engine.ZsetDescribe(ctx.session, ctx.argv[1], info);
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

// Writes need the index to exist (RESP cannot create one).
bool
OpenForWrite(CommandContext &ctx, ZsetInfo *info)
{
	if (!Open(ctx, info))
		return false;
	if (!info->exists) {
		ctx.out.Error("ERR no kv_sorted index \"" + ctx.argv[1].substr(0, 128) +
		              "\": a sorted set is a kv_sorted index (CREATE INDEX ... USING kv_sorted)");
		return false;
	}
	return true;
}

// Members at ascending positions [start, end] (0-based, inclusive, already clamped to [0, card)).
bool
AscendingSlice(CommandContext &ctx, const ZsetInfo &info, int64_t card, int64_t start, int64_t end,
               std::vector<ZMember> *out)
{
	int64_t count = end - start + 1;
	int64_t first = info.desc ? card - end : start + 1;
	kv::Status status = ctx.engine.ZsetSlice(ctx.session, ctx.argv[1], first, count, out);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	if (info.desc)
		std::reverse(out->begin(), out->end());
	return true;
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
ScoreRange(CommandContext &ctx, const ZsetInfo &info, double lo, bool lo_ex, double hi, bool hi_ex,
           std::vector<ZMember> *out)
{
	out->clear();
	if (!info.exists || lo > hi)
		return true;
	kv::Status status = ctx.engine.ZsetRangeByScore(ctx.session, ctx.argv[1], lo, hi, out);
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
Card(CommandContext &ctx, const ZsetInfo &info, int64_t *card)
{
	*card = 0;
	if (!info.exists)
		return true;
	kv::Status status = ctx.engine.ZsetCount(ctx.session, ctx.argv[1], card);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	return true;
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

// The shared part of ZRANGE / ZREVRANGE / ZRANGEBYSCORE / ZREVRANGEBYSCORE (Redis's zrangeGenericCommand).
// argv[2], argv[3]: the range; options from argv[first].
void
ZRangeGeneric(CommandContext &ctx, bool zrange, bool by_score, bool rev)
{
	size_t first = 4;
	bool withscores = false, limit = false, by_lex = false;
	int64_t offset = 0, count = -1;
	for (size_t i = first; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		size_t left = ctx.argv.size() - i - 1;
		if (EqualsIgnoreCase(opt, "withscores"))
			withscores = true;
		else if ((zrange || by_score) && EqualsIgnoreCase(opt, "limit") && left >= 2) {
			if (!kv::ParseInt64(ctx.argv[i + 1].data(), ctx.argv[i + 1].size(), &offset) ||
			    !kv::ParseInt64(ctx.argv[i + 2].data(), ctx.argv[i + 2].size(), &count))
				return ReplyNotInteger(ctx);
			limit = true;
			i += 2;
		} else if (zrange && EqualsIgnoreCase(opt, "rev"))
			rev = true;
		else if (zrange && EqualsIgnoreCase(opt, "byscore"))
			by_score = true;
		else if (zrange && EqualsIgnoreCase(opt, "bylex"))
			by_lex = true;
		else
			return ReplySyntaxError(ctx);
	}
	if (by_lex)
		return ctx.out.Error("ERR BYLEX is not supported: a kv_sorted index orders by score");
	if (limit && !by_score)
		return ctx.out.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
	ZsetInfo info;
	std::vector<ZMember> members;
	if (by_score) {
		// REV takes max then min.
		const std::string &min_text = rev ? ctx.argv[3] : ctx.argv[2];
		const std::string &max_text = rev ? ctx.argv[2] : ctx.argv[3];
		double lo, hi;
		bool lo_ex, hi_ex;
		if (!ParseBound(min_text, &lo, &lo_ex) || !ParseBound(max_text, &hi, &hi_ex))
			return ctx.out.Error("ERR min or max is not a float");
		if (!Open(ctx, &info) || !ScoreRange(ctx, info, lo, lo_ex, hi, hi_ex, &members))
			return;
		if (rev)
			std::reverse(members.begin(), members.end());
		if (limit) {
			std::vector<ZMember> page;
			for (int64_t i = offset;
			     offset >= 0 && i < static_cast<int64_t>(members.size()) && (count < 0 || i < offset + count); i++)
				page.push_back(members[i]);
			members = std::move(page);
		}
		return ReplyMembers(ctx, members, withscores);
	}
	int64_t start = 0, end = 0;
	if (!kv::ParseInt64(ctx.argv[2].data(), ctx.argv[2].size(), &start) ||
	    !kv::ParseInt64(ctx.argv[3].data(), ctx.argv[3].size(), &end))
		return ReplyNotInteger(ctx);
	int64_t card = 0;
	if (!Open(ctx, &info) || !Card(ctx, info, &card))
		return;
	if (start < 0)
		start += card;
	if (end < 0)
		end += card;
	if (start < 0)
		start = 0;
	if (start > end || start >= card)
		return ReplyMembers(ctx, members, withscores);
	if (end >= card)
		end = card - 1;
	// REV counts positions from the top: descending positions [start, end] are ascending
	// [card-1-end, card-1-start], read backwards.
	int64_t a = rev ? card - 1 - end : start;
	int64_t b = rev ? card - 1 - start : end;
	if (!AscendingSlice(ctx, info, card, a, b, &members))
		return;
	if (rev)
		std::reverse(members.begin(), members.end());
	ReplyMembers(ctx, members, withscores);
}

void
ZRangeCommand(CommandContext &ctx)
{
	ZRangeGeneric(ctx, true, false, false);
}

void
ZRevRangeCommand(CommandContext &ctx)
{
	ZRangeGeneric(ctx, false, false, true);
}

void
ZRangeByScoreCommand(CommandContext &ctx)
{
	ZRangeGeneric(ctx, false, true, ctx.spec.name[1] == 'r' && ctx.spec.name[2] == 'e');
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
	int64_t removed = 0;
	for (size_t i = 2; i < ctx.argv.size(); i++) {
		bool gone = false;
		kv::Status status = ctx.engine.ZsetRemove(ctx.session, info, ctx.argv[i], &gone);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		removed += gone;
	}
	if (removed > 0)
		Notify(ctx, pubsub::kNotifyZset, "zrem", ctx.argv[1]);
	ctx.out.Integer(removed);
}

// ZPOPMIN / ZPOPMAX key [count]: the lowest / highest members, whose rows are deleted.  Members are
// read from the index's committed state, so a second pop in the same pipelined batch does not see the
// first one's deletes (it reports only the rows it really deleted).
void
ZPopCommand(CommandContext &ctx)
{
	bool max = ctx.spec.name[5] == 'a';
	bool has_count = ctx.argv.size() == 3;
	int64_t count = 1;
	if (ctx.argv.size() > 3)
		return ReplySyntaxError(ctx);
	if (has_count) {
		if (!kv::ParseInt64(ctx.argv[2].data(), ctx.argv[2].size(), &count))
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
	if (!popped.empty())
		Notify(ctx, pubsub::kNotifyZset, max ? "zpopmax" : "zpopmin", ctx.argv[1]);
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
	if (!kv::ParseInt64(cursor_text.data(), cursor_text.size(), &cursor) || cursor < 0)
		return ctx.out.Error("ERR invalid cursor");
	std::string pattern;
	bool has_pattern = false;
	int64_t count = 10;
	for (size_t i = 3; i < ctx.argv.size(); i += 2) {
		if (i + 1 >= ctx.argv.size())
			return ReplySyntaxError(ctx);
		const std::string &opt = ctx.argv[i];
		if (EqualsIgnoreCase(opt, "count")) {
			if (!kv::ParseInt64(ctx.argv[i + 1].data(), ctx.argv[i + 1].size(), &count))
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
	if (has_count && !kv::ParseInt64(ctx.argv[2].data(), ctx.argv[2].size(), &count))
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

} // namespace

void
RegisterZsetCommands(CommandTable *table)
{
	table->Add({"zrandmember", -2, kReadonly, ZRandMemberCommand, 1, 1, 1});
	table->Add({"zpopmin", -2, kWrite | kFast, ZPopCommand, 1, 1, 1});
	table->Add({"zpopmax", -2, kWrite | kFast, ZPopCommand, 1, 1, 1});
	table->Add({"zscan", -3, kReadonly, ZScanCommand, 1, 1, 1});
	table->Add({"zadd", -4, kWrite | kFast, ZAddCommand, 1, 1, 1});
	table->Add({"zincrby", 4, kWrite | kFast, ZIncrByCommand, 1, 1, 1});
	table->Add({"zrem", -3, kWrite | kFast, ZRemCommand, 1, 1, 1});
	table->Add({"zscore", 3, kReadonly | kFast, ZScoreCommand, 1, 1, 1});
	table->Add({"zmscore", -3, kReadonly | kFast, ZScoreCommand, 1, 1, 1});
	table->Add({"zcard", 2, kReadonly | kFast, ZCardCommand, 1, 1, 1});
	table->Add({"zcount", 4, kReadonly | kFast, ZCountCommand, 1, 1, 1});
	table->Add({"zrank", 3, kReadonly | kFast, ZRankCommand, 1, 1, 1});
	table->Add({"zrevrank", 3, kReadonly | kFast, ZRankCommand, 1, 1, 1});
	table->Add({"zrange", -4, kReadonly, ZRangeCommand, 1, 1, 1});
	table->Add({"zrevrange", -4, kReadonly, ZRevRangeCommand, 1, 1, 1});
	table->Add({"zrangebyscore", -4, kReadonly, ZRangeByScoreCommand, 1, 1, 1});
	table->Add({"zrevrangebyscore", -4, kReadonly, ZRangeByScoreCommand, 1, 1, 1});
}

} // namespace nodedb_kv::resp
