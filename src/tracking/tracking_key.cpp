// Tracked-key identity and the invalidation records on the bus (tracking_key.hpp), pure C++.  A record
// is: kind (1 byte), database (4), relation (4), target client id (8), key length (4, 0xFFFFFFFF for the
// null key), key bytes; integers little-endian as the host writes them (every reader is on this host).
#include <cstring>

#include "nodedb_kv/tracking/tracking_key.hpp"

namespace nodedb_kv::tracking {
namespace {

constexpr size_t kHeader = 1 + 4 + 4 + 8 + 4;
constexpr uint32_t kNullLen = 0xFFFFFFFFu;

void
Put(char *at, const void *value, size_t n)
{
	memcpy(at, value, n);
}

} // namespace

uint64_t
KeyHash(uint32_t database, uint32_t relid, std::string_view key)
{
	uint64_t h = 1469598103934665603ULL;
	auto mix = [&h](const void *data, size_t n) {
		const auto *p = static_cast<const unsigned char *>(data);
		for (size_t i = 0; i < n; i++) {
			h ^= p[i];
			h *= 1099511628211ULL;
		}
	};
	mix(&database, sizeof(database));
	mix(&relid, sizeof(relid));
	mix(key.data(), key.size());
	return h;
}

size_t
RecordSize(size_t key_len)
{
	return kHeader + key_len;
}

size_t
WriteRecord(char *buf, RecordKind kind, uint32_t database, uint32_t relid, std::string_view key, uint64_t origin)
{
	auto k = static_cast<uint8_t>(kind);
	uint64_t target = origin;
	auto len = static_cast<uint32_t>(key.size());
	Put(buf, &k, 1);
	Put(buf + 1, &database, 4);
	Put(buf + 5, &relid, 4);
	Put(buf + 9, &target, 8);
	Put(buf + 17, &len, 4);
	if (!key.empty())
		memcpy(buf + kHeader, key.data(), key.size());
	return kHeader + key.size();
}

void
AppendRecord(std::string *out, const Record &record)
{
	char header[kHeader];
	auto k = static_cast<uint8_t>(record.kind);
	uint32_t len = record.key_null ? kNullLen : static_cast<uint32_t>(record.key.size());
	Put(header, &k, 1);
	Put(header + 1, &record.database, 4);
	Put(header + 5, &record.relid, 4);
	Put(header + 9, &record.target, 8);
	Put(header + 17, &len, 4);
	out->append(header, kHeader);
	if (!record.key_null)
		out->append(record.key.data(), record.key.size());
}

bool
NextRecord(std::string_view payload, size_t *offset, Record *record)
{
	if (*offset > payload.size() || payload.size() - *offset < kHeader)
		return false;
	const char *at = payload.data() + *offset;
	uint8_t kind;
	uint32_t len;
	memcpy(&kind, at, 1);
	memcpy(&record->database, at + 1, 4);
	memcpy(&record->relid, at + 5, 4);
	memcpy(&record->target, at + 9, 8);
	memcpy(&len, at + 17, 4);
	if (kind < 1 || kind > 3)
		return false;
	record->kind = static_cast<RecordKind>(kind);
	record->key_null = len == kNullLen;
	size_t key_len = record->key_null ? 0 : len;
	if (payload.size() - *offset - kHeader < key_len)
		return false;
	record->key = std::string_view(at + kHeader, key_len);
	*offset += kHeader + key_len;
	return true;
}

} // namespace nodedb_kv::tracking
