// Hash commands on typed collections (a kv table with several value fields): key -> row, field ->
// column.  HSET HMSET HSETNX HGET HMGET HGETALL HKEYS HVALS HLEN HEXISTS HDEL HINCRBY HINCRBYFLOAT
// HSTRLEN HSCAN, with Redis 7's reply shapes.  A field is "present" when its column is not NULL; HDEL
// sets columns NULL and the row goes with its last field (kv_fields.cpp).  Differences from Redis,
// by design: a field that names no value column is `-ERR collection "t" has no value field "f"` (the
// columns are the schema), and values convert through the column's type (`-ERR` with PostgreSQL's
// message, nothing written).  A blob collection answers WRONGTYPE.  Pure C++ over the Engine.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_cursor.hpp"
#include "nodedb_kv/rtypes/rtypes_number.hpp"

namespace nodedb_kv::resp {
namespace {

// The shortest %.Ng (N = 15..17) that reads back as value: what Redis 7 replies for a double that
// comes from a long double sum (1.5 + 0.1 = "1.6"), and what PostgreSQL shows for a float8 column.
std::string
FormatShortest(double value)
{
	char buffer[64];
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
		if (strtod(buffer, nullptr) == value)
			break;
	}
	if (strchr(buffer, 'e') != nullptr) {
		// Redis writes fixed notation (LD_STR_HUMAN): 1e20 is "100000000000000000000".
		char fixed[rtypes::kMaxDoubleChars];
		size_t len = rtypes::FormatDouble(value, fixed, sizeof(fixed));
		if (len > 0)
			return std::string(fixed, len);
	}
	return buffer;
}

void
ReplyWrongType(CommandContext &ctx)
{
	ctx.out.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
}

// A failed engine call: an unknown field is a plain -ERR here (ReplyStatus maps it to WRONGTYPE for
// string commands).
void
ReplyFieldStatus(CommandContext &ctx, const kv::Status &status)
{
	if (status.code == kv::Code::UnknownField)
		return ctx.out.Error(std::string("ERR ") + status.message);
	ReplyStatus(ctx, status);
}

// Reads the fields named by argv[first..] (all when first is 0).  Replies and returns false on failure.
bool
Read(CommandContext &ctx, size_t first, std::vector<HashField> *fields, bool *found)
{
	std::vector<std::string> names;
	for (size_t i = first; first > 0 && i < ctx.argv.size(); i++)
		names.push_back(ctx.argv[i]);
	bool typed = true;
	kv::Status status =
	    ctx.engine.GetFields(ctx.session, ctx.argv[1], first > 0 ? &names : nullptr, fields, found, &typed);
	if (!status.ok()) {
		ReplyFieldStatus(ctx, status);
		return false;
	}
	if (!typed) {
		ReplyWrongType(ctx);
		return false;
	}
	return true;
}

// Writes; replies and returns false on failure.
bool
Write(CommandContext &ctx, const std::vector<std::pair<std::string, std::string>> &pairs, kv::FieldWrite mode,
      int64_t *changed)
{
	bool typed = true;
	kv::Status status = ctx.engine.WriteFields(ctx.session, ctx.argv[1], pairs, mode, changed, &typed);
	if (!status.ok()) {
		ReplyFieldStatus(ctx, status);
		return false;
	}
	if (!typed) {
		ReplyWrongType(ctx);
		return false;
	}
	return true;
}

// HSET key field value [field value ...] (HMSET: the same, replying OK).
void
HSetCommand(CommandContext &ctx)
{
	if (ctx.argv.size() % 2 != 0)
		return ctx.out.Error(std::string("ERR wrong number of arguments for '") + ctx.spec.name + "' command");
	std::vector<std::pair<std::string, std::string>> pairs;
	for (size_t i = 2; i + 1 < ctx.argv.size(); i += 2)
		pairs.emplace_back(ctx.argv[i], ctx.argv[i + 1]);
	int64_t changed = 0;
	if (!Write(ctx, pairs, kv::FieldWrite::Set, &changed))
		return;
	Notify(ctx, pubsub::kNotifyHash, "hset", ctx.argv[1]);
	if (ctx.spec.name[1] == 'm')
		ctx.out.Simple("OK");
	else
		ctx.out.Integer(changed);
}

// HSETNX key field value.
void
HSetNxCommand(CommandContext &ctx)
{
	int64_t changed = 0;
	if (!Write(ctx, {{ctx.argv[2], ctx.argv[3]}}, kv::FieldWrite::SetIfAbsent, &changed))
		return;
	if (changed > 0)
		Notify(ctx, pubsub::kNotifyHash, "hset", ctx.argv[1]);
	ctx.out.Integer(changed);
}

// HDEL key field [field ...].
void
HDelCommand(CommandContext &ctx)
{
	std::vector<std::pair<std::string, std::string>> pairs;
	for (size_t i = 2; i < ctx.argv.size(); i++)
		pairs.emplace_back(ctx.argv[i], std::string());
	int64_t changed = 0;
	if (!Write(ctx, pairs, kv::FieldWrite::Clear, &changed))
		return;
	if (changed > 0)
		Notify(ctx, pubsub::kNotifyHash, "hdel", ctx.argv[1]);
	ctx.out.Integer(changed);
}

// HGET key field.
void
HGetCommand(CommandContext &ctx)
{
	std::vector<HashField> fields;
	bool found = false;
	if (!Read(ctx, 2, &fields, &found))
		return;
	if (!found || fields.empty() || !fields[0].exists)
		return ctx.out.Null();
	ctx.out.Bulk(fields[0].value);
}

// HMGET key field [field ...].
void
HMGetCommand(CommandContext &ctx)
{
	std::vector<HashField> fields;
	bool found = false;
	if (!Read(ctx, 2, &fields, &found))
		return;
	ctx.out.Array(fields.size());
	for (const HashField &field : fields) {
		if (found && field.exists)
			ctx.out.Bulk(field.value);
		else
			ctx.out.Null();
	}
}

// HGETALL / HKEYS / HVALS / HLEN key: the fields that are not NULL, in column order.
void
HGetAllCommand(CommandContext &ctx)
{
	std::vector<HashField> fields;
	bool found = false;
	if (!Read(ctx, 0, &fields, &found))
		return;
	std::vector<const HashField *> present;
	for (const HashField &field : fields) {
		if (found && field.exists)
			present.push_back(&field);
	}
	std::string name = ctx.spec.name;
	if (name == "hlen")
		return ctx.out.Integer(static_cast<int64_t>(present.size()));
	if (name == "hgetall") {
		ctx.out.Map(present.size());
		for (const HashField *field : present) {
			ctx.out.Bulk(field->name);
			ctx.out.Bulk(field->value);
		}
		return;
	}
	ctx.out.Array(present.size());
	for (const HashField *field : present)
		ctx.out.Bulk(name == "hkeys" ? field->name : field->value);
}

// HEXISTS / HSTRLEN key field.
void
HExistsCommand(CommandContext &ctx)
{
	std::vector<HashField> fields;
	bool found = false;
	if (!Read(ctx, 2, &fields, &found))
		return;
	bool exists = found && !fields.empty() && fields[0].exists;
	if (ctx.spec.name[1] == 'e')
		ctx.out.Integer(exists ? 1 : 0);
	else
		ctx.out.Integer(exists ? static_cast<int64_t>(fields[0].value.size()) : 0);
}

// HINCRBY key field increment.
void
HIncrByCommand(CommandContext &ctx)
{
	int64_t delta = 0;
	if (!rtypes::ParseInt64(ctx.argv[3].data(), ctx.argv[3].size(), &delta))
		return ReplyNotInteger(ctx);
	int64_t result = 0;
	bool typed = true;
	kv::Status status = ctx.engine.IncrField(ctx.session, ctx.argv[1], ctx.argv[2], delta, &result, &typed);
	if (status.code == kv::Code::TypeMismatch)
		return ctx.out.Error("ERR hash value is not an integer");
	if (!status.ok())
		return ReplyFieldStatus(ctx, status);
	if (!typed)
		return ReplyWrongType(ctx);
	Notify(ctx, pubsub::kNotifyHash, "hincrby", ctx.argv[1]);
	ctx.out.Integer(result);
}

// HINCRBYFLOAT key field increment.
void
HIncrByFloatCommand(CommandContext &ctx)
{
	double delta = 0;
	if (!rtypes::ParseDouble(ctx.argv[3].data(), ctx.argv[3].size(), &delta))
		return ctx.out.Error("ERR value is not a valid float");
	if (std::isinf(delta))
		return ctx.out.Error("ERR value is NaN or Infinity");
	double result = 0;
	bool typed = true;
	kv::Status status = ctx.engine.IncrFloatField(ctx.session, ctx.argv[1], ctx.argv[2], delta, &result, &typed);
	if (status.code == kv::Code::TypeMismatch)
		return ctx.out.Error("ERR hash value is not a float");
	if (status.code == kv::Code::Overflow)
		return ctx.out.Error("ERR increment would produce NaN or Infinity");
	if (!status.ok())
		return ReplyFieldStatus(ctx, status);
	if (!typed)
		return ReplyWrongType(ctx);
	if (!std::isfinite(result))
		return ctx.out.Error("ERR increment would produce NaN or Infinity");
	Notify(ctx, pubsub::kNotifyHash, "hincrbyfloat", ctx.argv[1]);
	ctx.out.Bulk(FormatShortest(result));
}

// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]: a row is small, so one call returns every
// present field and cursor 0 (as Redis does for small hashes).
void
HScanCommand(CommandContext &ctx)
{
	uint64_t cursor = 0;
	if (!ParseCursor(ctx, ctx.argv[2], &cursor))
		return;
	std::string pattern;
	bool has_pattern = false, novalues = false;
	for (size_t i = 3; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		if (EqualsIgnoreCase(opt, "novalues")) {
			novalues = true;
			continue;
		}
		if (i + 1 >= ctx.argv.size())
			return ReplySyntaxError(ctx);
		if (EqualsIgnoreCase(opt, "count")) {
			int64_t count = 0;
			if (!rtypes::ParseInt64(ctx.argv[i + 1].data(), ctx.argv[i + 1].size(), &count))
				return ReplyNotInteger(ctx);
			if (count < 1)
				return ReplySyntaxError(ctx);
		} else if (EqualsIgnoreCase(opt, "match")) {
			pattern = ctx.argv[i + 1];
			has_pattern = pattern != "*";
		} else
			return ReplySyntaxError(ctx);
		i++;
	}
	std::vector<HashField> fields;
	bool found = false;
	if (!Read(ctx, 0, &fields, &found))
		return;
	std::vector<const HashField *> present;
	for (const HashField &field : fields) {
		if (found && field.exists && (!has_pattern || GlobMatch(pattern, field.name)))
			present.push_back(&field);
	}
	ctx.out.Array(2);
	ctx.out.Bulk("0");
	ctx.out.Array(present.size() * (novalues ? 1 : 2));
	for (const HashField *field : present) {
		ctx.out.Bulk(field->name);
		if (!novalues)
			ctx.out.Bulk(field->value);
	}
}

} // namespace

