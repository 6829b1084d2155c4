#pragma once
// Commit order per member of kv_sorted structures (design: src/sortedindex/README.md "Commit order").
// A transaction becomes visible (ProcArrayEndTransaction) before its COMMIT callback links its
// entries, so a second transaction can see the first one's row, change it and reach its own COMMIT
// callback first; the older change would then be linked last.  Cells in shared memory, one per
// hash(slot, member), count the transactions that passed PRE_COMMIT and have not yet linked (or
// aborted): a committer waits at PRE_COMMIT until none of its cells is held by another transaction,
// then holds them until its entries are linked.
#include "nodedb_kv/pg/pg_compat.hpp"

namespace nodedb_kv::sortedindex {

// Registers the cells' area.  Called from _PG_init.
void RegisterCommitOrder();

// The cell of a member (its hash) in slot slot_no.
uint32 OrderCell(int slot_no, uint32 member_hash);

// PRE_COMMIT: waits until no other transaction holds any of cells[0..n-1], then holds them all.
// Holds nothing while it waits.  May ERROR (cancel) while waiting; then it holds nothing.
void HoldCells(const uint32 *cells, int64 n);

// After linking (COMMIT) or at ABORT: releases cells taken by HoldCells and wakes waiters.  Never errors.
void ReleaseCells(const uint32 *cells, int64 n);

} // namespace nodedb_kv::sortedindex
