#pragma once
// The binary encoding of Redis container values in a kv_db<n> keyspace (hash, list, set), pure C++.
// A row's `type` column says which container its `value` holds; the layout is the same for all three:
//
//   value   := version count item*        version: one byte, kFormatVersion (1)
//   count   := varint                     the number of items (a hash: 2 x its fields)
//   item    := varint length, bytes       each string, binary safe
//   varint  := unsigned LEB128 (7 bits a byte, low group first, high bit = more follows), <= 10 bytes
//
// Hash: field, value, field, value ... in insertion order (as Redis's listpack: HGETALL order).
// List: head to tail.  Set: members in insertion order (SMEMBERS of an all-integer set sorts them,
// as Redis's intset does).  Reader decodes without allocating and is trivially destructible, so the
// PG-native SQL readers (kv_hash_entries ...) use it too; the containers below are for the pure
// C++ command layer.  See src/rtypes/README.md.
#ifdef POSTGRES_H
static_assert(false, "rtypes_codec.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nodedb_kv::rtypes {

// A key's Redis type: the labels of the SQL enum kv_type, in its order.
enum class Type : uint8_t { String, Hash, Zset, List, Set };

constexpr uint8_t kFormatVersion = 1;

// "string", "hash", "zset", "list", "set".
const char *TypeName(Type type);
// The type named name (exact, lower case); false if none.
bool ParseTypeName(std::string_view name, Type *type);

// Decodes an encoded container item by item, without allocating.  A malformed value (wrong version,
// truncated item, items left over or missing) makes Next return false and ok() false.
class Reader {
public:
	Reader(const char *data, size_t len);
	// The header was valid.
	bool
	ok() const
	{
		return ok_;
	}
	// Items announced by the header.
	uint64_t
	count() const
	{
		return count_;
	}
	// The next item; false at the end (ok() stays true) or on a malformed value (ok() false).
	bool Next(std::string_view *item);

private:
	const unsigned char *pos_;
	const unsigned char *end_;
	uint64_t count_ = 0;
	uint64_t read_ = 0;
	bool ok_ = false;
};

// Appends the encoding of n items to out.
void EncodeItems(const std::string_view *items, size_t n, std::string *out);

// A hash: (field, value) pairs in insertion order.
struct Hash {
	std::vector<std::pair<std::string, std::string>> entries;
	// Index of field, or entries.size() if absent.
	size_t Find(std::string_view field) const;
};
bool DecodeHash(std::string_view value, Hash *hash);
std::string EncodeHash(const Hash &hash);

// A list, head first.
struct List {
	std::deque<std::string> items;
};
bool DecodeList(std::string_view value, List *list);
std::string EncodeList(const List &list);

// A set: members in insertion order (each once).
struct Set {
	std::vector<std::string> members;
	// Index of member, or members.size() if absent.
	size_t Find(std::string_view member) const;
	// Adds member if absent; true if it was added.
	bool Add(std::string_view member);
	// Removes member; true if it was there.
	bool Remove(std::string_view member);
	// Whether every member is a canonical 64-bit integer (Redis keeps such sets as an intset).
	bool AllIntegers() const;
	// Members in Redis's reply order: ascending numeric for an all-integer set, else insertion order.
	std::vector<std::string> Ordered() const;
};
bool DecodeSet(std::string_view value, Set *set);
std::string EncodeSet(const Set &set);

// Whether text is a canonical int64 (Redis's string2ll: no spaces, no '+', no leading zeros).
bool IsCanonicalInt(std::string_view text, int64_t *value = nullptr);

// OBJECT ENCODING as Redis 7.0 answers it for a string value.
const char *StringEncoding(std::string_view value);

} // namespace nodedb_kv::rtypes
