// Unit tests of a built treap's shape and memory order (sortedindex_layout.hpp): the van Emde Boas
// order is a permutation in which every node comes after its parent and each recursion subtree is
// contiguous, the depths are those of the balanced tree, and the depth priorities make that balanced
// tree the treap of the priorities (the Cartesian tree a build links equals it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "nodedb_kv/sortedindex/sortedindex_layout.hpp"

using namespace nodedb_kv::sortedindex;

namespace {

constexpr uint32_t kNone = UINT32_MAX;

// Parent of every position in the balanced tree over [0, n) (kNone for the root), and its depth.
void
Balanced(uint64_t lo, uint64_t hi, uint32_t parent, int d, std::vector<uint32_t> *parents, std::vector<int> *depths)
{
	if (lo >= hi)
		return;
	uint64_t mid = lo + (hi - lo) / 2;
	(*parents)[mid] = parent;
	(*depths)[mid] = d;
	Balanced(lo, mid, static_cast<uint32_t>(mid), d + 1, parents, depths);
	Balanced(mid + 1, hi, static_cast<uint32_t>(mid), d + 1, parents, depths);
}

// Parents in the Cartesian tree (max-heap on priority) of positions 0..n-1, as BuildTreap links it.
std::vector<uint32_t>
Cartesian(const std::vector<uint32_t> &prio)
{
	std::vector<uint32_t> parent(prio.size(), kNone);
	std::vector<uint32_t> stack;
	for (uint32_t i = 0; i < prio.size(); i++) {
		uint32_t last = kNone;
		while (!stack.empty() && prio[stack.back()] < prio[i]) {
			last = stack.back();
			stack.pop_back();
		}
		if (last != kNone)
			parent[last] = i;
		if (!stack.empty())
			parent[i] = stack.back();
		stack.push_back(i);
	}
	return parent;
}

void
CheckSize(uint32_t n)
{
	SCOPED_TRACE(n);
	std::vector<uint32_t> order(n);
	std::vector<uint8_t> depth(n, 255);
	VebOrder(n, order.data(), depth.data());
	std::vector<uint32_t> parents(n, kNone);
	std::vector<int> depths(n, -1);
	Balanced(0, n, kNone, 0, &parents, &depths);
	// A permutation; each node after its parent; depths as the balanced tree's.
	std::vector<int64_t> at(n, -1);
	for (uint32_t i = 0; i < n; i++) {
		ASSERT_LT(order[i], n);
		ASSERT_EQ(at[order[i]], -1) << "position emitted twice";
		at[order[i]] = i;
	}
	int height = BalancedHeight(n);
	for (uint32_t p = 0; p < n; p++) {
		ASSERT_EQ(depth[p], depths[p]);
		ASSERT_LT(depths[p], height);
		if (parents[p] != kNone) {
			ASSERT_LT(at[parents[p]], at[p]);
		}
	}
	// The priorities make the balanced tree the treap: the Cartesian tree equals it.
	std::vector<uint32_t> prio(n);
	for (uint32_t p = 0; p < n; p++)
		prio[p] = DepthPriority(depth[p], height, p);
	std::vector<uint32_t> cartesian = Cartesian(prio);
	for (uint32_t p = 0; p < n; p++)
		ASSERT_EQ(cartesian[p], parents[p]) << "position " << p;
}

} // namespace

TEST(SortedIndexLayout, Height)
{
	EXPECT_EQ(BalancedHeight(0), 0);
	EXPECT_EQ(BalancedHeight(1), 1);
	EXPECT_EQ(BalancedHeight(2), 2);
	EXPECT_EQ(BalancedHeight(3), 2);
	EXPECT_EQ(BalancedHeight(4), 3);
	EXPECT_EQ(BalancedHeight(10000000), 24);
	EXPECT_EQ(BalancedHeight(UINT32_MAX), 32);
}

TEST(SortedIndexLayout, SmallAndEdgeSizes)
{
	for (uint32_t n = 0; n <= 300; n++)
		CheckSize(n);
	for (uint32_t n : {511u, 512u, 513u, 4095u, 4096u, 4097u, 65535u, 65536u, 65537u, 100000u})
		CheckSize(n);
	std::mt19937 rng(9);
	for (int i = 0; i < 20; i++)
		CheckSize(std::uniform_int_distribution<uint32_t>(1, 200000)(rng));
}

// Every subtree the recursion lays out is one contiguous run: in a tree of 2^16 - 1 positions the
// top 8 levels come first, then each subtree of 8 levels, one after the other.
TEST(SortedIndexLayout, SubtreesContiguous)
{
	uint32_t n = (1u << 16) - 1;
	std::vector<uint32_t> order(n);
	std::vector<uint8_t> depth(n);
	VebOrder(n, order.data(), depth.data());
	for (uint32_t i = 0; i < 255; i++)
		ASSERT_LT(depth[order[i]], 8);
	// Subtree j (of 256) holds positions [j * 256, j * 256 + 255) and comes at [255 + j * 255, ...).
	for (uint32_t j = 0; j < 256; j++)
		for (uint32_t i = 0; i < 255; i++) {
			uint32_t p = order[255 + j * 255 + i];
			ASSERT_GE(p, j * 256);
			ASSERT_LT(p, j * 256 + 255);
		}
}

// Priorities strictly decrease with depth, whatever the salt, down to a height of 32.
TEST(SortedIndexLayout, PriorityBands)
{
	for (int height : {1, 2, 5, 24, 31, 32}) {
		for (int d = 0; d + 1 < height; d++) {
			uint32_t lowest_here = UINT32_MAX;
			uint32_t highest_below = 0;
			for (uint32_t salt = 0; salt < 2000; salt++) {
				lowest_here = std::min(lowest_here, DepthPriority(d, height, salt));
				highest_below = std::max(highest_below, DepthPriority(d + 1, height, salt));
			}
			ASSERT_GT(lowest_here, highest_below) << "height " << height << " depth " << d;
		}
		// The root's band is the top 2^(33 - height) values (a random treap's highest priority).
		EXPECT_GE(DepthPriority(0, height, 7), (uint64_t{1} << 32) - (uint64_t{1} << (33 - height)));
	}
}
