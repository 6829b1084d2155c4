#pragma once
// When index fetches of a kv table prune a heap page (HOT cleanup).  Heap prunes a page on every
// visit once its free space is below the fillfactor reserve and an update is pending, which on a
// table whose rows are rewritten all the time (counters, sessions, rate gates) means nearly every
// visit, each pass examining every tuple of the page.  kv waits until the room left is down to a few
// row versions of the page's average size, so one pass reclaims the space of many updates.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/relscan.h"
#include "storage/itemptr.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::tableam {

// The fillfactor CREATE TABLE gives a kv table that names none (tableam_ddl.cpp): the reserve that
// lets updates stay on their page (HOT) between prunes.
constexpr int kDefaultFillfactor = 90;

// Before heap's index_fetch_tuple: moves the fetch's buffer to tid's page and prunes that page under
// the kv rule.  Heap's callback then finds its buffer in place and skips its own prune.
void PrepareFetchBuffer(IndexFetchTableData *scan, ItemPointer tid);

} // namespace nodedb_kv::tableam
