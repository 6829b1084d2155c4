#pragma once
// Client-side caching (CLIENT TRACKING), the part writers and RESP workers share, pure C++: the identity
// of a tracked key (database, relation, key bytes) and its 64-bit hash, and the invalidation records a
// committing writer appends to the pub/sub bus on the internal channel kChannel (RESP workers read them
// and never hand them to subscribers).  Design notes: src/tracking/README.md.
#ifdef POSTGRES_H
static_assert(false, "tracking_key.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nodedb_kv::tracking {

// The bus channel of invalidation records (hidden from PUBSUB CHANNELS and from subscribers).
constexpr std::string_view kChannel = "__nodedb_kv:tracking";

// The "relation" of tracked sorted sets: a Z-command's key is a kv_sorted index name (resolved like an
// unqualified relation name), tracked as (database, kZsetRelid, name); a change of a table invalidates
// the names of its kv_sorted indexes ("name" and "schema.name").
constexpr uint32_t kZsetRelid = 0;

// What a record says.
enum class RecordKind : uint8_t {
	Key = 1,      // this key of (database, relation) changed
	Flush = 2,    // the relation was truncated (FLUSHDB): every tracked key of it is gone
	Redirect = 3, // to client `target` (on whichever worker holds it): key invalidated (null: flush)
};

// One decoded record.  For Redirect, relid is unused, target names the client and key_null means "the
// null invalidation".  For Key, target is the RESP client whose command made the change (0: another
// writer: SQL, a KV function, expiry...), so NOLOOP skips exactly that client's own writes.
struct Record {
	RecordKind kind;
	uint32_t database;
	uint32_t relid;
	uint64_t target;
	bool key_null;
	std::string_view key;
};

// Hash of a tracked key (FNV-1a 64 over database, relation and the key bytes).
uint64_t KeyHash(uint32_t database, uint32_t relid, std::string_view key);

// Appends one encoded record to out.
void AppendRecord(std::string *out, const Record &record);
// Bytes AppendRecord adds for a key of key_len bytes.
size_t RecordSize(size_t key_len);
// Writes one Key/Flush record into buf (RecordSize(key.size()) bytes); returns the bytes written.
// origin: the writing RESP client (Record::target), 0 for none.
size_t WriteRecord(char *buf, RecordKind kind, uint32_t database, uint32_t relid, std::string_view key,
                   uint64_t origin = 0);

// Decodes the record at *offset of payload (advanced).  False at the end or on malformed bytes (anyone
// may PUBLISH on kChannel: the rest of such a payload is ignored).
bool NextRecord(std::string_view payload, size_t *offset, Record *record);

} // namespace nodedb_kv::tracking
