// Hashes in a kv_db<n> keyspace: the keyspace handlers of HSET HMSET HSETNX HGET HMGET HGETALL HKEYS
// HVALS HLEN HEXISTS HSTRLEN HDEL HINCRBY HINCRBYFLOAT HSCAN, and HRANDFIELD, with Redis 7.0's
// replies.  The hash is the key's value in the rtypes encoding (fields in insertion order, as Redis's
// listpack keeps them), or past 128 fields / 8 kB spilled to member rows (resp_spill.hpp; fields then
// come in byte order, as unspecified as Redis's hashtable order), where the commands that name their
// fields read and write only those; every write is one read-modify-write of the key, which keeps its
// expiry and is deleted with its last field.  Named collections keep resp_cmd_hash.cpp's handlers (key -> row).
#include <algorithm>
#include <cmath>

#include "nodedb_kv/resp/resp_rtypes.hpp"

namespace nodedb_kv::resp {
namespace {

using rtypes::Type;

bool
ReadHash(CommandContext &ctx, rtypes::Hash *hash, bool *found)
{
	return ReadContainer(ctx, ctx.argv[1], Type::Hash, hash, found);
}

// HSET key field value [field value ...] (new fields) / HMSET (+OK).
void
HSetCommand(CommandContext &ctx)
{
	if (ctx.argv.size() % 2 != 0)
		return ctx.out.Error(std::string("ERR wrong number of arguments for '") + ctx.spec.name + "' command");
	int64_t added = 0;
	auto change = [&](rtypes::Hash &hash, bool) {
		added = 0;
		for (size_t i = 2; i + 1 < ctx.argv.size(); i += 2) {
			size_t at = hash.Find(ctx.argv[i]);
			if (at == hash.entries.size()) {
				hash.entries.emplace_back(ctx.argv[i], ctx.argv[i + 1]);
				added++;
			} else
				hash.entries[at].second = ctx.argv[i + 1];
		}
		return true;
	};
	if (!EditNamed<rtypes::Hash>(ctx, ctx.argv[1], Type::Hash, NamedArgs(ctx, 2, 2), change))
		return;
	Notify(ctx, pubsub::kNotifyHash, "hset", ctx.argv[1]);
	if (ctx.spec.name[1] == 'm')
		return ctx.out.Simple("OK");
	ctx.out.Integer(added);
}

void
HSetNxCommand(CommandContext &ctx)
{
	bool set = false;
	auto change = [&](rtypes::Hash &hash, bool) {
		set = hash.Find(ctx.argv[2]) == hash.entries.size();
		if (set)
			hash.entries.emplace_back(ctx.argv[2], ctx.argv[3]);
		return set;
	};
	if (!EditNamed<rtypes::Hash>(ctx, ctx.argv[1], Type::Hash, {ctx.argv[2]}, change))
		return;
	if (set)
		Notify(ctx, pubsub::kNotifyHash, "hset", ctx.argv[1]);
	ctx.out.Integer(set ? 1 : 0);
}

void
HDelCommand(CommandContext &ctx)
{
	int64_t deleted = 0;
	bool emptied = false;
	auto change = [&](rtypes::Hash &hash, bool) {
		deleted = 0;
		for (size_t i = 2; i < ctx.argv.size(); i++) {
			size_t at = hash.Find(ctx.argv[i]);
			if (at < hash.entries.size()) {
				hash.entries.erase(hash.entries.begin() + static_cast<std::ptrdiff_t>(at));
				deleted++;
			}
		}
		return deleted > 0;
	};
	if (!EditNamed<rtypes::Hash>(ctx, ctx.argv[1], Type::Hash, NamedArgs(ctx, 2, 1), change, &emptied))
		return;
	if (deleted > 0)
		NotifyEdit(ctx, pubsub::kNotifyHash, "hdel", ctx.argv[1], emptied);
	ctx.out.Integer(deleted);
}

void
HGetCommand(CommandContext &ctx)
{
	rtypes::Hash hash;
	bool found = false;
	uint64_t size = 0;
	if (!ReadNamed(ctx, ctx.argv[1], Type::Hash, {ctx.argv[2]}, &hash, &found, &size))
		return;
	size_t at = hash.Find(ctx.argv[2]);
	if (at == hash.entries.size())
		return ctx.out.Null();
	ctx.out.Bulk(hash.entries[at].second);
}

void
HMGetCommand(CommandContext &ctx)
{
	rtypes::Hash hash;
	bool found = false;
	uint64_t size = 0;
	if (!ReadNamed(ctx, ctx.argv[1], Type::Hash, NamedArgs(ctx, 2, 1), &hash, &found, &size))
		return;
	ctx.out.Array(ctx.argv.size() - 2);
	for (size_t i = 2; i < ctx.argv.size(); i++) {
		size_t at = hash.Find(ctx.argv[i]);
		if (at == hash.entries.size())
			ctx.out.Null();
		else
			ctx.out.Bulk(hash.entries[at].second);
	}
}

// HGETALL (a map) / HKEYS / HVALS / HLEN.
void
HGetAllCommand(CommandContext &ctx)
{
	rtypes::Hash hash;
	bool found = false;
	std::string name = ctx.spec.name;
	uint64_t size = 0;
	if (name == "hlen") {
		if (ReadNamed(ctx, ctx.argv[1], Type::Hash, {}, &hash, &found, &size))
			ctx.out.Integer(static_cast<int64_t>(size));
		return;
	}
	if (!ReadHash(ctx, &hash, &found))
		return;
	if (name == "hgetall")
		ctx.out.Map(hash.entries.size());
	else
		ctx.out.Array(hash.entries.size());
	for (const auto &entry : hash.entries) {
		if (name != "hvals")
			ctx.out.Bulk(entry.first);
		if (name != "hkeys")
			ctx.out.Bulk(entry.second);
	}
}

// HEXISTS (0/1) / HSTRLEN (the value's length, 0 when missing).
void
HExistsCommand(CommandContext &ctx)
{
	rtypes::Hash hash;
	bool found = false;
	uint64_t size = 0;
	if (!ReadNamed(ctx, ctx.argv[1], Type::Hash, {ctx.argv[2]}, &hash, &found, &size))
		return;
	size_t at = hash.Find(ctx.argv[2]);
	bool present = at < hash.entries.size();
	if (ctx.spec.name[1] == 'e')
		return ctx.out.Integer(present ? 1 : 0);
	ctx.out.Integer(present ? static_cast<int64_t>(hash.entries[at].second.size()) : 0);
}

void
HIncrByCommand(CommandContext &ctx)
{
	int64_t delta = 0;
	if (!ParseCount(ctx, ctx.argv[3], &delta))
		return;
	const char *refusal = nullptr;
	int64_t result = 0;
	auto change = [&](rtypes::Hash &hash, bool) {
		refusal = nullptr;
		size_t at = hash.Find(ctx.argv[2]);
		int64_t current = 0;
		if (at < hash.entries.size() && !ParseInt64(hash.entries[at].second, &current))
			refusal = "ERR hash value is not an integer";
		else if (__builtin_add_overflow(current, delta, &result))
			refusal = "ERR increment or decrement would overflow";
		if (refusal != nullptr)
			return false;
		if (at == hash.entries.size())
			hash.entries.emplace_back(ctx.argv[2], std::to_string(result));
		else
			hash.entries[at].second = std::to_string(result);
		return true;
	};
	if (!EditNamed<rtypes::Hash>(ctx, ctx.argv[1], Type::Hash, {ctx.argv[2]}, change))
		return;
	if (refusal != nullptr)
		return ctx.out.Error(refusal);
	Notify(ctx, pubsub::kNotifyHash, "hincrby", ctx.argv[1]);
	ctx.out.Integer(result);
}

void
HIncrByFloatCommand(CommandContext &ctx)
{
	long double delta = 0;
	if (!ParseLongDouble(ctx.argv[3], &delta) || std::isnan(delta))
		return ctx.out.Error("ERR value is not a valid float");
	if (std::isinf(delta))
		return ctx.out.Error("ERR value is NaN or Infinity");
	const char *refusal = nullptr;
	std::string result;
	auto change = [&](rtypes::Hash &hash, bool) {
		refusal = nullptr;
		size_t at = hash.Find(ctx.argv[2]);
		long double current = 0;
		if (at < hash.entries.size() && !ParseLongDouble(hash.entries[at].second, &current)) {
			refusal = "ERR hash value is not a float";
			return false;
		}
		long double sum = current + delta;
		if (std::isnan(sum) || std::isinf(sum)) {
			refusal = "ERR increment would produce NaN or Infinity";
			return false;
		}
		result = FormatLongDouble(sum);
		if (at == hash.entries.size())
			hash.entries.emplace_back(ctx.argv[2], result);
		else
			hash.entries[at].second = result;
		return true;
	};
	if (!EditNamed<rtypes::Hash>(ctx, ctx.argv[1], Type::Hash, {ctx.argv[2]}, change))
		return;
	if (refusal != nullptr)
		return ctx.out.Error(refusal);
	Notify(ctx, pubsub::kNotifyHash, "hincrbyfloat", ctx.argv[1]);
	ctx.out.Bulk(result);
}

// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES], in Redis 7.0's order of checks (cursor,
// key, options).  An inline hash answers every field at once with cursor 0 (as Redis does for a
// listpack); a spilled one pages through its member rows (ReplySpilledScan).
void
HScanCommand(CommandContext &ctx)
{
	uint64_t cursor = 0;
	if (!ParseCursor(ctx, ctx.argv[2], &cursor))
		return;
	rtypes::Hash hash;
	Spill spill;
	bool found = false, spilled = false;
	if (!ReadContainerOrSpill(ctx, ctx.argv[1], Type::Hash, &hash, &found, &spill, &spilled))
		return;
	if (!found)
		return ReplyEmptyScan(ctx);
	std::string pattern;
	bool has_pattern = false, novalues = false;
	int64_t count = 10;
	if (!ParseScanOptions(ctx, 3, &pattern, &has_pattern, &novalues, &count))
		return;
	if (spilled) {
		ScanValue value;
		if (!novalues)
			value = [](const std::string &row, std::string *text) {
				*text = row;
				return true;
			};
		return ReplySpilledScan(ctx, spill, cursor, count, pattern, has_pattern, value);
	}
	std::vector<const std::pair<std::string, std::string> *> matching;
	for (const auto &entry : hash.entries) {
		if (!has_pattern || GlobMatch(pattern, entry.first))
			matching.push_back(&entry);
	}
	ctx.out.Array(2);
	ctx.out.Bulk("0");
	ctx.out.Array(matching.size() * (novalues ? 1 : 2));
	for (const auto *entry : matching) {
		ctx.out.Bulk(entry->first);
		if (!novalues)
			ctx.out.Bulk(entry->second);
	}
}

// HRANDFIELD key [count [WITHVALUES]] (Redis 7.0's hrandfieldWithCountCommand: a count of at least
// the size returns the whole hash; a negative count may repeat fields).
void
HRandFieldCommand(CommandContext &ctx)
{
	bool with_count = ctx.argv.size() >= 3, with_values = false;
	int64_t count = 1;
	if (with_count) {
		if (!ParseCount(ctx, ctx.argv[2], &count))
			return;
		if (count == INT64_MIN) // Redis takes -LONG_MAX..LONG_MAX (its negation must fit)
			return ctx.out.Error(
			    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
		if (ctx.argv.size() == 4 && EqualsIgnoreCase(ctx.argv[3], "withvalues"))
			with_values = true;
		else if (ctx.argv.size() > 3)
			return ReplySyntaxError(ctx);
		if (with_values && (count < -INT64_MAX / 2 || count > INT64_MAX / 2))
			return ctx.out.Error("ERR value is out of range");
	}
	rtypes::Hash hash;
	bool found = false;
	if (!ReadHash(ctx, &hash, &found))
		return;
	size_t size = hash.entries.size();
	if (!with_count) {
		if (size == 0)
			return ctx.out.Null();
		return ctx.out.Bulk(hash.entries[RandomGenerator()() % size].first);
	}
	std::vector<size_t> picks;
	if (count < 0) {
		for (int64_t i = 0; size > 0 && i < -count; i++)
			picks.push_back(RandomGenerator()() % size);
	} else if (static_cast<uint64_t>(count) >= size) {
		for (size_t i = 0; i < size; i++)
			picks.push_back(i);
	} else {
		std::vector<size_t> all(size);
		for (size_t i = 0; i < size; i++)
			all[i] = i;
		std::shuffle(all.begin(), all.end(), RandomGenerator());
		picks.assign(all.begin(), all.begin() + count);
	}
	bool pairs = with_values && ctx.session.protocol == Protocol::Resp3;
	ctx.out.Array(picks.size() * (with_values && !pairs ? 2 : 1));
	for (size_t at : picks) {
		if (pairs)
			ctx.out.Array(2);
		ctx.out.Bulk(hash.entries[at].first);
		if (with_values)
			ctx.out.Bulk(hash.entries[at].second);
	}
}

} // namespace

void
RegisterTypedHashCommands(CommandTable *table)
{
	table->SetKeyspaceHandler("hset", HSetCommand);
	table->SetKeyspaceHandler("hmset", HSetCommand);
	table->SetKeyspaceHandler("hsetnx", HSetNxCommand);
	table->SetKeyspaceHandler("hdel", HDelCommand);
	table->SetKeyspaceHandler("hget", HGetCommand);
	table->SetKeyspaceHandler("hmget", HMGetCommand);
	table->SetKeyspaceHandler("hgetall", HGetAllCommand);
	table->SetKeyspaceHandler("hkeys", HGetAllCommand);
	table->SetKeyspaceHandler("hvals", HGetAllCommand);
	table->SetKeyspaceHandler("hlen", HGetAllCommand);
	table->SetKeyspaceHandler("hexists", HExistsCommand);
	table->SetKeyspaceHandler("hstrlen", HExistsCommand);
	table->SetKeyspaceHandler("hincrby", HIncrByCommand);
	table->SetKeyspaceHandler("hincrbyfloat", HIncrByFloatCommand);
	table->SetKeyspaceHandler("hscan", HScanCommand);
	AddKeyspaceCommand(table, {"hrandfield", -2, kReadonly, HRandFieldCommand, 1, 1, 1});
}

} // namespace nodedb_kv::resp
