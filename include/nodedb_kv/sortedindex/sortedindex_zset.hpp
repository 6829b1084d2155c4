#pragma once
// kv_sorted indexes as RESP sorted sets (PG-free API over sortedindex_query): zset key = index name,
// member = the table's key (its text form), score = the index's first column (a number).  Reads see
// committed state with the current transaction's own writes laid over it (unlike RANK/TOPK in SQL).  PostgreSQL errors
// (privileges, unsupported definitions) propagate as PG errors; the caller (resp/worker) runs these under the error
// bridge.  Results live in the caller's current memory context.
#ifdef POSTGRES_H
static_assert(false, "sortedindex_zset.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>

#include "nodedb_kv/kv/kv_api.hpp"

namespace nodedb_kv::sortedindex {

struct ZsetInfo {
	bool exists;           // a relation of that name exists (else: an empty sorted set)
	uint32_t table;        // the indexed kv table
	char score_column[64]; // the first sort column
	bool integer_score;    // int2/int4/int8 (else float4/float8)
	bool desc;             // the index orders the score descending
};

struct ZsetMember {
	kv::Bytes member;
	double score;
	int64_t rank; // 1-based, in index order
};

// Resolves index_name.  A relation that is not a kv_sorted index: NotKvTable; a kv_sorted index whose
// first column is not a number: InvalidArgument.
kv::Status ZsetDescribe(const char *index_name, ZsetInfo *info);

// Entries in the current window.
kv::Status ZsetCount(const char *index_name, int64_t *count);

// 1-based rank of member in index order; *found false if it is not in the current window.
kv::Status ZsetRank(const char *index_name, const char *member, bool *found, int64_t *rank);

// Ranks [first, first + limit) in index order (first >= 1).
kv::Status ZsetSlice(const char *index_name, int64_t first, int64_t limit, ZsetMember **members, size_t *count);

// Entries with lo <= score <= hi, in index order.
kv::Status ZsetRangeByScore(const char *index_name, double lo, double hi, ZsetMember **members, size_t *count);

} // namespace nodedb_kv::sortedindex
