// Spilled containers in the command layer (resp_spill.hpp): member rows of kv_members read and written
// through the Engine.  Pure C++.
#include "nodedb_kv/resp/resp_spill.hpp"

#include "nodedb_kv/resp/resp_rtypes.hpp"
#include "nodedb_kv/rtypes/rtypes_zcache.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace nodedb_kv::resp {
namespace {

constexpr size_t kScanBatch = 1000;

bool
Check(CommandContext &ctx, const kv::Status &status)
{
	if (status.ok())
		return true;
	ReplyStatus(ctx, status);
	return false;
}

// Calls fn(member key, value) for every member row of spill, in key order.
template <typename Fn>
bool
ForEachMember(CommandContext &ctx, const std::string &prefix, Fn fn)
{
	std::string from = prefix, end = rtypes::PrefixEnd(prefix);
	std::vector<std::pair<std::string, std::string>> rows;
	for (;;) {
		bool done = true;
		if (!Check(ctx, ctx.engine.MemberScan(ctx.session, from, end, kScanBatch, &rows, &done)))
			return false;
		for (auto &row : rows)
			fn(row.first, row.second);
		if (done || rows.empty())
			return true;
		from = rows.back().first;
		from.push_back('\0'); // the next key after the last one
	}
}

} // namespace

bool
SpillPrefix(CommandContext &ctx, std::string_view key, Spill *spill)
{
	std::string keyspace;
	if (!Check(ctx, ctx.engine.KeyspaceName(ctx.session, &keyspace)))
		return false;
	spill->prefix = rtypes::MemberPrefix(keyspace, key, spill->header.gen);
	return true;
}

bool
GetMember(CommandContext &ctx, const std::string &mkey, std::string *value, bool *found)
{
	return Check(ctx, ctx.engine.MemberGet(ctx.session, mkey, value, found));
}

bool
PutMember(CommandContext &ctx, const std::string &mkey, std::string_view value, bool *existed)
{
	return Check(ctx, ctx.engine.MemberPut(ctx.session, mkey, value, existed));
}

bool
DeleteMember(CommandContext &ctx, const std::string &mkey, bool *deleted)
{
	return Check(ctx, ctx.engine.MemberDelete(ctx.session, mkey, deleted));
}

// Hash members come in field order (Redis's hashtable order is unspecified too).
bool
LoadSpilled(CommandContext &ctx, const Spill &spill, rtypes::Hash *hash)
{
	hash->entries.clear();
	size_t len = spill.prefix.size();
	return ForEachMember(ctx, spill.prefix, [&](const std::string &mkey, std::string &value) {
		std::string_view field;
		if (rtypes::MemberOf(mkey, len, &field))
			hash->entries.emplace_back(std::string(field), std::move(value));
	});
}

bool
LoadSpilled(CommandContext &ctx, const Spill &spill, rtypes::List *list)
{
	list->items.clear();
	size_t len = spill.prefix.size();
	return ForEachMember(ctx, spill.prefix, [&](const std::string &mkey, std::string &value) {
		int64_t position = 0;
		if (rtypes::PositionOf(mkey, len, &position) && position >= spill.header.head && position < spill.header.tail)
			list->items.push_back(std::move(value));
	});
}

bool
LoadSpilled(CommandContext &ctx, const Spill &spill, rtypes::Set *set)
{
	set->members.clear();
	size_t len = spill.prefix.size();
	return ForEachMember(ctx, spill.prefix, [&](const std::string &mkey, std::string &) {
		std::string_view member;
		if (rtypes::MemberOf(mkey, len, &member))
			set->members.emplace_back(member);
	});
}

