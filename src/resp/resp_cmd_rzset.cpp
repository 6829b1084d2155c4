// Sorted sets in a kv_db<n> keyspace: the keyspace handlers of ZADD (NX XX GT LT CH INCR) ZINCRBY ZREM
// ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES)
// ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREMRANGEBYRANK/SCORE/LEX ZPOPMIN
// ZPOPMAX ZMPOP ZRANDMEMBER ZSCAN ZRANGESTORE ZUNION ZINTER ZDIFF (+STORE) ZINTERCARD, with Redis 7.0's
// replies (resp_zargs.hpp: arguments and reply shapes shared with the named-collection commands of
// resp_cmd_zset.cpp).  The commands work on rtypes::SortedSet; ReadZset / EditZset are the one place
// that picks the storage behind a key (today the inline encoding of rtypes_zset.hpp).  A write is one
// read-modify-write of the key, which keeps its expiry and goes with its last member; the *STORE
// commands replace their destination whatever it held.  ZUNION / ZINTER / ZDIFF / ZINTERCARD also take
// sets (score 1), as Redis does.
#include <algorithm>
#include <memory>
#include <unordered_set>

#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_rtypes.hpp"
#include "nodedb_kv/resp/resp_zargs.hpp"

namespace nodedb_kv::resp {
namespace {

using rtypes::SortedSet;
using rtypes::Type;
using rtypes::ZsetInline;

// Reads key as a sorted set (missing: empty, *found false).  Replies and returns false on failure.
// The one place that picks the storage a key's sorted set is read from: the inline value, or the tree
// of rows of a spilled one (rtypes_ztree.hpp), whose reads may fail later (zset->Failed(): replied).
bool
ReadZset(CommandContext &ctx, const std::string &key, std::unique_ptr<SortedSet> *zset, bool *found)
{
	auto inline_zset = std::make_unique<ZsetInline>();
	Spill spill;
	bool spilled = false;
	if (!ReadContainerOrSpill(ctx, key, Type::Zset, inline_zset.get(), found, &spill, &spilled))
		return false;
	if (spilled)
		*zset = OpenSpilledZset(ctx, spill, false);
	else
		*zset = std::move(inline_zset);
	return true;
}

// One read-modify-write of the sorted set key: change(zset, found) returns whether it changed it.
// Inline: the value rewritten (spilled past 128 members or 8 kB); spilled: the rows the change
// touched (O(log N) each).  *emptied: the edit deleted the key because its last member went.
template <typename Change>
bool
EditZset(CommandContext &ctx, const std::string &key, Change change, bool *emptied)
{
	auto spilled_change = [&](Spill &spill) {
		std::unique_ptr<rtypes::ZsetSpilled> zset = OpenSpilledZset(ctx, spill, true);
		bool changed = change(*zset, true);
		if (zset->Failed())
			return false;
		if (!changed) // (a change that refuses, e.g. a NaN score, leaves its cached writes unwritten)
			return true;
		if (!zset->Flush())
			return false;
		spill.header.count = zset->count();
		spill.header.head = static_cast<int64_t>(zset->root());
		spill.header.tail = static_cast<int64_t>(zset->next());
		return true;
	};
	return EditContainerOr<ZsetInline>(
	    ctx, key, Type::Zset, [&](ZsetInline &zset, bool found) { return change(zset, found); }, spilled_change,
	    emptied);
}

// Replaces key with the members (any order), deleted when empty, spilled when big, without expiry,
// whatever key held (*existed: it held something).
bool
StoreZset(CommandContext &ctx, const std::string &key, const std::vector<ZMember> &members, bool *existed)
{
	ZsetInline zset;
	zset.entries = members;
	std::sort(zset.entries.begin(), zset.entries.end(), [](const ZMember &a, const ZMember &b) {
		return rtypes::ZsetLess(a.score, a.member, b.score, b.member);
	});
	std::string encoded = zset.entries.empty() ? std::string() : rtypes::EncodeZset(zset);
	Spill spill;
	bool spilling = zset.entries.size() > rtypes::kSpillEntries || encoded.size() > rtypes::kSpillBytes;
	if (spilling) {
		spill.header = NewSpillHeader(zset.entries.size(), zset);
		encoded = rtypes::EncodeSpillHeader(spill.header);
	}
	TypedEdit edit = [&](const TypedValue &current, TypedWrite *write) {
		*existed = current.found;
		write->action = encoded.empty() ? kv::TypedAction::Delete : kv::TypedAction::Write;
		write->type = Type::Zset;
		write->value = encoded;
		write->ttl = {kv::TtlMode::Clear, 0};
	};
	if (!ModifyKey(ctx, key, edit))
		return false;
	return !spilling || (SpillPrefix(ctx, key, &spill) && WriteSpilled(ctx, spill, zset));
}

// Redis's events of a *STORE: event on the destination, or "del" when an empty result deleted it.
void
NotifyStored(CommandContext &ctx, const char *event, const std::string &key, size_t stored, bool existed)
{
	if (stored > 0)
		Notify(ctx, pubsub::kNotifyZset, event, key);
	else if (existed)
		Notify(ctx, pubsub::kNotifyGeneric, "del", key);
}

// Positions [begin, end) walked ascending (or descending with rev) after LIMIT offset count.
void
Window(const SortedSet &zset, size_t begin, size_t end, bool rev, int64_t offset, int64_t count,
       std::vector<ZMember> *out)
{
	out->clear();
	if (offset < 0 || begin >= end)
		return;
	size_t n = end - begin;
	size_t skip = static_cast<size_t>(std::min<int64_t>(offset, static_cast<int64_t>(n)));
	size_t take = n - skip;
	if (count >= 0 && static_cast<uint64_t>(count) < take)
		take = static_cast<size_t>(count);
	if (!rev)
		return zset.Slice(begin + skip, begin + skip + take, out);
	zset.Slice(end - skip - take, end - skip, out);
	std::reverse(out->begin(), out->end());
}

// The ascending positions [*begin, *end) of a score range.
void
ScorePositions(const SortedSet &zset, const rtypes::ScoreRange &range, size_t *begin, size_t *end)
{
	*begin = zset.ScoreBound(range.min, range.min_exclusive);
	*end = zset.ScoreBound(range.max, !range.max_exclusive);
	if (*end < *begin)
		*end = *begin;
}

// The members of a ZRANGE-family range, in reply order.
void
RangeOf(const SortedSet &zset, const ZRangeArgs &args, std::vector<ZMember> *out)
{
	size_t begin = 0, end = 0;
	if (args.by == RangeBy::Rank) {
		int64_t card = static_cast<int64_t>(zset.Size()), first = 0, last = 0;
		out->clear();
		if (!ClampRanks(args.start, args.end, card, &first, &last))
			return;
		// REV counts positions from the top: descending [first, last] = ascending [card-1-last, card-1-first].
		begin = static_cast<size_t>(args.rev ? card - 1 - last : first);
		end = static_cast<size_t>(args.rev ? card - first : last + 1);
		return Window(zset, begin, end, args.rev, 0, -1, out);
	}
	if (args.by == RangeBy::Score)
		ScorePositions(zset, args.score, &begin, &end);
	else
		zset.LexWalk(args.lex_min, args.lex_max, args.rev, &begin, &end);
	Window(zset, begin, end, args.rev, args.offset, args.count, out);
}

// ZADD and ZINCRBY after parsing: Redis's zaddGenericCommand.
void
ZAddApply(CommandContext &ctx, const ZAddArgs &args, bool zincrby)
{
	int64_t added = 0, updated = 0;
	double result = 0;
	bool result_set = false, nan = false;
	auto change = [&](SortedSet &zset, bool) {
		added = updated = 0;
		result_set = nan = false;
		for (size_t j = 0; j < args.scores.size(); j++) {
			const std::string &member = args.Member(ctx, j);
			double current = 0, score = 0;
			bool found = zset.Score(member, &current);
			ZAddStep step = ZAddDecide(args, args.scores[j], found, current, &score);
			if (step == ZAddStep::NaN) {
				nan = true;
				return false;
			}
			if (step == ZAddStep::Skip)
				continue;
			result = score;
			result_set = true;
			if (step == ZAddStep::Same)
				continue;
			if (zset.Put(member, score))
				added++;
			else
				updated++;
		}
		return added + updated > 0;
	};
	if (!EditZset(ctx, ctx.argv[1], change, nullptr))
		return;
	if (nan)
		return ctx.out.Error("ERR resulting score is not a number (NaN)");
	if (added + updated > 0)
		Notify(ctx, pubsub::kNotifyZset, args.incr ? "zincr" : "zadd", ctx.argv[1]);
	if (zincrby || args.incr)
		return result_set ? ctx.out.Double(result) : ctx.out.Null();
	ctx.out.Integer(args.ch ? added + updated : added);
}

void
ZAddCommand(CommandContext &ctx)
{
	ZAddArgs args;
	if (ParseZAdd(ctx, &args))
		ZAddApply(ctx, args, false);
}

void
ZIncrByCommand(CommandContext &ctx)
{
	ZAddArgs args;
	if (ParseZIncrBy(ctx, &args))
		ZAddApply(ctx, args, true);
}

// ZREM key member [member ...].
void
ZRemCommand(CommandContext &ctx)
{
	int64_t removed = 0;
	bool emptied = false;
	auto change = [&](SortedSet &zset, bool) {
		removed = 0;
		for (size_t i = 2; i < ctx.argv.size(); i++)
			removed += zset.Remove(ctx.argv[i]);
		return removed > 0;
	};
	if (!EditZset(ctx, ctx.argv[1], change, &emptied))
		return;
	if (removed > 0)
		NotifyEdit(ctx, pubsub::kNotifyZset, "zrem", ctx.argv[1], emptied);
	ctx.out.Integer(removed);
}

// ZSCORE key member / ZMSCORE key member [member ...].
void
ZScoreCommand(CommandContext &ctx)
{
	std::unique_ptr<SortedSet> zset;
	bool found = false;
	if (!ReadZset(ctx, ctx.argv[1], &zset, &found))
		return;
	std::vector<std::pair<bool, double>> scores;
	for (size_t i = 2; i < ctx.argv.size(); i++) {
		double score = 0;
		bool is_member = zset->Score(ctx.argv[i], &score);
		scores.emplace_back(is_member, score);
	}
	if (zset->Failed())
		return;
	ReplyScores(ctx, scores, ctx.spec.name[1] == 'm');
}

// ZCARD key.
void
ZCardCommand(CommandContext &ctx)
{
	std::unique_ptr<SortedSet> zset;
	bool found = false;
	if (ReadZset(ctx, ctx.argv[1], &zset, &found))
		ctx.out.Integer(static_cast<int64_t>(zset->Size()));
}

// ZCOUNT key min max.
void
ZCountCommand(CommandContext &ctx)
{
	rtypes::ScoreRange range;
	std::unique_ptr<SortedSet> zset;
	bool found = false;
	if (!ParseScoreRange(ctx, ctx.argv[2], ctx.argv[3], &range) || !ReadZset(ctx, ctx.argv[1], &zset, &found))
		return;
	size_t begin = 0, end = 0;
	ScorePositions(*zset, range, &begin, &end);
	if (!zset->Failed())
		ctx.out.Integer(static_cast<int64_t>(end - begin));
}

// ZLEXCOUNT key min max.
void
ZLexCountCommand(CommandContext &ctx)
{
	rtypes::LexBound min, max;
	std::unique_ptr<SortedSet> zset;
	bool found = false;
	if (!ParseLexRange(ctx, ctx.argv[2], ctx.argv[3], &min, &max) || !ReadZset(ctx, ctx.argv[1], &zset, &found))
		return;
	size_t begin = 0, end = 0;
	zset->LexWalk(min, max, false, &begin, &end);
	if (!zset->Failed())
		ctx.out.Integer(static_cast<int64_t>(end - begin));
}

// ZRANK / ZREVRANK key member.
void
ZRankCommand(CommandContext &ctx)
{
	bool rev = ctx.spec.name[2] == 'e'; // z[r]ank, zr[e]vrank
	std::unique_ptr<SortedSet> zset;
	bool found = false;
	if (!ReadZset(ctx, ctx.argv[1], &zset, &found))
		return;
	size_t rank = 0;
	bool is_member = zset->Rank(ctx.argv[2], &rank);
	if (zset->Failed())
		return;
	if (!is_member)
		return ctx.out.Null();
	ctx.out.Integer(static_cast<int64_t>(rev ? zset->Size() - 1 - rank : rank));
}

// The ZRANGE family (Redis's zrangeGenericCommand); store: ZRANGESTORE (destination argv[1]).
void
ZRangeCommand(CommandContext &ctx)
{
	ZRangeArgs args;
	std::unique_ptr<SortedSet> zset;
	bool found = false;
	if (!ParseZRange(ctx, &args) || !ReadZset(ctx, ctx.argv[args.src], &zset, &found))
		return;
	std::vector<ZMember> members;
	RangeOf(*zset, args, &members);
	if (zset->Failed())
		return;
	if (!args.store)
		return ReplyMembers(ctx, members, args.withscores);
	bool existed = false;
	if (!StoreZset(ctx, ctx.argv[1], members, &existed))
		return;
	NotifyStored(ctx, "zrangestore", ctx.argv[1], members.size(), existed);
	ctx.out.Integer(static_cast<int64_t>(members.size()));
}

// ZREMRANGEBYRANK key start stop / ZREMRANGEBYSCORE key min max / ZREMRANGEBYLEX key min max.
void
ZRemRangeCommand(CommandContext &ctx)
{
	char kind = ctx.spec.name[11]; // zremrangeby[r]ank, [s]core, [l]ex
	int64_t start = 0, stop = 0;
	rtypes::ScoreRange range;
	rtypes::LexBound min, max;
	bool parsed = kind == 'r'   ? ParseRankRange(ctx, ctx.argv[2], ctx.argv[3], &start, &stop)
	              : kind == 's' ? ParseScoreRange(ctx, ctx.argv[2], ctx.argv[3], &range)
	                            : ParseLexRange(ctx, ctx.argv[2], ctx.argv[3], &min, &max);
	if (!parsed)
		return;
	int64_t removed = 0;
	bool emptied = false;
	auto change = [&](SortedSet &zset, bool) {
		size_t begin = 0, end = 0;
		if (kind == 'r') {
			int64_t first = 0, last = 0;
			if (ClampRanks(start, stop, static_cast<int64_t>(zset.Size()), &first, &last)) {
				begin = static_cast<size_t>(first);
				end = static_cast<size_t>(last + 1);
			}
		} else if (kind == 's')
			ScorePositions(zset, range, &begin, &end);
		else
			zset.LexWalk(min, max, false, &begin, &end);
		removed = static_cast<int64_t>(end - begin);
		zset.RemoveRange(begin, end);
		return removed > 0;
	};
	if (!EditZset(ctx, ctx.argv[1], change, &emptied))
		return;
	if (removed > 0) // zremrangebyrank/score/lex
		NotifyEdit(ctx, pubsub::kNotifyZset, ctx.spec.name, ctx.argv[1], emptied);
	ctx.out.Integer(removed);
}

// Pops up to count of the lowest (highest with max) members of key into *popped (in pop order);
// *found false if key is missing.  Replies and returns false on failure.
bool
PopMembers(CommandContext &ctx, const std::string &key, bool max, int64_t count, std::vector<ZMember> *popped,
           bool *found)
{
	auto change = [&](SortedSet &zset, bool exists) {
		*found = exists;
		popped->clear();
		size_t n = static_cast<size_t>(std::min<int64_t>(count, static_cast<int64_t>(zset.Size())));
		size_t begin = max ? zset.Size() - n : 0;
		Window(zset, begin, begin + n, max, 0, -1, popped);
		zset.RemoveRange(begin, begin + n);
		return n > 0;
	};
	bool emptied = false;
	if (!EditZset(ctx, key, change, &emptied))
		return false;
	if (!popped->empty()) // Redis's genericZpopCommand: zpopmin / zpopmax, then "del" when emptied
		NotifyEdit(ctx, pubsub::kNotifyZset, max ? "zpopmax" : "zpopmin", key, emptied);
	return true;
}

// ZPOPMIN / ZPOPMAX key [count].
void
ZPopCommand(CommandContext &ctx)
{
	bool has_count = false, found = false;
	int64_t count = 1;
	std::vector<ZMember> popped;
	if (ParseZPopCount(ctx, &has_count, &count) &&
	    PopMembers(ctx, ctx.argv[1], ctx.spec.name[5] == 'a', count, &popped, &found))
		ReplyPopped(ctx, popped, has_count);
}

// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first key that exists.
void
ZMPopCommand(CommandContext &ctx)
{
	RunZMPop(ctx, PopMembers);
}

// ZRANDMEMBER key [count [WITHSCORES]].
void
ZRandMemberCommand(CommandContext &ctx)
{
	bool has_count = false, withscores = false, found = false;
	int64_t count = 1;
	std::unique_ptr<SortedSet> zset;
	if (!ParseZRandMember(ctx, &has_count, &count, &withscores) || !ReadZset(ctx, ctx.argv[1], &zset, &found))
		return;
	std::vector<ZMember> all;
	if (!has_count) {
		if (zset->Size() == 0)
			return ctx.out.Null();
		size_t at = RandomIndex(zset->Size());
		zset->Slice(at, at + 1, &all);
		if (zset->Failed())
			return;
		return ctx.out.Bulk(all[0].member);
	}
	size_t size = zset->Size();
	uint64_t want = count < 0 ? 0 - static_cast<uint64_t>(count) : static_cast<uint64_t>(count);
	if (want > 0 && want < size / 4) {
		// A few of many: each by its position (a descent: O(log N) rows of a spilled set, not all N;
		// the same picks as RandomPicks makes of the whole set).
		std::vector<size_t> positions;
		std::unordered_set<size_t> taken;
		while (positions.size() < want) {
			size_t at = RandomIndex(size);
			if (count < 0 || taken.insert(at).second)
				positions.push_back(at);
		}
		for (size_t at : positions) {
			zset->Slice(at, at + 1, &all);
			if (zset->Failed())
				return;
		}
		return ReplyMembers(ctx, all, withscores);
	}
	zset->Slice(0, size, &all);
	if (zset->Failed())
		return;
	ReplyMembers(ctx, RandomPicks(std::move(all), count), withscores);
}

// ZSCAN key cursor [MATCH pattern] [COUNT count], in Redis 7.0's order of checks (cursor, key,
// options): every member at once with cursor 0, ascending (as Redis scans a listpack).  A spilled
// zset pages through its member rows instead: ReplySpilledScan with the score as text (FormatScore).
void
ZScanCommand(CommandContext &ctx)
{
	uint64_t cursor = 0;
	int64_t count = 10;
	std::string pattern;
	bool has_pattern = false, found = false, spilled = false;
	ZsetInline zset;
	Spill spill;
	if (!ParseCursor(ctx, ctx.argv[2], &cursor) ||
	    !ReadContainerOrSpill(ctx, ctx.argv[1], Type::Zset, &zset, &found, &spill, &spilled))
		return;
	if (!found)
		return ReplyEmptyScan(ctx);
	if (!ParseZScanOptions(ctx, &pattern, &has_pattern, &count))
		return;
	if (!spilled)
		return ReplyZScan(ctx, 0, zset.entries, pattern, has_pattern);
	ReplySpilledScan(ctx, spill, cursor, count, pattern, has_pattern, [](const std::string &row, std::string *text) {
		double score = 0;
		if (!rtypes::DecodeScoreItem(row, &score))
			return false;
		*text = FormatScore(score);
		return true;
	});
}

// The container in a key's value, inline or spilled (then every member: O(N), as Redis's set
// operations).  Replies and returns false on failure.
template <typename Container>
bool
DecodeValue(CommandContext &ctx, const std::string &key, std::string_view value, Container *c)
{
	if (!rtypes::IsSpilled(value)) {
		if (Decode(value, c))
			return true;
		ReplyCorrupt(ctx);
		return false;
	}
	Spill spill;
	if (!rtypes::DecodeSpillHeader(value, &spill.header)) {
		ReplyCorrupt(ctx);
		return false;
	}
	return SpillPrefix(ctx, key, &spill) && LoadSpilled(ctx, spill, c);
}

// The input sets of ZUNION / ZINTER / ZDIFF / ZINTERCARD, ascending: sorted sets, or sets (each
// member with score 1); missing keys are empty.  WRONGTYPE for other types.
bool
ReadInputs(CommandContext &ctx, const std::vector<std::string> &keys, std::vector<std::vector<ZMember>> *sets)
{
	sets->assign(keys.size(), {});
	for (size_t i = 0; i < keys.size(); i++) {
		TypedValue value;
		kv::Status status = ctx.engine.GetTyped(ctx.session, keys[i], &value);
		if (!status.ok()) {
			ReplyStatus(ctx, status);
			return false;
		}
		if (!value.found)
			continue;
		if (value.type != Type::Set && value.type != Type::Zset) {
			ReplyWrongTypeError(ctx);
			return false;
		}
		if (value.type == Type::Set) {
			rtypes::Set set;
			if (!DecodeValue(ctx, keys[i], value.value, &set))
				return false;
			for (std::string &member : set.members)
				(*sets)[i].push_back({std::move(member), 1.0});
			continue;
		}
		ZsetInline zset;
		if (!DecodeValue(ctx, keys[i], value.value, &zset))
			return false;
		(*sets)[i] = std::move(zset.entries);
	}
	return true;
}

// The result of ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE: replaces the destination whatever it held.
void
StoreSetOpResult(CommandContext &ctx, std::vector<ZMember> result)
{
	bool existed = false;
	if (!StoreZset(ctx, ctx.argv[1], result, &existed))
		return;
	NotifyStored(ctx, ctx.spec.name, ctx.argv[1], result.size(), existed); // zunionstore, zinterstore, zdiffstore
	ctx.out.Integer(static_cast<int64_t>(result.size()));
}

// ZUNION / ZINTER / ZDIFF (+STORE) and ZINTERCARD (resp_zargs.hpp) over sorted sets and sets.
void
ZSetOpCommand(CommandContext &ctx)
{
	RunSetOp(ctx, ReadInputs, StoreSetOpResult);
}

void
ZInterCardCommand(CommandContext &ctx)
{
	RunInterCard(ctx, ReadInputs);
}

} // namespace

bool
PopZsetMembers(CommandContext &ctx, const std::string &key, bool max, int64_t count, std::vector<ZMember> *popped,
               bool *found)
{
	return PopMembers(ctx, key, max, count, popped, found);
}

void
RegisterTypedZsetCommands(CommandTable *table)
{
	static const std::pair<const char *, Handler> kHandlers[] = {
	    {"zadd", ZAddCommand},
	    {"zincrby", ZIncrByCommand},
	    {"zrem", ZRemCommand},
	    {"zscore", ZScoreCommand},
	    {"zmscore", ZScoreCommand},
	    {"zcard", ZCardCommand},
	    {"zcount", ZCountCommand},
	    {"zlexcount", ZLexCountCommand},
	    {"zrank", ZRankCommand},
	    {"zrevrank", ZRankCommand},
	    {"zrange", ZRangeCommand},
	    {"zrangestore", ZRangeCommand},
	    {"zrevrange", ZRangeCommand},
	    {"zrangebyscore", ZRangeCommand},
	    {"zrevrangebyscore", ZRangeCommand},
	    {"zrangebylex", ZRangeCommand},
	    {"zrevrangebylex", ZRangeCommand},
	    {"zremrangebyrank", ZRemRangeCommand},
	    {"zremrangebyscore", ZRemRangeCommand},
	    {"zremrangebylex", ZRemRangeCommand},
	    {"zpopmin", ZPopCommand},
	    {"zpopmax", ZPopCommand},
	    {"zmpop", ZMPopCommand},
	    {"zrandmember", ZRandMemberCommand},
	    {"zscan", ZScanCommand},
	    {"zunion", ZSetOpCommand},
	    {"zinter", ZSetOpCommand},
	    {"zdiff", ZSetOpCommand},
	    {"zunionstore", ZSetOpCommand},
	    {"zinterstore", ZSetOpCommand},
	    {"zdiffstore", ZSetOpCommand},
	    {"zintercard", ZInterCardCommand},
	};
	for (const auto &[name, handler] : kHandlers)
		table->SetKeyspaceHandler(name, handler);
}

} // namespace nodedb_kv::resp
