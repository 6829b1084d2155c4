#pragma once
// The single definition of "expired": a row whose kv_expiry column is not NULL and <= ttl::Now().
// The expiry column is the (at most one) column whose type is the extension's kv_expiry domain.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/htup.h"
#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::ttl {

// Looks up (or re-checks) the OID of the kv_expiry domain.  Needs catalog access: call only at safe
// points (scan begin, before writes), never under a buffer lock.
void RefreshExpiryType();

// The cached OID of kv_expiry (InvalidOid before RefreshExpiryType found it).  No catalog access.
Oid ExpiryTypeOid();

// True once RefreshExpiryType found the domain and no catalog change made the answer stale.  Until
// then FindExpiryColumn finds nothing.  No catalog access.
bool ExpiryTypeResolved();

// Attribute number of the expiry column in desc, or InvalidAttrNumber.  No catalog access.
AttrNumber FindExpiryColumn(TupleDesc desc);

// True when an expiry instant has passed at `now`.
inline bool
IsExpiredAt(TimestampTz expiry, TimestampTz now)
{
	return expiry <= now;
}

// True when the heap tuple's expiry column (attno > 0) holds an instant <= now.  No catalog access.
bool HeapTupleExpired(HeapTuple tuple, TupleDesc desc, AttrNumber attno, TimestampTz now);

// Same for a slot.
bool SlotExpired(TupleTableSlot *slot, AttrNumber attno, TimestampTz now);

// Installs the syscache callback that notices DROP/CREATE EXTENSION.  Called from _PG_init.
void InstallExpiryTypeCallback();

// ---- The expiry bypass: the expiry worker and takeover lookups must see expired rows. ----

// True while a WithExpiryBypass call runs in this backend: read paths hide no expired row, updates
// and deletes may target expired rows, and a delete is recorded as an expiry.  No catalog access.
bool ExpiryBypassed();

// Runs fn(arg) with the bypass on.  The bypass never outlives the call, not even on ERROR (a
// rolled-back subtransaction must not leave expiry hiding off for the rest of the transaction).
// Calls nest.  The error, if any, propagates.
void RunWithExpiryBypass(void (*fn)(void *arg), void *arg);

// Runs fn() (a callable whose captures are trivially destructible, e.g. a lambda capturing by
// reference) with the bypass on; see RunWithExpiryBypass.
template <typename Fn>
inline void
WithExpiryBypass(Fn &fn)
{
	RunWithExpiryBypass([](void *arg) { (*static_cast<Fn *>(arg))(); }, &fn);
}

} // namespace nodedb_kv::ttl
