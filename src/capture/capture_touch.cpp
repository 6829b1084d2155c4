// Key touches (capture_touch.hpp): 2^17 atomic counters in shared memory, one per slot of
// hash(database, relation, key bytes).  A change consumer bumps the slot of every keyed change of a
// committing transaction at PRE_COMMIT (before the commit record) and again at COMMIT (after the
// transaction became visible): a reader that takes its snapshot and then reads the counter either sees
// a change in its snapshot or sees at least one of its two bumps after the read, unless the whole
// interval between its two reads falls inside one committing transaction's PRE_COMMIT..COMMIT.  An
// aborted transaction may have bumped at PRE_COMMIT: a spurious change, never a missed one.  The
// transaction's own changes are not committed yet: Touches counts them from the change log (twice
// each, as commit will), so the sum is the same before and after this transaction commits.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/detoast.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/atomics.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/capture/capture_touch.hpp"
#include "nodedb_kv/shmem/shmem.hpp"

namespace nodedb_kv::capture {
namespace {

constexpr uint64 kSlots = UINT64CONST(1) << 17; // 1 MiB of counters

pg_atomic_uint64 *slots = nullptr;

size_t
TouchSize()
{
	return sizeof(pg_atomic_uint64) * kSlots;
}

void
TouchInit(void *base, bool found)
{
	slots = static_cast<pg_atomic_uint64 *>(base);
	if (!found)
		for (uint64 i = 0; i < kSlots; i++)
			pg_atomic_init_u64(&slots[i], 0);
}

// The slot of a key value (varlena values detoasted: the log holds them so, a lookup key may not be).
uint64
Slot(Oid relid, Datum key, int16 typlen, bool typbyval)
{
	uint64 seed = (static_cast<uint64>(MyDatabaseId) << 32) | relid;
	const unsigned char *bytes;
	size_t len;
	if (typbyval) {
		bytes = reinterpret_cast<const unsigned char *>(&key);
		len = sizeof(Datum);
	} else if (typlen == -1) {
		auto *value = reinterpret_cast<varlena *>(DatumGetPointer(key));
		if (VARATT_IS_EXTENDED(value))
			value = PG_DETOAST_DATUM_PACKED(key);
		bytes = reinterpret_cast<const unsigned char *>(VARDATA_ANY(value));
		len = VARSIZE_ANY_EXHDR(value);
	} else if (typlen == -2) {
		bytes = reinterpret_cast<const unsigned char *>(DatumGetCString(key));
		len = strlen(DatumGetCString(key));
	} else {
		bytes = reinterpret_cast<const unsigned char *>(DatumGetPointer(key));
		len = static_cast<size_t>(typlen);
	}
	return hash_bytes_extended(bytes, static_cast<int>(len), seed) & (kSlots - 1);
}

// Whether a change touches its key: a write of a key.  Deleting a row that had already expired
// changes nothing a reader could see (Redis does not count it either), TRUNCATE has no key.
bool
Touching(const Change &change)
{
	return !change.key_isnull && change.op != ChangeOp::Expire && change.op != ChangeOp::Truncate;
}

uint64
ChangeSlot(const Change &change)
{
	return Slot(change.relid, change.key, change.key_type.len, change.key_type.byval);
}

// Both callbacks: bump (no allocation, cannot fail; the keys in the log are detoasted already).
void
Bump(const Change *changes, int count)
{
	if (slots == nullptr)
		return;
	for (int i = 0; i < count; i++)
		if (Touching(changes[i]))
			pg_atomic_fetch_add_u64(&slots[ChangeSlot(changes[i])], 1);
}

void
TouchCommit(const Change *changes, int count, const CommitInfo &)
{
	Bump(changes, count);
}

} // namespace

uint64
Touches(Oid relid, Datum key, int16 typlen, bool typbyval)
{
	if (slots == nullptr)
		return 0;
	uint64 slot = Slot(relid, key, typlen, typbyval);
	uint64 sum = pg_atomic_read_u64(&slots[slot]);
	int count = 0;
	const Change *changes = PendingChanges(&count);
	for (int i = 0; i < count; i++)
		if (changes[i].relid == relid && Touching(changes[i]) && ChangeSlot(changes[i]) == slot)
			sum += 2;
	return sum;
}

void
RegisterTouches()
{
	(void)shmem::Register({"nodedb_kv key touches", TouchSize, TouchInit, 0, false});
	RegisterConsumer({"touches", nullptr, Bump, TouchCommit, nullptr});
}

} // namespace nodedb_kv::capture
