#pragma once
// Spilled containers (src/rtypes/README.md "Spill"): a hash, list or set past kSpillEntries items or
// kSpillBytes keeps only a header in its kv_db<n> row; its members are rows of the extension's
// kv_members table, keyed so that a key's members are one contiguous range:
//
//   header      := 0x02 gen count head tail      (each 8 bytes, big-endian; 33 bytes)
//   member key  := prefix 0x00 member            (hash field / set member; a hash row's value is the
//                                                 field's value, a set row's value is empty)
//               |  prefix 0x01 position          (list element: 8 bytes, int64 with the sign bit
//                                                 flipped so byte order is numeric order)
//   prefix      := varint(len keyspace) keyspace varint(len key) key gen
//
// gen is random per container (a new one each time a key spills), so the member rows of a container
// that was deleted, expired or replaced are never read again, even under the same key, until they
// are purged; keyspace is the keyspace table's schema-qualified name (stable across pg_dump).
// A list occupies positions [head, tail): LPUSH writes head - 1, RPUSH tail.  Pure C++.
#ifdef POSTGRES_H
static_assert(false, "rtypes_spill.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nodedb_kv::rtypes {

constexpr uint8_t kSpilledFormat = 2;
constexpr size_t kSpillEntries = 128; // more items than this spill (Redis: *-max-listpack-entries)
constexpr size_t kSpillBytes = 8192;  // or an inline encoding longer than this (list-max-listpack-size -2)
constexpr size_t kSpillHeaderSize = 33;

struct SpillHeader {
	uint64_t gen = 0;
	uint64_t count = 0; // fields / elements / members
	int64_t head = 0;   // lists: position of the first element
	int64_t tail = 0;   // lists: one past the last (tail - head == count)
};

// Whether value is a spilled header (else an inline container, format 1).
bool IsSpilled(std::string_view value);
std::string EncodeSpillHeader(const SpillHeader &header);
bool DecodeSpillHeader(std::string_view value, SpillHeader *header);
// A new random, non-zero generation.
uint64_t NewGeneration();

// The member-key prefix of (keyspace, key, gen).
std::string MemberPrefix(std::string_view keyspace, std::string_view key, uint64_t gen);
// The same without allocating (PG-native callers): writes at most kMaxPrefixOverhead + keyspace and
// key sizes into out and returns the length written.
constexpr size_t kMaxPrefixOverhead = 28;
size_t WriteMemberPrefix(char *out, std::string_view keyspace, std::string_view key, uint64_t gen);
// prefix 0x00 member.
std::string MemberKey(std::string_view prefix, std::string_view member);
// prefix 0x01 position.
std::string ListKey(std::string_view prefix, int64_t position);
// prefix 0x02: above every member key of prefix (the end of its range).
std::string PrefixEnd(std::string_view prefix);
// The member of a key under prefix 0x00 (false if mkey is not one).
bool MemberOf(std::string_view mkey, size_t prefix_len, std::string_view *member);
// The position of a key under prefix 0x01.
bool PositionOf(std::string_view mkey, size_t prefix_len, int64_t *position);
// Splits any member key into its keyspace, key, gen and prefix length (false: malformed).
bool SplitMemberKey(std::string_view mkey, std::string_view *keyspace, std::string_view *key, uint64_t *gen,
                    size_t *prefix_len);

} // namespace nodedb_kv::rtypes
