#pragma once
// The current transaction's own writes as they will change a kv_sorted index at commit, laid over the
// committed structure, so RESP reads see their transaction's earlier writes (a ZADD then a ZRANK in one
// MULTI block, as Redis).  Design notes: src/sortedindex/README.md ("Reads of one's own writes").
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"

namespace nodedb_kv::sortedindex {

// The index window's entries as the transaction sees them: the committed entries C, minus the committed
// entries of the members the transaction changed (R), plus those members' new entries in the window (A).
// Ranks are 1-based; "merged" ranks are ranks in (C \ R) + A.
struct Overlay {
	int64 committed;          // |C|
	int64 count;              // |C| - |R| + |A|
	int ntouched;             // the members the transaction changed (last pending change each), bytewise
	const Prepared **touched; //
	int nremoved;             // |R|
	int64 *removed_ranks;     // R's committed ranks, ascending
	int nadded;               // |A|
	const Prepared **added;   // A, ascending by sort key
	int64 *added_below;       // per entry of A: committed entries below its key (ascending)
	int64 *added_ranks;       // per entry of A: its merged rank (ascending)
};

enum class OverlayResult {
	None,  // the transaction changed nothing of the index's table: the committed structure is the answer
	Ready, // *overlay is filled
	Retry, // the slot changed: re-attach and start again
};

// Builds the overlay of index def (slot ref, window) on heap relation heaprelid.  Takes the lock per
// query: the caller brackets it and its own queries with QueryStamp and retries when the stamp moved.
// Results in the current memory context.  May ERROR (encoding the changes).
OverlayResult BuildOverlay(Oid heaprelid, const IndexDef &def, SlotRef ref, int32 window, Overlay *overlay);

// The touched member's last pending change (nullptr: untouched), and its index in A (-1: not in A).
const Prepared *OverlayTouched(const Overlay &overlay, const char *member, int member_len);
int OverlayAddedIndex(const Overlay &overlay, const Prepared *p);

// The merged rank of the committed entry of committed rank `rank`, whose member is untouched.
int64 OverlayMergedRank(const Overlay &overlay, int64 rank);

// The committed rank of the i-th (1-based) entry of C \ R.
int64 OverlayCommittedRank(const Overlay &overlay, int64 i);

} // namespace nodedb_kv::sortedindex
