// Key commands: DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT (NX XX GT LT) TTL PTTL
// EXPIRETIME PEXPIRETIME PERSIST SCAN KEYS RANDOMKEY DBSIZE FLUSHDB RENAME RENAMENX COPY, with Redis 7's
// replies.  Pure C++ over the Engine interface.
#include <climits>
#include <cstring>

#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_cursor.hpp"
#include "nodedb_kv/resp/resp_spill.hpp"

namespace nodedb_kv::resp {
namespace {

using pubsub::kNotifyGeneric;

void
DelCommand(CommandContext &ctx)
{
	int64_t count = 0;
	for (size_t i = 1; i < ctx.argv.size(); i++) {
		bool deleted = false;
		kv::Status status = ctx.engine.Delete(ctx.session, ctx.argv[i], &deleted);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		if (deleted)
			Notify(ctx, kNotifyGeneric, "del", ctx.argv[i]);
		count += deleted;
	}
	ctx.out.Integer(count);
}

void
ExistsCommand(CommandContext &ctx)
{
	int64_t count = 0;
	for (size_t i = 1; i < ctx.argv.size(); i++) {
		bool exists = false;
		kv::Status status = ctx.engine.Exists(ctx.session, ctx.argv[i], &exists);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		count += exists;
	}
	ctx.out.Integer(count);
}

void
TypeCommand(CommandContext &ctx)
{
	if (ctx.session.typed_keyspace) {
		TypedValue value;
		kv::Status status = ctx.engine.GetTyped(ctx.session, ctx.argv[1], &value);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		return ctx.out.Simple(value.found ? rtypes::TypeName(value.type) : "none");
	}
	bool exists = false;
	kv::Status status = ctx.engine.Exists(ctx.session, ctx.argv[1], &exists);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (!exists)
		return ctx.out.Simple("none");
	// A typed collection's rows are hashes (an engine without typed collections: strings).
	bool typed = false;
	status = ctx.engine.IsTyped(ctx.session, &typed);
	if (!status.ok() && status.code != kv::Code::Unsupported)
		return ReplyStatus(ctx, status);
	ctx.out.Simple(typed ? "hash" : "string");
}

// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX|XX|GT|LT] (Redis's expireGenericCommand).
void
ExpireCommand(CommandContext &ctx)
{
	std::string name = ctx.spec.name;
	bool millis_unit = name[0] == 'p';
	bool absolute = name.size() > 2 && name.compare(name.size() - 2, 2, "at") == 0;
	bool nx = false, xx = false, gt = false, lt = false;
	for (size_t i = 3; i < ctx.argv.size(); i++) {
		const std::string &opt = ctx.argv[i];
		if (EqualsIgnoreCase(opt, "nx"))
			nx = true;
		else if (EqualsIgnoreCase(opt, "xx"))
			xx = true;
		else if (EqualsIgnoreCase(opt, "gt"))
			gt = true;
		else if (EqualsIgnoreCase(opt, "lt"))
			lt = true;
		else
			return ctx.out.Error("ERR Unsupported option " + opt);
	}
	if (nx && (xx || gt || lt))
		return ctx.out.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
	if (gt && lt)
		return ctx.out.Error("ERR GT and LT options at the same time are not compatible");
	int64_t when;
	if (!ParseInt64(ctx.argv[2], &when))
		return ReplyNotInteger(ctx);
	std::string invalid = "ERR invalid expire time in '" + name + "' command";
	if (!millis_unit) {
		if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)
			return ctx.out.Error(invalid);
		when *= 1000;
	}
	int64_t now = ctx.engine.NowMillis();
	kv::Ttl ttl = absolute ? kv::Ttl{kv::TtlMode::At, when} : kv::Ttl{kv::TtlMode::Set, when};
	if (!absolute) {
		if ((when > 0 && now > LLONG_MAX - when) || (when < 0 && now < LLONG_MIN - when))
			return ctx.out.Error(invalid);
		when += now;
	}
	TypedValue value;
	kv::Status status = ctx.engine.GetTyped(ctx.session, ctx.argv[1], &value);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (!value.found)
		return ctx.out.Integer(0);
	if (nx || xx || gt || lt) {
		bool has_ttl = value.ttl_ms >= 0;
		int64_t current = has_ttl ? now + value.ttl_ms : -1;
		if ((nx && has_ttl) || (xx && !has_ttl) || (gt && (!has_ttl || when <= current)) ||
		    (lt && has_ttl && when >= current))
			return ctx.out.Integer(0);
	}
	bool applied = false;
	// A time already past deletes the key, as Redis does ("del"; nothing is left to expire later, so no
	// "expired" follows from a reader or the expiry worker).
	status = when <= now ? ctx.engine.Delete(ctx.session, ctx.argv[1], &applied)
	                     : ctx.engine.Expire(ctx.session, ctx.argv[1], ttl, &applied);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (applied)
		Notify(ctx, kNotifyGeneric, when <= now ? "del" : "expire", ctx.argv[1]);
	ctx.out.Integer(applied ? 1 : 0);
}

// TTL / PTTL / EXPIRETIME / PEXPIRETIME (Redis's ttlGenericCommand).
void
TtlCommand(CommandContext &ctx)
{
	std::string name = ctx.spec.name;
	bool millis = name[0] == 'p';
	bool absolute = name.find("expiretime") != std::string::npos;
	TypedValue value;
	kv::Status status = ctx.engine.GetTyped(ctx.session, ctx.argv[1], &value);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (!value.found)
		return ctx.out.Integer(-2);
	if (value.ttl_ms < 0)
		return ctx.out.Integer(-1);
	int64_t result = absolute ? ctx.engine.NowMillis() + value.ttl_ms : value.ttl_ms;
	ctx.out.Integer(millis ? result : (result + 500) / 1000);
}

void
PersistCommand(CommandContext &ctx)
{
	bool applied = false;
	kv::Status status = ctx.engine.Expire(ctx.session, ctx.argv[1], {kv::TtlMode::Clear, 0}, &applied);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (applied)
		Notify(ctx, kNotifyGeneric, "persist", ctx.argv[1]);
	ctx.out.Integer(applied ? 1 : 0);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].  The cursor names the last key returned,
// remembered by the connection, so every key present for the whole iteration is returned once.
void
ScanCommand(CommandContext &ctx)
{
	Session &s = ctx.session;
	uint64_t cursor = 0;
	if (!ParseCursor(ctx, ctx.argv[1], &cursor))
		return;
	std::string pattern;
	bool has_pattern = false;
	int64_t count = 10;
	std::string type;
	for (size_t i = 2; i < ctx.argv.size(); i += 2) {
		if (i + 1 >= ctx.argv.size())
			return ReplySyntaxError(ctx);
		const std::string &opt = ctx.argv[i];
		if (EqualsIgnoreCase(opt, "count")) {
			if (!ParseInt64(ctx.argv[i + 1], &count))
				return ReplyNotInteger(ctx);
			if (count < 1)
				return ReplySyntaxError(ctx);
		} else if (EqualsIgnoreCase(opt, "match")) {
			pattern = ctx.argv[i + 1];
			has_pattern = !(pattern == "*");
		} else if (EqualsIgnoreCase(opt, "type"))
			type = Lower(ctx.argv[i + 1]);
		else
			return ReplySyntaxError(ctx);
	}
	std::string after;
	bool from_start = cursor == 0;
	if (!from_start && !FindCursor(ctx, cursor, CursorKind::Keys, &after))
		return;
	ScanPage page;
	kv::Status status =
	    ctx.engine.Scan(s, after, from_start, static_cast<size_t>(count < 100000 ? count : 100000), &page);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	uint64_t next = 0;
	if (!page.done && !page.keys.empty())
		next = SaveCursor(&s, CursorKind::Keys, page.keys.back());
	std::vector<const std::string *> keys;
	for (const std::string &key : page.keys) {
		if (has_pattern && !GlobMatch(pattern, key))
			continue;
		if (!type.empty() && s.typed_keyspace) {
			TypedValue value;
			status = ctx.engine.GetTyped(s, key, &value);
			if (!status.ok())
				return ReplyStatus(ctx, status);
			if (!value.found || type != rtypes::TypeName(value.type))
				continue;
		} else if (!type.empty() && type != "string")
			continue;
		keys.push_back(&key);
	}
	ctx.out.Array(2);
	ctx.out.Bulk(std::to_string(next));
	ctx.out.Array(keys.size());
	for (const std::string *key : keys)
		ctx.out.Bulk(*key);
}

void
KeysCommand(CommandContext &ctx)
{
	const std::string &pattern = ctx.argv[1];
	bool all = pattern == "*";
	std::vector<std::string> keys;
	std::string after;
	bool from_start = true;
	for (;;) {
		ScanPage page;
		kv::Status status = ctx.engine.Scan(ctx.session, after, from_start, 10000, &page);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		for (std::string &key : page.keys) {
			if (all || GlobMatch(pattern, key))
				keys.push_back(key);
		}
		if (page.done || page.keys.empty())
			break;
		after = page.keys.back();
		from_start = false;
	}
	ctx.out.Array(keys.size());
	for (const std::string &key : keys)
		ctx.out.Bulk(key);
}

void
RandomKeyCommand(CommandContext &ctx)
{
	std::string key;
	bool found = false;
	kv::Status status = ctx.engine.RandomKey(ctx.session, &key, &found);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (!found)
		return ctx.out.Null();
	ctx.out.Bulk(key);
}

void
DbSizeCommand(CommandContext &ctx)
{
	int64_t count = 0;
	kv::Status status = ctx.engine.Count(ctx.session, &count);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	ctx.out.Integer(count);
}

void
FlushDbCommand(CommandContext &ctx)
{
	if (ctx.argv.size() > 2 ||
	    (ctx.argv.size() == 2 && !EqualsIgnoreCase(ctx.argv[1], "sync") && !EqualsIgnoreCase(ctx.argv[1], "async")))
		return ReplySyntaxError(ctx);
	kv::Status status = ctx.engine.Flush(ctx.session);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	ctx.out.Simple("OK");
}

// Copies src to dst keeping the expiry.  *done false: src missing (nothing replied) or, with
// only_if_absent, dst exists.
kv::Status
CopyKey(CommandContext &ctx, const std::string &src, const std::string &dst, bool only_if_absent, bool *src_found,
        bool *written, bool *copy_failed)
{
	*copy_failed = false;
	TypedValue value;
	*written = false;
	kv::Status status = ctx.engine.GetTyped(ctx.session, src, &value);
	*src_found = status.ok() && value.found;
	if (!*src_found)
		return status;
	std::string bytes(value.value);
	kv::Ttl ttl = value.ttl_ms >= 0 ? kv::Ttl{kv::TtlMode::Set, value.ttl_ms} : kv::Ttl{kv::TtlMode::Clear, 0};
	if (!ctx.session.typed_keyspace)
		return ctx.engine.Set(ctx.session, dst, bytes, {only_if_absent, false, ttl}, written, nullptr);
	// A keyspace copies the type with the value (a hash stays a hash) and replaces dst of any type.  A
	// spilled container gets a new generation under dst and its member rows are copied (O(N), as
	// Redis's COPY; RENAME too here: the member keys name their key).
	rtypes::Type type = value.type;
	Spill from, to;
	bool spilled = rtypes::IsSpilled(bytes) && src != dst;
	if (spilled) {
		if (!rtypes::DecodeSpillHeader(bytes, &from.header)) {
			kv::Status corrupt = status;
			corrupt.code = kv::Code::InvalidArgument;
			strncpy(corrupt.message, "the key's value is not in nodedb_kv's container encoding",
			        sizeof(corrupt.message));
			return corrupt;
		}
		to.header = from.header;
		to.header.gen = rtypes::NewGeneration();
		bytes = rtypes::EncodeSpillHeader(to.header);
	}
	bool will_write = false;
	TypedEdit edit = [&](const TypedValue &current, TypedWrite *write) {
		will_write = !(only_if_absent && current.found);
		if (!will_write)
			return;
		write->action = kv::TypedAction::Write;
		write->type = type;
		write->value = bytes;
		write->ttl = ttl;
	};
	bool applied = false;
	status = ctx.engine.ModifyTyped(ctx.session, dst, edit, &applied);
	*written = status.ok() && will_write && applied;
	if (*written && spilled) {
		std::string keyspace;
		status = ctx.engine.KeyspaceName(ctx.session, &keyspace);
		if (!status.ok())
			return status;
		from.prefix = rtypes::MemberPrefix(keyspace, src, from.header.gen);
		to.prefix = rtypes::MemberPrefix(keyspace, dst, to.header.gen);
		*copy_failed = !CopySpilled(ctx, from, to);
	}
	return status;
}

void
RenameCommand(CommandContext &ctx)
{
	bool nx = ctx.spec.name[6] == 'n';
	const std::string &src = ctx.argv[1], &dst = ctx.argv[2];
	bool found = false, written = false;
	bool copy_failed = false;
	kv::Status status = CopyKey(ctx, src, dst, nx, &found, &written, &copy_failed);
	if (copy_failed)
		return; // (replied)
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (!found)
		return ctx.out.Error("ERR no such key");
	if (src == dst)
		return nx ? ctx.out.Integer(0) : ctx.out.Simple("OK");
	if (!written)
		return ctx.out.Integer(0);
	bool deleted;
	status = ctx.engine.Delete(ctx.session, src, &deleted);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	// Redis's renameGenericCommand: dst is added anew (dbAdd: "new"), then rename_from, rename_to.
	Notify(ctx, pubsub::kNotifyNew, "new", dst);
	Notify(ctx, kNotifyGeneric, "rename_from", src);
	Notify(ctx, kNotifyGeneric, "rename_to", dst);
	return nx ? ctx.out.Integer(1) : ctx.out.Simple("OK");
}

void
CopyCommand(CommandContext &ctx)
{
	bool replace = false;
	for (size_t i = 3; i < ctx.argv.size(); i++) {
		if (EqualsIgnoreCase(ctx.argv[i], "replace"))
			replace = true;
		else if (EqualsIgnoreCase(ctx.argv[i], "db") && i + 1 < ctx.argv.size()) {
			// Redis's order: an integer first; DB <the current one> is a copy within it.
			int64_t db = 0;
			if (!ParseInt64(ctx.argv[++i], &db))
				return ReplyNotInteger(ctx);
			if (ctx.session.db_index < 0 || db != ctx.session.db_index)
				return ctx.out.Error("ERR COPY to another database is not supported");
		} else
			return ReplySyntaxError(ctx);
	}
	if (ctx.argv[1] == ctx.argv[2])
		return ctx.out.Error("ERR source and destination objects are the same");
	bool found = false, written = false;
	bool copy_failed = false;
	kv::Status status = CopyKey(ctx, ctx.argv[1], ctx.argv[2], !replace, &found, &written, &copy_failed);
	if (copy_failed)
		return; // (replied)
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (found && written) {
		Notify(ctx, pubsub::kNotifyNew, "new", ctx.argv[2]); // dbAdd of the copy, even over a REPLACEd key
		Notify(ctx, kNotifyGeneric, "copy_to", ctx.argv[2]);
	}
	ctx.out.Integer(found && written ? 1 : 0);
}

} // namespace

