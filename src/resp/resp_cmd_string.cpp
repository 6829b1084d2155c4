// String commands: GET SET (EX PX EXAT PXAT NX XX KEEPTTL GET) SETNX SETEX PSETEX GETDEL GETEX GETSET
// APPEND STRLEN GETRANGE SETRANGE MGET MSET MSETNX INCR DECR INCRBY DECRBY INCRBYFLOAT, with Redis 7's
// replies and error texts.  Pure C++ over the Engine interface.
#include <climits>
#include <cmath>

#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"

namespace nodedb_kv::resp {
namespace {

using pubsub::kNotifyGeneric;
using pubsub::kNotifyString;

constexpr int64_t kMaxStringLen = 512LL * 1024 * 1024; // Redis's proto-max-bulk-len for SETRANGE/APPEND

std::string_view
View(const kv::Value &value)
{
	return value.isnull || value.bytes.len == 0 ? std::string_view()
	                                            : std::string_view(value.bytes.data, value.bytes.len);
}

// Writes a string value or nil.
void
ReplyValue(CommandContext &ctx, const kv::Value &value)
{
	if (!value.found || value.isnull)
		ctx.out.Null();
	else
		ctx.out.Bulk(View(value));
}

enum SetFlag : uint32_t {
	kNx = 1 << 0,
	kXx = 1 << 1,
	kGet = 1 << 2,
	kKeepTtl = 1 << 3,
	kPersist = 1 << 4,
	kEx = 1 << 5,
	kPx = 1 << 6,
	kExAt = 1 << 7,
	kPxAt = 1 << 8,
};
constexpr uint32_t kAnyExpire = kEx | kPx | kExAt | kPxAt;

enum class Parsed { Ok, Replied };

// Redis's parseExtendedStringArgumentsOrReply for SET (set = true) and GETEX (set = false): options
// from argv[first].  *ttl receives the resulting expiry rule.
Parsed
ParseExpireOptions(CommandContext &ctx, size_t first, bool set, uint32_t *flags, kv::Ttl *ttl)
{
	const Argv &argv = ctx.argv;
	std::string_view expire;
	*flags = 0;
	for (size_t j = first; j < argv.size(); j++) {
		const std::string &opt = argv[j];
		bool has_next = j + 1 < argv.size();
		if (set && EqualsIgnoreCase(opt, "nx") && !(*flags & kXx))
			*flags |= kNx;
		else if (set && EqualsIgnoreCase(opt, "xx") && !(*flags & kNx))
			*flags |= kXx;
		else if (set && EqualsIgnoreCase(opt, "get"))
			*flags |= kGet;
		else if (set && EqualsIgnoreCase(opt, "keepttl") && !(*flags & (kPersist | kAnyExpire)))
			*flags |= kKeepTtl;
		else if (!set && EqualsIgnoreCase(opt, "persist") && !(*flags & (kKeepTtl | kAnyExpire)))
			*flags |= kPersist;
		else if (has_next && !(*flags & (kKeepTtl | kPersist | kAnyExpire)) &&
		         (EqualsIgnoreCase(opt, "ex") || EqualsIgnoreCase(opt, "px") || EqualsIgnoreCase(opt, "exat") ||
		          EqualsIgnoreCase(opt, "pxat"))) {
			*flags |= EqualsIgnoreCase(opt, "ex")     ? kEx
			          : EqualsIgnoreCase(opt, "px")   ? kPx
			          : EqualsIgnoreCase(opt, "exat") ? kExAt
			                                          : kPxAt;
			expire = argv[++j];
		} else {
			ReplySyntaxError(ctx);
			return Parsed::Replied;
		}
	}
	*ttl = {set ? kv::TtlMode::Clear : kv::TtlMode::Keep, 0};
	if (*flags & kKeepTtl)
		ttl->mode = kv::TtlMode::Keep;
	if (*flags & kPersist)
		ttl->mode = kv::TtlMode::Clear;
	if (*flags & kAnyExpire) {
		int64_t value;
		if (!ParseInt64(expire, &value)) {
			ReplyNotInteger(ctx);
			return Parsed::Replied;
		}
		bool seconds = *flags & (kEx | kExAt);
		std::string invalid = std::string("ERR invalid expire time in '") + ctx.spec.name + "' command";
		if (value <= 0 || (seconds && value > LLONG_MAX / 1000)) {
			ctx.out.Error(invalid);
			return Parsed::Replied;
		}
		if (seconds)
			value *= 1000;
		if (*flags & (kEx | kPx)) {
			if (value > LLONG_MAX - ctx.engine.NowMillis()) {
				ctx.out.Error(invalid);
				return Parsed::Replied;
			}
			*ttl = {kv::TtlMode::Set, value};
		} else
			*ttl = {kv::TtlMode::At, value}; // an instant in the past makes the key expire at once, as in Redis
	}
	return Parsed::Ok;
}

void
GetCommand(CommandContext &ctx)
{
	kv::Value value;
	kv::Status status = ctx.engine.Get(ctx.session, ctx.argv[1], &value);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	ReplyValue(ctx, value);
}

void
SetCommand(CommandContext &ctx)
{
	uint32_t flags;
	kv::Ttl ttl;
	if (ParseExpireOptions(ctx, 3, true, &flags, &ttl) == Parsed::Replied)
		return;
	kv::SetOptions options{(flags & kNx) != 0, (flags & kXx) != 0, ttl};
	bool written = false;
	kv::Value before{};
	kv::Status status =
	    ctx.engine.Set(ctx.session, ctx.argv[1], ctx.argv[2], options, &written, (flags & kGet) ? &before : nullptr);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (written)
		Notify(ctx, kNotifyString, "set", ctx.argv[1]);
	if (written && (flags & kAnyExpire))
		Notify(ctx, kNotifyGeneric, "expire", ctx.argv[1]);
	if (flags & kGet)
		ReplyValue(ctx, before);
	else if (written)
		ctx.out.Simple("OK");
	else
		ctx.out.Null();
}

void
SetNxCommand(CommandContext &ctx)
{
	bool written = false;
	kv::Status status = ctx.engine.Set(ctx.session, ctx.argv[1], ctx.argv[2], {true, false, {kv::TtlMode::Clear, 0}},
	                                   &written, nullptr);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (written)
		Notify(ctx, kNotifyString, "set", ctx.argv[1]);
	ctx.out.Integer(written ? 1 : 0);
}

// SETEX key seconds value / PSETEX key milliseconds value.
void
SetExCommand(CommandContext &ctx)
{
	int64_t value;
	if (!ParseInt64(ctx.argv[2], &value))
		return ReplyNotInteger(ctx);
	bool seconds = ctx.spec.name[0] == 's';
	if (value <= 0 || (seconds && value > LLONG_MAX / 1000))
		return ctx.out.Error(std::string("ERR invalid expire time in '") + ctx.spec.name + "' command");
	bool written = false;
	kv::Status status =
	    ctx.engine.Set(ctx.session, ctx.argv[1], ctx.argv[3],
	                   {false, false, {kv::TtlMode::Set, seconds ? value * 1000 : value}}, &written, nullptr);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	Notify(ctx, kNotifyString, "set", ctx.argv[1]);
	Notify(ctx, kNotifyGeneric, "expire", ctx.argv[1]);
	ctx.out.Simple("OK");
}

void
GetSetCommand(CommandContext &ctx)
{
	// GETSET is SET ... GET: it drops the expiry, as in Redis.
	bool written = false;
	kv::Value before{};
	kv::Status status = ctx.engine.Set(ctx.session, ctx.argv[1], ctx.argv[2], {false, false, {kv::TtlMode::Clear, 0}},
	                                   &written, &before);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	Notify(ctx, kNotifyString, "set", ctx.argv[1]);
	ReplyValue(ctx, before);
}

void
GetDelCommand(CommandContext &ctx)
{
	kv::Value value;
	kv::Status status = ctx.engine.Get(ctx.session, ctx.argv[1], &value);
	if (status.ok() && value.found) {
		std::string copy(View(value));
		bool deleted;
		status = ctx.engine.Delete(ctx.session, ctx.argv[1], &deleted);
		if (status.ok() && deleted)
			Notify(ctx, kNotifyGeneric, "del", ctx.argv[1]);
		if (status.ok())
			return deleted ? ctx.out.Bulk(copy) : ctx.out.Null();
	}
	if (!status.ok())
		return ReplyStatus(ctx, status);
	ctx.out.Null();
}

void
GetExCommand(CommandContext &ctx)
{
	uint32_t flags;
	kv::Ttl ttl;
	if (ParseExpireOptions(ctx, 2, false, &flags, &ttl) == Parsed::Replied)
		return;
	kv::Value value;
	kv::Status status = ctx.engine.Get(ctx.session, ctx.argv[1], &value);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (value.found && (flags & (kAnyExpire | kPersist))) {
		std::string copy(View(value));
		bool applied;
		// EXAT / PXAT already past deletes the key, as Redis's getexCommand does ("del").
		bool past = ttl.mode == kv::TtlMode::At && ttl.millis <= ctx.engine.NowMillis();
		status = past ? ctx.engine.Delete(ctx.session, ctx.argv[1], &applied)
		              : ctx.engine.Expire(ctx.session, ctx.argv[1], ttl, &applied);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		if (applied)
			Notify(ctx, kNotifyGeneric, past ? "del" : (flags & kPersist) ? "persist" : "expire", ctx.argv[1]);
		return ctx.out.Bulk(copy);
	}
	ReplyValue(ctx, value);
}

// Read-modify-write of a string through compare-and-swap (APPEND, SETRANGE, INCRBYFLOAT): edit computes
// the new value from the old one (found false: no key), or replies and returns false.
template <typename Edit>
bool
SwapLoop(CommandContext &ctx, Edit edit, std::string *result)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		kv::Value value;
		kv::Status status = ctx.engine.Get(ctx.session, ctx.argv[1], &value);
		if (!status.ok()) {
			ReplyStatus(ctx, status);
			return false;
		}
		std::string old(View(value));
		if (!edit(value.found && !value.isnull, old, result))
			return false;
		bool success = false;
		kv::Value before;
		status = ctx.engine.CompareAndSwap(ctx.session, ctx.argv[1], old, *result, &success, &before);
		if (!status.ok()) {
			ReplyStatus(ctx, status);
			return false;
		}
		if (success)
			return true;
	}
	ctx.out.Error("ERR the key changed concurrently too often; try again");
	return false;
}

