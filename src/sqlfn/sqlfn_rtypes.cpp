// SQL readers of the container values of kv_db<n> keyspaces (rtypes_codec.hpp): kv_hash_entries,
// kv_set_members, kv_list_entries, kv_zset_entries.  Datum glue only; the encoding lives in src/rtypes.  A value that
// does not decode (not a container, or damaged) is ERROR 22P03.
#include <string_view>

#include "nodedb_kv/rtypes/rtypes_codec.hpp"
#include "nodedb_kv/rtypes/rtypes_zset.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "funcapi.h"
#include "utils/builtins.h"
NODEDB_KV_PG_INCLUDE_END

namespace {

bytea *
ToBytea(std::string_view item)
{
	bytea *out = static_cast<bytea *>(palloc(VARHDRSZ + item.size()));
	SET_VARSIZE(out, VARHDRSZ + item.size());
	memcpy(VARDATA(out), item.data(), item.size());
	return out;
}

void
Malformed(const char *function)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
	                errmsg("%s: value is not a container in nodedb_kv's encoding", function),
	                errhint("Pass the value column of a kv_db<n> row of the matching type.")));
}

// Emits the container's items as rows of width columns (2: pairs; with_index: (index, item)).
void
Emit(FunctionCallInfo fcinfo, const char *function, int width, bool with_index)
{
	bytea *container = PG_GETARG_BYTEA_PP(0);
	// A scalar result (kv_set_members) has no row type of its own: the caller's expected one.
	InitMaterializedSRF(fcinfo, width == 1 && !with_index ? MAT_SRF_USE_EXPECTED_DESC : 0);
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	nodedb_kv::rtypes::Reader reader(VARDATA_ANY(container), VARSIZE_ANY_EXHDR(container));
	if (!reader.ok() || reader.count() % width != 0)
		Malformed(function);
	std::string_view item;
	int64 index = 0;
	for (;;) {
		Datum values[2];
		bool nulls[2] = {false, false};
		int column = 0;
		if (with_index)
			values[column++] = Int64GetDatum(index++);
		bool more = true;
		for (int i = 0; i < width && (more = reader.Next(&item)); i++)
			values[column++] = PointerGetDatum(ToBytea(item));
		if (!more)
			break;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (!reader.ok())
		Malformed(function);
}

} // namespace

// kv_hash_entries(container bytea) -> table(field bytea, value bytea), in the hash's field order.
NODEDB_KV_FUNCTION(nodedb_kv_hash_entries)
{
	Emit(fcinfo, "kv_hash_entries", 2, false);
	return static_cast<Datum>(0);
}

// kv_set_members(container bytea) -> setof bytea.
NODEDB_KV_FUNCTION(nodedb_kv_set_members)
{
	Emit(fcinfo, "kv_set_members", 1, false);
	return static_cast<Datum>(0);
}

// kv_list_entries(container bytea) -> table(index bigint, value bytea), head first, index from 0.
NODEDB_KV_FUNCTION(nodedb_kv_list_entries)
{
	Emit(fcinfo, "kv_list_entries", 1, true);
	return static_cast<Datum>(0);
}

// kv_zset_entries(container bytea) -> table(member bytea, score float8, rank bigint): ascending by
// (score, member), rank from 0 (ZRANK).  Walks the items itself (no C++ object lives across the
// ereport of a malformed value: the STYLE.md two-zone rule).
NODEDB_KV_FUNCTION(nodedb_kv_zset_entries)
{
	bytea *container = PG_GETARG_BYTEA_PP(0);
	InitMaterializedSRF(fcinfo, 0);
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	nodedb_kv::rtypes::Reader reader(VARDATA_ANY(container), VARSIZE_ANY_EXHDR(container));
	if (!reader.ok() || reader.count() % 2 != 0)
		Malformed("kv_zset_entries");
	std::string_view member, score_item, last_member;
	double score = 0, last_score = 0;
	int64 rank = 0;
	while (reader.Next(&member)) {
		if (!reader.Next(&score_item) || !nodedb_kv::rtypes::DecodeScoreItem(score_item, &score) ||
		    (rank > 0 && !nodedb_kv::rtypes::ZsetLess(last_score, last_member, score, member)))
			Malformed("kv_zset_entries");
		Datum values[3] = {PointerGetDatum(ToBytea(member)), Float8GetDatum(score), Int64GetDatum(rank)};
		bool nulls[3] = {false, false, false};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		last_member = member;
		last_score = score;
		rank++;
	}
	if (!reader.ok())
		Malformed("kv_zset_entries");
	return static_cast<Datum>(0);
}
