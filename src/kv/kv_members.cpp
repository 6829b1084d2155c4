// The members vacuum (kv_members.hpp): deletes the member rows of spilled containers whose key no
// longer holds a header of their generation.  Used by kv_members_vacuum() (sqlfn_rtypes.cpp) and by
// the expiry workers (ttlworker_expiry.cpp), in bounded steps.
#include <algorithm>
#include <string_view>

#include "nodedb_kv/kv/kv_members.hpp"
#include "nodedb_kv/kv/kv_typed.hpp"
#include "nodedb_kv/rtypes/rtypes_spill.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"
#include "nodedb_kv/pg/pg_catalog.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lockdefs.h"
#include "utils/regproc.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::kv {
namespace {

constexpr size_t kBatch = 1000;

// key + suffix byte, palloc'd: key 0x00 is the smallest key after key, prefix 0x02 the end of a
// prefix's member range (rtypes::PrefixEnd).
Bytes
Append(Bytes key, char suffix)
{
	char *out = static_cast<char *>(palloc(key.len + 1));
	memcpy(out, key.data, key.len);
	out[key.len] = suffix;
	return {out, key.len + 1};
}

// Whether the container of member key mkey is alive: its keyspace exists and its key's row holds a
// spilled header of its generation.  *prefix_len: the length of its member prefix (0: malformed).
bool
ContainerLive(const char *action, Bytes mkey, size_t *prefix_len)
{
	std::string_view keyspace, key;
	uint64_t gen = 0;
	*prefix_len = 0;
	if (!rtypes::SplitMemberKey({mkey.data, mkey.len}, &keyspace, &key, &gen, prefix_len)) {
		*prefix_len = 0;
		return false;
	}
	List *names = stringToQualifiedNameList(pnstrdup(keyspace.data(), keyspace.size()));
	Oid relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
	if (!OidIsValid(relid))
		return false;
	TypedRow row;
	Status status = GetTyped({relid, "value", action, true}, {key.data(), key.size()}, &row);
	rtypes::SpillHeader header;
	return status.ok() && row.found && rtypes::DecodeSpillHeader({row.value.data, row.value.len}, &header) &&
	       header.gen == gen;
}

} // namespace

Status
VacuumMembers(const char *action, Bytes from, size_t budget, int64_t *deleted, Bytes *next, bool *done)
{
	Target members = {pg::ExtensionRelation("kv_members"), "value", action, true};
	*deleted = 0;
	*done = false;
	Status status;
	size_t spent = 0;
	while (budget == 0 || spent < budget) {
		CHECK_FOR_INTERRUPTS();
		// The first member row at or after from names the next container.
		Bytes *keys = nullptr, *values = nullptr;
		size_t n = 0;
		bool end_reached = true;
		status = ScanEntries(members, from, {"", 0}, 1, &keys, &values, &n, &end_reached);
		if (!status.ok())
			return status;
		if (n == 0) {
			*done = true;
			break;
		}
		Bytes first = keys[0];
		size_t prefix_len = 0;
		bool live = ContainerLive(action, first, &prefix_len);
		// A malformed key is a container of its own.
		Bytes range_end = prefix_len > 0 ? Append({first.data, prefix_len}, '\2') : Append(first, '\0');
		spent++;
		if (live) {
			from = range_end;
			continue;
		}
		// Dead: its rows, up to the budget.
		for (;;) {
			size_t left = budget == 0 ? kBatch : (spent < budget ? budget - spent : 1); // (always progress)
			size_t want = std::min(kBatch, left);
			status = ScanEntries(members, from, range_end, want, &keys, &values, &n, &end_reached);
			if (!status.ok())
				return status;
			for (size_t i = 0; i < n; i++) {
				bool gone = false;
				status = Delete(members, keys[i], &gone);
				if (!status.ok())
					return status;
				*deleted += gone ? 1 : 0;
				spent++;
			}
			if (end_reached || n == 0) {
				from = range_end;
				break;
			}
			from = Append(keys[n - 1], '\0');
			if (budget != 0 && spent >= budget)
				break;
		}
	}
	*next = from;
	return status;
}

} // namespace nodedb_kv::kv
