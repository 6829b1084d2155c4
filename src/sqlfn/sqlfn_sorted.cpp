// SQL functions over kv_sorted indexes: RANK, TOPK, RANGE, SORTED_COUNT and the kv_sorted_stats
// rows.  Datum glue only; the rules live in src/sortedindex.
#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xlogdefs.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/sortedindex/sortedindex_query.hpp"
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"

namespace {

// The text argument n as a C string; NULL arguments are errors (the functions are not STRICT so that
// a NULL index name is reported, not silently answered).
char *
TextArg(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

void
EmitHits(FunctionCallInfo fcinfo, const nodedb_kv::sortedindex::Hit *hits, int n, bool with_score)
{
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < n; i++) {
		Datum values[3] = {Int64GetDatum(hits[i].rank), CStringGetTextDatum(hits[i].key),
		                   Float8GetDatum(hits[i].score)};
		bool nulls[3] = {false, false, !hits[i].has_score};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	(void)with_score;
}

} // namespace

// rank(index text, key text) -> bigint: 1-based, NULL when the key is not in the index.
NODEDB_KV_FUNCTION(nodedb_kv_rank)
{
	char *index = TextArg(fcinfo, 0, "index name");
	char *key = TextArg(fcinfo, 1, "key");
	int64 rank = 0;
	if (!nodedb_kv::sortedindex::Rank(index, key, &rank))
		PG_RETURN_NULL();
	PG_RETURN_INT64(rank);
}

// sorted_count(index text) -> bigint.
NODEDB_KV_FUNCTION(nodedb_kv_sorted_count)
{
	PG_RETURN_INT64(nodedb_kv::sortedindex::Count(TextArg(fcinfo, 0, "index name")));
}

// topk(index text, k integer) -> table(rank bigint, key text).
NODEDB_KV_FUNCTION(nodedb_kv_topk)
{
	char *index = TextArg(fcinfo, 0, "index name");
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("TOPK count must not be null")));
	int64 k = PG_GETARG_INT32(1);
	InitMaterializedSRF(fcinfo, 0);
	nodedb_kv::sortedindex::Hit *hits;
	int n = nodedb_kv::sortedindex::TopK(index, k, &hits);
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	for (int i = 0; i < n; i++) {
		Datum values[2] = {Int64GetDatum(hits[i].rank), CStringGetTextDatum(hits[i].key)};
		bool nulls[2] = {false, false};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return static_cast<Datum>(0);
}

// range(index text, lo float8, hi float8) -> table(rank bigint, key text, score float8).
NODEDB_KV_FUNCTION(nodedb_kv_range)
{
	char *index = TextArg(fcinfo, 0, "index name");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("RANGE bounds must not be null")));
	double lo = PG_GETARG_FLOAT8(1);
	double hi = PG_GETARG_FLOAT8(2);
	InitMaterializedSRF(fcinfo, 0);
	nodedb_kv::sortedindex::Hit *hits;
	int n = nodedb_kv::sortedindex::Range(index, lo, hi, &hits);
	EmitHits(fcinfo, hits, n, true);
	return static_cast<Datum>(0);
}

// kv_sorted_stats_rows() -> setof (indexrelid oid, state text, entries bigint, bytes bigint,
// windows int, applied_lsn pg_lsn, pool_used bigint, pool_total bigint) for this database.
NODEDB_KV_FUNCTION(nodedb_kv_sorted_stats_rows)
{
	using namespace nodedb_kv::sortedindex;
	InitMaterializedSRF(fcinfo, 0);
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	SlotStats stats[kMaxIndexes];
	uint64 pool_used = 0;
	uint64 pool_total = 0;
	int n = CollectStats(stats, &pool_used, &pool_total);
	for (int i = 0; i < n; i++) {
		const char *state = stats[i].state == SlotState::Ready ? "ready" : "building";
		Datum values[8] = {ObjectIdGetDatum(stats[i].indexrelid),
		                   CStringGetTextDatum(state),
		                   Int64GetDatum(static_cast<int64>(stats[i].entries)),
		                   Int64GetDatum(static_cast<int64>(stats[i].bytes)),
		                   Int32GetDatum(stats[i].windows),
		                   LSNGetDatum(stats[i].applied_lsn),
		                   Int64GetDatum(static_cast<int64>(pool_used)),
		                   Int64GetDatum(static_cast<int64>(pool_total))};
		bool nulls[8] = {};
		nulls[5] = stats[i].applied_lsn == InvalidXLogRecPtr;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return static_cast<Datum>(0);
}
