#pragma once
// When index fetches of a kv table prune a heap page (HOT cleanup).  Heap prunes a page on every
// visit once its free space is below the fillfactor reserve and an update is pending, which on a
// table whose rows are rewritten all the time (counters, sessions, rate gates, Redis keyspaces) means
// nearly every visit, each pass examining every tuple of the page.  kv waits until half of that
// reserve is used (and at least a few row versions of the page's average size are left), so one pass
// reclaims the space of many updates.  It pays on tables with a reserve (fillfactor < 100: the Redis
// keyspaces have 75); a full page is pruned at every visit as by heap.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/relscan.h"
#include "storage/itemptr.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::tableam {

// Before heap's index_fetch_tuple: moves the fetch's buffer to tid's page and prunes that page under
// the kv rule.  Heap's callback then finds its buffer in place and skips its own prune.
void PrepareFetchBuffer(IndexFetchTableData *scan, ItemPointer tid);

} // namespace nodedb_kv::tableam
