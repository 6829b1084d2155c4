// The blocking pops of kv_db<n> keyspaces: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP (and LMPOP) BZPOPMIN
// BZPOPMAX BZMPOP, with Redis 7.0's arguments, errors and replies.  A command runs as its non-blocking
// form (LPOP, LMOVE, ZPOPMIN ... with their keyspace events) over its keys in order; when every key is
// empty it asks the engine to block (Engine::Block) and writes no reply: the worker keeps the command
// and runs it again when a push to one of its keys commits, or answers the timeout / CLIENT UNBLOCK
// itself (src/blocking/README.md).  Before reading its keys a command that may block registers as
// their waiter (Engine::BlockOn, a fresh snapshot after it: no lost wake-up).  Inside MULTI they never
// block: an empty result is the nil of the non-blocking form, as Redis.
#include <cerrno>
#include <cmath>
#include <cstring>

#include "nodedb_kv/resp/resp_rtypes.hpp"
#include "nodedb_kv/resp/resp_zargs.hpp"
#include "nodedb_kv/rtypes/rtypes_number.hpp"

namespace nodedb_kv::resp {
namespace {

using rtypes::Type;

// Redis 7.0's getTimeoutFromObjectOrReply in seconds: a long double as string2ld reads it (strtold: no
// leading space, nothing after the number, no nan; hex and exponents allowed), times 1000 rounded up to
// whole milliseconds.  A value a long long cannot hold converts the way Redis's (long long) cast does on
// x86, to LLONG_MIN, hence "timeout is negative" for inf and huge values.  *timeout_ms: 0 = forever.
bool
ParseTimeout(CommandContext &ctx, const std::string &text, int64_t *timeout_ms)
{
	bool ok = !text.empty() && text.size() <= rtypes::kMaxDoubleChars &&
	          !isspace(static_cast<unsigned char>(text[0])) && strlen(text.c_str()) == text.size();
	long double value = 0;
	if (ok) {
		errno = 0;
		char *end = nullptr;
		value = strtold(text.c_str(), &end);
		ok = end == text.c_str() + text.size() && !std::isnan(value) &&
		     !(errno == ERANGE && (value == HUGE_VALL || value == -HUGE_VALL || value == 0));
	}
	if (!ok) {
		ctx.out.Error("ERR timeout is not a float or out of range");
		return false;
	}
	long double ms = ceill(value * 1000.0L);
	int64_t tval = ms >= -9223372036854775808.0L && ms < 9223372036854775808.0L ? static_cast<int64_t>(ms) : INT64_MIN;
	if (tval < 0) {
		ctx.out.Error("ERR timeout is negative");
		return false;
	}
	if (tval > 0 && tval > INT64_MAX - ctx.engine.WallMicros() / 1000) {
		ctx.out.Error("ERR timeout is out of range");
		return false;
	}
	*timeout_ms = tval;
	return true;
}

// Registers the client as the waiter of keys unless it cannot block (inside MULTI, or an engine
// without blocking): *may_block.  Replies and returns false on failure.
bool
Prepare(CommandContext &ctx, const std::vector<std::string> &keys, bool *may_block)
{
	*may_block = false;
	if (ctx.session.in_exec)
		return true;
	kv::Status status = ctx.engine.BlockOn(ctx.session, keys);
	if (status.code == kv::Code::Unsupported)
		return true;
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	*may_block = true;
	return true;
}

// Whether key holds a container of type (1), nothing to pop (0: missing, or on a re-run of a woken
// command another type, which Redis 7.0 passes over), or the command replied an error (-1: WRONGTYPE).
int
Probe(CommandContext &ctx, const std::string &key, Type type)
{
	TypedValue value;
	kv::Status status = ctx.engine.GetTyped(ctx.session, key, &value);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return -1;
	}
	if (!value.found)
		return 0;
	if (value.type != type) {
		if (ctx.engine.BlockRerun())
			return 0;
		ReplyWrongTypeError(ctx);
		return -1;
	}
	return 1;
}

// What the first key of a pop's keys that held something gave: the key, and the list elements or the
// zset members popped from it.
struct Popped {
	const std::string *key = nullptr;
	std::vector<std::string> items;
	std::vector<rtypes::ZsetEntry> members;
};

// Pops up to count from the first of keys that holds something of the command's type: the list's left
// end or the zset's lowest scores when first_end.  False when it replied an error; popped->key stays
// null when every key was empty.
bool
PopFirst(CommandContext &ctx, const std::vector<std::string> &keys, bool zset, bool first_end, int64_t count,
         Popped *popped)
{
	for (const std::string &key : keys) {
		int present = Probe(ctx, key, zset ? Type::Zset : Type::List);
		if (present < 0)
			return false;
		if (present == 0)
			continue;
		bool found = false;
		if (zset ? !PopZsetMembers(ctx, key, !first_end, count, &popped->members, &found)
		         : !PopList(ctx, key, first_end, count, &popped->items, &found))
			return false;
		if (!popped->items.empty() || !popped->members.empty()) {
			popped->key = &key;
			return true;
		}
	}
	return true;
}

// Every key was empty: block, or (cannot block) the non-blocking form's nil.
void
Empty(CommandContext &ctx, bool may_block, int64_t timeout_ms, bool null_bulk)
{
	if (may_block)
		return ctx.engine.Block(ctx.session, timeout_ms);
	if (null_bulk)
		return ctx.out.Null();
	ctx.out.NullArray();
}

// BLPOP / BRPOP / BZPOPMIN / BZPOPMAX key [key ...] timeout.
void
BPopCommand(CommandContext &ctx)
{
	std::string_view name = ctx.spec.name;
	bool zset = name[1] == 'z';
	bool left_or_min = zset ? name == "bzpopmin" : name == "blpop";
	int64_t timeout = 0;
	if (!ParseTimeout(ctx, ctx.argv.back(), &timeout))
		return;
	std::vector<std::string> keys(ctx.argv.begin() + 1, ctx.argv.end() - 1);
	bool may_block = false;
	if (!Prepare(ctx, keys, &may_block))
		return;
	Popped popped;
	if (!PopFirst(ctx, keys, zset, left_or_min, 1, &popped))
		return;
	if (!popped.key)
		return Empty(ctx, may_block, timeout, false);
	ctx.out.Array(zset ? 3 : 2);
	ctx.out.Bulk(*popped.key);
	if (!zset)
		return ctx.out.Bulk(popped.items[0]);
	ctx.out.Bulk(popped.members[0].member);
	ctx.out.Double(popped.members[0].score);
}

// LEFT / RIGHT of LMOVE; replies a syntax error otherwise.
bool
ParseEnd(CommandContext &ctx, const std::string &word, bool *left)
{
	*left = EqualsIgnoreCase(word, "left");
	if (*left || EqualsIgnoreCase(word, "right"))
		return true;
	ReplySyntaxError(ctx);
	return false;
}

// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout / BRPOPLPUSH source destination timeout.
void
BMoveCommand(CommandContext &ctx)
{
	bool from_left = false, to_left = true;
	if (ctx.argv.size() == 6 && (!ParseEnd(ctx, ctx.argv[3], &from_left) || !ParseEnd(ctx, ctx.argv[4], &to_left)))
		return;
	int64_t timeout = 0;
	if (!ParseTimeout(ctx, ctx.argv.back(), &timeout))
		return;
	const std::string &src = ctx.argv[1], &dst = ctx.argv[2];
	bool may_block = false;
	if (!Prepare(ctx, {src}, &may_block))
		return;
	int present = Probe(ctx, src, Type::List);
	if (present < 0)
		return;
	if (present > 0) {
		bool moved = false;
		std::string element;
		if (!MoveElement(ctx, src, dst, from_left, to_left, &moved, &element))
			return;
		if (moved)
			return ctx.out.Bulk(element);
	}
	Empty(ctx, may_block, timeout, true);
}

// [B]LMPOP / BZMPOP: numkeys key [key ...] LEFT|RIGHT (MIN|MAX) [COUNT count] from argv[at] on.
bool
ParseMPop(CommandContext &ctx, size_t at, bool zset, std::vector<std::string> *keys, bool *first_end, int64_t *count)
{
	int64_t numkeys = 0;
	if (!ParseInt64(ctx.argv[at], &numkeys) || numkeys < 1) {
		ctx.out.Error("ERR numkeys should be greater than 0");
		return false;
	}
	if (numkeys > static_cast<int64_t>(ctx.argv.size() - at - 1)) {
		ReplySyntaxError(ctx);
		return false;
	}
	keys->assign(ctx.argv.begin() + at + 1, ctx.argv.begin() + at + 1 + numkeys);
	size_t i = at + 1 + numkeys;
	if (i >= ctx.argv.size()) {
		ReplySyntaxError(ctx);
		return false;
	}
	*first_end = EqualsIgnoreCase(ctx.argv[i], zset ? "min" : "left");
	if (!*first_end && !EqualsIgnoreCase(ctx.argv[i], zset ? "max" : "right")) {
		ReplySyntaxError(ctx);
		return false;
	}
	*count = 1;
	bool has_count = false;
	for (i++; i < ctx.argv.size(); i++) {
		if (has_count || !EqualsIgnoreCase(ctx.argv[i], "count") || i + 1 >= ctx.argv.size()) {
			ReplySyntaxError(ctx);
			return false;
		}
		if (!ParseInt64(ctx.argv[i + 1], count) || *count <= 0) {
			ctx.out.Error("ERR count should be greater than 0");
			return false;
		}
		has_count = true;
		i++;
	}
	return true;
}

// LMPOP numkeys ...; BLMPOP timeout numkeys ...; BZMPOP timeout numkeys ...: pops from the first key
// that holds something; replies [key, [elements]] ([member, score] pairs for zsets).
void
MPopCommand(CommandContext &ctx)
{
	std::string_view name = ctx.spec.name;
	bool blocking = name[0] == 'b';
	bool zset = name == "bzmpop";
	int64_t timeout = 0;
	if (blocking && !ParseTimeout(ctx, ctx.argv[1], &timeout))
		return;
	std::vector<std::string> keys;
	bool first_end = false;
	int64_t count = 1;
	if (!ParseMPop(ctx, blocking ? 2 : 1, zset, &keys, &first_end, &count))
		return;
	bool may_block = false;
	if (blocking && !Prepare(ctx, keys, &may_block))
		return;
	Popped popped;
	if (!PopFirst(ctx, keys, zset, first_end, count, &popped))
		return;
	if (!popped.key)
		return Empty(ctx, may_block, timeout, false);
	if (zset)
		return ReplyMPopped(ctx, *popped.key, popped.members);
	ctx.out.Array(2);
	ctx.out.Bulk(*popped.key);
	ctx.out.Array(popped.items.size());
	for (const std::string &item : popped.items)
		ctx.out.Bulk(item);
}

} // namespace

void
RegisterTypedBlockingCommands(CommandTable *table)
{
	AddKeyspaceCommand(table, {"blpop", -3, kWrite, BPopCommand, 1, -2, 1});
	AddKeyspaceCommand(table, {"brpop", -3, kWrite, BPopCommand, 1, -2, 1});
	AddKeyspaceCommand(table, {"blmove", 6, kWrite, BMoveCommand, 1, 2, 1});
	AddKeyspaceCommand(table, {"brpoplpush", 4, kWrite, BMoveCommand, 1, 2, 1});
	AddKeyspaceCommand(table, {"lmpop", -4, kWrite, MPopCommand, 0, 0, 0});
	AddKeyspaceCommand(table, {"blmpop", -5, kWrite, MPopCommand, 0, 0, 0});
	AddKeyspaceCommand(table, {"bzpopmin", -3, kWrite | kFast, BPopCommand, 1, -2, 1});
	AddKeyspaceCommand(table, {"bzpopmax", -3, kWrite | kFast, BPopCommand, 1, -2, 1});
	AddKeyspaceCommand(table, {"bzmpop", -5, kWrite, MPopCommand, 0, 0, 0});
}

} // namespace nodedb_kv::resp