bool
ScanSpilledPage(CommandContext &ctx, const Spill &spill, bool from_start, std::string_view after, size_t count,
                std::vector<std::pair<std::string, std::string>> *page, bool *done)
{
	page->clear();
	*done = true;
	std::string from = rtypes::MemberKey(spill.prefix, from_start ? std::string_view() : after);
	if (!from_start)
		from.push_back('\0'); // the next key after the last member returned
	std::string end = spill.prefix;
	end.push_back('\1'); // (list positions follow the members)
	size_t len = spill.prefix.size();
	std::vector<std::pair<std::string, std::string>> rows;
	while (page->size() < count) {
		size_t want = std::min(count - page->size(), kScanBatch);
		if (!Check(ctx, ctx.engine.MemberScan(ctx.session, from, end, want, &rows, done)))
			return false;
		for (auto &row : rows) {
			std::string_view member;
			if (rtypes::MemberOf(row.first, len, &member))
				page->emplace_back(std::string(member), std::move(row.second));
		}
		if (*done || rows.empty()) {
			*done = true;
			return true;
		}
		from = std::move(rows.back().first);
		from.push_back('\0');
	}
	return true;
}

bool
LoadListRange(CommandContext &ctx, const Spill &spill, int64_t first, int64_t last, std::vector<std::string> *out)
{
	out->clear();
	std::string from = rtypes::ListKey(spill.prefix, spill.header.head + first);
	std::string end = rtypes::ListKey(spill.prefix, spill.header.head + last + 1);
	std::vector<std::pair<std::string, std::string>> rows;
	for (;;) {
		bool done = true;
		if (!Check(ctx, ctx.engine.MemberScan(ctx.session, from, end, kScanBatch, &rows, &done)))
			return false;
		for (auto &row : rows)
			out->push_back(std::move(row.second));
		if (done || rows.empty())
			return true;
		from = rows.back().first;
		from.push_back('\0');
	}
}

// Calls fn(name, value) for each distinct name of names that has a member row in spill.
template <typename Fn>
bool
ForEachNamed(CommandContext &ctx, const Spill &spill, const std::vector<std::string_view> &names, Fn fn)
{
	std::unordered_set<std::string_view> seen;
	std::string value;
	for (std::string_view name : names) {
		bool found = false;
		if (!seen.insert(name).second)
			continue;
		if (!GetMember(ctx, rtypes::MemberKey(spill.prefix, name), &value, &found))
			return false;
		if (found)
			fn(name, value);
	}
	return true;
}

bool
LoadNamed(CommandContext &ctx, const Spill &spill, const std::vector<std::string_view> &names, rtypes::Hash *hash)
{
	hash->entries.clear();
	return ForEachNamed(ctx, spill, names, [&](std::string_view name, const std::string &value) {
		hash->entries.emplace_back(name, value);
	});
}

bool
LoadNamed(CommandContext &ctx, const Spill &spill, const std::vector<std::string_view> &names, rtypes::Set *set)
{
	set->members.clear();
	return ForEachNamed(ctx, spill, names,
	                    [&](std::string_view name, const std::string &) { set->members.emplace_back(name); });
}

bool
WriteSpilled(CommandContext &ctx, const Spill &spill, const rtypes::Hash &hash)
{
	bool existed = false;
	for (const auto &entry : hash.entries)
		if (!PutMember(ctx, rtypes::MemberKey(spill.prefix, entry.first), entry.second, &existed))
			return false;
	return true;
}

bool
WriteSpilled(CommandContext &ctx, const Spill &spill, const rtypes::List &list)
{
	bool existed = false;
	int64_t position = spill.header.head;
	for (const std::string &item : list.items)
		if (!PutMember(ctx, rtypes::ListKey(spill.prefix, position++), item, &existed))
			return false;
	return true;
}

bool
WriteSpilled(CommandContext &ctx, const Spill &spill, const rtypes::Set &set)
{
	bool existed = false;
	for (const std::string &member : set.members)
		if (!PutMember(ctx, rtypes::MemberKey(spill.prefix, member), "", &existed))
			return false;
	return true;
}

bool
StoreSpilledDiff(CommandContext &ctx, Spill *spill, const rtypes::Hash &before, const rtypes::Hash &after)
{
	std::unordered_map<std::string_view, std::string_view> old;
	for (const auto &entry : before.entries)
		old.emplace(entry.first, entry.second);
	bool flag = false;
	for (const auto &entry : after.entries) {
		auto it = old.find(entry.first);
		if (it != old.end()) {
			bool same = it->second == entry.second;
			old.erase(it);
			if (same)
				continue;
		}
		if (!PutMember(ctx, rtypes::MemberKey(spill->prefix, entry.first), entry.second, &flag))
			return false;
	}
	for (const auto &gone : old)
		if (!DeleteMember(ctx, rtypes::MemberKey(spill->prefix, gone.first), &flag))
			return false;
	spill->header.count = after.entries.size();
	return true;
}

