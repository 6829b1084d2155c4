#pragma once
// The kv engine API: one implementation of every KV operation, used by the SQL functions and (next)
// the RESP listener.  This header is PG-free so pure C++ layers can include it; the implementation
// (src/kv/) is PG-native and must run inside a transaction with an active snapshot.  Expected
// failures come back as a Status; PostgreSQL errors (lock timeouts, out of memory, constraint
// violations raised by triggers or CHECKs) propagate as PG errors, which a caller outside SQL must
// catch with the error bridge.  Returned bytes live in the caller's current memory context.
#ifdef POSTGRES_H
static_assert(false, "kv_api.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>

namespace nodedb_kv::kv {

enum class Code : uint8_t {
	Ok,
	TypeMismatch,     // 42846: the current value is not a number of the needed kind
	Overflow,         // 22003: the result does not fit
	UnknownField,     // 42703: no such value field / field required
	NotKvTable,       // 42809
	NoSuchCollection, // 42P01: the collection's OID names no relation (dropped meanwhile)
	PermissionDenied, // 42501
	ReadOnly,         // 25006: read-only transaction or standby
	InvalidArgument,  // 22023
	Unsupported,      // 0A000: e.g. row-level security enabled
	WouldBlock,       // 55P03: a lock held by another transaction is not available now (retry later)
	RateLimited,      // 54001: a rate gate refused the call
	WrongType,        // 42809: a kv_db<n> key holds another Redis type (RESP: -WRONGTYPE)
	Internal,         // any other PostgreSQL error, reported with PostgreSQL's message (RESP: -ERR)
};

struct Status {
	Code code;
	char message[256];
	char detail[256];
	bool
	ok() const
	{
		return code == Code::Ok;
	}
};

// How SQL and RESP report a code: the one table (kv_status.cpp) both use.
struct CodeInfo {
	const char *sqlstate;     // 5 characters
	const char *redis_prefix; // first word of a RESP error reply
};
const CodeInfo &DescribeCode(Code code);

// A byte string (not NUL-terminated).
struct Bytes {
	const char *data;
	size_t len;
};

// How an operation treats the key's expiry.
enum class TtlMode : uint8_t {
	Keep,     // an existing key keeps its expiry; a new key gets none
	Set,      // expiry = now + millis
	SetIfNew, // like Keep for an existing key; a new key expires at now + millis (rate windows)
	Clear,    // no expiry (PERSIST)
	At,       // expiry = the absolute Unix time `millis` (EXPIREAT, SET ... PXAT); a past instant expires the key
};

struct Ttl {
	TtlMode mode;
	int64_t millis;
};

// Which collection and value field an operation addresses.
struct Target {
	uint32_t relid;     // the kv table (pg_class OID)
	const char *field;  // value column name; nullptr = the collection's single value field
	const char *action; // name used in errors, e.g. "KV_INCR"
	bool internal;      // extension-owned collection: no privilege checks (rate gates)
};

// Result of a read: whether the key exists, its value, and its remaining time to live.
struct Value {
	bool found;
	bool isnull;    // the field is SQL NULL
	Bytes bytes;    // the field's text (bytea: raw bytes)
	int64_t ttl_ms; // -1 = no expiry (only when found)
};

// Adds delta to the integer in the field (missing/expired key or NULL field counts as 0).  *result is
// the value as stored, after BEFORE ROW triggers; if a BEFORE trigger suppressed the write, the
// value that stays stored, and *exists (may be null) is false when the key then has no row at all.
Status Incr(const Target &target, Bytes key, int64_t delta, Ttl ttl, int64_t *result, int64_t *ttl_ms, bool *exists);

// Rate gates: adds one hit to the integer in the field, like Incr.  When the result exceeds limit,
// the hit is stored outside the caller's transaction (written in place into the row's newest
// version, which this call locks), so it stays counted when the caller then raises its "limit
// exceeded" error.  Only collections that are not WAL-logged get that (kv_rate_gates is unlogged;
// elsewhere the hit is transactional like any write).  The hit lives as long as the row version it
// was written into: if the caller's transaction (or subtransaction) wrote that version itself, its
// rollback takes the denied hit along with its own.
Status CountHit(const Target &target, Bytes key, Ttl ttl, int64_t limit, int64_t *result, int64_t *ttl_ms);

// Adds delta to the number in the field; keeps the expiry.  *result is the value as stored (after
// BEFORE ROW triggers, numeric(p,s) rounding, float4 precision); *exists as for Incr.
Status IncrFloat(const Target &target, Bytes key, double delta, double *result, bool *exists);

// Sets the field to new_value iff its current text equals expected (a missing key matches only an
// empty expected, and is then created).  *before = the value before the call.
Status CompareAndSwap(const Target &target, Bytes key, Bytes expected, Bytes new_value, bool *success, Value *before);

// Sets the field to new_value and returns the previous value; keeps the expiry.
Status GetSet(const Target &target, Bytes key, Bytes new_value, Value *before);

// Reads the field.
Status Get(const Target &target, Bytes key, Value *value);

// SET: writes the field.  only_if_absent = NX, only_if_present = XX; ttl: Set (EX/PX...), Keep
// (KEEPTTL) or Clear (plain SET drops an existing expiry, as in Redis).  *written tells whether it
// wrote; *before = the previous value (SET ... GET).
struct SetOptions {
	bool only_if_absent;
	bool only_if_present;
	Ttl ttl;
};
Status Set(const Target &target, Bytes key, Bytes value, SetOptions options, bool *written, Value *before);

// Deletes the key; *deleted tells whether a live key existed.
Status Delete(const Target &target, Bytes key, bool *deleted);

// Whether a live key exists.
Status Exists(const Target &target, Bytes key, bool *exists);

// EXPIRE (ttl.mode Set) / PERSIST (ttl.mode Clear) on an existing key.  *applied is false when the
// key is missing, or for Clear when it had no expiry.
Status Expire(const Target &target, Bytes key, Ttl ttl, bool *applied);

// WATCH / EXEC (RESP transactions): the identity of the key's live row, so a later call tells whether
// anyone changed it meanwhile (any write makes a new row version: UPDATE, DELETE, INSERT, takeover of
// an expired row, TRUNCATE).  found false: no live row (absent or expired); then `touches` counts the
// changes of the key (capture_touch.hpp), so a key created and deleted again in between counts as
// changed.  Without lock: the version the active snapshot sees.  With lock: the newest version, locked
// (FOR UPDATE's lock) until the transaction ends, waiting for a writer in progress (lock_timeout
// applies).  Needs SELECT on the key, and with lock UPDATE on the table or on any of its columns (what
// SELECT ... FOR UPDATE needs).
struct RowVersion {
	bool found;
	uint32_t xmin;  // the version's inserting transaction (raw, so freezing does not change it)
	uint32_t block; // its ctid
	uint16_t offset;
	uint32_t storage; // the table's relfilenode: VACUUM FULL and CLUSTER move rows (new ctids, same xmin)
	uint32_t cid;     // the version's raw command id (the inserting command's while it is own)
	bool own;         // xmin was the reading transaction's own
	uint64_t touches; // when not found: the key's touch sum
};

// Whether the key's row is the one watched: the same version, or no row and no change of the key.
// Across a rewrite of the table (another relfilenode) ctids change but raw xmins stay: a version of
// another transaction is then the same when its xmin is; one the watching transaction wrote itself
// (the same xmin as its later versions) when its command id is the same too (a spurious difference is
// possible there, a missed change is not).
inline bool
SameVersion(const RowVersion &watched, const RowVersion &now)
{
	if (watched.found != now.found)
		return false;
	if (!watched.found)
		return watched.touches == now.touches;
	if (watched.xmin != now.xmin)
		return false;
	if (watched.storage == now.storage)
		return watched.block == now.block && watched.offset == now.offset;
	return !watched.own || watched.cid == now.cid;
}
Status Version(const Target &target, Bytes key, bool lock, RowVersion *version);

// Keeps collections open across the operations of a transaction (on) or not (off, the default):
// relation and index opened and locked once, executor state of writes, privilege and row-level
// security answers per user.  Relcache invalidations, commit, abort and subtransaction boundaries
// close or forget what is kept (kv_cache.cpp).  For a caller running many operations per
// transaction (the RESP worker); a privilege change committed by another session is then seen from
// this session's next transaction on, as for a running statement.
void SetHandleCache(bool on);

// "Would block" mode (off by default): an operation that would wait for a lock another transaction
// holds (the collection's, the key's row being locked, updated or inserted) fails at once with a
// PostgreSQL error 55P03 instead (which the caller maps to Code::WouldBlock and retries later), so a
// caller serving many clients from one loop never waits.  Waits inside PostgreSQL the engine does not
// see coming (a unique-index check against a concurrent insert of the same key, a lock taken between
// the lookup and the update) still wait: lock_timeout is the backstop there.
void SetNoWait(bool on);

// ---- Whole-collection operations (kv_scan.cpp), for RESP's keyspace commands. ----

// Finds the kv table `name` (an unqualified name resolved through search_path, or a qualified one).
// *found is false when no relation has that name; a relation that is not a kv table is NotKvTable.
// *keyspace is true for a Redis keyspace table (kv_db<n> shape: a `type` column of kv_type and a
// `value` column; operations then address the field "value").
Status FindCollection(const char *name, uint32_t *relid, bool *found, bool *keyspace);

// Up to count live keys after `after` (from the first key when from_start) in primary-key order, as
// bytes (text: its bytes; bytea: raw; other types: their text form).  *keys is an array allocated in
// the current memory context; *done is true when no key follows the last one returned.  Needs SELECT.
Status ScanKeys(const Target &target, Bytes after, bool from_start, size_t count, Bytes **keys, size_t *nkeys,
                bool *done);

// The live keys in [from, end) in primary-key order with their target.field (a bytea or text
// column; NULL reads as empty), at most count of them (end empty: no upper bound).  *done: no more
// keys in the range.  Needs SELECT.  The arrays are in the caller's memory context.
Status ScanEntries(const Target &target, Bytes from, Bytes end, size_t count, Bytes **keys, Bytes **values,
                   size_t *nkeys, bool *done);

// Number of live keys (DBSIZE).  Needs SELECT.
Status CountKeys(const Target &target, int64_t *count);

// A random live key (RANDOMKEY): one of the live keys of a random heap page (each of the page's keys
// with the same chance), trying up to 64 random pages (a collection of at most 64 pages: each page
// once, from a random one), then, for a sparse collection, the first live key at a random position of
// the primary key.  Never a scan of the collection.  *found is false when the collection holds no live
// key.  *key is allocated in the current memory context.  Needs SELECT.
Status RandomKey(const Target &target, Bytes *key, bool *found);

// INFO keyspace's figures of a collection: live keys, keys with an expiry, their average remaining
// time to live in milliseconds (0 when none).  Exact for a collection of at most 32 heap pages; a
// larger one is estimated from 32 random pages (scaled by the page count: estimated = true), like
// Redis's own avg_ttl; when those pages hold no live key, a key found through the primary key counts
// as 1, so a collection holding keys never reads as empty.  Needs SELECT.  In would-block mode a
// collection (or its primary key) locked elsewhere is WouldBlock at once, not an error: INFO leaves it
// out rather than wait.
struct KeyspaceFigures {
	int64_t keys;
	int64_t expires;
	int64_t avg_ttl_ms;
	bool estimated;
};
Status KeyspaceStats(const Target &target, KeyspaceFigures *figures);

// The Redis keyspaces: every kv_db<n> table that SELECT n finds (visible on the search_path, keyspace
// shape), in the order of n.  *keyspaces is allocated in the current memory context.  In would-block
// mode a table locked elsewhere (ALTER TABLE, LOCK TABLE in a long transaction) raises 55P03, or with
// skip_busy is left out (INFO).
struct Keyspace {
	int64_t db;
	uint32_t relid;
};
Status ListKeyspaces(Keyspace **keyspaces, size_t *count, bool skip_busy = false);

// Removes every key (FLUSHDB): TRUNCATE of the collection, with TRUNCATE's privilege and locks.
Status Truncate(const Target &target);

// FLUSHALL: truncates every Redis keyspace (a kv_db<n> table that SELECT n finds: visible on the
// search_path, keyspace shape) the current user may TRUNCATE; the others are left alone.  *flushed
// is the number truncated.
Status TruncateKeyspaces(const char *action, int64_t *flushed);

} // namespace nodedb_kv::kv
