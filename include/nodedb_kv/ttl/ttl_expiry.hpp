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

} // namespace nodedb_kv::ttl
