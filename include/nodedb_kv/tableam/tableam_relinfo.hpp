#pragma once
// What the kv AM needs to know about a relation (key column, expiry column, their indexes), cached in
// rel->rd_amcache.  Relcache invalidation frees the cache; it is rebuilt at the next safe point.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::tableam {

constexpr int kMaxHotFreeColumns = 8;

struct RelInfo {
	AttrNumber expiry_attno; // kv_expiry column, or InvalidAttrNumber
	AttrNumber key_attno;    // the single primary-key column, or InvalidAttrNumber
	Oid pk_index;            // primary-key index, or InvalidOid
	Oid key_eq_proc;         // btree equality function for the key (for scan keys on pk_index)
	Oid key_collation;       // collation of the primary-key index column
	Oid expiry_index;        // valid, non-partial btree index led by the expiry column, or InvalidOid
	bool transient;          // target of a table rewrite (ALTER TABLE / CLUSTER): no capture, no takeover
	// Columns indexed only by entryless indexes (RegisterEntrylessIndexAm): they do not block HOT.
	int nhot_free;
	AttrNumber hot_free[kMaxHotFreeColumns];
};

// Declares the index access method amname entryless: its indexes keep no entry per row version (their
// aminsert does nothing; kv_sorted is fed at commit by change capture), so a change of their columns
// alone may be a HOT update (PostgreSQL 15 has no "summarizing" indexes; PG16's amsummarizing).  Only
// from _PG_init.
void RegisterEntrylessIndexAm(const char *amname);

// Right before heap's tuple_update (after anything that may process invalidations): lets heap_update
// see the columns of entryless indexes as not indexed, by taking them out of the relcache's bitmap of
// indexed columns (rd_indexattr; rebuilt complete at the next invalidation).  Never errors once
// GetRelInfo(rel) is cached.
void AllowEntrylessHot(Relation rel);

// Returns the relation's RelInfo, computing it if needed.  Catalog access: call only at safe points
// (scan begin, before writes).  The result lives until the next invalidation of rel.
const RelInfo *GetRelInfo(Relation rel);

// The expiry column without catalog access (usable under buffer locks): from the cache when present,
// otherwise from the tuple descriptor and the cached kv_expiry type OID.
AttrNumber ExpiryAttno(Relation rel);

// True if rel uses the kv table access method.
bool IsKvRelation(Relation rel);

} // namespace nodedb_kv::tableam
