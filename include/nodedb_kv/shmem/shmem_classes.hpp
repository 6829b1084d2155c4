#pragma once
// The size-class arena behind the accounted pool (shmem_pool.hpp): blocks of 1..class_count units of
// kUnit bytes carved from one region and recycled through one free list per size, addressed by
// 32-bit references (unit index + 1; 0 = none).  Plain data (it lives in shared memory) and PG-free
// (unit-tested in test/unit/unit_shmem_classes.cpp); the pool adds the spinlock.
//
// Reservations are per size and exact: a reservation of n blocks of k units succeeds only if, for
// every size, the blocks reserved beyond its free list still fit the uncarved rest together, i.e.
//   carve_need = sum over k of max(0, reserved[k] - free_count[k]) * k  <=  units_total - carved.
// Taking a reserved block (free list first, else carving) and freeing keep that true, so a take never
// fails.  Blocks on the free list of one size are not split or merged for another (a workload whose
// entry sizes shift keeps some memory on free lists: `free_units` reports it).
#ifdef POSTGRES_H
static_assert(false, "shmem_classes.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nodedb_kv::shmem {

constexpr size_t kUnit = 8;                 // bytes; blocks are kUnit-aligned
constexpr int kMaxClasses = 72;             // largest block: kMaxClasses units
constexpr uint64_t kMaxUnits = 0xFFFFFFFEu; // 32-bit references

// How many blocks of each size (index = units, 1..kMaxClasses) a reservation asks for.
struct Demand {
	uint64_t blocks[kMaxClasses + 1];
};

inline void
DemandClear(Demand *d)
{
	memset(d, 0, sizeof(*d));
}

struct ClassArena {
	uint64_t units_total;    // region size in units
	uint64_t carved;         // units [0, carved) were handed out at least once
	uint64_t carve_need;     // units reservations will carve (see the file header)
	uint64_t used_units;     // in blocks taken and not freed
	uint64_t reserved_units; // in blocks reserved and not taken
	uint64_t peak_units;     // peak of used_units + reserved_units
	uint64_t free_units;     // on the free lists
	uint64_t refusals;       // reservations refused
	uint32_t free_head[kMaxClasses + 1];
	uint64_t free_count[kMaxClasses + 1];
	uint64_t reserved[kMaxClasses + 1];
};

inline void
ArenaInit(ClassArena *a, uint64_t units_total)
{
	memset(a, 0, sizeof(*a));
	a->units_total = units_total < kMaxUnits ? units_total : kMaxUnits;
}

// Units reserved beyond the free list of size k.
inline uint64_t
ArenaBeyond(const ClassArena *a, int k, uint64_t reserved)
{
	return reserved > a->free_count[k] ? (reserved - a->free_count[k]) * static_cast<uint64_t>(k) : 0;
}

inline void
ArenaNotePeak(ClassArena *a)
{
	if (a->used_units + a->reserved_units > a->peak_units)
		a->peak_units = a->used_units + a->reserved_units;
}

// Reserves d's blocks, all or none.  False (nothing reserved) when they do not fit.
inline bool
ArenaReserve(ClassArena *a, const Demand &d)
{
	uint64_t need = a->carve_need;
	for (int k = 1; k <= kMaxClasses; k++)
		if (d.blocks[k] != 0)
			need += ArenaBeyond(a, k, a->reserved[k] + d.blocks[k]) - ArenaBeyond(a, k, a->reserved[k]);
	if (need > a->units_total - a->carved) {
		a->refusals++;
		return false;
	}
	a->carve_need = need;
	for (int k = 1; k <= kMaxClasses; k++) {
		a->reserved[k] += d.blocks[k];
		a->reserved_units += d.blocks[k] * static_cast<uint64_t>(k);
	}
	ArenaNotePeak(a);
	return true;
}

// Gives back n reserved, untaken blocks of k units.
inline void
ArenaUnreserve(ClassArena *a, int k, uint64_t n)
{
	if (n == 0)
		return;
	a->carve_need -= ArenaBeyond(a, k, a->reserved[k]) - ArenaBeyond(a, k, a->reserved[k] - n);
	a->reserved[k] -= n;
	a->reserved_units -= n * static_cast<uint64_t>(k);
}

// A block of k units out of an earlier reservation: its reference.  Never fails.
inline uint32_t
ArenaTake(ClassArena *a, char *base, int k)
{
	uint32_t ref;
	uint64_t before = ArenaBeyond(a, k, a->reserved[k]);
	if (a->free_count[k] > 0) {
		ref = a->free_head[k];
		memcpy(&a->free_head[k], base + (ref - 1) * kUnit, sizeof(uint32_t));
		a->free_count[k]--;
		a->free_units -= k;
	} else {
		ref = static_cast<uint32_t>(a->carved + 1);
		a->carved += k;
	}
	a->reserved[k]--;
	a->carve_need -= before - ArenaBeyond(a, k, a->reserved[k]);
	a->reserved_units -= k;
	a->used_units += k;
	return ref;
}

// Returns the block ref of k units.  Never fails.
inline void
ArenaFree(ClassArena *a, char *base, uint32_t ref, int k)
{
	uint64_t before = ArenaBeyond(a, k, a->reserved[k]);
	memcpy(base + (ref - 1) * kUnit, &a->free_head[k], sizeof(uint32_t));
	a->free_head[k] = ref;
	a->free_count[k]++;
	a->free_units += k;
	a->carve_need -= before - ArenaBeyond(a, k, a->reserved[k]);
	a->used_units -= k;
}

// Units a block of `bytes` bytes takes.
constexpr int
UnitsFor(size_t bytes)
{
	return static_cast<int>((bytes + kUnit - 1) / kUnit);
}

} // namespace nodedb_kv::shmem
