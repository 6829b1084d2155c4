// Redis-typed keys of a kv_db<n> keyspace: the helpers every container command shares
// (resp_rtypes.hpp), OBJECT, and the registration of the container command families (hashes in
// resp_cmd_rhash.cpp and sorted sets in resp_cmd_rzset.cpp as keyspace handlers of their commands,
// sets in resp_cmd_rset.cpp, lists in resp_cmd_rlist.cpp).  The type-independent key commands (TYPE,
// DEL, EXPIRE, RENAME, COPY, SCAN ... TYPE) are resp_cmd_keys.cpp's.  Pure C++ over the Engine.
#include "nodedb_kv/resp/resp_rtypes.hpp"

#include "nodedb_kv/resp/resp_cursor.hpp"

namespace nodedb_kv::resp {

void
ReplyWrongTypeError(CommandContext &ctx)
{
	ctx.out.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
}

void
ReplyCorrupt(CommandContext &ctx)
{
	ctx.out.Error("ERR the key's value is not in nodedb_kv's container encoding (src/rtypes/README.md)");
}

void
ReplyNeedsKeyspace(CommandContext &ctx)
{
	ctx.out.Error(std::string("ERR ") + ctx.spec.name + " needs a kv_db<n> keyspace (SELECT <n>)");
}

void
AddKeyspaceCommand(CommandTable *table, CommandSpec spec)
{
	spec.keyspace_handler = spec.handler;
	spec.handler = ReplyNeedsKeyspace;
	table->Add(spec);
}

std::vector<std::string_view>
NamedArgs(const CommandContext &ctx, size_t first, size_t step)
{
	std::vector<std::string_view> names;
	for (size_t i = first; i < ctx.argv.size(); i += step)
		names.emplace_back(ctx.argv[i]);
	return names;
}

std::mt19937_64 &
RandomGenerator()
{
	static std::mt19937_64 generator{std::random_device{}()};
	return generator;
}

bool
ParseOptionalCount(CommandContext &ctx, bool positive, bool arity_error, bool *with_count, int64_t *count)
{
	*with_count = ctx.argv.size() == 3;
	*count = 1;
	if (ctx.argv.size() > 3) {
		if (arity_error)
			ctx.out.Error(std::string("ERR wrong number of arguments for '") + ctx.spec.name + "' command");
		else
			ReplySyntaxError(ctx);
		return false;
	}
	if (!*with_count)
		return true;
	if (!positive)
		return ParseCount(ctx, ctx.argv[2], count);
	if (ParseInt64(ctx.argv[2], count) && *count >= 0)
		return true;
	ctx.out.Error("ERR value is out of range, must be positive");
	return false;
}

void
NotifyEdit(CommandContext &ctx, uint32_t type, const char *event, std::string_view key, bool emptied)
{
	Notify(ctx, type, event, key);
	if (emptied)
		Notify(ctx, pubsub::kNotifyGeneric, "del", key);
}

bool
ReadTypedKey(CommandContext &ctx, std::string_view key, rtypes::Type type, TypedValue *value)
{
	kv::Status status = ctx.engine.GetTyped(ctx.session, key, value);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	if (value->found && value->type != type) {
		ReplyWrongTypeError(ctx);
		return false;
	}
	return true;
}

bool
ModifyKey(CommandContext &ctx, std::string_view key, const TypedEdit &edit)
{
	bool applied = false;
	kv::Status status = ctx.engine.ModifyTyped(ctx.session, key, edit, &applied);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	return true;
}

bool
ReplyOutcome(CommandContext &ctx, EditOutcome outcome)
{
	switch (outcome) {
	case EditOutcome::Done:
		return false;
	case EditOutcome::WrongType:
		ReplyWrongTypeError(ctx);
		return true;
	case EditOutcome::Corrupt:
		ReplyCorrupt(ctx);
		return true;
	case EditOutcome::Refused:
		return true; // the handler replies itself
	}
	return false;
}

bool
ParseCount(CommandContext &ctx, const std::string &text, int64_t *value)
{
	if (ParseInt64(text, value))
		return true;
	ReplyNotInteger(ctx);
	return false;
}

bool
ParseScanOptions(CommandContext &ctx, size_t first, std::string *pattern, bool *has_pattern, bool *novalues,
                 int64_t *count)
{
	*has_pattern = false;
	if (novalues != nullptr)
		*novalues = false;
	for (size_t i = first; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		if (novalues != nullptr && EqualsIgnoreCase(opt, "novalues") && ctx.spec.name[0] == 'h') {
			*novalues = true;
			continue;
		}
		if (i + 1 >= ctx.argv.size()) {
			ReplySyntaxError(ctx);
			return false;
		}
		if (EqualsIgnoreCase(opt, "count")) {
			int64_t value = 0;
			if (!ParseCount(ctx, ctx.argv[i + 1], &value))
				return false;
			if (count != nullptr)
				*count = value;
			if (value < 1) {
				ReplySyntaxError(ctx);
				return false;
			}
		} else if (EqualsIgnoreCase(opt, "match")) {
			*pattern = ctx.argv[i + 1];
			*has_pattern = *pattern != "*";
		} else {
			ReplySyntaxError(ctx);
			return false;
		}
		i++;
	}
	return true;
}

void
ReplyEmptyScan(CommandContext &ctx)
{
	ctx.out.Array(2);
	ctx.out.Bulk("0");
	ctx.out.Array(0);
}

void
ReplySpilledScan(CommandContext &ctx, const Spill &spill, uint64_t cursor, int64_t count, const std::string &pattern,
                 bool has_pattern, const ScanValue &value)
{
	std::string after;
	if (cursor != 0 && !FindCursor(ctx, cursor, CursorKind::Members, &after))
		return;
	std::vector<std::pair<std::string, std::string>> page;
	bool done = true;
	if (!ScanSpilledPage(ctx, spill, cursor == 0, after, static_cast<size_t>(count), &page, &done))
		return;
	uint64_t next = done || page.empty() ? 0 : SaveCursor(&ctx.session, CursorKind::Members, page.back().first);
	std::vector<std::pair<std::string_view, std::string>> shown;
	for (const auto &[member, row] : page) {
		if (has_pattern && !GlobMatch(pattern, member))
			continue;
		std::string text;
		if (value && !value(row, &text))
			return ReplyCorrupt(ctx);
		shown.emplace_back(member, std::move(text));
	}
	ctx.out.Array(2);
	ctx.out.Bulk(std::to_string(next));
	ctx.out.Array(shown.size() * (value ? 2 : 1));
	for (const auto &[member, text] : shown) {
		ctx.out.Bulk(member);
		if (value)
			ctx.out.Bulk(text);
	}
}

namespace {

// OBJECT ENCODING key: Redis 7.0's names for what the value would be there (small containers are
// listpacks / intsets, big ones hash tables; lists are quicklists).  REFCOUNT 1, IDLETIME 0, FREQ 0.
void
ObjectCommand(CommandContext &ctx)
{
	std::string sub = Lower(ctx.argv[1]);
	if (sub == "help") {
		ctx.out.Array(1);
		return ctx.out.Simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are: ENCODING <key>, "
		                      "FREQ <key>, IDLETIME <key>, REFCOUNT <key>, HELP");
	}
	if (ctx.argv.size() != 3 || (sub != "encoding" && sub != "refcount" && sub != "idletime" && sub != "freq"))
		return ctx.out.Error("ERR unknown subcommand or wrong number of arguments for '" + ctx.argv[1] +
		                     "'. Try OBJECT HELP.");
	TypedValue value;
	kv::Status status = ctx.engine.GetTyped(ctx.session, ctx.argv[2], &value);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (!value.found)
		return ctx.out.Null();
	if (sub != "encoding")
		return ctx.out.Integer(sub == "refcount" ? 1 : 0);
	switch (value.type) {
	case rtypes::Type::String:
		return ctx.out.Bulk(rtypes::StringEncoding(value.value));
	case rtypes::Type::List:
		return ctx.out.Bulk("quicklist");
	case rtypes::Type::Hash: {
		rtypes::Hash hash;
		bool small = rtypes::DecodeHash(value.value, &hash) && hash.entries.size() <= 128;
		for (size_t i = 0; small && i < hash.entries.size(); i++)
			small = hash.entries[i].first.size() <= 64 && hash.entries[i].second.size() <= 64;
		return ctx.out.Bulk(small ? "listpack" : "hashtable");
	}
	case rtypes::Type::Set: {
		rtypes::Set set;
		bool intset = rtypes::DecodeSet(value.value, &set) && set.members.size() <= 512 && set.AllIntegers();
		return ctx.out.Bulk(intset ? "intset" : "hashtable");
	}
	case rtypes::Type::Zset: {
		rtypes::ZsetInline zset;
		if (!rtypes::DecodeZset(value.value, &zset))
			return ReplyCorrupt(ctx);
		return ctx.out.Bulk(rtypes::ZsetEncoding(zset));
	}
	}
	ctx.out.Null();
}

} // namespace

void
RegisterTypedCommands(CommandTable *table)
{
	table->Add({"object", -2, kReadonly, ObjectCommand, 2, 2, 1});
	RegisterTypedHashCommands(table);
	RegisterTypedSetCommands(table);
	RegisterTypedListCommands(table);
	RegisterTypedZsetCommands(table);
	RegisterTypedBlockingCommands(table);
}

} // namespace nodedb_kv::resp
