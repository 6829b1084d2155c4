// Reads of one's own writes (sortedindex_overlay.hpp).  The transaction's pending changes of the
// index's table come from the change log (capture::PendingChanges, which already carries the sort,
// window and expiry columns kv_sorted asked for) and are encoded as PRE_COMMIT will encode them
// (PrepareChange); the last change of each member wins.  Against the committed structure: R, the
// committed entries of those members (one hash lookup each), and A, their new entries in the current
// window, each ranked in the merged order with one descent (committed entries below its key, minus
// R's below it, plus A's before it).  Costs O(pending changes of the table x log) per read, nothing
// when the transaction wrote nothing there.
#include <algorithm>

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/memutils.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/sortedindex/sortedindex_capture.hpp"
#include "nodedb_kv/sortedindex/sortedindex_overlay.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::sortedindex {
namespace {

const char *
MemberOf(const Prepared *p)
{
	return p->data + p->sortkey_len;
}

int
CompareBytes(const char *a, int alen, const char *b, int blen)
{
	int c = memcmp(a, b, Min(alen, blen));
	return c != 0 ? c : (alen < blen ? -1 : alen > blen ? 1 : 0);
}

int
CompareMembers(const Prepared *a, const Prepared *b)
{
	return CompareBytes(MemberOf(a), a->member_len, MemberOf(b), b->member_len);
}

} // namespace

OverlayResult
BuildOverlay(Oid heaprelid, const IndexDef &def, SlotRef ref, int32 window, Overlay *o)
{
	memset(o, 0, sizeof(*o));
	// An index whose member is another column than the primary key (`key` option) is not a RESP
	// sorted set, and its pending changes would need the table to resolve: committed state only.
	if (OidIsValid(def.member_index))
		return OverlayResult::None;
	int nchanges = 0;
	const capture::Change *changes = capture::PendingChanges(&nchanges);
	int n = 0;
	for (int i = 0; i < nchanges; i++) {
		const capture::Change &c = changes[i];
		if (c.relid != heaprelid)
			continue;
		// A TRUNCATE in this transaction gave the table new storage the committed structure knows
		// nothing of: no overlay (committed state, as before).
		if (c.op == capture::ChangeOp::Truncate)
			return OverlayResult::None;
		if (c.watched && !c.key_isnull)
			n++;
	}
	if (n == 0)
		return OverlayResult::None;
	// Encode in log order; a stable sort by member keeps each member's changes in order: the last wins.
	auto *prepared = static_cast<Prepared *>(palloc(sizeof(Prepared) * n));
	auto **order = static_cast<const Prepared **>(palloc(sizeof(Prepared *) * n));
	Buf sortkey;
	Buf member;
	BufInit(&sortkey);
	BufInit(&member);
	int k = 0;
	for (int i = 0; i < nchanges; i++) {
		const capture::Change &c = changes[i];
		if (c.relid != heaprelid || !c.watched || c.key_isnull)
			continue;
		if (!PrepareChange(def, c, &prepared[k], &sortkey, &member))
			return OverlayResult::None; // the index is newer than the change: as the commit, rebuild later
		order[k] = &prepared[k];
		k++;
	}
	std::stable_sort(order, order + n, [](const Prepared *a, const Prepared *b) { return CompareMembers(a, b) < 0; });
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (m > 0 && CompareMembers(order[m - 1], order[i]) == 0)
			order[m - 1] = order[i];
		else
			order[m++] = order[i];
	}
	o->ntouched = m;
	o->touched = order;

	// R: the touched members' committed entries (one hash lookup each), ascending by rank.
	o->removed_ranks = static_cast<int64 *>(palloc(sizeof(int64) * m));
	for (int i = 0; i < m; i++) {
		const Prepared *p = order[i];
		bool found = false;
		int64 rank = 0;
		if (!QueryRank(ref, window, MemberOf(p), p->member_len, p->hash, &found, &rank))
			return OverlayResult::Retry;
		if (found)
			o->removed_ranks[o->nremoved++] = rank;
	}
	std::sort(o->removed_ranks, o->removed_ranks + o->nremoved);

	// A: the new entries live in this window at "now", ascending by sort key.  The committed entry of
	// rank r is below a's key iff r <= below(a): so R's entries below a are those with rank <= below(a).
	TimestampTz now = ttl::Now();
	o->added = static_cast<const Prepared **>(palloc(sizeof(Prepared *) * m));
	for (int i = 0; i < m; i++) {
		const Prepared *p = order[i];
		if (!p->remove_only && p->window == window && p->expiry > now)
			o->added[o->nadded++] = p;
	}
	std::sort(o->added, o->added + o->nadded, [](const Prepared *a, const Prepared *b) {
		return CompareBytes(a->data, a->sortkey_len, b->data, b->sortkey_len) < 0;
	});
	o->added_below = static_cast<int64 *>(palloc(sizeof(int64) * Max(o->nadded, 1)));
	o->added_ranks = static_cast<int64 *>(palloc(sizeof(int64) * Max(o->nadded, 1)));
	for (int j = 0; j < o->nadded; j++) {
		const Prepared *a = o->added[j];
		int64 below = 0;
		if (!QueryCountBelow(ref, window, a->data, a->sortkey_len, &below))
			return OverlayResult::Retry;
		int64 removed_below =
		    std::upper_bound(o->removed_ranks, o->removed_ranks + o->nremoved, below) - o->removed_ranks;
		o->added_below[j] = below;
		o->added_ranks[j] = below - removed_below + j + 1;
	}
	if (!QueryCount(ref, window, &o->committed))
		return OverlayResult::Retry;
	o->count = o->committed - o->nremoved + o->nadded;
	return OverlayResult::Ready;
}

const Prepared *
OverlayTouched(const Overlay &o, const char *member, int member_len)
{
	int lo = 0, hi = o.ntouched;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		const Prepared *p = o.touched[mid];
		int c = CompareBytes(MemberOf(p), p->member_len, member, member_len);
		if (c == 0)
			return p;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return nullptr;
}

int
OverlayAddedIndex(const Overlay &o, const Prepared *p)
{
	for (int j = 0; j < o.nadded; j++)
		if (o.added[j] == p)
			return j;
	return -1;
}

int64
OverlayMergedRank(const Overlay &o, int64 rank)
{
	// R's entries ranked below it; A's entries whose key is below it (those with below(a) < rank).
	int64 removed = std::lower_bound(o.removed_ranks, o.removed_ranks + o.nremoved, rank) - o.removed_ranks;
	int64 added = std::lower_bound(o.added_below, o.added_below + o.nadded, rank) - o.added_below;
	return rank - removed + added;
}

int64
OverlayCommittedRank(const Overlay &o, int64 i)
{
	int64 rank = i;
	for (int r = 0; r < o.nremoved && o.removed_ranks[r] <= rank; r++)
		rank++;
	return rank;
}

} // namespace nodedb_kv::sortedindex
