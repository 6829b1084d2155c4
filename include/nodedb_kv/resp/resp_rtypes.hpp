#pragma once
// Helpers the commands of Redis-typed keys share (resp_cmd_rtypes.cpp): reading a key of one type
// (WRONGTYPE otherwise), editing a container in one read-modify-write, the SCAN-family options.
// Pure C++ over the Engine.
#ifdef POSTGRES_H
static_assert(false, "resp_rtypes.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <string>
#include <string_view>

#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/rtypes/rtypes_codec.hpp"

namespace nodedb_kv::resp {

void ReplyWrongTypeError(CommandContext &ctx);

// Reads key, which must be missing or of type.  On failure (an engine error, WRONGTYPE, a value that
// does not decode) replies and returns false.  *value.found false: no such key.
bool ReadTypedKey(CommandContext &ctx, std::string_view key, rtypes::Type type, TypedValue *value);

// Runs edit on key (ModifyTyped).  On an engine failure replies and returns false.
bool ModifyKey(CommandContext &ctx, std::string_view key, const TypedEdit &edit);

// What an edit of a container decided (set by the edit, read after ModifyKey).
enum class EditOutcome { Done, WrongType, Corrupt, Refused };

// Replies for an outcome other than Done; returns true if it replied.
bool ReplyOutcome(CommandContext &ctx, EditOutcome outcome);

// A value of a container key that does not decode (written by something else than nodedb_kv).
void ReplyCorrupt(CommandContext &ctx);

// Parses [MATCH pattern] [COUNT count] [NOVALUES] from argv[first..] (HSCAN, SSCAN); replies and
// returns false on a syntax error.  The cursor (argv[first - 1]) must be a decimal number.
bool ParseScanOptions(CommandContext &ctx, size_t first, std::string *pattern, bool *has_pattern, bool *novalues);

// A decimal count / index argument (Redis's "value is not an integer or out of range").
bool ParseCount(CommandContext &ctx, const std::string &text, int64_t *value);

// Redis's keyspace events of a container write: event (class type) on key, then "del" when the write
// removed the key's last element (Redis's order: "hdel" then "del").
void NotifyEdit(CommandContext &ctx, uint32_t type, const char *event, std::string_view key, bool emptied);

// Container commands on a named collection (not a kv_db<n> keyspace).
void ReplyNeedsKeyspace(CommandContext &ctx);

// The container codecs by type, for the templates below.
inline bool
Decode(std::string_view value, rtypes::Hash *c)
{
	return rtypes::DecodeHash(value, c);
}
inline bool
Decode(std::string_view value, rtypes::List *c)
{
	return rtypes::DecodeList(value, c);
}
inline bool
Decode(std::string_view value, rtypes::Set *c)
{
	return rtypes::DecodeSet(value, c);
}
inline std::string
Encode(const rtypes::Hash &c)
{
	return rtypes::EncodeHash(c);
}
inline std::string
Encode(const rtypes::List &c)
{
	return rtypes::EncodeList(c);
}
inline std::string
Encode(const rtypes::Set &c)
{
	return rtypes::EncodeSet(c);
}
inline bool
Empty(const rtypes::Hash &c)
{
	return c.entries.empty();
}
inline bool
Empty(const rtypes::List &c)
{
	return c.items.empty();
}
inline bool
Empty(const rtypes::Set &c)
{
	return c.members.empty();
}

// Reads key as a container of type into *c (empty when missing: *found false).  Replies and returns
// false on failure (engine error, WRONGTYPE, undecodable value).
template <typename Container>
bool
ReadContainer(CommandContext &ctx, std::string_view key, rtypes::Type type, Container *c, bool *found)
{
	TypedValue value;
	if (!ReadTypedKey(ctx, key, type, &value))
		return false;
	*found = value.found;
	if (value.found && !Decode(value.value, c)) {
		ReplyCorrupt(ctx);
		return false;
	}
	return true;
}

// One read-modify-write of a container key: decodes it (missing: an empty container), calls
// change(container, found), which returns whether it changed the container (it may run more than
// once: it must reset what it reports), and writes it back, deleting the key when it became empty.
// The key keeps its expiry.  Replies and returns false on failure (engine error, WRONGTYPE, an
// undecodable value).
template <typename Container, typename Change>
bool
EditContainer(CommandContext &ctx, std::string_view key, rtypes::Type type, Change change)
{
	EditOutcome outcome = EditOutcome::Done;
	TypedEdit edit = [&](const TypedValue &current, TypedWrite *write) {
		outcome = EditOutcome::Done;
		Container container;
		if (current.found && current.type != type) {
			outcome = EditOutcome::WrongType;
			return;
		}
		if (current.found && !Decode(current.value, &container)) {
			outcome = EditOutcome::Corrupt;
			return;
		}
		if (!change(container, current.found))
			return;
		if (Empty(container)) {
			write->action = kv::TypedAction::Delete;
			return;
		}
		write->action = kv::TypedAction::Write;
		write->type = type;
		write->value = Encode(container);
	};
	return ModifyKey(ctx, key, edit) && !ReplyOutcome(ctx, outcome);
}

// Replaces key with container (deleted when empty), whatever key held, without expiry (the
// *STORE commands).
template <typename Container>
bool
StoreContainer(CommandContext &ctx, std::string_view key, rtypes::Type type, const Container &container)
{
	std::string encoded = Empty(container) ? std::string() : Encode(container);
	TypedEdit edit = [&](const TypedValue &, TypedWrite *write) {
		write->action = encoded.empty() ? kv::TypedAction::Delete : kv::TypedAction::Write;
		write->type = type;
		write->value = encoded;
		write->ttl = {kv::TtlMode::Clear, 0};
	};
	return ModifyKey(ctx, key, edit);
}

void RegisterTypedHashCommands(CommandTable *table);
void RegisterTypedSetCommands(CommandTable *table);
void RegisterTypedListCommands(CommandTable *table);

} // namespace nodedb_kv::resp
