// Unit tests of the size-class arena behind the shared-memory pool (shmem_classes.hpp): exact
// reservations (a reserved block can always be taken, whatever was freed or carved meanwhile), no
// overlap between live blocks, reuse of freed blocks of the same size, and the counters.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "nodedb_kv/shmem/shmem_classes.hpp"

using namespace nodedb_kv::shmem;

namespace {

struct Fixture {
	std::vector<uint64_t> memory; // 8-byte aligned
	ClassArena arena;
	char *base;
	explicit Fixture(uint64_t units) : memory(units)
	{
		ArenaInit(&arena, units);
		base = reinterpret_cast<char *>(memory.data());
	}
	bool
	Reserve(int k, uint64_t n)
	{
		Demand d;
		DemandClear(&d);
		d.blocks[k] = n;
		return ArenaReserve(&arena, d);
	}
};

} // namespace

TEST(ShmemClasses, CarvesThenReusesFreedBlocksOfTheSameSize)
{
	Fixture f(100);
	ASSERT_TRUE(f.Reserve(3, 2));
	uint32_t a = ArenaTake(&f.arena, f.base, 3);
	uint32_t b = ArenaTake(&f.arena, f.base, 3);
	EXPECT_EQ(a, 1u);
	EXPECT_EQ(b, 4u);
	EXPECT_EQ(f.arena.used_units, 6u);
	ArenaFree(&f.arena, f.base, a, 3);
	EXPECT_EQ(f.arena.free_units, 3u);
	ASSERT_TRUE(f.Reserve(3, 1));
	EXPECT_EQ(ArenaTake(&f.arena, f.base, 3), a);
	EXPECT_EQ(f.arena.carved, 6u);
	EXPECT_EQ(f.arena.free_units, 0u);
}

TEST(ShmemClasses, ReservationIsAllOrNothingAndCountsFreeListsPerSize)
{
	Fixture f(10);
	Demand d;
	DemandClear(&d);
	d.blocks[2] = 3;
	d.blocks[5] = 1; // 11 units > 10
	EXPECT_FALSE(ArenaReserve(&f.arena, d));
	EXPECT_EQ(f.arena.refusals, 1u);
	EXPECT_EQ(f.arena.reserved_units, 0u);
	d.blocks[5] = 0;
	d.blocks[4] = 1; // 10 units
	ASSERT_TRUE(ArenaReserve(&f.arena, d));
	uint32_t blocks[3];
	for (auto &b : blocks)
		b = ArenaTake(&f.arena, f.base, 2);
	ArenaUnreserve(&f.arena, 4, 1);
	// 6 carved, 4 left; freeing a 2-unit block does not make room for a 5-unit one...
	ArenaFree(&f.arena, f.base, blocks[0], 2);
	EXPECT_FALSE(f.Reserve(5, 1));
	// ...but serves a 2-unit one beyond the uncarved rest.
	EXPECT_TRUE(f.Reserve(2, 3)); // 1 from the free list, 2 carved
	EXPECT_FALSE(f.Reserve(1, 1));
	for (int i = 0; i < 3; i++)
		ArenaTake(&f.arena, f.base, 2);
	EXPECT_EQ(f.arena.carved, 10u);
	EXPECT_EQ(f.arena.carve_need, 0u);
}

// Random reservations, takes, unreservations and frees: every take of a reserved block succeeds
// inside the region, live blocks never overlap, and the counters add up.
TEST(ShmemClasses, RandomWorkloadNeverOverbooks)
{
	const uint64_t units = 5000;
	Fixture f(units);
	std::mt19937_64 rng(42);
	std::map<uint32_t, int> live; // ref -> units
	std::vector<uint64_t> held(kMaxClasses + 1, 0);
	std::vector<uint8_t> owner(units + 1, 0);
	uint64_t refused = 0;
	for (int step = 0; step < 200000; step++) {
		int op = static_cast<int>(rng() % 10);
		int k = 1 + static_cast<int>(rng() % 37);
		if (op < 4) {
			Demand d;
			DemandClear(&d);
			d.blocks[k] = 1 + rng() % 4;
			if (rng() % 2)
				d.blocks[1 + rng() % 37] += 1 + rng() % 3;
			if (ArenaReserve(&f.arena, d)) {
				for (int c = 1; c <= kMaxClasses; c++)
					held[c] += d.blocks[c];
			} else
				refused++;
		} else if (op < 7) {
			for (int c = 1; c <= kMaxClasses; c++)
				if (held[c] > 0) {
					uint32_t ref = ArenaTake(&f.arena, f.base, c);
					held[c]--;
					ASSERT_GE(ref, 1u);
					ASSERT_LE(ref - 1 + c, units);
					for (int u = 0; u < c; u++) {
						ASSERT_EQ(owner[ref + u], 0) << "overlap at step " << step;
						owner[ref + u] = 1;
					}
					live[ref] = c;
					break;
				}
		} else if (op < 8) {
			if (held[k] > 0) {
				ArenaUnreserve(&f.arena, k, 1);
				held[k]--;
			}
		} else if (!live.empty()) {
			auto it = live.lower_bound(static_cast<uint32_t>(rng() % units));
			if (it == live.end())
				it = live.begin();
			for (int u = 0; u < it->second; u++)
				owner[it->first + u] = 0;
			ArenaFree(&f.arena, f.base, it->first, it->second);
			live.erase(it);
		}
		uint64_t used = 0;
		for (auto &b : live)
			used += b.second;
		uint64_t reserved = 0;
		for (int c = 1; c <= kMaxClasses; c++)
			reserved += held[c] * c;
		ASSERT_EQ(f.arena.used_units, used);
		ASSERT_EQ(f.arena.reserved_units, reserved);
		ASSERT_LE(f.arena.carve_need, f.arena.units_total - f.arena.carved);
	}
	EXPECT_GT(refused, 0u); // the region did fill up
	EXPECT_EQ(f.arena.refusals, refused);
}

TEST(ShmemClasses, UnitsFor)
{
	EXPECT_EQ(UnitsFor(1), 1);
	EXPECT_EQ(UnitsFor(8), 1);
	EXPECT_EQ(UnitsFor(9), 2);
	EXPECT_EQ(UnitsFor(56), 7);
}
