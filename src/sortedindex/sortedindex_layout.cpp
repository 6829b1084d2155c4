// The shape and memory order of a built treap: sortedindex_layout.hpp.
#include "nodedb_kv/sortedindex/sortedindex_layout.hpp"

namespace nodedb_kv::sortedindex {
namespace {

struct Veb {
	uint32_t *order;
	uint8_t *depth;
	uint32_t next;

	// Emits the nodes of the subtree over positions [lo, hi) (its root at depth d) cut to its top
	// h levels: the top h / 2 levels, then each subtree below them.
	void
	Emit(uint64_t lo, uint64_t hi, int h, int d)
	{
		if (lo >= hi || h <= 0)
			return;
		if (h == 1) {
			uint64_t mid = lo + (hi - lo) / 2;
			order[next++] = static_cast<uint32_t>(mid);
			depth[mid] = static_cast<uint8_t>(d);
			return;
		}
		int top = h / 2;
		Emit(lo, hi, top, d);
		Below(lo, hi, top, h - top, d + top);
	}

	// Emits, left to right, the subtrees `levels` levels below the root of [lo, hi), each cut to h
	// levels (their roots are at depth d).
	void
	Below(uint64_t lo, uint64_t hi, int levels, int h, int d)
	{
		if (lo >= hi)
			return;
		if (levels == 0) {
			Emit(lo, hi, h, d);
			return;
		}
		uint64_t mid = lo + (hi - lo) / 2;
		Below(lo, mid, levels - 1, h, d);
		Below(mid + 1, hi, levels - 1, h, d);
	}
};

// murmurhash3's finaliser (a bijection).
uint32_t
Mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x85ebca6b;
	x ^= x >> 13;
	x *= 0xc2b2ae35;
	x ^= x >> 16;
	return x;
}

} // namespace

int
BalancedHeight(uint64_t n)
{
	int h = 0;
	for (; n != 0; n >>= 1)
		h++;
	return h;
}

void
VebOrder(uint32_t n, uint32_t *order, uint8_t *depth)
{
	Veb veb = {order, depth, 0};
	veb.Emit(0, n, BalancedHeight(n), 0);
}

uint32_t
DepthPriority(int depth, int height, uint32_t salt)
{
	// Depth d gets [2^32 - 2^(33 - height + d), 2^32 - 2^(32 - height + d)).
	int width_bits = 32 - height + depth;
	uint64_t lo = (uint64_t{1} << 32) - (uint64_t{1} << (width_bits + 1));
	uint64_t width = uint64_t{1} << width_bits;
	return static_cast<uint32_t>(lo + (Mix(salt) & (width - 1)));
}

} // namespace nodedb_kv::sortedindex
