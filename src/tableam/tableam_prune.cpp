// Opportunistic pruning of kv heap pages on index fetches (see tableam_prune.hpp).  Pruning is
// optional housekeeping: skipping a pass never changes what a reader sees, it only leaves dead row
// versions for the next pass or VACUUM.
#include "nodedb_kv/tableam/tableam_prune.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/heapam.h"
#include "access/htup_details.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::tableam {

namespace {

// Row versions of the page's average size that must still fit before a pass is worth it.  Below
// that, concurrent updates of the page could run out of room and leave it (non-HOT: new index
// entries), so heap's own rule applies.
constexpr Size kHeadroomVersions = 4;

// True if the page still has room enough to skip a pass: half of heap's threshold (the fillfactor
// reserve, at least 10% of the page) and kHeadroomVersions versions of its average tuple.  Half the
// reserve stays for the updates of one transaction (a RESP loop turn updates many keys at once, and
// its own versions cannot be pruned before it commits), the other half is what one pass reclaims.
// Read without the buffer lock, as heap_page_prune_opt reads it: a torn value only shifts a heuristic.
// A page whose line-pointer array is (nearly) at its maximum has room only in unused pointers, which
// only a scan of the array finds: it is pruned at once (heap_page_prune_opt scans it anyway), so the
// array is not scanned twice.  That is the steady state of small rows on a full page: every
// HOT-updated row holds two pointers (a redirect and its live version), and 291 pointers fill up
// before the bytes do.
bool
RoomLeft(Relation rel, Page page)
{
	if (PageIsFull(page)) // an update found no room here and left the page
		return false;
	OffsetNumber items = PageGetMaxOffsetNumber(page);
	if (items + kHeadroomVersions > MaxHeapTuplesPerPage)
		return false;
	Size free = PageGetFreeSpace(page);
	Size reserve = Max(RelationGetTargetPageFreeSpace(rel, HEAP_DEFAULT_FILLFACTOR), BLCKSZ / 10);
	if (free < reserve / 2)
		return false;
	auto *header = reinterpret_cast<PageHeader>(page);
	if (items == 0 || header->pd_upper >= header->pd_special)
		return true;
	Size average = (header->pd_special - header->pd_upper) / items + sizeof(ItemIdData);
	return free >= kHeadroomVersions * average;
}

} // namespace

void
PrepareFetchBuffer(IndexFetchTableData *scan, ItemPointer tid)
{
	auto *fetch = reinterpret_cast<IndexFetchHeapData *>(scan);
	BlockNumber block = ItemPointerGetBlockNumber(tid);
	if (BufferIsValid(fetch->xs_cbuf) && BufferGetBlockNumber(fetch->xs_cbuf) == block)
		return; // same page as the last fetch: heap would not prune it either
	fetch->xs_cbuf = ReleaseAndReadBuffer(fetch->xs_cbuf, scan->rel, block);
	if (!RoomLeft(scan->rel, BufferGetPage(fetch->xs_cbuf)))
		heap_page_prune_opt(scan->rel, fetch->xs_cbuf); // applies heap's own checks on top
}

} // namespace nodedb_kv::tableam