void
RegisterKeyCommands(CommandTable *table)
{
	table->Add({"del", -2, kWrite, DelCommand, 1, -1, 1});
	table->Add({"unlink", -2, kWrite | kFast, DelCommand, 1, -1, 1});
	table->Add({"exists", -2, kReadonly | kFast, ExistsCommand, 1, -1, 1});
	table->Add({"type", 2, kReadonly | kFast, TypeCommand, 1, 1, 1});
	table->Add({"expire", -3, kWrite | kFast, ExpireCommand, 1, 1, 1});
	table->Add({"pexpire", -3, kWrite | kFast, ExpireCommand, 1, 1, 1});
	table->Add({"expireat", -3, kWrite | kFast, ExpireCommand, 1, 1, 1});
	table->Add({"pexpireat", -3, kWrite | kFast, ExpireCommand, 1, 1, 1});
	table->Add({"ttl", 2, kReadonly | kFast, TtlCommand, 1, 1, 1});
	table->Add({"pttl", 2, kReadonly | kFast, TtlCommand, 1, 1, 1});
	table->Add({"expiretime", 2, kReadonly | kFast, TtlCommand, 1, 1, 1});
	table->Add({"pexpiretime", 2, kReadonly | kFast, TtlCommand, 1, 1, 1});
	table->Add({"persist", 2, kWrite | kFast, PersistCommand, 1, 1, 1});
	table->Add({"scan", -2, kReadonly, ScanCommand, 0, 0, 0});
	table->Add({"keys", 2, kReadonly, KeysCommand, 0, 0, 0});
	table->Add({"randomkey", 1, kReadonly, RandomKeyCommand, 0, 0, 0});
	table->Add({"dbsize", 1, kReadonly | kFast, DbSizeCommand, 0, 0, 0});
	table->Add({"flushdb", -1, kWrite, FlushDbCommand, 0, 0, 0});
	table->Add({"rename", 3, kWrite, RenameCommand, 1, 2, 1});
	table->Add({"renamenx", 3, kWrite | kFast, RenameCommand, 1, 2, 1});
	table->Add({"copy", -3, kWrite, CopyCommand, 1, 2, 1});
}

} // namespace nodedb_kv::resp