void
AppendCommand(CommandContext &ctx)
{
	std::string result;
	auto edit = [&](bool, const std::string &old, std::string *out) {
		if (static_cast<int64_t>(old.size() + ctx.argv[2].size()) > kMaxStringLen) {
			ctx.out.Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
			return false;
		}
		*out = old + ctx.argv[2];
		return true;
	};
	if (SwapLoop(ctx, edit, &result)) {
		Notify(ctx, kNotifyString, "append", ctx.argv[1]);
		ctx.out.Integer(static_cast<int64_t>(result.size()));
	}
}

void
StrlenCommand(CommandContext &ctx)
{
	kv::Value value;
	kv::Status status = ctx.engine.Get(ctx.session, ctx.argv[1], &value);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	ctx.out.Integer(value.found ? static_cast<int64_t>(View(value).size()) : 0);
}

void
GetRangeCommand(CommandContext &ctx)
{
	int64_t start, end;
	if (!ParseInt64(ctx.argv[2], &start) || !ParseInt64(ctx.argv[3], &end))
		return ReplyNotInteger(ctx);
	kv::Value value;
	kv::Status status = ctx.engine.Get(ctx.session, ctx.argv[1], &value);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	std::string_view text = View(value);
	int64_t len = static_cast<int64_t>(text.size());
	// Redis's getrangeCommand.
	if (start < 0 && end < 0 && start > end)
		return ctx.out.Bulk("");
	if (start < 0)
		start = len + start;
	if (end < 0)
		end = len + end;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0)
		return ctx.out.Bulk("");
	ctx.out.Bulk(text.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

void
SetRangeCommand(CommandContext &ctx)
{
	int64_t offset;
	if (!ParseInt64(ctx.argv[2], &offset))
		return ReplyNotInteger(ctx);
	if (offset < 0)
		return ctx.out.Error("ERR offset is out of range");
	const std::string &patch = ctx.argv[3];
	if (offset > kMaxStringLen - static_cast<int64_t>(patch.size())) // (offset + size could overflow)
		return ctx.out.Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
	std::string result;
	auto edit = [&](bool found, const std::string &old, std::string *out) {
		if (patch.empty()) {
			// Nothing to write: the length of what is there (0 and no key created when missing).
			*out = old;
			ctx.out.Integer(found ? static_cast<int64_t>(old.size()) : 0);
			return false;
		}
		*out = old;
		if (out->size() < static_cast<size_t>(offset) + patch.size())
			out->resize(static_cast<size_t>(offset) + patch.size(), '\0');
		out->replace(static_cast<size_t>(offset), patch.size(), patch);
		return true;
	};
	if (SwapLoop(ctx, edit, &result)) {
		Notify(ctx, kNotifyString, "setrange", ctx.argv[1]);
		ctx.out.Integer(static_cast<int64_t>(result.size()));
	}
}

void
MGetCommand(CommandContext &ctx)
{
	// Collect first: an engine failure must be the only reply.
	std::vector<kv::Value> values(ctx.argv.size() - 1);
	for (size_t i = 1; i < ctx.argv.size(); i++) {
		kv::Status status = ctx.engine.Get(ctx.session, ctx.argv[i], &values[i - 1]);
		if (status.code == kv::Code::WrongType) // MGET answers nil for a key of another type
			values[i - 1] = {false, true, {nullptr, 0}, -1};
		else if (!status.ok())
			return ReplyStatus(ctx, status);
	}
	ctx.out.Array(values.size());
	for (const kv::Value &value : values)
		ReplyValue(ctx, value);
}

void
MSetCommand(CommandContext &ctx)
{
	if (ctx.argv.size() % 2 != 1)
		return ctx.out.Error(std::string("ERR wrong number of arguments for '") + ctx.spec.name + "' command");
	bool nx = ctx.spec.name[4] == 'n';
	if (nx) {
		for (size_t i = 1; i < ctx.argv.size(); i += 2) {
			bool exists = false;
			kv::Status status = ctx.engine.Exists(ctx.session, ctx.argv[i], &exists);
			if (!status.ok())
				return ReplyStatus(ctx, status);
			if (exists)
				return ctx.out.Integer(0);
		}
	}
	for (size_t i = 1; i < ctx.argv.size(); i += 2) {
		bool written;
		kv::Status status = ctx.engine.Set(ctx.session, ctx.argv[i], ctx.argv[i + 1],
		                                   {false, false, {kv::TtlMode::Clear, 0}}, &written, nullptr);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		Notify(ctx, kNotifyString, "set", ctx.argv[i]);
	}
	if (nx)
		ctx.out.Integer(1);
	else
		ctx.out.Simple("OK");
}

void
IncrByDelta(CommandContext &ctx, int64_t delta)
{
	int64_t result = 0;
	kv::Status status = ctx.engine.Incr(ctx.session, ctx.argv[1], delta, &result);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	Notify(ctx, kNotifyString, "incrby", ctx.argv[1]);
	ctx.out.Integer(result);
}

void
IncrCommand(CommandContext &ctx)
{
	IncrByDelta(ctx, ctx.spec.name[0] == 'i' ? 1 : -1);
}

void
IncrByCommand(CommandContext &ctx)
{
	int64_t delta;
	if (!ParseInt64(ctx.argv[2], &delta))
		return ReplyNotInteger(ctx);
	if (ctx.spec.name[0] == 'd') {
		if (delta == INT64_MIN)
			return ctx.out.Error("ERR decrement would overflow");
		delta = -delta;
	}
	IncrByDelta(ctx, delta);
}

void
IncrByFloatCommand(CommandContext &ctx)
{
	long double incr;
	if (!ParseLongDouble(ctx.argv[2], &incr))
		return ctx.out.Error("ERR value is not a valid float");
	std::string result;
	auto edit = [&](bool found, const std::string &old, std::string *out) {
		long double current = 0;
		if (found && !ParseLongDouble(old, &current)) {
			ctx.out.Error("ERR value is not a valid float");
			return false;
		}
		long double sum = current + incr;
		if (std::isnan(sum) || std::isinf(sum)) {
			ctx.out.Error("ERR increment would produce NaN or Infinity");
			return false;
		}
		*out = FormatLongDouble(sum);
		return true;
	};
	if (SwapLoop(ctx, edit, &result)) {
		Notify(ctx, kNotifyString, "incrbyfloat", ctx.argv[1]);
		ctx.out.Bulk(result);
	}
}

} // namespace

