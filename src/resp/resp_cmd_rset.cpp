// Sets in a kv_db<n> keyspace: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SINTER
// SINTERCARD SMOVE SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN, with Redis 7.0's replies.  The set is the
// key's value in the rtypes encoding, or past 128 members / 8 kB member rows (resp_spill.hpp: SADD SREM
// SISMEMBER SMISMEMBER SCARD then touch only the members they name, and spilled members list in byte
// order); SMEMBERS lists an all-integer set in ascending order (Redis's
// intset) and other sets in insertion order (Redis: hash-table order, unspecified).  A write is one
// read-modify-write of the key, which keeps its expiry and goes with its last member; the *STORE
// commands replace their destination whatever it held.  Named collections: -ERR (no sets there).
#include <algorithm>

#include "nodedb_kv/resp/resp_rtypes.hpp"

namespace nodedb_kv::resp {
namespace {

using rtypes::Type;

bool
ReadSet(CommandContext &ctx, const std::string &key, rtypes::Set *set)
{
	bool found = false;
	return ReadContainer(ctx, key, Type::Set, set, &found);
}

void
ReplyMembers(CommandContext &ctx, const std::vector<std::string> &members)
{
	ctx.out.Set(members.size());
	for (const std::string &member : members)
		ctx.out.Bulk(member);
}

void
SAddCommand(CommandContext &ctx)
{
	int64_t changed = 0;
	bool add = ctx.spec.name[1] == 'a', emptied = false;
	auto change = [&](rtypes::Set &set, bool) {
		changed = 0;
		for (size_t i = 2; i < ctx.argv.size(); i++)
			changed += add ? set.Add(ctx.argv[i]) : set.Remove(ctx.argv[i]);
		return changed > 0;
	};
	if (!EditNamed<rtypes::Set>(ctx, ctx.argv[1], Type::Set, NamedArgs(ctx, 2, 1), change, &emptied))
		return;
	if (changed > 0)
		NotifyEdit(ctx, pubsub::kNotifySet, add ? "sadd" : "srem", ctx.argv[1], emptied);
	ctx.out.Integer(changed);
}

void
SMembersCommand(CommandContext &ctx)
{
	rtypes::Set set;
	if (ReadSet(ctx, ctx.argv[1], &set))
		ReplyMembers(ctx, set.Ordered());
}

void
SIsMemberCommand(CommandContext &ctx)
{
	rtypes::Set set;
	bool found = false;
	uint64_t size = 0;
	if (!ReadNamed(ctx, ctx.argv[1], Type::Set, NamedArgs(ctx, 2, 1), &set, &found, &size))
		return;
	if (ctx.spec.name[1] == 'i')
		return ctx.out.Integer(set.Find(ctx.argv[2]) < set.members.size() ? 1 : 0);
	ctx.out.Array(ctx.argv.size() - 2);
	for (size_t i = 2; i < ctx.argv.size(); i++)
		ctx.out.Integer(set.Find(ctx.argv[i]) < set.members.size() ? 1 : 0);
}

void
SCardCommand(CommandContext &ctx)
{
	rtypes::Set set;
	bool found = false;
	uint64_t size = 0;
	if (ReadNamed(ctx, ctx.argv[1], Type::Set, {}, &set, &found, &size))
		ctx.out.Integer(static_cast<int64_t>(size));
}

// SPOP key [count].
void
SPopCommand(CommandContext &ctx)
{
	bool with_count = false;
	int64_t count = 1;
	if (!ParseOptionalCount(ctx, true, false, &with_count, &count))
		return;
	std::vector<std::string> popped;
	bool emptied = false;
	auto change = [&](rtypes::Set &set, bool) {
		popped.clear();
		if (static_cast<uint64_t>(count) >= set.members.size()) {
			popped = set.Ordered(); // the whole set, in Redis's order
			set.members.clear();
			return !popped.empty();
		}
		std::shuffle(set.members.begin(), set.members.end(), RandomGenerator());
		while (!set.members.empty() && static_cast<int64_t>(popped.size()) < count) {
			popped.push_back(std::move(set.members.back()));
			set.members.pop_back();
		}
		return !popped.empty();
	};
	if (!EditContainer<rtypes::Set>(ctx, ctx.argv[1], Type::Set, change, &emptied))
		return;
	if (!popped.empty())
		NotifyEdit(ctx, pubsub::kNotifySet, "spop", ctx.argv[1], emptied);
	if (!with_count)
		return popped.empty() ? ctx.out.Null() : ctx.out.Bulk(popped[0]);
	ReplyMembers(ctx, popped);
}

// SRANDMEMBER key [count]: a negative count may repeat members.
void
SRandMemberCommand(CommandContext &ctx)
{
	bool with_count = false;
	int64_t count = 1;
	if (!ParseOptionalCount(ctx, false, false, &with_count, &count))
		return;
	if (count == INT64_MIN) // Redis takes -LONG_MAX..LONG_MAX (its negation must fit)
		return ctx.out.Error(
		    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
	rtypes::Set set;
	if (!ReadSet(ctx, ctx.argv[1], &set))
		return;
	size_t size = set.members.size();
	if (!with_count)
		return size == 0 ? ctx.out.Null() : ctx.out.Bulk(set.members[RandomGenerator()() % size]);
	std::vector<std::string> picks;
	if (count >= 0 && static_cast<uint64_t>(count) >= size)
		picks = set.Ordered();
	else if (count < 0) {
		for (int64_t i = 0; size > 0 && i < -count; i++)
			picks.push_back(set.members[RandomGenerator()() % size]);
	} else {
		std::shuffle(set.members.begin(), set.members.end(), RandomGenerator());
		picks.assign(set.members.begin(), set.members.begin() + count);
	}
	ctx.out.Array(picks.size());
	for (const std::string &member : picks)
		ctx.out.Bulk(member);
}

// The SINTER / SUNION / SDIFF of the sets named by argv[first..] (missing keys are empty sets).
bool
Combine(CommandContext &ctx, size_t first, char op, rtypes::Set *result)
{
	std::vector<rtypes::Set> sets(ctx.argv.size() - first);
	for (size_t i = first; i < ctx.argv.size(); i++) {
		if (!ReadSet(ctx, ctx.argv[i], &sets[i - first]))
			return false;
	}
	*result = std::move(sets[0]);
	for (size_t i = 1; i < sets.size(); i++) {
		const rtypes::Set &other = sets[i];
		if (op == 'u') {
			for (const std::string &member : other.members)
				result->Add(member);
			continue;
		}
		bool keep_present = op == 'i';
		std::vector<std::string> kept;
		for (std::string &member : result->members) {
			if ((other.Find(member) < other.members.size()) == keep_present)
				kept.push_back(std::move(member));
		}
		result->members = std::move(kept);
	}
	return true;
}

// SINTER / SUNION / SDIFF key [key ...].
void
SCombineCommand(CommandContext &ctx)
{
	rtypes::Set result;
	if (Combine(ctx, 1, ctx.spec.name[1], &result))
		ReplyMembers(ctx, result.Ordered());
}

// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...].
void
SCombineStoreCommand(CommandContext &ctx)
{
	rtypes::Set result;
	if (!Combine(ctx, 2, ctx.spec.name[1], &result))
		return;
	// An empty result deletes the destination: "del" if it existed (Redis's dbDelete).
	TypedValue existing;
	if (result.members.empty()) {
		kv::Status status = ctx.engine.GetTyped(ctx.session, ctx.argv[1], &existing);
		if (!status.ok())
			return ReplyStatus(ctx, status);
	}
	if (!StoreContainer(ctx, ctx.argv[1], Type::Set, result))
		return;
	if (!result.members.empty())
		Notify(ctx, pubsub::kNotifySet, ctx.spec.name, ctx.argv[1]); // sinterstore, sunionstore, sdiffstore
	else if (existing.found)
		Notify(ctx, pubsub::kNotifyGeneric, "del", ctx.argv[1]);
	ctx.out.Integer(static_cast<int64_t>(result.members.size()));
}

// SMOVE source destination member, as Redis 7.0's smoveCommand: a missing source answers 0 (before any
// type check), then both types are checked, a source equal to the destination answers whether the
// member is there; otherwise the member leaves the source ("srem", "del" when it was the last) and
// joins the destination ("sadd" when new there), in the command's one transaction.
void
SMoveCommand(CommandContext &ctx)
{
	const std::string &src = ctx.argv[1], &dst = ctx.argv[2], &member = ctx.argv[3];
	TypedValue source, destination;
	kv::Status status = ctx.engine.GetTyped(ctx.session, src, &source);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	if (!source.found)
		return ctx.out.Integer(0);
	if (source.type != Type::Set)
		return ReplyWrongTypeError(ctx);
	if (!ReadTypedKey(ctx, dst, Type::Set, &destination))
		return;
	std::vector<std::string_view> names{member};
	if (src == dst) {
		rtypes::Set set;
		bool found = false;
		uint64_t size = 0;
		if (ReadNamed(ctx, src, Type::Set, names, &set, &found, &size))
			ctx.out.Integer(set.Find(member) < set.members.size() ? 1 : 0);
		return;
	}
	bool removed = false, emptied = false, added = false;
	auto remove = [&](rtypes::Set &set, bool) { return removed = set.Remove(member); };
	if (!EditNamed<rtypes::Set>(ctx, src, Type::Set, names, remove, &emptied))
		return;
	if (!removed)
		return ctx.out.Integer(0);
	NotifyEdit(ctx, pubsub::kNotifySet, "srem", src, emptied);
	auto add = [&](rtypes::Set &set, bool) { return added = set.Add(member); };
	if (!EditNamed<rtypes::Set>(ctx, dst, Type::Set, names, add))
		return;
	if (added)
		Notify(ctx, pubsub::kNotifySet, "sadd", dst);
	ctx.out.Integer(1);
}

// SINTERCARD numkeys key [key ...] [LIMIT limit], with Redis 7.0's checks in its order (numkeys, the
// options, then every key's type; a missing key is an empty set).  LIMIT 0: no limit.
void
SInterCardCommand(CommandContext &ctx)
{
	int64_t numkeys = 0;
	if (!ParseInt64(ctx.argv[1], &numkeys) || numkeys < 1)
		return ctx.out.Error("ERR numkeys should be greater than 0");
	if (numkeys > static_cast<int64_t>(ctx.argv.size()) - 2)
		return ctx.out.Error("ERR Number of keys can't be greater than number of args");
	int64_t limit = 0;
	for (size_t i = 2 + static_cast<size_t>(numkeys); i < ctx.argv.size(); i++) {
		if (!EqualsIgnoreCase(ctx.argv[i], "limit") || i + 1 >= ctx.argv.size())
			return ReplySyntaxError(ctx);
		if (!ParseInt64(ctx.argv[++i], &limit) || limit < 0)
			return ctx.out.Error("ERR LIMIT can't be negative");
	}
	std::vector<rtypes::Set> sets(static_cast<size_t>(numkeys));
	for (size_t j = 0; j < sets.size(); j++)
		if (!ReadSet(ctx, ctx.argv[2 + j], &sets[j]))
			return;
	// The smallest set's members, looked up in the others; stop at the limit.
	std::sort(sets.begin(), sets.end(),
	          [](const rtypes::Set &a, const rtypes::Set &b) { return a.members.size() < b.members.size(); });
	int64_t card = 0;
	for (const std::string &member : sets[0].members) {
		bool everywhere = true;
		for (size_t j = 1; j < sets.size() && everywhere; j++)
			everywhere = sets[j].Find(member) < sets[j].members.size();
		if (everywhere && ++card == limit)
			break;
	}
	ctx.out.Integer(card);
}

// SSCAN key cursor [MATCH pattern] [COUNT count], in Redis 7.0's order of checks (cursor, key,
// options).  An inline set answers every member at once with cursor 0 (as Redis does for an intset or
// listpack); a spilled one pages through its member rows (ReplySpilledScan).
void
SScanCommand(CommandContext &ctx)
{
	uint64_t cursor = 0;
	if (!ParseCursor(ctx, ctx.argv[2], &cursor))
		return;
	rtypes::Set set;
	Spill spill;
	bool found = false, spilled = false;
	if (!ReadContainerOrSpill(ctx, ctx.argv[1], Type::Set, &set, &found, &spill, &spilled))
		return;
	if (!found)
		return ReplyEmptyScan(ctx);
	std::string pattern;
	bool has_pattern = false;
	int64_t count = 10;
	if (!ParseScanOptions(ctx, 3, &pattern, &has_pattern, nullptr, &count))
		return;
	if (spilled)
		return ReplySpilledScan(ctx, spill, cursor, count, pattern, has_pattern, ScanValue());
	std::vector<std::string> matching;
	for (std::string &member : set.Ordered()) {
		if (!has_pattern || GlobMatch(pattern, member))
			matching.push_back(std::move(member));
	}
	ctx.out.Array(2);
	ctx.out.Bulk("0");
	ctx.out.Array(matching.size());
	for (const std::string &member : matching)
		ctx.out.Bulk(member);
}

} // namespace

void
RegisterTypedSetCommands(CommandTable *table)
{
	AddKeyspaceCommand(table, {"sadd", -3, kWrite | kFast, SAddCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"srem", -3, kWrite | kFast, SAddCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"smembers", 2, kReadonly, SMembersCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"sismember", 3, kReadonly | kFast, SIsMemberCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"smismember", -3, kReadonly | kFast, SIsMemberCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"scard", 2, kReadonly | kFast, SCardCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"spop", -2, kWrite | kFast, SPopCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"srandmember", -2, kReadonly, SRandMemberCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"sinter", -2, kReadonly, SCombineCommand, 1, -1, 1});
	AddKeyspaceCommand(table, {"sintercard", -3, kReadonly, SInterCardCommand, 0, 0, 0});
	AddKeyspaceCommand(table, {"smove", 4, kWrite | kFast, SMoveCommand, 1, 2, 1});
	AddKeyspaceCommand(table, {"sunion", -2, kReadonly, SCombineCommand, 1, -1, 1});
	AddKeyspaceCommand(table, {"sdiff", -2, kReadonly, SCombineCommand, 1, -1, 1});
	AddKeyspaceCommand(table, {"sinterstore", -3, kWrite, SCombineStoreCommand, 1, -1, 1});
	AddKeyspaceCommand(table, {"sunionstore", -3, kWrite, SCombineStoreCommand, 1, -1, 1});
	AddKeyspaceCommand(table, {"sdiffstore", -3, kWrite, SCombineStoreCommand, 1, -1, 1});
	AddKeyspaceCommand(table, {"sscan", -3, kReadonly, SScanCommand, 1, 1, 1});
}

} // namespace nodedb_kv::resp
