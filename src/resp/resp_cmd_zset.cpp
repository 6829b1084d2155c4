// Sorted-set commands over kv_sorted indexes, while a named collection is selected (in a kv_db<n>
// keyspace the keyspace handlers of resp_cmd_rzset.cpp run instead): zset key = index name, member =
// the table's key, score = the index's first column.  ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM ZSCORE
// ZMSCORE ZCARD ZCOUNT ZRANK ZREVRANK ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZREVRANGE
// ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZLEXCOUNT ZREMRANGEBYRANK/SCORE/LEX
// ZRANGESTORE ZUNION ZINTER ZDIFF (+STORE, WEIGHTS, AGGREGATE) ZINTERCARD ZPOPMIN ZPOPMAX ZMPOP ZSCAN
// ZRANDMEMBER, with Redis 7's replies (arguments and reply shapes: resp_zargs.hpp).  The zset's order
// is ascending score, whatever the index's direction (a DESC index is read from its end; ties then
// come key-descending in ascending order, where Redis has them member-ascending).  Reads see the
// index's committed state; writes are upserts / deletes of the table's rows through the kv engine
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
#include "nodedb_kv/resp/resp_zargs.hpp"

namespace nodedb_kv::resp {
namespace {

using sortedindex::ZsetInfo;

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

// Ascending by score (the index read from the end when it is DESC), members with lo..hi.
bool
ScoreRange(CommandContext &ctx, const std::string &key, const ZsetInfo &info, const rtypes::ScoreRange &range,
           std::vector<ZMember> *out)
{
	out->clear();
	if (!info.exists || range.min > range.max)
		return true;
	kv::Status status = ctx.engine.ZsetRangeByScore(ctx.session, key, range.min, range.max, out);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	if (info.desc)
		std::reverse(out->begin(), out->end());
	std::vector<ZMember> kept;
	for (ZMember &m : *out) {
		if (!range.Contains(m.score))
			continue;
		kept.push_back(std::move(m));
	}
	*out = std::move(kept);
	return true;
}

bool
ScoreRange(CommandContext &ctx, const ZsetInfo &info, const rtypes::ScoreRange &range, std::vector<ZMember> *out)
{
	return ScoreRange(ctx, ctx.argv[1], info, range, out);
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
	ReplyScores(ctx, scores, multi);
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
	rtypes::ScoreRange range;
	if (!ParseScoreRange(ctx, ctx.argv[2], ctx.argv[3], &range))
		return;
	ZsetInfo info;
	std::vector<ZMember> members;
	if (Open(ctx, &info) && ScoreRange(ctx, info, range, &members))
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
LexRange(CommandContext &ctx, const std::string &key, const ZsetInfo &info, const rtypes::LexBound &min,
         const rtypes::LexBound &max, bool rev, std::vector<ZMember> *out)
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
		while (i < all.size() && !rtypes::LexGteMin(all[i].member, min))
			i++;
	else
		while (i < all.size() && !rtypes::LexLteMax(all[i].member, max))
			i++;
	for (; i < all.size(); i++) {
		if (!(rev ? rtypes::LexGteMin(all[i].member, min) : rtypes::LexLteMax(all[i].member, max)))
			break;
		out->push_back(std::move(all[i]));
	}
	return true;
}

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
ZRangeCommand(CommandContext &ctx)
{
	ZRangeArgs args;
	if (!ParseZRange(ctx, &args))
		return;
	const std::string &key = ctx.argv[args.src];
	ZsetInfo info;
	std::vector<ZMember> members;
	if (args.by == RangeBy::Score) {
		if (!Open(ctx, key, &info) || !ScoreRange(ctx, key, info, args.score, &members))
			return;
		if (args.rev)
			std::reverse(members.begin(), members.end());
		ApplyLimit(args.offset, args.count, &members);
	} else if (args.by == RangeBy::Lex) {
		if (!Open(ctx, key, &info) || !LexRange(ctx, key, info, args.lex_min, args.lex_max, args.rev, &members))
			return;
		ApplyLimit(args.offset, args.count, &members);
	} else {
		int64_t card = 0, start = 0, end = 0;
		if (!Open(ctx, key, &info) || !Card(ctx, key, info, &card))
			return;
		if (ClampRanks(args.start, args.end, card, &start, &end)) {
			// REV counts positions from the top: descending positions [start, end] are ascending
			// [card-1-end, card-1-start], read backwards.
			int64_t a = args.rev ? card - 1 - end : start;
			int64_t b = args.rev ? card - 1 - start : end;
			if (!AscendingSlice(ctx, key, info, card, a, b, &members))
				return;
			if (args.rev)
				std::reverse(members.begin(), members.end());
		}
	}
	if (args.store)
		return StoreResult(ctx, std::move(members));
	ReplyMembers(ctx, members, args.withscores);
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
ZAddCommand(CommandContext &ctx)
{
	ZAddArgs args;
	if (!ParseZAdd(ctx, &args))
		return;
	ZsetInfo info;
	if (!OpenForWrite(ctx, &info))
		return;
	int64_t added = 0, updated = 0;
	double result = 0;
	bool result_set = false;
	for (size_t j = 0; j < args.scores.size(); j++) {
		const std::string &member = args.Member(ctx, j);
		bool found = false;
		double current = 0, score = 0;
		kv::Status status = ctx.engine.ZsetGetScore(ctx.session, info, member, &found, &current);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		ZAddStep step = ZAddDecide(args, args.scores[j], found, current, &score);
		if (step == ZAddStep::NaN)
			return ctx.out.Error("ERR resulting score is not a number (NaN)");
		if (step == ZAddStep::Skip)
			continue;
		result = score;
		result_set = step == ZAddStep::Same ? args.incr : true;
		if (step == ZAddStep::Same)
			continue;
		std::string text;
		if (!ScoreText(ctx, info, score, &text))
			return;
		bool written = false;
		status = ctx.engine.ZsetSetScore(ctx.session, info, member, text, false, false, &written);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		if (!written) {
			result_set = false;
			continue;
		}
		if (found)
			updated++;
		else
			added++;
	}
	if (added + updated > 0)
		Notify(ctx, pubsub::kNotifyZset, args.incr ? "zincr" : "zadd", ctx.argv[1]);
	if (args.incr) {
		if (!result_set)
			return ctx.out.Null();
		return ctx.out.Double(result);
	}
	ctx.out.Integer(args.ch ? added + updated : added);
}

// ZINCRBY key increment member.
void
ZIncrByCommand(CommandContext &ctx)
{
	ZAddArgs args;
	if (!ParseZIncrBy(ctx, &args))
		return;
	double delta = args.scores[0];
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
	bool has_count = false;
	int64_t count = 1;
	if (!ParseZPopCount(ctx, &has_count, &count))
		return;
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
	ReplyPopped(ctx, popped, has_count);
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is an ascending position, so members
// present throughout are returned (a member moving backwards meanwhile may be missed or repeated, as
// with any rank-based cursor).  Scores as strings, as Redis sends them.
void
ZScanCommand(CommandContext &ctx)
{
	int64_t cursor = 0, count = 10;
	std::string pattern;
	bool has_pattern = false;
	if (!ParseZScanCursor(ctx, &cursor) || !ParseZScanOptions(ctx, &pattern, &has_pattern, &count))
		return;
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
	ReplyZScan(ctx, next, members, pattern, has_pattern);
}

// ZRANDMEMBER key [count [WITHSCORES]]: count > 0 distinct members (all if count >= card), count < 0
// |count| members with repeats.  With a count it reads the whole set (O(N)).
void
ZRandMemberCommand(CommandContext &ctx)
{
	bool has_count = false, withscores = false;
	int64_t count = 1;
	if (!ParseZRandMember(ctx, &has_count, &count, &withscores))
		return;
	ZsetInfo info;
	int64_t card = 0;
	if (!Open(ctx, &info) || !Card(ctx, info, &card))
		return;
	std::vector<ZMember> members;
	if (!has_count) {
		if (card == 0)
			return ctx.out.Null();
		int64_t p = static_cast<int64_t>(RandomIndex(static_cast<size_t>(card)));
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
	ReplyMembers(ctx, RandomPicks(std::move(all), count), withscores);
}

// ZLEXCOUNT key min max.
void
ZLexCountCommand(CommandContext &ctx)
{
	rtypes::LexBound min, max;
	if (!ParseLexRange(ctx, ctx.argv[2], ctx.argv[3], &min, &max))
		return;
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
		if (!ParseRankRange(ctx, ctx.argv[2], ctx.argv[3], &start, &end))
			return;
		if (!Open(ctx, &info) || !Card(ctx, info, &card))
			return;
		if (ClampRanks(start, end, card, &start, &end) && !AscendingSlice(ctx, info, card, start, end, &members))
			return;
	} else if (kind == 's') {
		rtypes::ScoreRange range;
		if (!ParseScoreRange(ctx, ctx.argv[2], ctx.argv[3], &range))
			return;
		if (!Open(ctx, &info) || !ScoreRange(ctx, info, range, &members))
			return;
	} else {
		rtypes::LexBound min, max;
		if (!ParseLexRange(ctx, ctx.argv[2], ctx.argv[3], &min, &max))
			return;
		if (!Open(ctx, &info) || !LexRange(ctx, ctx.argv[1], info, min, max, false, &members))
			return;
	}
	RemoveMembers(ctx, info, members);
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

// ZUNION / ZINTER / ZDIFF (+STORE): the inputs are kv_sorted indexes (a relation that is not one:
// WRONGTYPE; there are no plain sets here); a *STORE destination is an existing index (StoreResult).
void
ZSetOpCommand(CommandContext &ctx)
{
	RunSetOp(ctx, ReadInputs, StoreResult);
}

void
ZInterCardCommand(CommandContext &ctx)
{
	RunInterCard(ctx, ReadInputs);
}

// Pops up to count of the lowest (highest with max) members of the index key: their rows are deleted;
// *found: the set was not empty (ZMPOP goes on to the next key otherwise).
bool
PopFrom(CommandContext &ctx, const std::string &key, bool max, int64_t count, std::vector<ZMember> *popped, bool *found)
{
	ZsetInfo info;
	int64_t card = 0;
	if (!Open(ctx, key, &info) || !Card(ctx, key, info, &card))
		return false;
	*found = card > 0;
	if (card == 0)
		return true;
	int64_t n = std::min(count, card);
	std::vector<ZMember> members;
	if (!AscendingSlice(ctx, key, info, card, max ? card - n : 0, max ? card - 1 : n - 1, &members))
		return false;
	if (max)
		std::reverse(members.begin(), members.end());
	for (ZMember &m : members) {
		bool gone = false;
		kv::Status status = ctx.engine.ZsetRemove(ctx.session, info, m.member, &gone);
		if (!status.ok()) {
			ReplyStatus(ctx, status);
			return false;
		}
		if (gone)
			popped->push_back(std::move(m));
	}
	// Redis's genericZpopCommand: zpopmin / zpopmax, then "del" for the emptied set.
	if (!popped->empty()) {
		Notify(ctx, pubsub::kNotifyZset, max ? "zpopmax" : "zpopmin", key);
		if (card <= static_cast<int64_t>(popped->size()))
			Notify(ctx, pubsub::kNotifyGeneric, "del", key);
	}
	return true;
}

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first non-empty set.
void
ZMPopCommand(CommandContext &ctx)
{
	RunZMPop(ctx, PopFrom);
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
	table->Add({"zrevrange", -4, kReadonly | kIndexRead, ZRangeCommand, 1, 1, 1});
	table->Add({"zrangebyscore", -4, kReadonly | kIndexRead, ZRangeCommand, 1, 1, 1});
	table->Add({"zrevrangebyscore", -4, kReadonly | kIndexRead, ZRangeCommand, 1, 1, 1});
	table->Add({"zrangebylex", -4, kReadonly | kIndexRead, ZRangeCommand, 1, 1, 1});
	table->Add({"zrevrangebylex", -4, kReadonly | kIndexRead, ZRangeCommand, 1, 1, 1});
	table->Add({"zrangestore", -5, kWrite | kIndexRead, ZRangeCommand, 1, 2, 1});
	table->Add({"zlexcount", 4, kReadonly | kFast | kIndexRead, ZLexCountCommand, 1, 1, 1});
	table->Add({"zremrangebyrank", 4, kWrite | kIndexRead, ZRemRangeCommand, 1, 1, 1});
	table->Add({"zremrangebyscore", 4, kWrite | kIndexRead, ZRemRangeCommand, 1, 1, 1});
	table->Add({"zremrangebylex", 4, kWrite | kIndexRead, ZRemRangeCommand, 1, 1, 1});
	table->Add({"zunion", -3, kReadonly | kIndexRead, ZSetOpCommand, 0, 0, 0});
	table->Add({"zinter", -3, kReadonly | kIndexRead, ZSetOpCommand, 0, 0, 0});
	table->Add({"zdiff", -3, kReadonly | kIndexRead, ZSetOpCommand, 0, 0, 0});
	table->Add({"zunionstore", -4, kWrite | kIndexRead, ZSetOpCommand, 1, 1, 1});
	table->Add({"zinterstore", -4, kWrite | kIndexRead, ZSetOpCommand, 1, 1, 1});
	table->Add({"zdiffstore", -4, kWrite | kIndexRead, ZSetOpCommand, 1, 1, 1});
	table->Add({"zintercard", -3, kReadonly | kIndexRead, ZInterCardCommand, 0, 0, 0});
	table->Add({"zmpop", -4, kWrite | kIndexRead, ZMPopCommand, 0, 0, 0});
}

} // namespace nodedb_kv::resp
