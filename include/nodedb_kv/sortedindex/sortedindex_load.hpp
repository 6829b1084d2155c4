#pragma once
// Building a kv_sorted structure from its table (first use after CREATE INDEX, restart, crash,
// REINDEX, relfilenode change, or a window the structure no longer holds).
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"

namespace nodedb_kv::sortedindex {

// Fills slot (state Building) from the committed rows of heap.  Takes ShareLock on heap for the scan
// (waits for in-flight writers, whose commits the scan then sees; blocks writers until it is done)
// and releases it at the end.  Rows of windows below horizon are skipped.  ERROR 53200 when memory
// runs out; the caller then empties the slot.
void LoadFromTable(Relation index, Relation heap, const IndexDef &def, int slot, int32 horizon);

// Links every entry of a slot under construction at once: entries[order[0]], entries[order[1]], ...
// sorted by (window, sort key), one balanced tree per window.  ERROR 53200 (nothing linked) when the
// pool cannot hold them all.
void BulkLink(int slot, const Prepared *entries, const uint32 *order, int64 count);

// Encodes the entry of one heap row for def into *p (remove_only when the row is not indexed: a NULL
// sort value or no window).  member is the row's key.  May ERROR (collation functions, size).
void PrepareRow(const IndexDef &def, TupleTableSlot *row, Prepared *p, Buf *sortkey, Buf *member);

// The exact answer without the shared structure (standby): every indexed row of the current window,
// sorted.  Returns the count; *entries (palloc'd) in index order.
int64 LoadSorted(Relation index, Relation heap, const IndexDef &def, int32 window, Prepared **entries);

} // namespace nodedb_kv::sortedindex
