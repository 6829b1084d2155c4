#pragma once
// The arguments, options and reply shapes of the sorted-set commands (Redis 7.0's texts and order of
// checks), shared by both homes of a sorted set: a kv_sorted index of a named collection
// (resp_cmd_zset.cpp) and a zset key of a kv_db<n> keyspace (resp_cmd_rzset.cpp).  Also the pure
// parts of the computations both run the same way (ZADD's per-member decision, the set operations,
// LIMIT, rank clamping, random picks).  Every Parse* replies the error itself and returns false.
// Pure C++.
#ifdef POSTGRES_H
static_assert(false, "resp_zargs.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/rtypes/rtypes_zset.hpp"

namespace nodedb_kv::resp {

// Redis 7.0's addReplyDouble text: "%.17g", infinities as "inf" / "-inf" (ZSCAN's scores).
std::string FormatScore(double score);
// Redis's string2d for scores: the whole text, no NaN.  "inf", "+inf", "-inf" accepted.
bool ParseScore(const std::string &text, double *score);

// ZCOUNT / ZRANGEBYSCORE bounds: "-ERR min or max is not a float".
bool ParseScoreRange(CommandContext &ctx, const std::string &min, const std::string &max, rtypes::ScoreRange *range);
// ZLEXCOUNT / ZRANGEBYLEX bounds: "-ERR min or max not valid string range item".
bool ParseLexRange(CommandContext &ctx, const std::string &min, const std::string &max, rtypes::LexBound *lo,
                   rtypes::LexBound *hi);
// Two rank arguments (ZRANGE, ZREMRANGEBYRANK): "-ERR value is not an integer or out of range".
bool ParseRankRange(CommandContext &ctx, const std::string &start, const std::string &end, int64_t *first,
                    int64_t *last);
// Redis's rank clamping against card: negative ranks count from the end; false if the range is empty,
// else [*begin, *last] is within [0, card).
bool ClampRanks(int64_t start, int64_t end, int64_t card, int64_t *begin, int64_t *last);

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]; ZINCRBY key increment member.
struct ZAddArgs {
	bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
	size_t first = 0;           // argv index of the first score
	std::vector<double> scores; // member j is argv[first + 2j + 1]
	const std::string &
	Member(const CommandContext &ctx, size_t j) const
	{
		return ctx.argv[first + 2 * j + 1];
	}
};
bool ParseZAdd(CommandContext &ctx, ZAddArgs *args);
bool ParseZIncrBy(CommandContext &ctx, ZAddArgs *args);

// What ZADD does with member j given its current state (Redis's zsetAdd).  *score: the score to write
// (Write) or the unchanged one (Same).
enum class ZAddStep { Skip, Same, Write, NaN };
ZAddStep ZAddDecide(const ZAddArgs &args, double given, bool found, double current, double *score);

// ZRANGE and its family (Redis's zrangeGenericCommand): options after argv[src + 2], then the range.
enum class RangeBy { Auto, Rank, Score, Lex };
struct ZRangeArgs {
	size_t src = 1;     // argv index of the source key
	bool store = false; // ZRANGESTORE (destination argv[1])
	RangeBy by = RangeBy::Auto;
	bool rev = false, withscores = false;
	int64_t offset = 0, count = -1; // LIMIT (count < 0: to the end)
	int64_t start = 0, end = 0;     // RangeBy::Rank
	rtypes::ScoreRange score;       // RangeBy::Score
	rtypes::LexBound lex_min, lex_max;
};
// The command's form comes from its name: ZRANGE and ZRANGESTORE take BYSCORE / BYLEX / REV options,
// the others fix the kind and direction (REV is then a syntax error); ZRANGESTORE has no WITHSCORES.
bool ParseZRange(CommandContext &ctx, ZRangeArgs *args);
// members[offset, offset + count) (count < 0: to the end; offset < 0: nothing), as Redis's LIMIT.
void ApplyLimit(int64_t offset, int64_t count, std::vector<ZMember> *members);

// "numkeys key [key ...]" at argv[at] (ZUNION ZINTER ZDIFF ZINTERCARD ZMPOP and the *STOREs); *next:
// the argument after the keys.  ZMPOP has its own numkeys error (Redis 7.0's texts).
bool ParseNumKeys(CommandContext &ctx, size_t at, std::vector<std::string> *keys, size_t *next);

enum class SetOp { Union, Inter, Diff };
// The operation of zunion / zinter / zdiff (+store) by command name; *store: a *STORE form.
SetOp SetOpOf(const char *name, bool *store);
struct SetOpOptions {
	std::vector<double> weights;
	char aggregate = 's'; // 's' SUM, 'm' MIN, 'M' MAX
	bool withscores = false;
};
// [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES] from argv[at] (store: no WITHSCORES; Diff:
// no WEIGHTS / AGGREGATE).
bool ParseSetOpOptions(CommandContext &ctx, SetOp op, bool store, size_t at, size_t nkeys, SetOpOptions *options);
// The result of a set operation over the input sets (each ascending), sorted by (score, member):
// Redis's zunionInterDiffGenericCommand (weighted scores, a NaN product or sum is 0).
std::vector<ZMember> ComputeSetOp(SetOp op, std::vector<std::vector<ZMember>> &sets, const SetOpOptions &options);
// ZINTERCARD's [LIMIT limit] from argv[at]: "-ERR LIMIT can't be negative".
bool ParseInterCardLimit(CommandContext &ctx, size_t at, int64_t *limit);
// The size of the intersection of sets, at most limit when limit > 0.
int64_t InterCard(const std::vector<std::vector<ZMember>> &sets, int64_t limit);

// The inputs of a set operation by key, each ascending (missing keys: empty); replies and returns false
// on failure (WRONGTYPE ...).
using ReadInputsFn = bool (*)(CommandContext &ctx, const std::vector<std::string> &keys,
                              std::vector<std::vector<ZMember>> *sets);
// Writes the result of a *STORE to argv[1] and replies.
using StoreResultFn = void (*)(CommandContext &ctx, std::vector<ZMember> result);
// ZUNION / ZINTER / ZDIFF numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
// and the *STORE forms (destination argv[1], no WITHSCORES): Redis's zunionInterDiffGenericCommand,
// which reads the inputs (WRONGTYPE first) before it parses the options.
void RunSetOp(CommandContext &ctx, ReadInputsFn read, StoreResultFn store);
// ZINTERCARD numkeys key [key ...] [LIMIT limit].
void RunInterCard(CommandContext &ctx, ReadInputsFn read);

// Pops up to count of the lowest (highest with max) members of key into *popped, in pop order; *found:
// whether key held members.  Replies and returns false on failure.
using PopFn = bool (*)(CommandContext &ctx, const std::string &key, bool max, int64_t count,
                       std::vector<ZMember> *popped, bool *found);
// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first key that holds members.
void RunZMPop(CommandContext &ctx, PopFn pop);
// ZPOPMIN / ZPOPMAX key [count].
bool ParseZPopCount(CommandContext &ctx, bool *has_count, int64_t *count);
// ZRANDMEMBER key [count [WITHSCORES]].
bool ParseZRandMember(CommandContext &ctx, bool *has_count, int64_t *count, bool *withscores);
// count > 0: that many distinct members of all (ascending) in random order, or all of them highest
// first if count >= their number (as Redis answers); count < 0: |count| members with repeats.
std::vector<ZMember> RandomPicks(std::vector<ZMember> all, int64_t count);
// One uniform random index in [0, n).
size_t RandomIndex(size_t n);
// ZSCAN key cursor: the cursor ("-ERR invalid cursor").
bool ParseZScanCursor(CommandContext &ctx, int64_t *cursor);
// ZSCAN's [MATCH pattern] [COUNT count] from argv[3].
bool ParseZScanOptions(CommandContext &ctx, std::string *pattern, bool *has_pattern, int64_t *count);

// Members (WITHSCORES: RESP2 flat member, score; RESP3 [member, double] pairs).
void ReplyMembers(CommandContext &ctx, const std::vector<ZMember> &members, bool withscores);
// ZPOPMIN / ZPOPMAX: with a count as ReplyMembers WITHSCORES, without a flat [member, score].
void ReplyPopped(CommandContext &ctx, const std::vector<ZMember> &popped, bool has_count);
// ZMPOP: [key, [[member, score], ...]] in both protocols.
void ReplyMPopped(CommandContext &ctx, const std::string &key, const std::vector<ZMember> &popped);
// ZSCAN: [next cursor, [member, score text, ...]] of the members that match.
void ReplyZScan(CommandContext &ctx, int64_t next, const std::vector<ZMember> &members, const std::string &pattern,
                bool has_pattern);
// ZSCORE (one, a double or null) / ZMSCORE (an array of them).
void ReplyScores(CommandContext &ctx, const std::vector<std::pair<bool, double>> &scores, bool multi);

} // namespace nodedb_kv::resp