bool
StoreSpilledDiff(CommandContext &ctx, Spill *spill, const rtypes::List &before, const rtypes::List &after)
{
	bool flag = false;
	int64_t head = spill->header.head;
	for (size_t i = 0; i < after.items.size(); i++) {
		if (i < before.items.size() && before.items[i] == after.items[i])
			continue;
		if (!PutMember(ctx, rtypes::ListKey(spill->prefix, head + static_cast<int64_t>(i)), after.items[i], &flag))
			return false;
	}
	for (size_t i = after.items.size(); i < before.items.size(); i++)
		if (!DeleteMember(ctx, rtypes::ListKey(spill->prefix, head + static_cast<int64_t>(i)), &flag))
			return false;
	spill->header.count = after.items.size();
	spill->header.tail = head + static_cast<int64_t>(after.items.size());
	return true;
}

bool
StoreSpilledDiff(CommandContext &ctx, Spill *spill, const rtypes::Set &before, const rtypes::Set &after)
{
	std::unordered_set<std::string_view> old(before.members.begin(), before.members.end());
	bool flag = false;
	for (const std::string &member : after.members) {
		if (old.erase(member) > 0)
			continue;
		if (!PutMember(ctx, rtypes::MemberKey(spill->prefix, member), "", &flag))
			return false;
	}
	for (std::string_view gone : old)
		if (!DeleteMember(ctx, rtypes::MemberKey(spill->prefix, gone), &flag))
			return false;
	spill->header.count = after.members.size();
	return true;
}

bool
CopySpilled(CommandContext &ctx, const Spill &from, const Spill &to)
{
	bool ok = true, existed = false;
	size_t len = from.prefix.size();
	bool scanned = ForEachMember(ctx, from.prefix, [&](const std::string &mkey, std::string &value) {
		if (ok)
			ok = PutMember(ctx, to.prefix + mkey.substr(len), value, &existed);
	});
	return scanned && ok;
}

bool
WriteSpillHeader(CommandContext &ctx, std::string_view key, rtypes::Type type, const Spill &spill)
{
	std::string header = rtypes::EncodeSpillHeader(spill.header);
	TypedEdit edit = [&](const TypedValue &current, TypedWrite *write) {
		if (!current.found || current.type != type)
			return; // (the row is locked by this transaction: not reached)
		if (spill.header.count == 0) {
			write->action = kv::TypedAction::Delete;
			return;
		}
		write->action = kv::TypedAction::Write;
		write->type = type;
		write->value = header;
	};
	bool applied = false;
	kv::Status status = ctx.engine.ModifyTyped(ctx.session, key, edit, &applied);
	return Check(ctx, status);
}

} // namespace nodedb_kv::resp

namespace nodedb_kv::resp {
namespace {

// The rows of a spilled sorted set in kv_members: member rows prefix 0x00 member (the score) and
// node rows prefix 0x01 id (rtypes_ztree.hpp).
class ZsetRows final : public rtypes::ZtreeRows {
public:
	ZsetRows(CommandContext &ctx, std::string prefix) : ctx_(ctx), prefix_(std::move(prefix))
	{
	}

