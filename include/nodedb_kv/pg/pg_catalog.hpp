#pragma once
// Catalog lookups of the extension's own objects (its schema, its internal tables).
#include "nodedb_kv/pg/pg_compat.hpp"

namespace nodedb_kv::pg {

// Namespace the extension is installed in, or InvalidOid when it is not installed in this database.
// Reads pg_extension: call only where catalog access is allowed.
Oid ExtensionNamespace();

// OID of the relation `name` in the extension's schema; ERROR if the extension or relation is missing.
Oid ExtensionRelation(const char *name);

} // namespace nodedb_kv::pg
