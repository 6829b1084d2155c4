#pragma once
// Helpers the commands of Redis-typed keys share (resp_cmd_rtypes.cpp): reading a key of one type
// (WRONGTYPE otherwise), editing a container in one read-modify-write, the SCAN-family options.
// Pure C++ over the Engine.
#ifdef POSTGRES_H
static_assert(false, "resp_rtypes.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_cursor.hpp"
#include "nodedb_kv/resp/resp_spill.hpp"
#include "nodedb_kv/rtypes/rtypes_codec.hpp"
#include "nodedb_kv/rtypes/rtypes_zset.hpp"

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

// Parses [MATCH pattern] [COUNT count] [NOVALUES] from argv[first..] (HSCAN, SSCAN, ZSCAN; NOVALUES
// only for H-commands and with novalues given; the count into *count if given); replies and returns
// false on a syntax error.  The caller checked the cursor (argv[first - 1]) first (ParseCursor).
bool ParseScanOptions(CommandContext &ctx, size_t first, std::string *pattern, bool *has_pattern, bool *novalues,
                      int64_t *count = nullptr);

// The reply of HSCAN / SSCAN / ZSCAN on a missing key: cursor 0, no elements.
void ReplyEmptyScan(CommandContext &ctx);

// How a cursor over a spilled container shows a member row's value (a hash field's value, a zset
// member's score as text); false: the row does not decode.  Empty: members only (SSCAN, NOVALUES).
using ScanValue = std::function<bool(const std::string &row, std::string *text)>;

// HSCAN / SSCAN / ZSCAN of a spilled container (Redis's scan of a hash table): the page of count
// member rows after cursor's position (0: from the first; an unknown cursor: "invalid cursor"), those
// matching pattern, as [next cursor (0: the iteration is over), member (value) ...].  A member present
// from the first call to the last is returned exactly once; one added or deleted meanwhile may or may
// not be.  An inline container answers every member at once with cursor 0 instead (as Redis answers
// for a listpack or intset): the caller's part.
void ReplySpilledScan(CommandContext &ctx, const Spill &spill, uint64_t cursor, int64_t count,
                      const std::string &pattern, bool has_pattern, const ScanValue &value);

// A decimal count / index argument (Redis's "value is not an integer or out of range").
bool ParseCount(CommandContext &ctx, const std::string &text, int64_t *value);

// Redis's keyspace events of a container write: event (class type) on key, then "del" when the write
// removed the key's last element (Redis's order: "hdel" then "del").
void NotifyEdit(CommandContext &ctx, uint32_t type, const char *event, std::string_view key, bool emptied);

// Container commands on a named collection (not a kv_db<n> keyspace).
void ReplyNeedsKeyspace(CommandContext &ctx);

// Registers a command that exists only in kv_db<n> keyspaces (sets, lists, HRANDFIELD): spec.handler
// runs there; on a named collection the command answers ReplyNeedsKeyspace.
void AddKeyspaceCommand(CommandTable *table, CommandSpec spec);

// The random source of the commands that pick members (HRANDFIELD, SPOP, SRANDMEMBER).
std::mt19937_64 &RandomGenerator();

// The optional count of SPOP / SRANDMEMBER / LPOP / RPOP: argv[2] if present (*with_count).  More than
// 3 arguments: a syntax error (or, with arity_error, Redis's wrong-number-of-arguments error).  With
// positive, a count below 0 is "value is out of range, must be positive"; without, any integer.
// Replies and returns false on an error.
bool ParseOptionalCount(CommandContext &ctx, bool positive, bool arity_error, bool *with_count, int64_t *count);

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
inline bool
Decode(std::string_view value, rtypes::ZsetInline *c)
{
	return rtypes::DecodeZset(value, c);
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
inline std::string
Encode(const rtypes::ZsetInline &c)
{
	return rtypes::EncodeZset(c);
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
inline bool
Empty(const rtypes::ZsetInline &c)
{
	return c.entries.empty();
}

inline size_t
Size(const rtypes::Hash &c)
{
	return c.entries.size();
}
inline size_t
Size(const rtypes::List &c)
{
	return c.items.size();
}
inline size_t
Size(const rtypes::Set &c)
{
	return c.members.size();
}
inline size_t
Size(const rtypes::ZsetInline &c)
{
	return c.entries.size();
}

// Whether a container type has a spilled form (rtypes_spill.hpp): hashes, sets and lists.  Sorted
// sets stay inline whatever their size (their spilled form is not built yet: src/rtypes/README.md).
template <typename Container> inline constexpr bool kSpillable = true;
template <> inline constexpr bool kSpillable<rtypes::ZsetInline> = false;

// Reads key as a container of type: inline, decoded into *c; spilled (*spilled true), its header and
// member prefix in *spill and *c untouched (the fast paths of HGET, SISMEMBER, LINDEX ...).  *found
// false: no such key.  Replies and returns false on failure (engine error, WRONGTYPE, undecodable).
template <typename Container>
bool
ReadContainerOrSpill(CommandContext &ctx, std::string_view key, rtypes::Type type, Container *c, bool *found,
                     Spill *spill, bool *spilled)
{
	TypedValue value;
	*spilled = false;
	if (!ReadTypedKey(ctx, key, type, &value))
		return false;
	*found = value.found;
	if (!value.found)
		return true;
	if constexpr (kSpillable<Container>) {
		if (rtypes::IsSpilled(value.value)) {
			if (!rtypes::DecodeSpillHeader(value.value, &spill->header)) {
				ReplyCorrupt(ctx);
				return false;
			}
			*spilled = true;
			return SpillPrefix(ctx, key, spill);
		}
	}
	if (!Decode(value.value, c)) {
		ReplyCorrupt(ctx);
		return false;
	}
	return true;
}

// Reads key as a container of type into *c (empty when missing: *found false), a spilled one with
// all its members (O(N)).  Replies and returns false on failure.
template <typename Container>
bool
ReadContainer(CommandContext &ctx, std::string_view key, rtypes::Type type, Container *c, bool *found)
{
	Spill spill;
	bool spilled = false;
	if (!ReadContainerOrSpill(ctx, key, type, c, found, &spill, &spilled))
		return false;
	if constexpr (kSpillable<Container>)
		return !spilled || LoadSpilled(ctx, spill, c);
	else
		return true;
}

// While it lives, the engine's member reads see the newest committed member rows (Engine::MembersLatest).
class LatestMembers {
public:
	explicit LatestMembers(Engine &engine) : engine_(engine)
	{
		engine_.MembersLatest(true);
	}
	~LatestMembers()
	{
		engine_.MembersLatest(false);
	}
	LatestMembers(const LatestMembers &) = delete;
	LatestMembers &operator=(const LatestMembers &) = delete;

private:
	Engine &engine_;
};

// One read-modify-write of a container key.  Inline: decodes it (missing: an empty container), calls
// change(container, found), which returns whether it changed the container (it may run more than
// once: it must reset what it reports), and writes it back, deleting the key when it became empty and
// spilling it when it grew past rtypes::kSpillEntries items or kSpillBytes.  Spilled: locks the
// header row (rewrites it unchanged), calls spilled_change(spill), which changes member rows and
// spill.header and returns false after replying an error, then writes the header if it changed
// (count 0 deletes the key).  The key keeps its expiry.  *emptied (if given): whether the edit
// deleted the key because its last member went (the "del" keyspace event after the command's own).
// Replies and returns false on failure (engine error, WRONGTYPE, an undecodable value).
template <typename Container, typename Change, typename SpilledChange>
bool
EditContainerOr(CommandContext &ctx, std::string_view key, rtypes::Type type, Change change,
                SpilledChange spilled_change, bool *emptied = nullptr)
{
	bool deleted = false;
	if (emptied == nullptr)
		emptied = &deleted;
	*emptied = false;
	EditOutcome outcome = EditOutcome::Done;
	bool spilled = false, spilling = false;
	Spill spill;
	Container container;
	TypedEdit edit = [&](const TypedValue &current, TypedWrite *write) {
		outcome = EditOutcome::Done;
		spilled = spilling = *emptied = false;
		container = Container();
		if (current.found && current.type != type) {
			outcome = EditOutcome::WrongType;
			return;
		}
		if constexpr (kSpillable<Container>) {
			if (current.found && rtypes::IsSpilled(current.value)) {
				if (!rtypes::DecodeSpillHeader(current.value, &spill.header)) {
					outcome = EditOutcome::Corrupt;
					return;
				}
				spilled = true;
				write->action = kv::TypedAction::Write; // the same header: locks the row until commit
				write->type = type;
				write->value = std::string(current.value);
				return;
			}
		}
		if (current.found && !Decode(current.value, &container)) {
			outcome = EditOutcome::Corrupt;
			return;
		}
		if (!change(container, current.found))
			return;
		if (Empty(container)) {
			write->action = kv::TypedAction::Delete;
			*emptied = current.found;
			return;
		}
		write->action = kv::TypedAction::Write;
		write->type = type;
		write->value = Encode(container);
		if (kSpillable<Container> &&
		    (Size(container) > rtypes::kSpillEntries || write->value.size() > rtypes::kSpillBytes)) {
			spilling = true;
			int64_t size = static_cast<int64_t>(Size(container));
			spill.header = {rtypes::NewGeneration(), static_cast<uint64_t>(size), 0, size};
			write->value = rtypes::EncodeSpillHeader(spill.header);
		}
	};
	if (!ModifyKey(ctx, key, edit) || ReplyOutcome(ctx, outcome))
		return false;
	if constexpr (!kSpillable<Container>)
		return true;
	else {
		if (spilling)
			return SpillPrefix(ctx, key, &spill) && WriteSpilled(ctx, spill, container);
		if (!spilled)
			return true;
	}
	if (!SpillPrefix(ctx, key, &spill))
		return false;
	rtypes::SpillHeader before = spill.header;
	{
		// The header row is locked: read the members as of now, not as of the command's snapshot (a
		// writer of this container may have committed in between; the header locked is its newest).
		LatestMembers latest(ctx.engine);
		if (!spilled_change(spill))
			return false;
	}
	if (spill.header.count == before.count && spill.header.head == before.head && spill.header.tail == before.tail)
		return true;
	*emptied = spill.header.count == 0;
	return WriteSpillHeader(ctx, key, type, spill);
}

// EditContainerOr whose spilled form runs change on all the members (O(N)), then writes back what
// changed: the path of the commands that are O(N) in Redis too (LREM, LINSERT, SPOP ...).
template <typename Container, typename Change>
bool
EditContainer(CommandContext &ctx, std::string_view key, rtypes::Type type, Change change, bool *emptied = nullptr)
{
	auto spilled_change = [&](Spill &spill) {
		if constexpr (!kSpillable<Container>) {
			return true; // never called: the container is never spilled
		} else {
			Container before;
			if (!LoadSpilled(ctx, spill, &before))
				return false;
			Container after = before;
			if (!change(after, true))
				return true;
			return StoreSpilledDiff(ctx, &spill, before, after);
		}
	};
	return EditContainerOr<Container>(ctx, key, type, change, spilled_change, emptied);
}

// argv[first], argv[first + step], ...: the fields / members a command names.
std::vector<std::string_view> NamedArgs(const CommandContext &ctx, size_t first, size_t step);

// Reads key as a container of type for a command that looks only at the members it names: inline,
// the whole container; spilled, only those of names that exist (one member row each).  *size: the
// container's size either way.  Replies and returns false on failure.
template <typename Container>
bool
ReadNamed(CommandContext &ctx, std::string_view key, rtypes::Type type, const std::vector<std::string_view> &names,
          Container *c, bool *found, uint64_t *size)
{
	Spill spill;
	bool spilled = false;
	if (!ReadContainerOrSpill(ctx, key, type, c, found, &spill, &spilled))
		return false;
	*size = spilled ? spill.header.count : Size(*c);
	return !spilled || LoadNamed(ctx, spill, names, c);
}

// EditContainerOr for a change that reads and writes only the members it names (HSET HDEL HINCRBY
// SADD SREM ...): a spilled container runs change on just those (O(1) member rows each).
template <typename Container, typename Change>
bool
EditNamed(CommandContext &ctx, std::string_view key, rtypes::Type type, const std::vector<std::string_view> &names,
          Change change, bool *emptied = nullptr)
{
	auto spilled_change = [&](Spill &spill) {
		Container before;
		if (!LoadNamed(ctx, spill, names, &before))
			return false;
		Container after = before;
		if (!change(after, true))
			return true;
		uint64_t count = spill.header.count;
		if (!StoreSpilledDiff(ctx, &spill, before, after))
			return false;
		spill.header.count = count - Size(before) + Size(after);
		return true;
	};
	return EditContainerOr<Container>(ctx, key, type, change, spilled_change, emptied);
}

// Replaces key with container (deleted when empty; spilled when big), whatever key held, without
// expiry (the *STORE commands).  The member rows of a spilled container it replaces stay until
// kv_members_vacuum() (src/rtypes/README.md).
template <typename Container>
bool
StoreContainer(CommandContext &ctx, std::string_view key, rtypes::Type type, const Container &container)
{
	std::string encoded = Empty(container) ? std::string() : Encode(container);
	Spill spill;
	bool spilling =
	    kSpillable<Container> && (Size(container) > rtypes::kSpillEntries || encoded.size() > rtypes::kSpillBytes);
	if (spilling) {
		int64_t size = static_cast<int64_t>(Size(container));
		spill.header = {rtypes::NewGeneration(), static_cast<uint64_t>(size), 0, size};
		encoded = rtypes::EncodeSpillHeader(spill.header);
	}
	TypedEdit edit = [&](const TypedValue &, TypedWrite *write) {
		write->action = encoded.empty() ? kv::TypedAction::Delete : kv::TypedAction::Write;
		write->type = type;
		write->value = encoded;
		write->ttl = {kv::TtlMode::Clear, 0};
	};
	if (!ModifyKey(ctx, key, edit))
		return false;
	if constexpr (kSpillable<Container>)
		return !spilling || (SpillPrefix(ctx, key, &spill) && WriteSpilled(ctx, spill, container));
	else
		return true;
}

// Pops up to count elements from key's head (left) or tail into *popped (LPOP / RPOP, with their
// keyspace events); *existed: the key was there.  Replies and returns false on failure.
bool PopList(CommandContext &ctx, const std::string &key, bool left, int64_t count, std::vector<std::string> *popped,
             bool *existed);
// LMOVE's move of one element from src to dst (dst must be a list or missing: WRONGTYPE first); *moved
// false: src was empty.  Replies and returns false on failure.
bool MoveElement(CommandContext &ctx, const std::string &src, const std::string &dst, bool from_left, bool to_left,
                 bool *moved, std::string *element);
// ZPOPMIN / ZPOPMAX's pop of up to count members of a kv_db<n> zset key (resp_cmd_rzset.cpp).
bool PopZsetMembers(CommandContext &ctx, const std::string &key, bool max, int64_t count,
                    std::vector<rtypes::ZsetEntry> *popped, bool *found);
void RegisterTypedBlockingCommands(CommandTable *table);
void RegisterTypedHashCommands(CommandTable *table);
void RegisterTypedSetCommands(CommandTable *table);
void RegisterTypedListCommands(CommandTable *table);
void RegisterTypedZsetCommands(CommandTable *table);

} // namespace nodedb_kv::resp
