#pragma once
// Spilled containers in the command layer (the format: rtypes_spill.hpp; the design:
// src/rtypes/README.md "Spill").  A container past 128 items or 8 kB keeps a header in its key's row
// and its members in kv_members; these helpers read and write the members through the Engine.  Every
// write first rewrites the header row unchanged (which locks it until commit, so concurrent writers
// of the container queue behind it), then changes members, then writes the new header (count 0:
// the key is deleted).  Pure C++ over the Engine; each helper replies and returns false on failure.
#ifdef POSTGRES_H
static_assert(false, "resp_spill.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/rtypes/rtypes_codec.hpp"
#include "nodedb_kv/rtypes/rtypes_spill.hpp"
#include "nodedb_kv/rtypes/rtypes_ztree.hpp"

namespace nodedb_kv::resp {

// A spilled container of the command's key.
struct Spill {
	rtypes::SpillHeader header;
	std::string prefix; // rtypes::MemberPrefix(keyspace, key, header.gen)
};

// Sets spill->prefix for key in the session's keyspace.
bool SpillPrefix(CommandContext &ctx, std::string_view key, Spill *spill);

// Every member of a spilled container (O(N)).
bool LoadSpilled(CommandContext &ctx, const Spill &spill, rtypes::Hash *hash);
bool LoadSpilled(CommandContext &ctx, const Spill &spill, rtypes::List *list);
bool LoadSpilled(CommandContext &ctx, const Spill &spill, rtypes::Set *set);
// A sorted set's members from its member rows, sorted (O(N log N)).
bool LoadSpilled(CommandContext &ctx, const Spill &spill, rtypes::ZsetInline *zset);

// Only the named fields / members of a spilled container (those present, each once): what a command
// that names its fields reads (HGET, HSET, SISMEMBER, SADD ...), one member row each.
bool LoadNamed(CommandContext &ctx, const Spill &spill, const std::vector<std::string_view> &names, rtypes::Hash *hash);
bool LoadNamed(CommandContext &ctx, const Spill &spill, const std::vector<std::string_view> &names, rtypes::Set *set);

// One page of a cursor over a spilled hash or set (HSCAN, SSCAN; a spilled zset's member rows too):
// up to count member rows after member `after` (from the first one when from_start), in member byte
// order, as (member, row value).  Member rows are keyed by member, so a page that starts after the
// last member returned misses none present throughout, whatever was added or deleted meanwhile.
// *done: no member row follows the page.
bool ScanSpilledPage(CommandContext &ctx, const Spill &spill, bool from_start, std::string_view after, size_t count,
                     std::vector<std::pair<std::string, std::string>> *page, bool *done);

// The elements of a spilled list from index first to last (0 = head; within [0, count)).
bool LoadListRange(CommandContext &ctx, const Spill &spill, int64_t first, int64_t last, std::vector<std::string> *out);

// Writes every member of a container that spills now (spill->header: gen, count, head 0, tail count).
bool WriteSpilled(CommandContext &ctx, const Spill &spill, const rtypes::Hash &hash);
bool WriteSpilled(CommandContext &ctx, const Spill &spill, const rtypes::List &list);
bool WriteSpilled(CommandContext &ctx, const Spill &spill, const rtypes::Set &set);
// A sorted set: its member rows and the nodes of rtypes::BuildZtree (spill->header from NewSpillHeader).
bool WriteSpilled(CommandContext &ctx, const Spill &spill, const rtypes::ZsetInline &zset);

// The header of a container that spills now: a new generation and its count; a list's positions
// [0, count); a sorted set's root and next node id (rtypes_ztree.hpp).
template <typename Container>
rtypes::SpillHeader
NewSpillHeader(uint64_t size, const Container &)
{
	return {rtypes::NewGeneration(), size, 0, static_cast<int64_t>(size)};
}
rtypes::SpillHeader NewSpillHeader(uint64_t size, const rtypes::ZsetInline &zset);

// The spilled sorted set of spill (rtypes_ztree.hpp), its rows read and written through the engine
// and its nodes through the engine's node cache, if any (write: a write command, which has locked the
// header: the root is read from its row and checked).  A failure has been replied when Failed();
// Flush() writes the changes; the header's count, head and tail are then zset->count(), root(), next().
std::unique_ptr<rtypes::ZsetSpilled> OpenSpilledZset(CommandContext &ctx, const Spill &spill, bool write);

// Writes what changed from before to after as member rows and sets spill->header's count (a list
// is rewritten from its head, O(N)).
bool StoreSpilledDiff(CommandContext &ctx, Spill *spill, const rtypes::Hash &before, const rtypes::Hash &after);
bool StoreSpilledDiff(CommandContext &ctx, Spill *spill, const rtypes::List &before, const rtypes::List &after);
bool StoreSpilledDiff(CommandContext &ctx, Spill *spill, const rtypes::Set &before, const rtypes::Set &after);

// Copies every member row of from under to's prefix (COPY, RENAME).
bool CopySpilled(CommandContext &ctx, const Spill &from, const Spill &to);

// Writes key's new header (after its members changed; the row is locked): count 0 deletes the key.
bool WriteSpillHeader(CommandContext &ctx, std::string_view key, rtypes::Type type, const Spill &spill);

// One member row: its value (*found false: none).
bool GetMember(CommandContext &ctx, const std::string &mkey, std::string *value, bool *found);
// Inserts or overwrites a member row; *existed: it was there.
bool PutMember(CommandContext &ctx, const std::string &mkey, std::string_view value, bool *existed);
// Deletes a member row; *deleted: it was there.
bool DeleteMember(CommandContext &ctx, const std::string &mkey, bool *deleted);

} // namespace nodedb_kv::resp
