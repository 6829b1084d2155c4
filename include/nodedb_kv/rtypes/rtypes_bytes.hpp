#pragma once
// The byte-level pieces of the rtypes formats (rtypes_spill.hpp's header and member keys, the node
// rows of rtypes_ztree.hpp): 8-byte big-endian integers and unsigned LEB128 varints (7 bits a byte,
// low group first, high bit = another byte follows, at most 64 bits).  Pure C++.
#ifdef POSTGRES_H
static_assert(false, "rtypes_bytes.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nodedb_kv::rtypes {

inline void
PutU64(uint64_t value, std::string *out)
{
	for (int shift = 56; shift >= 0; shift -= 8)
		out->push_back(static_cast<char>((value >> shift) & 0xff));
}

// The 8 bytes at data (the caller checked they are there).
inline uint64_t
ReadU64(const char *data)
{
	uint64_t value = 0;
	for (int i = 0; i < 8; i++)
		value = (value << 8) | static_cast<unsigned char>(data[i]);
	return value;
}

// The 8 bytes at text[*pos], *pos advanced; false if fewer are left.
inline bool
GetU64(std::string_view text, size_t *pos, uint64_t *value)
{
	if (text.size() - *pos < 8)
		return false;
	*value = ReadU64(text.data() + *pos);
	*pos += 8;
	return true;
}

inline void
PutVarint(uint64_t value, std::string *out)
{
	while (value >= 0x80) {
		out->push_back(static_cast<char>((value & 0x7f) | 0x80));
		value >>= 7;
	}
	out->push_back(static_cast<char>(value));
}

// The varint at text[*pos], *pos advanced; false if truncated or longer than 64 bits.
inline bool
GetVarint(std::string_view text, size_t *pos, uint64_t *value)
{
	uint64_t result = 0;
	for (int shift = 0; shift < 64 && *pos < text.size(); shift += 7) {
		auto byte = static_cast<unsigned char>(text[(*pos)++]);
		if (shift == 63 && (byte & 0x7e) != 0)
			return false;
		result |= static_cast<uint64_t>(byte & 0x7f) << shift;
		if ((byte & 0x80) == 0) {
			*value = result;
			return true;
		}
	}
	return false;
}

inline size_t
VarintSize(uint64_t value)
{
	size_t n = 1;
	while (value >= 0x80) {
		value >>= 7;
		n++;
	}
	return n;
}

} // namespace nodedb_kv::rtypes
