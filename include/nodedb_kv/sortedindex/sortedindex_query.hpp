#pragma once
// Queries of kv_sorted indexes (RANK, TOPK, RANGE, SORTED_COUNT): name resolution, the contract's
// errors and privilege check, the current window, and either the shared structure or, on a standby
// (where capture does not run), the exact slow path over the table.
#include "nodedb_kv/pg/pg_compat.hpp"

namespace nodedb_kv::sortedindex {

struct Hit {
	int64 rank;
	char *key;      // text form of the member
	bool has_score; // RANGE: the first sort column as float8
	double score;
};

// own_writes (RESP's reads): the answer also reflects the current transaction's own pending writes of
// the index's table (as RESP clients see their writes); SQL's functions read committed state only.

// 1-based rank of member in the index's current window; false when it is not in it.
bool Rank(const char *index_name, const char *member, int64 *rank, bool own_writes = false);

// Entries in the current window.
int64 Count(const char *index_name, bool own_writes = false);

// The first min(k, n) entries (k >= 0, else ERROR 22023).  Returns the count; *hits palloc'd.
int TopK(const char *index_name, int64 k, Hit **hits);

// Entries with lo <= first sort column <= hi, in index order, with their ranks.
int Range(const char *index_name, double lo, double hi, Hit **hits, bool own_writes = false);

// RESP's sorted sets (sortedindex_zset.cpp).
// What a Z-command needs of the index `index_name`: its table, the first sort column (the score) and
// its direction.  *exists false: no relation has that name; not a kv_sorted index: ERROR 42809.
struct Described {
	Oid table;
	AttrNumber score_attno;
	Oid score_type; // base type
	bool desc;
	bool member_is_key; // the member is the table's primary key (no `key` option naming another column)
};
bool Describe(const char *index_name, Described *described);

// Ranks [first, first + limit) of the current window, in index order, with their scores.
int Slice(const char *index_name, int64 first, int64 limit, Hit **hits, bool own_writes = false);

} // namespace nodedb_kv::sortedindex
