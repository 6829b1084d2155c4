// Catalog lookups of the extension's own objects.  Read-only; callers cache what they need.
#include "nodedb_kv/pg/pg_catalog.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::pg {

Oid
ExtensionNamespace()
{
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum("nodedb_kv"));
	Relation catalog = table_open(ExtensionRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(catalog, ExtensionNameIndexId, true, nullptr, 1, &key);
	HeapTuple tuple = systable_getnext(scan);
	Oid nsp =
	    HeapTupleIsValid(tuple) ? reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extnamespace : InvalidOid;
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return nsp;
}

Oid
ExtensionRelation(const char *name)
{
	Oid nsp = ExtensionNamespace();
	Oid relid = OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
	if (!OidIsValid(relid))
		ereport(ERROR,
		        (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("nodedb_kv internal relation \"%s\" is missing", name),
		         errhint("Is the extension nodedb_kv installed in this database?")));
	return relid;
}

} // namespace nodedb_kv::pg
