// Spilled containers (rtypes_spill.hpp): the header of a spilled kv_db<n> value and the keys of its
// member rows in kv_members.  Pure C++.
#include <cstring>
#include <random>

#include "nodedb_kv/rtypes/rtypes_spill.hpp"

#include "nodedb_kv/rtypes/rtypes_bytes.hpp"

namespace nodedb_kv::rtypes {
namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

} // namespace

bool
IsSpilled(std::string_view value)
{
	return !value.empty() && static_cast<uint8_t>(value[0]) == kSpilledFormat;
}

std::string
EncodeSpillHeader(const SpillHeader &header)
{
	std::string out(1, static_cast<char>(kSpilledFormat));
	PutU64(header.gen, &out);
	PutU64(header.count, &out);
	PutU64(static_cast<uint64_t>(header.head), &out);
	PutU64(static_cast<uint64_t>(header.tail), &out);
	return out;
}

bool
DecodeSpillHeader(std::string_view value, SpillHeader *header)
{
	if (value.size() != kSpillHeaderSize || !IsSpilled(value))
		return false;
	header->gen = ReadU64(value.data() + 1);
	header->count = ReadU64(value.data() + 9);
	header->head = static_cast<int64_t>(ReadU64(value.data() + 17));
	header->tail = static_cast<int64_t>(ReadU64(value.data() + 25));
	return header->gen != 0 && header->tail >= header->head;
}

uint64_t
NewGeneration()
{
	static std::mt19937_64 generator{(static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()};
	uint64_t gen = 0;
	while (gen == 0)
		gen = generator();
	return gen;
}

size_t
WriteMemberPrefix(char *out, std::string_view keyspace, std::string_view key, uint64_t gen)
{
	size_t n = 0;
	for (std::string_view part : {keyspace, key}) {
		uint64_t len = part.size();
		while (len >= 0x80) {
			out[n++] = static_cast<char>((len & 0x7f) | 0x80);
			len >>= 7;
		}
		out[n++] = static_cast<char>(len);
		memcpy(out + n, part.data(), part.size());
		n += part.size();
	}
	for (int shift = 56; shift >= 0; shift -= 8)
		out[n++] = static_cast<char>((gen >> shift) & 0xff);
	return n;
}

std::string
MemberPrefix(std::string_view keyspace, std::string_view key, uint64_t gen)
{
	std::string out(keyspace.size() + key.size() + kMaxPrefixOverhead, '\0');
	out.resize(WriteMemberPrefix(out.data(), keyspace, key, gen));
	return out;
}

std::string
MemberKey(std::string_view prefix, std::string_view member)
{
	std::string out;
	out.reserve(prefix.size() + 1 + member.size());
	out.append(prefix);
	out.push_back('\0');
	out.append(member);
	return out;
}

std::string
ListKey(std::string_view prefix, int64_t position)
{
	std::string out;
	out.reserve(prefix.size() + 9);
	out.append(prefix);
	out.push_back('\1');
	PutU64(static_cast<uint64_t>(position) ^ kSignBit, &out);
	return out;
}

std::string
PrefixEnd(std::string_view prefix)
{
	std::string out(prefix);
	out.push_back('\2');
	return out;
}

bool
MemberOf(std::string_view mkey, size_t prefix_len, std::string_view *member)
{
	if (mkey.size() <= prefix_len || mkey[prefix_len] != '\0')
		return false;
	*member = mkey.substr(prefix_len + 1);
	return true;
}

bool
PositionOf(std::string_view mkey, size_t prefix_len, int64_t *position)
{
	if (mkey.size() != prefix_len + 9 || mkey[prefix_len] != '\1')
		return false;
	*position = static_cast<int64_t>(ReadU64(mkey.data() + prefix_len + 1) ^ kSignBit);
	return true;
}

bool
SplitMemberKey(std::string_view mkey, std::string_view *keyspace, std::string_view *key, uint64_t *gen,
               size_t *prefix_len)
{
	size_t pos = 0;
	uint64_t len = 0;
	if (!GetVarint(mkey, &pos, &len) || len > mkey.size() - pos)
		return false;
	*keyspace = mkey.substr(pos, len);
	pos += len;
	if (!GetVarint(mkey, &pos, &len) || len > mkey.size() - pos)
		return false;
	*key = mkey.substr(pos, len);
	pos += len;
	if (mkey.size() - pos < 9)
		return false;
	*gen = ReadU64(mkey.data() + pos);
	*prefix_len = pos + 8;
	return true;
}

} // namespace nodedb_kv::rtypes
