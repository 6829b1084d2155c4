// SQL readers of the container values of kv_db<n> keyspaces (rtypes_codec.hpp): kv_hash_entries,
// kv_set_members, kv_list_entries, of a value (an inline container) or of a key (inline or spilled:
// rtypes_spill.hpp), kv_zset_entries of a value, and kv_members_vacuum.  Datum glue only; the
// encodings live in src/rtypes.  A value that does not decode (not a container, or damaged) is ERROR
// 22P03.
#include <string_view>

#include "nodedb_kv/kv/kv_members.hpp"
#include "nodedb_kv/kv/kv_typed.hpp"
#include "nodedb_kv/rtypes/rtypes_codec.hpp"
#include "nodedb_kv/rtypes/rtypes_spill.hpp"
#include "nodedb_kv/rtypes/rtypes_zset.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"
#include "nodedb_kv/pg/pg_catalog.hpp"
#include "nodedb_kv/sqlfn/sqlfn_support.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "catalog/namespace.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
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

void
Spilled(const char *function)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
	                errmsg("%s: value is the header of a spilled container", function),
	                errhint("Read a container of more than 128 items by its key: %s('kv_db0', key).", function)));
}

// Emits the inline container's items as rows of width columns (2: pairs; with_index: (index, item)).
void
EmitInline(ReturnSetInfo *rsinfo, const char *function, const char *data, size_t len, int width, bool with_index)
{
	if (nodedb_kv::rtypes::IsSpilled({data, len}))
		Spilled(function);
	nodedb_kv::rtypes::Reader reader(data, len);
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

void
Emit(FunctionCallInfo fcinfo, const char *function, int width, bool with_index)
{
	bytea *container = PG_GETARG_BYTEA_PP(0);
	// A scalar result (kv_set_members) has no row type of its own: the caller's expected one.
	InitMaterializedSRF(fcinfo, width == 1 && !with_index ? MAT_SRF_USE_EXPECTED_DESC : 0);
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	EmitInline(rsinfo, function, VARDATA_ANY(container), VARSIZE_ANY_EXHDR(container), width, with_index);
}

constexpr size_t kBatch = 1000;

nodedb_kv::kv::Target
Members(const char *function)
{
	return {nodedb_kv::pg::ExtensionRelation("kv_members"), "value", function, true};
}

// The member-key prefix of key in keyspace relid (its schema-qualified name) for gen, palloc'd.
nodedb_kv::kv::Bytes
Prefix(Oid relid, nodedb_kv::kv::Bytes key, uint64_t gen)
{
	char *keyspace = psprintf("%s.%s", get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
	size_t keyspace_len = strlen(keyspace);
	char *out = static_cast<char *>(palloc(keyspace_len + key.len + nodedb_kv::rtypes::kMaxPrefixOverhead + 1));
	size_t len = nodedb_kv::rtypes::WriteMemberPrefix(out, {keyspace, keyspace_len}, {key.data, key.len}, gen);
	return {out, len};
}

// prefix 0x02 (the end of prefix's member range), palloc'd.
nodedb_kv::kv::Bytes
PrefixEnd(nodedb_kv::kv::Bytes prefix)
{
	char *out = static_cast<char *>(palloc(prefix.len + 1));
	memcpy(out, prefix.data, prefix.len);
	out[prefix.len] = '\2';
	return {out, prefix.len + 1};
}

// key 0x00 (the smallest key after key), palloc'd.
nodedb_kv::kv::Bytes
After(nodedb_kv::kv::Bytes key)
{
	char *out = static_cast<char *>(palloc(key.len + 1));
	memcpy(out, key.data, key.len);
	out[key.len] = '\0';
	return {out, key.len + 1};
}

// Calls fn(member key, value) for the member rows in [from, end) of kv_members, in key order.
template <typename Fn>
void
ScanMembers(const nodedb_kv::kv::Target &members, nodedb_kv::kv::Bytes from, nodedb_kv::kv::Bytes end, Fn fn)
{
	for (;;) {
		nodedb_kv::kv::Bytes *keys = nullptr, *values = nullptr;
		size_t n = 0;
		bool done = true;
		nodedb_kv::sqlfn::RaiseIfFailed(
		    nodedb_kv::kv::ScanEntries(members, from, end, kBatch, &keys, &values, &n, &done));
		for (size_t i = 0; i < n; i++)
			fn(keys[i], values[i]);
		if (done || n == 0)
			return;
		from = After(keys[n - 1]);
	}
}

// The readers by key: kv_hash_entries(keyspace, key) ... of an inline or spilled container.  Needs
// SELECT on the keyspace (as reading the key's row does); the key's member rows are then read by the
// extension itself (kv_members has no privileges for anyone else).
void
EmitByKey(FunctionCallInfo fcinfo, const char *function, nodedb_kv::rtypes::Type type, int width, bool with_index)
{
	Oid relid = PG_GETARG_OID(0);
	bytea *key = PG_GETARG_BYTEA_PP(1);
	InitMaterializedSRF(fcinfo, width == 1 && !with_index ? MAT_SRF_USE_EXPECTED_DESC : 0);
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	nodedb_kv::kv::TypedRow row;
	nodedb_kv::kv::Target target = {relid, "value", function, false};
	nodedb_kv::kv::Bytes key_bytes = {VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)};
	nodedb_kv::sqlfn::RaiseIfFailed(nodedb_kv::kv::GetTyped(target, key_bytes, &row));
	if (!row.found)
		return;
	if (row.type != type)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
		                errmsg("%s: the key holds a %s, not a %s", function, nodedb_kv::rtypes::TypeName(row.type),
		                       nodedb_kv::rtypes::TypeName(type))));
	if (!nodedb_kv::rtypes::IsSpilled({row.value.data, row.value.len}))
		return EmitInline(rsinfo, function, row.value.data, row.value.len, width, with_index);
	nodedb_kv::rtypes::SpillHeader header;
	if (!nodedb_kv::rtypes::DecodeSpillHeader({row.value.data, row.value.len}, &header))
		Malformed(function);
	nodedb_kv::kv::Bytes prefix = Prefix(relid, key_bytes, header.gen);
	ScanMembers(Members(function), prefix, PrefixEnd(prefix),
	            [&](nodedb_kv::kv::Bytes mkey, nodedb_kv::kv::Bytes value) {
		            Datum values[2];
		            bool nulls[2] = {false, false};
		            std::string_view member;
		            int64_t position = 0;
		            if (type == nodedb_kv::rtypes::Type::List) {
			            if (!nodedb_kv::rtypes::PositionOf({mkey.data, mkey.len}, prefix.len, &position) ||
			                position < header.head || position >= header.tail)
				            return;
			            values[0] = Int64GetDatum(position - header.head);
			            values[1] = PointerGetDatum(ToBytea({value.data, value.len}));
		            } else {
			            if (!nodedb_kv::rtypes::MemberOf({mkey.data, mkey.len}, prefix.len, &member))
				            return;
			            values[0] = PointerGetDatum(ToBytea(member));
			            values[1] = PointerGetDatum(ToBytea({value.data, value.len}));
		            }
		            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	            });
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

