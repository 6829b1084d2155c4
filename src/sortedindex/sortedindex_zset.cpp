// kv_sorted indexes as RESP sorted sets (sortedindex_zset.hpp): the index name resolves to its table
// and score column; counts, ranks and slices come from sortedindex_query (current window; committed
// state with the transaction's own pending writes laid over it, so a client sees its writes).  Writes (ZADD, ZINCRBY,
// ZREM) are not here: they are kv engine writes of the table's rows (resp/worker), which reach the index through change
// capture at commit like any write.
#include <cstdio>

#include "nodedb_kv/sortedindex/sortedindex_zset.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/sortedindex/sortedindex_query.hpp"

namespace nodedb_kv::sortedindex {
namespace {

kv::Status
Ok()
{
	kv::Status status;
	status.code = kv::Code::Ok;
	status.message[0] = status.detail[0] = '\0';
	return status;
}

kv::Status
Failed(kv::Code code, const char *message)
{
	kv::Status status = Ok();
	status.code = code;
	strlcpy(status.message, message, sizeof(status.message));
	return status;
}

void
ToMembers(Hit *hits, int n, ZsetMember **members, size_t *count)
{
	auto *out = static_cast<ZsetMember *>(palloc(sizeof(ZsetMember) * Max(n, 1)));
	for (int i = 0; i < n; i++)
		out[i] = {{hits[i].key, strlen(hits[i].key)}, hits[i].score, hits[i].rank};
	*members = out;
	*count = static_cast<size_t>(n);
}

} // namespace

kv::Status
ZsetDescribe(const char *index_name, ZsetInfo *info)
{
	memset(info, 0, sizeof(*info));
	List *names = stringToQualifiedNameList(index_name);
	Oid relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
	if (!OidIsValid(relid))
		return Ok();
	info->exists = true;
	Relation rel = relation_open(relid, NoLock);
	bool sorted = rel->rd_rel->relkind == RELKIND_INDEX && rel->rd_rel->relam == get_index_am_oid("kv_sorted", true);
	relation_close(rel, NoLock);
	if (!sorted)
		return Failed(kv::Code::NotKvTable, "not a kv_sorted index");
	Described described;
	Describe(index_name, &described);
	if (!described.member_is_key) {
		// ZADD/ZREM write the row whose key is the member: that only works when the member is the key.
		char message[256];
		snprintf(message, sizeof(message),
		         "kv_sorted index \"%s\" has a member column other than the table's key: it is not a sorted set",
		         index_name);
		return Failed(kv::Code::InvalidArgument, message);
	}
	switch (described.score_type) {
	case INT2OID:
	case INT4OID:
	case INT8OID:
		info->integer_score = true;
		break;
	case FLOAT4OID:
	case FLOAT8OID:
		break;
	default: {
		char message[256];
		snprintf(message, sizeof(message), "kv_sorted index \"%s\" has no numeric first column: it is not a sorted set",
		         index_name);
		return Failed(kv::Code::InvalidArgument, message);
	}
	}
	info->table = described.table;
	info->desc = described.desc;
	char *column = get_attname(described.table, described.score_attno, false);
	strlcpy(info->score_column, column, sizeof(info->score_column));
	return Ok();
}

kv::Status
ZsetCount(const char *index_name, int64_t *count)
{
	*count = Count(index_name, true);
	return Ok();
}

kv::Status
ZsetRank(const char *index_name, const char *member, bool *found, int64_t *rank)
{
	int64 r = 0;
	*found = Rank(index_name, member, &r, true);
	*rank = r;
	return Ok();
}

kv::Status
ZsetSlice(const char *index_name, int64_t first, int64_t limit, ZsetMember **members, size_t *count)
{
	Hit *hits = nullptr;
	int n = Slice(index_name, first, limit, &hits, true);
	ToMembers(hits, n, members, count);
	return Ok();
}

kv::Status
ZsetRangeByScore(const char *index_name, double lo, double hi, ZsetMember **members, size_t *count)
{
	Hit *hits = nullptr;
	int n = Range(index_name, lo, hi, &hits, true);
	ToMembers(hits, n, members, count);
	return Ok();
}

} // namespace nodedb_kv::sortedindex