void
RegisterHashCommands(CommandTable *table)
{
	table->Add({"hset", -4, kWrite | kFast, HSetCommand, 1, 1, 1});
	table->Add({"hmset", -4, kWrite | kFast, HSetCommand, 1, 1, 1});
	table->Add({"hsetnx", 4, kWrite | kFast, HSetNxCommand, 1, 1, 1});
	table->Add({"hdel", -3, kWrite | kFast, HDelCommand, 1, 1, 1});
	table->Add({"hget", 3, kReadonly | kFast, HGetCommand, 1, 1, 1});
	table->Add({"hmget", -3, kReadonly | kFast, HMGetCommand, 1, 1, 1});
	table->Add({"hgetall", 2, kReadonly, HGetAllCommand, 1, 1, 1});
	table->Add({"hkeys", 2, kReadonly, HGetAllCommand, 1, 1, 1});
	table->Add({"hvals", 2, kReadonly, HGetAllCommand, 1, 1, 1});
	table->Add({"hlen", 2, kReadonly | kFast, HGetAllCommand, 1, 1, 1});
	table->Add({"hexists", 3, kReadonly | kFast, HExistsCommand, 1, 1, 1});
	table->Add({"hstrlen", 3, kReadonly | kFast, HExistsCommand, 1, 1, 1});
	table->Add({"hincrby", 4, kWrite | kFast, HIncrByCommand, 1, 1, 1});
	table->Add({"hincrbyfloat", 4, kWrite | kFast, HIncrByFloatCommand, 1, 1, 1});
	table->Add({"hscan", -3, kReadonly, HScanCommand, 1, 1, 1});
}

} // namespace nodedb_kv::resp