// kv_hash_entries(keyspace regclass, key bytea) -> table(field, value): a hash key, inline or spilled.
NODEDB_KV_FUNCTION(nodedb_kv_hash_entries_key)
{
	EmitByKey(fcinfo, "kv_hash_entries", nodedb_kv::rtypes::Type::Hash, 2, false);
	return static_cast<Datum>(0);
}

// kv_set_members(keyspace regclass, key bytea) -> setof bytea.
NODEDB_KV_FUNCTION(nodedb_kv_set_members_key)
{
	EmitByKey(fcinfo, "kv_set_members", nodedb_kv::rtypes::Type::Set, 1, false);
	return static_cast<Datum>(0);
}

// kv_list_entries(keyspace regclass, key bytea) -> table(index bigint, value bytea), head first.
NODEDB_KV_FUNCTION(nodedb_kv_list_entries_key)
{
	EmitByKey(fcinfo, "kv_list_entries", nodedb_kv::rtypes::Type::List, 1, true);
	return static_cast<Datum>(0);
}

// kv_members_vacuum() -> bigint: deletes the member rows of spilled containers that are gone (their
// key deleted, expired, overwritten, renamed, its keyspace truncated or dropped: the key's row no
// longer holds a header of their generation) and returns how many: one whole walk of kv_members
// (kv_members.hpp; the expiry workers walk it in bounded steps on their own).
NODEDB_KV_FUNCTION(nodedb_kv_members_vacuum)
{
	int64 deleted = 0;
	nodedb_kv::kv::Bytes next = {"", 0};
	bool done = false;
	nodedb_kv::sqlfn::RaiseIfFailed(
	    nodedb_kv::kv::VacuumMembers("kv_members_vacuum", {"", 0}, 0, &deleted, &next, &done));
	PG_RETURN_INT64(deleted);
}