	bool
	GetNode(uint64_t id, std::string *bytes, bool *found) override
	{
		return GetMember(ctx_, NodeKey(id), bytes, found);
	}
	bool
	PutNode(uint64_t id, std::string_view bytes) override
	{
		bool existed = false;
		return PutMember(ctx_, NodeKey(id), bytes, &existed);
	}
	bool
	DeleteNode(uint64_t id) override
	{
		bool deleted = false;
		return DeleteMember(ctx_, NodeKey(id), &deleted);
	}
	bool
	GetScore(std::string_view member, double *score, bool *found) override
	{
		std::string value;
		if (!GetMember(ctx_, rtypes::MemberKey(prefix_, member), &value, found))
			return false;
		if (*found && !rtypes::DecodeScoreItem(value, score)) {
			Corrupt();
			return false;
		}
		return true;
	}
	bool
	PutScore(std::string_view member, double score) override
	{
		bool existed = false;
		return PutMember(ctx_, rtypes::MemberKey(prefix_, member), rtypes::EncodeScoreItem(score), &existed);
	}
	bool
	DeleteScore(std::string_view member) override
	{
		bool deleted = false;
		return DeleteMember(ctx_, rtypes::MemberKey(prefix_, member), &deleted);
	}
	void
	Corrupt() override
	{
		ReplyCorrupt(ctx_);
	}
	void
	Stale() override
	{
		// Our snapshot predates the last committed change of the set whose header we locked: run the
		// command again, in a new transaction (as when a lock is busy).
		ReplyStatus(ctx_, ctx_.engine.Retry("a sorted set changed after the command's snapshot"));
	}

private:
	std::string
	NodeKey(uint64_t id) const
	{
		return rtypes::ListKey(prefix_, static_cast<int64_t>(id));
	}

	CommandContext &ctx_;
	std::string prefix_;
};

} // namespace

bool
LoadSpilled(CommandContext &ctx, const Spill &spill, rtypes::ZsetInline *zset)
{
	zset->entries.clear();
	size_t len = spill.prefix.size();
	bool corrupt = false;
	bool scanned = ForEachMember(ctx, spill.prefix, [&](const std::string &mkey, std::string &value) {
		std::string_view member;
		double score = 0;
		if (!rtypes::MemberOf(mkey, len, &member))
			return; // a node row
		if (!rtypes::DecodeScoreItem(value, &score))
			corrupt = true;
		zset->entries.push_back({std::string(member), score});
	});
	if (!scanned)
		return false;
	if (corrupt) {
		ReplyCorrupt(ctx);
		return false;
	}
	std::sort(zset->entries.begin(), zset->entries.end(), [](const rtypes::ZsetEntry &a, const rtypes::ZsetEntry &b) {
		return rtypes::ZsetLess(a.score, a.member, b.score, b.member);
	});
	return true;
}

rtypes::SpillHeader
NewSpillHeader(uint64_t size, const rtypes::ZsetInline &zset)
{
	std::vector<std::pair<uint64_t, std::string>> nodes;
	uint64_t root = 0, next = 0;
	rtypes::BuildZtree(zset.entries, &nodes, &root, &next);
	return {rtypes::NewGeneration(), size, static_cast<int64_t>(root), static_cast<int64_t>(next)};
}

bool
WriteSpilled(CommandContext &ctx, const Spill &spill, const rtypes::ZsetInline &zset)
{
	bool existed = false;
	for (const rtypes::ZsetEntry &entry : zset.entries)
		if (!PutMember(ctx, rtypes::MemberKey(spill.prefix, entry.member), rtypes::EncodeScoreItem(entry.score),
		               &existed))
			return false;
	std::vector<std::pair<uint64_t, std::string>> nodes;
	uint64_t root = 0, next = 0;
	rtypes::BuildZtree(zset.entries, &nodes, &root, &next);
	for (const auto &[id, bytes] : nodes)
		if (!PutMember(ctx, rtypes::ListKey(spill.prefix, static_cast<int64_t>(id)), bytes, &existed))
			return false;
	return true;
}

std::unique_ptr<rtypes::ZsetSpilled>
OpenSpilledZset(CommandContext &ctx, const Spill &spill, bool write)
{
	auto rows = std::make_unique<ZsetRows>(ctx, spill.prefix);
	auto zset =
	    std::make_unique<rtypes::ZsetSpilled>(rows.get(), spill.header.count, static_cast<uint64_t>(spill.header.head),
	                                          static_cast<uint64_t>(spill.header.tail));
	zset->Own(std::move(rows));
	if (rtypes::ZtreeCache *cache = ctx.engine.NodeCache())
		zset->UseCache(cache, spill.prefix, write);
	return zset;
}

} // namespace nodedb_kv::resp