void
RegisterStringCommands(CommandTable *table)
{
	table->Add({"get", 2, kReadonly | kFast, GetCommand, 1, 1, 1});
	table->Add({"set", -3, kWrite, SetCommand, 1, 1, 1});
	table->Add({"setnx", 3, kWrite | kFast, SetNxCommand, 1, 1, 1});
	table->Add({"setex", 4, kWrite, SetExCommand, 1, 1, 1});
	table->Add({"psetex", 4, kWrite, SetExCommand, 1, 1, 1});
	table->Add({"getset", 3, kWrite | kFast, GetSetCommand, 1, 1, 1});
	table->Add({"getdel", 2, kWrite | kFast, GetDelCommand, 1, 1, 1});
	table->Add({"getex", -2, kWrite | kFast, GetExCommand, 1, 1, 1});
	table->Add({"append", 3, kWrite, AppendCommand, 1, 1, 1});
	table->Add({"strlen", 2, kReadonly | kFast, StrlenCommand, 1, 1, 1});
	table->Add({"getrange", 4, kReadonly, GetRangeCommand, 1, 1, 1});
	table->Add({"substr", 4, kReadonly, GetRangeCommand, 1, 1, 1});
	table->Add({"setrange", 4, kWrite, SetRangeCommand, 1, 1, 1});
	table->Add({"mget", -2, kReadonly | kFast, MGetCommand, 1, -1, 1});
	table->Add({"mset", -3, kWrite, MSetCommand, 1, -1, 2});
	table->Add({"msetnx", -3, kWrite, MSetCommand, 1, -1, 2});
	table->Add({"incr", 2, kWrite | kFast, IncrCommand, 1, 1, 1});
	table->Add({"decr", 2, kWrite | kFast, IncrCommand, 1, 1, 1});
	table->Add({"incrby", 3, kWrite | kFast, IncrByCommand, 1, 1, 1});
	table->Add({"decrby", 3, kWrite | kFast, IncrByCommand, 1, 1, 1});
	table->Add({"incrbyfloat", 3, kWrite | kFast, IncrByFloatCommand, 1, 1, 1});
}

} // namespace nodedb_kv::resp
