// The sorted-set commands' arguments, options, shared computations and reply shapes
// (resp_zargs.hpp), used by the named-collection Z-commands (resp_cmd_zset.cpp) and the keyspace
// ones (resp_cmd_rzset.cpp).  Redis 7.0's error texts, in its order of checks.  Pure C++.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <unordered_map>

#include "nodedb_kv/resp/resp_rtypes.hpp"
#include "nodedb_kv/resp/resp_zargs.hpp"

namespace nodedb_kv::resp {
namespace {

// Redis's zslParseRange for one bound: "(x" exclusive.
bool
ParseBound(const std::string &text, double *value, bool *exclusive)
{
	*exclusive = !text.empty() && text[0] == '(';
	return ParseScore(*exclusive ? text.substr(1) : text, value);
}

// Redis's zslParseLexRangeItem.
bool
ParseLexBound(const std::string &text, rtypes::LexBound *bound)
{
	if (text == "+")
		bound->kind = rtypes::LexBound::Plus;
	else if (text == "-")
		bound->kind = rtypes::LexBound::Minus;
	else if (!text.empty() && (text[0] == '[' || text[0] == '(')) {
		bound->kind = text[0] == '[' ? rtypes::LexBound::Inclusive : rtypes::LexBound::Exclusive;
		bound->value = text.substr(1);
	} else
		return false;
	return true;
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

std::mt19937_64 &
Random()
{
	static std::mt19937_64 generator{std::random_device{}()};
	return generator;
}

} // namespace

std::string
FormatScore(double score)
{
	if (std::isinf(score))
		return score > 0 ? "inf" : "-inf";
	char buffer[64];
	snprintf(buffer, sizeof(buffer), "%.17g", score);
	return buffer;
}

bool
ParseScore(const std::string &text, double *score)
{
	if (text.empty() || isspace(static_cast<unsigned char>(text[0])))
		return false;
	char *end = nullptr;
	errno = 0;
	*score = strtod(text.c_str(), &end);
	// Redis's getDoubleFromObject: an overflow (to +-HUGE_VAL) or underflow to zero is refused; "inf"
	// itself parses without ERANGE.
	return end == text.c_str() + text.size() && !std::isnan(*score) &&
	       !(errno == ERANGE && (std::isinf(*score) || *score == 0));
}

bool
ParseScoreRange(CommandContext &ctx, const std::string &min, const std::string &max, rtypes::ScoreRange *range)
{
	if (ParseBound(min, &range->min, &range->min_exclusive) && ParseBound(max, &range->max, &range->max_exclusive))
		return true;
	ctx.out.Error("ERR min or max is not a float");
	return false;
}

bool
ParseLexRange(CommandContext &ctx, const std::string &min, const std::string &max, rtypes::LexBound *lo,
              rtypes::LexBound *hi)
{
	if (ParseLexBound(min, lo) && ParseLexBound(max, hi))
		return true;
	ctx.out.Error("ERR min or max not valid string range item");
	return false;
}

bool
ParseRankRange(CommandContext &ctx, const std::string &start, const std::string &end, int64_t *first, int64_t *last)
{
	if (ParseInt64(start, first) && ParseInt64(end, last))
		return true;
	ReplyNotInteger(ctx);
	return false;
}

bool
ClampRanks(int64_t start, int64_t end, int64_t card, int64_t *begin, int64_t *last)
{
	if (start < 0)
		start += card;
	if (end < 0)
		end += card;
	if (start < 0)
		start = 0;
	if (end >= card)
		end = card - 1;
	*begin = start;
	*last = end;
	return start <= end && start < card;
}

bool
ParseZAdd(CommandContext &ctx, ZAddArgs *args)
{
	size_t i = 2;
	for (; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		if (EqualsIgnoreCase(opt, "nx"))
			args->nx = true;
		else if (EqualsIgnoreCase(opt, "xx"))
			args->xx = true;
		else if (EqualsIgnoreCase(opt, "gt"))
			args->gt = true;
		else if (EqualsIgnoreCase(opt, "lt"))
			args->lt = true;
		else if (EqualsIgnoreCase(opt, "ch"))
			args->ch = true;
		else if (EqualsIgnoreCase(opt, "incr"))
			args->incr = true;
		else
			break;
	}
	size_t elements = ctx.argv.size() - i;
	if (elements % 2 != 0 || elements == 0) {
		ReplySyntaxError(ctx);
		return false;
	}
	elements /= 2;
	const char *error = nullptr;
	if (args->nx && args->xx)
		error = "ERR XX and NX options at the same time are not compatible";
	else if ((args->gt && args->nx) || (args->lt && args->nx) || (args->gt && args->lt))
		error = "ERR GT, LT, and/or NX options at the same time are not compatible";
	else if (args->incr && elements > 1)
		error = "ERR INCR option supports a single increment-element pair";
	if (error != nullptr) {
		ctx.out.Error(error);
		return false;
	}
	args->first = i;
	args->scores.resize(elements);
	for (size_t j = 0; j < elements; j++) {
		if (!ParseScore(ctx.argv[i + 2 * j], &args->scores[j])) {
			ctx.out.Error("ERR value is not a valid float");
			return false;
		}
	}
	return true;
}

bool
ParseZIncrBy(CommandContext &ctx, ZAddArgs *args)
{
	args->incr = true;
	args->first = 2;
	args->scores.assign(1, 0.0);
	if (ParseScore(ctx.argv[2], &args->scores[0]))
		return true;
	ctx.out.Error("ERR value is not a valid float");
	return false;
}

ZAddStep
ZAddDecide(const ZAddArgs &args, double given, bool found, double current, double *score)
{
	if ((args.nx && found) || (args.xx && !found))
		return ZAddStep::Skip;
	*score = given;
	if (args.incr && found) {
		*score = current + given;
		if (std::isnan(*score))
			return ZAddStep::NaN;
	}
	if (found && ((args.gt && !(*score > current)) || (args.lt && !(*score < current))))
		return ZAddStep::Skip;
	if (found && *score == current)
		return ZAddStep::Same;
	return ZAddStep::Write;
}

bool
ParseZRange(CommandContext &ctx, ZRangeArgs *args)
{
	std::string_view name(ctx.spec.name);
	bool lex = name.size() > 3 && name.compare(name.size() - 3, 3, "lex") == 0;
	bool rev_fixed = name != "zrange" && name != "zrangestore";
	args->store = name == "zrangestore";
	args->src = args->store ? 2 : 1;
	args->rev = name.compare(0, 4, "zrev") == 0;
	args->by = !rev_fixed                                  ? RangeBy::Auto
	           : name.find("by") == std::string_view::npos ? RangeBy::Rank
	           : lex                                       ? RangeBy::Lex
	                                                       : RangeBy::Score;
	size_t src = args->src;
	bool store = args->store;
	for (size_t i = src + 3; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		size_t left = ctx.argv.size() - i - 1;
		if (!store && EqualsIgnoreCase(opt, "withscores"))
			args->withscores = true;
		else if (EqualsIgnoreCase(opt, "limit") && left >= 2) {
			if (!ParseInt64(ctx.argv[i + 1], &args->offset) || !ParseInt64(ctx.argv[i + 2], &args->count)) {
				ReplyNotInteger(ctx);
				return false;
			}
			i += 2;
		} else if (!rev_fixed && !args->rev && EqualsIgnoreCase(opt, "rev"))
			args->rev = true;
		else if (args->by == RangeBy::Auto && EqualsIgnoreCase(opt, "bylex"))
			args->by = RangeBy::Lex;
		else if (args->by == RangeBy::Auto && EqualsIgnoreCase(opt, "byscore"))
			args->by = RangeBy::Score;
		else {
			ReplySyntaxError(ctx);
			return false;
		}
	}
	if (args->by == RangeBy::Auto)
		args->by = RangeBy::Rank;
	if (args->count != -1 && args->by == RangeBy::Rank) {
		ctx.out.Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
		return false;
	}
	if (args->withscores && args->by == RangeBy::Lex) {
		ctx.out.Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
		return false;
	}
	// BYSCORE / BYLEX with REV take max then min.
	bool swap = args->rev && args->by != RangeBy::Rank;
	const std::string &min = swap ? ctx.argv[src + 2] : ctx.argv[src + 1];
	const std::string &max = swap ? ctx.argv[src + 1] : ctx.argv[src + 2];
	switch (args->by) {
	case RangeBy::Score:
		return ParseScoreRange(ctx, min, max, &args->score);
	case RangeBy::Lex:
		return ParseLexRange(ctx, min, max, &args->lex_min, &args->lex_max);
	default:
		return ParseRankRange(ctx, min, max, &args->start, &args->end);
	}
}

void
ApplyLimit(int64_t offset, int64_t count, std::vector<ZMember> *members)
{
	std::vector<ZMember> page;
	for (int64_t i = offset;
	     offset >= 0 && i < static_cast<int64_t>(members->size()) && (count < 0 || i - offset < count); i++)
		page.push_back(std::move((*members)[i]));
	*members = std::move(page);
}

bool
ParseNumKeys(CommandContext &ctx, size_t at, std::vector<std::string> *keys, size_t *next)
{
	bool mpop = ctx.spec.name[1] == 'm';
	int64_t numkeys = 0;
	bool parsed = ParseInt64(ctx.argv[at], &numkeys);
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

SetOp
SetOpOf(const char *name, bool *store)
{
	std::string_view command(name);
	*store = command.size() > 5 && command.compare(command.size() - 5, 5, "store") == 0;
	return command[1] == 'u' ? SetOp::Union : command[1] == 'i' ? SetOp::Inter : SetOp::Diff; // z[u]nion z[i]nter
}

bool
ParseSetOpOptions(CommandContext &ctx, SetOp op, bool store, size_t at, size_t nkeys, SetOpOptions *options)
{
	options->weights.assign(nkeys, 1.0);
	for (size_t i = at; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		size_t left = ctx.argv.size() - i - 1;
		if (op != SetOp::Diff && left >= nkeys && EqualsIgnoreCase(opt, "weights")) {
			for (size_t j = 0; j < nkeys; j++) {
				if (!ParseScore(ctx.argv[i + 1 + j], &options->weights[j])) {
					ctx.out.Error("ERR weight value is not a float");
					return false;
				}
			}
			i += nkeys;
		} else if (op != SetOp::Diff && left >= 1 && EqualsIgnoreCase(opt, "aggregate")) {
			const std::string &how = ctx.argv[i + 1];
			if (EqualsIgnoreCase(how, "sum"))
				options->aggregate = 's';
			else if (EqualsIgnoreCase(how, "min"))
				options->aggregate = 'm';
			else if (EqualsIgnoreCase(how, "max"))
				options->aggregate = 'M';
			else {
				ReplySyntaxError(ctx);
				return false;
			}
			i++;
		} else if (!store && EqualsIgnoreCase(opt, "withscores"))
			options->withscores = true;
		else {
			ReplySyntaxError(ctx);
			return false;
		}
	}
	return true;
}

std::vector<ZMember>
ComputeSetOp(SetOp op, std::vector<std::vector<ZMember>> &sets, const SetOpOptions &options)
{
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
		// As Redis 7.0's zunionInterDiffGenericCommand: the inputs sorted by size, smallest first (a
		// stable sort, as glibc's qsort), and scores aggregated in that order, which decides how a SUM
		// rounds.  A weighted score that is NaN (0 * inf) counts 0, except for an input after the first
		// of an intersection, whose NaN goes to the aggregate as is (SUM makes it 0, MIN / MAX ignore it).
		std::vector<size_t> inputs(sets.size());
		for (size_t k = 0; k < inputs.size(); k++)
			inputs[k] = k;
		std::stable_sort(inputs.begin(), inputs.end(),
		                 [&](size_t a, size_t b) { return sets[a].size() < sets[b].size(); });
		std::unordered_map<std::string, std::pair<double, size_t>> acc; // member -> (score, inputs seen)
		std::vector<std::string> order;
		for (size_t k = 0; k < inputs.size(); k++) {
			size_t j = inputs[k];
			for (const ZMember &m : sets[j]) {
				double value = options.weights[j] * m.score;
				if (std::isnan(value) && (op == SetOp::Union || k == 0))
					value = 0;
				auto it = acc.find(m.member);
				if (it == acc.end()) {
					if (op == SetOp::Inter && k > 0)
						continue;
					acc.emplace(m.member, std::make_pair(value, size_t{1}));
					order.push_back(m.member);
				} else if (it->second.second == k || op == SetOp::Union) {
					it->second.first = Aggregate(it->second.first, value, options.aggregate);
					it->second.second = k + 1;
				}
			}
		}
		for (const std::string &m : order) {
			const auto &[score, seen] = acc[m];
			if (op == SetOp::Union || seen == sets.size())
				result.push_back({m, score});
		}
	}
	std::sort(result.begin(), result.end(), [](const ZMember &a, const ZMember &b) {
		return rtypes::ZsetLess(a.score, a.member, b.score, b.member);
	});
	return result;
}

bool
ParseInterCardLimit(CommandContext &ctx, size_t at, int64_t *limit)
{
	*limit = 0;
	for (size_t i = at; i < ctx.argv.size(); i++) {
		if (EqualsIgnoreCase(ctx.argv[i], "limit") && i + 1 < ctx.argv.size()) {
			if (!ParseInt64(ctx.argv[i + 1], limit) || *limit < 0) {
				ctx.out.Error("ERR LIMIT can't be negative");
				return false;
			}
			i++;
		} else {
			ReplySyntaxError(ctx);
			return false;
		}
	}
	return true;
}

int64_t
InterCard(const std::vector<std::vector<ZMember>> &sets, int64_t limit)
{
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
	return limit > 0 && card > limit ? limit : card;
}

void
RunSetOp(CommandContext &ctx, ReadInputsFn read, StoreResultFn store)
{
	bool to_store = false;
	SetOp op = SetOpOf(ctx.spec.name, &to_store);
	std::vector<std::string> keys;
	size_t i = 0;
	SetOpOptions options;
	std::vector<std::vector<ZMember>> sets;
	if (!ParseNumKeys(ctx, to_store ? 2 : 1, &keys, &i) || !read(ctx, keys, &sets) ||
	    !ParseSetOpOptions(ctx, op, to_store, i, keys.size(), &options))
		return;
	std::vector<ZMember> result = ComputeSetOp(op, sets, options);
	if (to_store)
		return store(ctx, std::move(result));
	ReplyMembers(ctx, result, options.withscores);
}

void
RunInterCard(CommandContext &ctx, ReadInputsFn read)
{
	std::vector<std::string> keys;
	size_t i = 0;
	int64_t limit = 0;
	std::vector<std::vector<ZMember>> sets;
	if (ParseNumKeys(ctx, 1, &keys, &i) && read(ctx, keys, &sets) && ParseInterCardLimit(ctx, i, &limit))
		ctx.out.Integer(InterCard(sets, limit));
}

namespace {

bool
ParseZMPop(CommandContext &ctx, std::vector<std::string> *keys, bool *max, int64_t *count)
{
	size_t at = 0;
	if (!ParseNumKeys(ctx, 1, keys, &at))
		return false;
	if (at >= ctx.argv.size()) {
		ReplySyntaxError(ctx);
		return false;
	}
	*max = EqualsIgnoreCase(ctx.argv[at], "max");
	if (!*max && !EqualsIgnoreCase(ctx.argv[at], "min")) {
		ReplySyntaxError(ctx);
		return false;
	}
	*count = 1;
	bool has_count = false;
	for (size_t i = at + 1; i < ctx.argv.size(); i++) {
		if (!has_count && EqualsIgnoreCase(ctx.argv[i], "count") && i + 1 < ctx.argv.size()) {
			if (!ParseInt64(ctx.argv[i + 1], count) || *count <= 0) {
				ctx.out.Error("ERR count should be greater than 0");
				return false;
			}
			has_count = true;
			i++;
		} else {
			ReplySyntaxError(ctx);
			return false;
		}
	}
	return true;
}

} // namespace

void
RunZMPop(CommandContext &ctx, PopFn pop)
{
	std::vector<std::string> keys;
	bool max = false, found = false;
	int64_t count = 1;
	if (!ParseZMPop(ctx, &keys, &max, &count))
		return;
	for (const std::string &key : keys) {
		std::vector<ZMember> popped;
		if (!pop(ctx, key, max, count, &popped, &found))
			return;
		if (found)
			return ReplyMPopped(ctx, key, popped);
	}
	ctx.out.NullArray();
}

bool
ParseZPopCount(CommandContext &ctx, bool *has_count, int64_t *count)
{
	*has_count = ctx.argv.size() == 3;
	*count = 1;
	if (ctx.argv.size() > 3) {
		ReplySyntaxError(ctx);
		return false;
	}
	if (!*has_count)
		return true;
	// Redis's getPositiveLongFromObjectOrReply: one error for a non-integer and a negative count.
	if (ParseInt64(ctx.argv[2], count) && *count >= 0)
		return true;
	ctx.out.Error("ERR value is out of range, must be positive");
	return false;
}

bool
ParseZRandMember(CommandContext &ctx, bool *has_count, int64_t *count, bool *withscores)
{
	*has_count = ctx.argv.size() >= 3;
	*withscores = false;
	*count = 1;
	if (*has_count && !ParseInt64(ctx.argv[2], count)) {
		ReplyNotInteger(ctx);
		return false;
	}
	if (ctx.argv.size() > 4 || (ctx.argv.size() == 4 && !EqualsIgnoreCase(ctx.argv[3], "withscores"))) {
		ReplySyntaxError(ctx);
		return false;
	}
	*withscores = ctx.argv.size() == 4;
	// Redis's bound with WITHSCORES (LONG_MAX / 2), and ours on the size of a reply with repeats.
	if ((*withscores && (*count < -(INT64_MAX / 2) || *count > INT64_MAX / 2)) || *count < -(INT64_C(1) << 40) ||
	    *count > (INT64_C(1) << 40)) {
		ctx.out.Error("ERR value is out of range");
		return false;
	}
	return true;
}

size_t
RandomIndex(size_t n)
{
	return std::uniform_int_distribution<size_t>(0, n - 1)(Random());
}

std::vector<ZMember>
RandomPicks(std::vector<ZMember> all, int64_t count)
{
	std::vector<ZMember> picks;
	if (all.empty() || count == 0)
		return picks;
	if (count < 0) {
		for (int64_t i = 0; i < -count; i++)
			picks.push_back(all[RandomIndex(all.size())]);
		return picks;
	}
	if (static_cast<uint64_t>(count) >= all.size()) {
		// The whole set, highest first: Redis walks it with its set-operation iterator, from the tail.
		std::reverse(all.begin(), all.end());
		return all;
	}
	std::shuffle(all.begin(), all.end(), Random());
	all.resize(static_cast<size_t>(count));
	return all;
}

bool
ParseZScanCursor(CommandContext &ctx, int64_t *cursor)
{
	const std::string &text = ctx.argv[2];
	if (ParseInt64(text, cursor) && *cursor >= 0)
		return true;
	ctx.out.Error("ERR invalid cursor");
	return false;
}

bool
ParseZScanOptions(CommandContext &ctx, std::string *pattern, bool *has_pattern, int64_t *count)
{
	*count = 10;
	return ParseScanOptions(ctx, 3, pattern, has_pattern, nullptr, count);
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

void
ReplyPopped(CommandContext &ctx, const std::vector<ZMember> &popped, bool has_count)
{
	if (has_count)
		return ReplyMembers(ctx, popped, true);
	// Without a count: a flat [member, score] (or an empty array), in both protocols.
	ctx.out.Array(popped.size() * 2);
	for (const ZMember &m : popped) {
		ctx.out.Bulk(m.member);
		ctx.out.Double(m.score);
	}
}

void
ReplyMPopped(CommandContext &ctx, const std::string &key, const std::vector<ZMember> &popped)
{
	ctx.out.Array(2);
	ctx.out.Bulk(key);
	ctx.out.Array(popped.size());
	for (const ZMember &m : popped) {
		ctx.out.Array(2);
		ctx.out.Bulk(m.member);
		ctx.out.Double(m.score);
	}
}

void
ReplyZScan(CommandContext &ctx, int64_t next, const std::vector<ZMember> &members, const std::string &pattern,
           bool has_pattern)
{
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

void
ReplyScores(CommandContext &ctx, const std::vector<std::pair<bool, double>> &scores, bool multi)
{
	if (multi)
		ctx.out.Array(scores.size());
	for (const auto &[found, score] : scores) {
		if (found)
			ctx.out.Double(score);
		else
			ctx.out.Null();
	}
}

} // namespace nodedb_kv::resp
