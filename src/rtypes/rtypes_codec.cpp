// The container encoding of kv_db<n> values (rtypes_codec.hpp): varint-prefixed items after a
// version byte and an item count.  Pure C++; the only encoder and decoder of the format.
#include <algorithm>
#include <cstring>

#include "nodedb_kv/rtypes/rtypes_codec.hpp"
#include "nodedb_kv/rtypes/rtypes_number.hpp"

namespace nodedb_kv::rtypes {
namespace {

void
PutVarint(uint64_t value, std::string *out)
{
	while (value >= 0x80) {
		out->push_back(static_cast<char>((value & 0x7f) | 0x80));
		value >>= 7;
	}
	out->push_back(static_cast<char>(value));
}

bool
GetVarint(const unsigned char **pos, const unsigned char *end, uint64_t *value)
{
	uint64_t result = 0;
	for (int shift = 0; shift < 64 && *pos < end; shift += 7) {
		unsigned char byte = *(*pos)++;
		if (shift == 63 && (byte & 0x7e) != 0)
			return false; // more than 64 bits
		result |= static_cast<uint64_t>(byte & 0x7f) << shift;
		if ((byte & 0x80) == 0) {
			*value = result;
			return true;
		}
	}
	return false;
}

// Decodes every item of value into fn(item); false if malformed.
template <typename Fn>
bool
DecodeAll(std::string_view value, Fn fn)
{
	Reader reader(value.data(), value.size());
	std::string_view item;
	while (reader.Next(&item))
		fn(item);
	return reader.ok();
}

} // namespace

const char *
TypeName(Type type)
{
	switch (type) {
	case Type::String:
		return "string";
	case Type::Hash:
		return "hash";
	case Type::Zset:
		return "zset";
	case Type::List:
		return "list";
	case Type::Set:
		return "set";
	}
	return "none";
}

bool
ParseTypeName(std::string_view name, Type *type)
{
	static const Type kTypes[] = {Type::String, Type::Hash, Type::Zset, Type::List, Type::Set};
	for (Type candidate : kTypes) {
		if (name == TypeName(candidate)) {
			*type = candidate;
			return true;
		}
	}
	return false;
}

Reader::Reader(const char *data, size_t len)
    : pos_(reinterpret_cast<const unsigned char *>(data)), end_(reinterpret_cast<const unsigned char *>(data) + len)
{
	if (len == 0 || *pos_ != kFormatVersion)
		return;
	pos_++;
	// Each item takes at least one byte: a larger count is malformed (and must not size anything).
	ok_ = GetVarint(&pos_, end_, &count_) && count_ <= static_cast<uint64_t>(end_ - pos_);
}

bool
Reader::Next(std::string_view *item)
{
	if (!ok_)
		return false;
	if (read_ == count_) {
		ok_ = pos_ == end_; // bytes left over: malformed
		return false;
	}
	uint64_t len = 0;
	if (!GetVarint(&pos_, end_, &len) || len > static_cast<uint64_t>(end_ - pos_)) {
		ok_ = false;
		return false;
	}
	*item = std::string_view(reinterpret_cast<const char *>(pos_), static_cast<size_t>(len));
	pos_ += len;
	read_++;
	return true;
}

void
EncodeItems(const std::string_view *items, size_t n, std::string *out)
{
	size_t total = 11;
	for (size_t i = 0; i < n; i++)
		total += items[i].size() + 10;
	out->reserve(out->size() + total);
	out->push_back(static_cast<char>(kFormatVersion));
	PutVarint(n, out);
	for (size_t i = 0; i < n; i++) {
		PutVarint(items[i].size(), out);
		out->append(items[i].data(), items[i].size());
	}
}

size_t
Hash::Find(std::string_view field) const
{
	for (size_t i = 0; i < entries.size(); i++) {
		if (entries[i].first == field)
			return i;
	}
	return entries.size();
}

bool
DecodeHash(std::string_view value, Hash *hash)
{
	hash->entries.clear();
	bool field = true;
	bool ok = DecodeAll(value, [&](std::string_view item) {
		if (field)
			hash->entries.emplace_back(std::string(item), std::string());
		else
			hash->entries.back().second.assign(item.data(), item.size());
		field = !field;
	});
	return ok && field; // an even number of items
}

std::string
EncodeHash(const Hash &hash)
{
	std::vector<std::string_view> items;
	items.reserve(hash.entries.size() * 2);
	for (const auto &entry : hash.entries) {
		items.push_back(entry.first);
		items.push_back(entry.second);
	}
	std::string out;
	EncodeItems(items.data(), items.size(), &out);
	return out;
}

bool
DecodeList(std::string_view value, List *list)
{
	list->items.clear();
	return DecodeAll(value, [&](std::string_view item) { list->items.emplace_back(item); });
}

std::string
EncodeList(const List &list)
{
	std::vector<std::string_view> items(list.items.begin(), list.items.end());
	std::string out;
	EncodeItems(items.data(), items.size(), &out);
	return out;
}

size_t
Set::Find(std::string_view member) const
{
	for (size_t i = 0; i < members.size(); i++) {
		if (members[i] == member)
			return i;
	}
	return members.size();
}

bool
Set::Add(std::string_view member)
{
	if (Find(member) != members.size())
		return false;
	members.emplace_back(member);
	return true;
}

bool
Set::Remove(std::string_view member)
{
	size_t i = Find(member);
	if (i == members.size())
		return false;
	members.erase(members.begin() + static_cast<std::ptrdiff_t>(i));
	return true;
}

bool
Set::AllIntegers() const
{
	for (const std::string &member : members) {
		if (!IsCanonicalInt(member))
			return false;
	}
	return true;
}

std::vector<std::string>
Set::Ordered() const
{
	std::vector<std::string> out = members;
	if (!out.empty() && AllIntegers()) {
		std::sort(out.begin(), out.end(), [](const std::string &a, const std::string &b) {
			int64_t x = 0, y = 0;
			IsCanonicalInt(a, &x);
			IsCanonicalInt(b, &y);
			return x < y;
		});
	}
	return out;
}

bool
DecodeSet(std::string_view value, Set *set)
{
	set->members.clear();
	return DecodeAll(value, [&](std::string_view item) { set->members.emplace_back(item); });
}

std::string
EncodeSet(const Set &set)
{
	std::vector<std::string_view> items(set.members.begin(), set.members.end());
	std::string out;
	EncodeItems(items.data(), items.size(), &out);
	return out;
}

bool
IsCanonicalInt(std::string_view text, int64_t *value)
{
	int64_t ignored = 0;
	return ParseInt64(text.data(), text.size(), value ? value : &ignored);
}

const char *
StringEncoding(std::string_view value)
{
	// Redis 7.0: an integer of at most 20 characters is shared/int-encoded, short strings are embstr.
	if (value.size() <= 20 && IsCanonicalInt(value))
		return "int";
	return value.size() <= 44 ? "embstr" : "raw";
}

} // namespace nodedb_kv::rtypes
