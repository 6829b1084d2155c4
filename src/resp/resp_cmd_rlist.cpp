// Lists in a kv_db<n> keyspace: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP (count) LLEN LRANGE LINDEX LSET
// LREM LTRIM LINSERT LPOS LMOVE RPOPLPUSH, with Redis 7.0's replies.  The list is the key's value in
// the rtypes encoding, head first, or past 128 elements / 8 kB member rows at consecutive positions
// (resp_spill.hpp: LPUSH RPUSH LPOP RPOP LMOVE RPOPLPUSH LINDEX LSET LLEN are then O(1) in member rows,
// LRANGE one range); a write is one read-modify-write of the key, which keeps its expiry and goes with its last
// element.  PopList and MoveElement also serve the blocking pops (resp_cmd_rblock.cpp).
// Named collections: -ERR (no lists there).
#include "nodedb_kv/resp/resp_rtypes.hpp"

namespace nodedb_kv::resp {
namespace {

using rtypes::Type;

bool
ReadList(CommandContext &ctx, rtypes::List *list, bool *found)
{
	return ReadContainer(ctx, ctx.argv[1], Type::List, list, found);
}

// Redis's index rule: negative counts from the tail; false when out of range.
bool
Normalize(int64_t index, size_t size, size_t *at)
{
	if (index < 0)
		index += static_cast<int64_t>(size);
	if (index < 0 || static_cast<uint64_t>(index) >= size)
		return false;
	*at = static_cast<size_t>(index);
	return true;
}

// LPUSH / RPUSH / LPUSHX / RPUSHX key element [element ...]: the new length (0: X on a missing key).
void
PushCommand(CommandContext &ctx)
{
	bool left = ctx.spec.name[0] == 'l';
	bool only_existing = ctx.spec.name[5] == 'x';
	int64_t length = 0;
	auto change = [&](rtypes::List &list, bool found) {
		length = 0;
		if (only_existing && !found)
			return false;
		for (size_t i = 2; i < ctx.argv.size(); i++) {
			if (left)
				list.items.push_front(ctx.argv[i]);
			else
				list.items.push_back(ctx.argv[i]);
		}
		length = static_cast<int64_t>(list.items.size());
		return true;
	};
	// Spilled: each element one member row at the head - 1 or the tail (O(1) each).
	auto spilled_change = [&](Spill &spill) {
		bool existed = false;
		for (size_t i = 2; i < ctx.argv.size(); i++) {
			int64_t position = left ? --spill.header.head : spill.header.tail++;
			if (!PutMember(ctx, rtypes::ListKey(spill.prefix, position), ctx.argv[i], &existed))
				return false;
			spill.header.count++;
		}
		length = static_cast<int64_t>(spill.header.count);
		return true;
	};
	if (!EditContainerOr<rtypes::List>(ctx, ctx.argv[1], Type::List, change, spilled_change))
		return;
	if (length > 0)
		Notify(ctx, pubsub::kNotifyList, left ? "lpush" : "rpush", ctx.argv[1]);
	ctx.out.Integer(length);
}

} // namespace

bool
PopList(CommandContext &ctx, const std::string &key, bool left, int64_t count, std::vector<std::string> *out,
        bool *existed)
{
	std::vector<std::string> &popped = *out;
	bool emptied = false;
	*existed = false;
	auto change = [&](rtypes::List &list, bool found) {
		popped.clear();
		*existed = found;
		while (!list.items.empty() && static_cast<int64_t>(popped.size()) < count) {
			if (left) {
				popped.push_back(std::move(list.items.front()));
				list.items.pop_front();
			} else {
				popped.push_back(std::move(list.items.back()));
				list.items.pop_back();
			}
		}
		return !popped.empty();
	};
	// Spilled: the member rows at the head or the tail (O(1) each).
	auto spilled_change = [&](Spill &spill) {
		popped.clear();
		*existed = true;
		while (spill.header.count > 0 && static_cast<int64_t>(popped.size()) < count) {
			int64_t position = left ? spill.header.head : spill.header.tail - 1;
			std::string mkey = rtypes::ListKey(spill.prefix, position);
			std::string item;
			bool found = false, deleted = false;
			if (!GetMember(ctx, mkey, &item, &found) || !DeleteMember(ctx, mkey, &deleted))
				return false;
			popped.push_back(std::move(item));
			if (left)
				spill.header.head++;
			else
				spill.header.tail--;
			spill.header.count--;
		}
		return true;
	};
	if (!EditContainerOr<rtypes::List>(ctx, key, Type::List, change, spilled_change, &emptied))
		return false;
	if (!popped.empty())
		NotifyEdit(ctx, pubsub::kNotifyList, left ? "lpop" : "rpop", key, emptied);
	return true;
}

namespace {

// LPOP / RPOP key [count].
void
PopCommand(CommandContext &ctx)
{
	bool left = ctx.spec.name[0] == 'l';
	bool with_count = false;
	int64_t count = 1;
	if (!ParseOptionalCount(ctx, true, true, &with_count, &count))
		return;
	std::vector<std::string> popped;
	bool existed = false;
	if (!PopList(ctx, ctx.argv[1], left, count, &popped, &existed))
		return;
	if (!with_count)
		return popped.empty() ? ctx.out.Null() : ctx.out.Bulk(popped[0]);
	if (!existed)
		return ctx.out.NullArray();
	ctx.out.Array(popped.size());
	for (const std::string &item : popped)
		ctx.out.Bulk(item);
}

void
LLenCommand(CommandContext &ctx)
{
	rtypes::List list;
	bool found = false, spilled = false;
	Spill spill;
	if (ReadContainerOrSpill(ctx, ctx.argv[1], Type::List, &list, &found, &spill, &spilled))
		ctx.out.Integer(static_cast<int64_t>(spilled ? spill.header.count : list.items.size()));
}

void
LRangeCommand(CommandContext &ctx)
{
	int64_t start = 0, stop = 0;
	if (!ParseCount(ctx, ctx.argv[2], &start) || !ParseCount(ctx, ctx.argv[3], &stop))
		return;
	rtypes::List list;
	bool found = false, spilled = false;
	Spill spill;
	if (!ReadContainerOrSpill(ctx, ctx.argv[1], Type::List, &list, &found, &spill, &spilled))
		return;
	int64_t size = static_cast<int64_t>(spilled ? spill.header.count : list.items.size());
	if (start < 0)
		start = std::max<int64_t>(start + size, 0);
	if (stop < 0)
		stop += size;
	if (stop >= size)
		stop = size - 1;
	if (start > stop || start >= size)
		return ctx.out.Array(0);
	if (spilled) { // one range of member rows
		std::vector<std::string> items;
		if (!LoadListRange(ctx, spill, start, stop, &items))
			return;
		ctx.out.Array(items.size());
		for (const std::string &item : items)
			ctx.out.Bulk(item);
		return;
	}
	ctx.out.Array(static_cast<size_t>(stop - start + 1));
	for (int64_t i = start; i <= stop; i++)
		ctx.out.Bulk(list.items[static_cast<size_t>(i)]);
}

void
LIndexCommand(CommandContext &ctx)
{
	int64_t index = 0;
	if (!ParseCount(ctx, ctx.argv[2], &index))
		return;
	rtypes::List list;
	bool found = false, spilled = false;
	Spill spill;
	if (!ReadContainerOrSpill(ctx, ctx.argv[1], Type::List, &list, &found, &spill, &spilled))
		return;
	size_t at = 0;
	if (!Normalize(index, spilled ? spill.header.count : list.items.size(), &at))
		return ctx.out.Null();
	if (!spilled)
		return ctx.out.Bulk(list.items[at]);
	std::string item; // one member row: position head + index
	if (!GetMember(ctx, rtypes::ListKey(spill.prefix, spill.header.head + static_cast<int64_t>(at)), &item, &found))
		return;
	ctx.out.Bulk(item);
}

void
LSetCommand(CommandContext &ctx)
{
	int64_t index = 0;
	if (!ParseCount(ctx, ctx.argv[2], &index))
		return;
	const char *refusal = nullptr;
	auto change = [&](rtypes::List &list, bool found) {
		size_t at = 0;
		refusal = !found                                      ? "ERR no such key"
		          : !Normalize(index, list.items.size(), &at) ? "ERR index out of range"
		                                                      : nullptr;
		if (refusal != nullptr)
			return false;
		list.items[at] = ctx.argv[3];
		return true;
	};
	auto spilled_change = [&](Spill &spill) { // one member row
		size_t at = 0;
		refusal = Normalize(index, spill.header.count, &at) ? nullptr : "ERR index out of range";
		bool existed = false;
		return refusal != nullptr ||
		       PutMember(ctx, rtypes::ListKey(spill.prefix, spill.header.head + static_cast<int64_t>(at)), ctx.argv[3],
		                 &existed);
	};
	if (!EditContainerOr<rtypes::List>(ctx, ctx.argv[1], Type::List, change, spilled_change))
		return;
	if (refusal != nullptr)
		return ctx.out.Error(refusal);
	Notify(ctx, pubsub::kNotifyList, "lset", ctx.argv[1]);
	ctx.out.Simple("OK");
}

// LREM key count element: count > 0 from the head, < 0 from the tail, 0 all.
void
LRemCommand(CommandContext &ctx)
{
	int64_t count = 0;
	if (!ParseCount(ctx, ctx.argv[2], &count))
		return;
	int64_t removed = 0;
	bool emptied = false;
	auto change = [&](rtypes::List &list, bool) {
		removed = 0;
		int64_t limit = count == 0 ? INT64_MAX : (count < 0 ? -count : count);
		std::deque<std::string> kept;
		if (count >= 0) {
			for (std::string &item : list.items) {
				if (removed < limit && item == ctx.argv[3])
					removed++;
				else
					kept.push_back(std::move(item));
			}
		} else {
			for (auto it = list.items.rbegin(); it != list.items.rend(); ++it) {
				if (removed < limit && *it == ctx.argv[3])
					removed++;
				else
					kept.push_front(std::move(*it));
			}
		}
		list.items = std::move(kept);
		return removed > 0;
	};
	if (!EditContainer<rtypes::List>(ctx, ctx.argv[1], Type::List, change, &emptied))
		return;
	if (removed > 0)
		NotifyEdit(ctx, pubsub::kNotifyList, "lrem", ctx.argv[1], emptied);
	ctx.out.Integer(removed);
}

void
LTrimCommand(CommandContext &ctx)
{
	int64_t start = 0, stop = 0;
	if (!ParseCount(ctx, ctx.argv[2], &start) || !ParseCount(ctx, ctx.argv[3], &stop))
		return;
	bool existed = false, emptied = false;
	auto change = [&](rtypes::List &list, bool found) {
		existed = found;
		if (!found)
			return false;
		int64_t size = static_cast<int64_t>(list.items.size());
		int64_t from = start < 0 ? std::max<int64_t>(start + size, 0) : start;
		int64_t to = stop < 0 ? stop + size : stop;
		if (to >= size)
			to = size - 1;
		if (from > to || from >= size) {
			list.items.clear();
			return true;
		}
		list.items.erase(list.items.begin() + (to + 1), list.items.end());
		list.items.erase(list.items.begin(), list.items.begin() + from);
		return true;
	};
	if (!EditContainer<rtypes::List>(ctx, ctx.argv[1], Type::List, change, &emptied))
		return;
	if (existed) // Redis reports "ltrim" even when nothing was trimmed
		NotifyEdit(ctx, pubsub::kNotifyList, "ltrim", ctx.argv[1], emptied);
	ctx.out.Simple("OK");
}

// LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot, 0 without the key.
void
LInsertCommand(CommandContext &ctx)
{
	bool after = EqualsIgnoreCase(ctx.argv[2], "after");
	if (!after && !EqualsIgnoreCase(ctx.argv[2], "before"))
		return ReplySyntaxError(ctx);
	int64_t result = 0;
	auto change = [&](rtypes::List &list, bool found) {
		result = 0;
		if (!found)
			return false;
		auto it = std::find(list.items.begin(), list.items.end(), ctx.argv[3]);
		if (it == list.items.end()) {
			result = -1;
			return false;
		}
		list.items.insert(after ? it + 1 : it, ctx.argv[4]);
		result = static_cast<int64_t>(list.items.size());
		return true;
	};
	if (!EditContainer<rtypes::List>(ctx, ctx.argv[1], Type::List, change))
		return;
	if (result > 0)
		Notify(ctx, pubsub::kNotifyList, "linsert", ctx.argv[1]);
	ctx.out.Integer(result);
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
void
LPosCommand(CommandContext &ctx)
{
	int64_t rank = 1, count = -1, maxlen = 0;
	for (size_t i = 3; i < ctx.argv.size(); i += 2) {
		if (i + 1 >= ctx.argv.size())
			return ReplySyntaxError(ctx);
		const std::string &opt = ctx.argv[i];
		int64_t value = 0;
		if (!ParseCount(ctx, ctx.argv[i + 1], &value))
			return;
		if (EqualsIgnoreCase(opt, "rank")) {
			if (value == 0)
				return ctx.out.Error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
				                     "second ... or use negative to start from the end of the list");
			if (value == INT64_MIN)
				return ctx.out.Error("ERR value is out of range");
			rank = value;
		} else if (EqualsIgnoreCase(opt, "count")) {
			if (value < 0)
				return ctx.out.Error("ERR COUNT can't be negative");
			count = value;
		} else if (EqualsIgnoreCase(opt, "maxlen")) {
			if (value < 0)
				return ctx.out.Error("ERR MAXLEN can't be negative");
			maxlen = value;
		} else
			return ReplySyntaxError(ctx);
	}
	rtypes::List list;
	bool found = false;
	if (!ReadList(ctx, &list, &found))
		return;
	std::vector<int64_t> matches;
	int64_t size = static_cast<int64_t>(list.items.size());
	int64_t skip = (rank < 0 ? -rank : rank) - 1;
	int64_t wanted = count < 0 ? 1 : (count == 0 ? INT64_MAX : count);
	for (int64_t n = 0; n < size && (maxlen == 0 || n < maxlen) && static_cast<int64_t>(matches.size()) < wanted; n++) {
		int64_t index = rank > 0 ? n : size - 1 - n;
		if (list.items[static_cast<size_t>(index)] != ctx.argv[2])
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		matches.push_back(index);
	}
	if (count < 0)
		return matches.empty() ? ctx.out.Null() : ctx.out.Integer(matches[0]);
	ctx.out.Array(matches.size());
	for (int64_t index : matches)
		ctx.out.Integer(index);
}

} // namespace

bool
MoveElement(CommandContext &ctx, const std::string &src, const std::string &dst, bool from_left, bool to_left,
            bool *moved_out, std::string *element_out)
{
	*moved_out = false;
	if (src != dst) {
		TypedValue target;
		if (!ReadTypedKey(ctx, dst, Type::List, &target))
			return false;
	}
	bool &moved = *moved_out;
	bool emptied = false;
	std::string &element = *element_out;
	auto pop = [&](rtypes::List &list, bool) {
		moved = !list.items.empty();
		if (!moved)
			return false;
		element = from_left ? list.items.front() : list.items.back();
		if (from_left)
			list.items.pop_front();
		else
			list.items.pop_back();
		if (src == dst) {
			if (to_left)
				list.items.push_front(element);
			else
				list.items.push_back(element);
		}
		return true;
	};
	// Spilled: the element's member row moves from one end to the other (or to dst), O(1).
	auto pushed_spilled = [&](Spill &spill) {
		bool existed = false;
		int64_t position = to_left ? --spill.header.head : spill.header.tail++;
		spill.header.count++;
		return PutMember(ctx, rtypes::ListKey(spill.prefix, position), element, &existed);
	};
	auto pop_spilled = [&](Spill &spill) {
		moved = spill.header.count > 0;
		if (!moved)
			return true;
		std::string mkey = rtypes::ListKey(spill.prefix, from_left ? spill.header.head : spill.header.tail - 1);
		bool found = false, deleted = false;
		if (!GetMember(ctx, mkey, &element, &found) || !DeleteMember(ctx, mkey, &deleted))
			return false;
		if (from_left)
			spill.header.head++;
		else
			spill.header.tail--;
		spill.header.count--;
		return src != dst || pushed_spilled(spill);
	};
	if (!EditContainerOr<rtypes::List>(ctx, src, Type::List, pop, pop_spilled, &emptied))
		return false;
	if (!moved)
		return true;
	if (src != dst) {
		auto push = [&](rtypes::List &list, bool) {
			if (to_left)
				list.items.push_front(element);
			else
				list.items.push_back(element);
			return true;
		};
		if (!EditContainerOr<rtypes::List>(ctx, dst, Type::List, push, pushed_spilled))
			return false;
	}
	// Redis's lmoveGenericCommand: the push on dst, then the pop on src (and its "del").
	Notify(ctx, pubsub::kNotifyList, to_left ? "lpush" : "rpush", dst);
	NotifyEdit(ctx, pubsub::kNotifyList, from_left ? "lpop" : "rpop", src, emptied);
	return true;
}

namespace {

// Moves one element from src's wherefrom end to dst's whereto end; replies the element (null: src
// empty).
void
Move(CommandContext &ctx, const std::string &src, const std::string &dst, bool from_left, bool to_left)
{
	bool moved = false;
	std::string element;
	if (!MoveElement(ctx, src, dst, from_left, to_left, &moved, &element))
		return;
	if (!moved)
		return ctx.out.Null();
	ctx.out.Bulk(element);
}

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT.
void
LMoveCommand(CommandContext &ctx)
{
	bool ends[2];
	for (int i = 0; i < 2; i++) {
		const std::string &end = ctx.argv[3 + i];
		if (!EqualsIgnoreCase(end, "left") && !EqualsIgnoreCase(end, "right"))
			return ReplySyntaxError(ctx);
		ends[i] = EqualsIgnoreCase(end, "left");
	}
	Move(ctx, ctx.argv[1], ctx.argv[2], ends[0], ends[1]);
}

void
RPopLPushCommand(CommandContext &ctx)
{
	Move(ctx, ctx.argv[1], ctx.argv[2], false, true);
}

} // namespace

void
RegisterTypedListCommands(CommandTable *table)
{
	AddKeyspaceCommand(table, {"lpush", -3, kWrite | kFast, PushCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"rpush", -3, kWrite | kFast, PushCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"lpushx", -3, kWrite | kFast, PushCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"rpushx", -3, kWrite | kFast, PushCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"lpop", -2, kWrite | kFast, PopCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"rpop", -2, kWrite | kFast, PopCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"llen", 2, kReadonly | kFast, LLenCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"lrange", 4, kReadonly, LRangeCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"lindex", 3, kReadonly, LIndexCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"lset", 4, kWrite, LSetCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"lrem", 4, kWrite, LRemCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"ltrim", 4, kWrite, LTrimCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"linsert", 5, kWrite, LInsertCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"lpos", -3, kReadonly, LPosCommand, 1, 1, 1});
	AddKeyspaceCommand(table, {"lmove", 5, kWrite, LMoveCommand, 1, 2, 1});
	AddKeyspaceCommand(table, {"rpoplpush", 3, kWrite, RPopLPushCommand, 1, 2, 1});
}

} // namespace nodedb_kv::resp
