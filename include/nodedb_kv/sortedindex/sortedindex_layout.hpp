#pragma once
// The shape and memory order of a built treap (src/sortedindex/README.md "Building").  A build knows
// all of a window's entries at once, in key order: it links them as the balanced tree over their
// positions (the root of positions [lo, hi) is lo + (hi - lo) / 2), gives each node a treap priority
// by depth (so the tree is the treap of those priorities, and later inserts and removals keep it a
// treap), and fills the entries' blocks in van Emde Boas order of that tree: the top half of the
// levels first, then each subtree below, each laid out the same way.  A descent then reads a few
// contiguous runs of memory (a few pages) instead of one random page per level.  Pure C++.
#ifdef POSTGRES_H
static_assert(false, "sortedindex_layout.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstdint>

namespace nodedb_kv::sortedindex {

// Levels of the balanced tree over n positions (0 for none).
int BalancedHeight(uint64_t n);

// Fills order[0..n) with the positions 0..n-1 of the balanced tree over n positions in van Emde Boas
// order (every node before its descendants; the nodes of each subtree of the recursion contiguous)
// and depth[p] with the depth of position p (the root's is 0).
void VebOrder(uint32_t n, uint32_t *order, uint8_t *depth);

// A treap priority for a node at depth (0 = root) of a tree of height levels (height <= 32): above
// every priority of the deeper levels and below every one of the shallower levels, in the band of
// the values a random treap's level of that depth holds (the level of depth d of a random treap of
// 2^height - 1 nodes holds its 2^d highest priorities); salt picks the value within the band.
uint32_t DepthPriority(int depth, int height, uint32_t salt);

} // namespace nodedb_kv::sortedindex
