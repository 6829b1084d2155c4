// The expiry predicate, the kv_expiry type lookup and the expiry bypass.  This file decides what "expired" means; it
// does not decide when a snapshot may hide a row (tableam_scan.cpp) nor delete anything (ttl_worker).
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/pg/pg_catalog.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"

namespace nodedb_kv::ttl {
namespace {

Oid expiry_type = InvalidOid;
bool expiry_type_stale = true;

// Syscache callback: a change of pg_type rows (hash 0 = all) may mean the domain was dropped.
void
TypeCacheCallback(Datum, int, uint32 hash)
{
	if (hash == 0 || !OidIsValid(expiry_type) || hash == GetSysCacheHashValue1(TYPEOID, ObjectIdGetDatum(expiry_type)))
		expiry_type_stale = true;
}

} // namespace

void
RefreshExpiryType()
{
	if (!expiry_type_stale && OidIsValid(expiry_type))
		return;
	Oid nsp = pg::ExtensionNamespace();
	// Keep the old value until the lookup finished: unsafe callers may read it meanwhile.
	expiry_type = OidIsValid(nsp) ? GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("kv_expiry"),
	                                                ObjectIdGetDatum(nsp))
	                              : InvalidOid;
	expiry_type_stale = false;
}

Oid
ExpiryTypeOid()
{
	return expiry_type;
}

bool
ExpiryTypeResolved()
{
	return OidIsValid(expiry_type) && !expiry_type_stale;
}

AttrNumber
FindExpiryColumn(TupleDesc desc)
{
	if (!OidIsValid(expiry_type))
		return InvalidAttrNumber;
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		if (!attr->attisdropped && attr->atttypid == expiry_type)
			return static_cast<AttrNumber>(i + 1);
	}
	return InvalidAttrNumber;
}

bool
HeapTupleExpired(HeapTuple tuple, TupleDesc desc, AttrNumber attno, TimestampTz now)
{
	bool isnull = false;
	Datum value = heap_getattr(tuple, attno, desc, &isnull);
	return !isnull && IsExpiredAt(DatumGetTimestampTz(value), now);
}

bool
SlotExpired(TupleTableSlot *slot, AttrNumber attno, TimestampTz now)
{
	bool isnull = false;
	Datum value = slot_getattr(slot, attno, &isnull);
	return !isnull && IsExpiredAt(DatumGetTimestampTz(value), now);
}

void
InstallExpiryTypeCallback()
{
	CacheRegisterSyscacheCallback(TYPEOID, TypeCacheCallback, 0);
}

namespace {
int expiry_bypass = 0; // depth of nested WithExpiryBypass calls
} // namespace

bool
ExpiryBypassed()
{
	return expiry_bypass > 0;
}

void
RunWithExpiryBypass(void (*fn)(void *arg), void *arg)
{
	expiry_bypass++;
	PG_TRY();
	{
		fn(arg);
	}
	PG_FINALLY();
	{
		expiry_bypass--;
	}
	PG_END_TRY();
}

} // namespace nodedb_kv::ttl
