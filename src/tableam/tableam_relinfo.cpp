// The per-relation metadata of kv tables (RelInfo) and its cache in rd_amcache.  It reads catalogs;
// it never changes them (tableam_ddl.cpp validates and creates indexes).
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "nodes/pg_list.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_handler.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"

namespace nodedb_kv::tableam {
namespace {

// Fills key_attno / key_eq_proc / key_collation from the primary-key index's pg_index row.
void
DescribeKey(Oid pk_index, RelInfo *info)
{
	HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk_index));
	if (!HeapTupleIsValid(tuple))
		return;
	auto *index = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
	if (index->indnkeyatts == 1 && index->indkey.values[0] != 0) {
		bool isnull = false;
		Datum classes = SysCacheGetAttr(INDEXRELID, tuple, Anum_pg_index_indclass, &isnull);
		Datum collations = SysCacheGetAttr(INDEXRELID, tuple, Anum_pg_index_indcollation, &isnull);
		Oid opclass = reinterpret_cast<oidvector *>(DatumGetPointer(classes))->values[0];
		Oid opfamily = get_opclass_family(opclass);
		Oid input_type = get_opclass_input_type(opclass);
		Oid op = get_opfamily_member(opfamily, input_type, input_type, BTEqualStrategyNumber);
		if (OidIsValid(op)) {
			info->pk_index = pk_index;
			info->key_attno = index->indkey.values[0];
			info->key_eq_proc = get_opcode(op);
			info->key_collation = reinterpret_cast<oidvector *>(DatumGetPointer(collations))->values[0];
		}
	}
	ReleaseSysCache(tuple);
}

constexpr int kMaxEntrylessAms = 4;
const char *entryless_ams[kMaxEntrylessAms];
int entryless_am_count = 0;

bool
IsEntrylessAm(Oid am)
{
	for (int i = 0; i < entryless_am_count; i++)
		if (get_index_am_oid(entryless_ams[i], true) == am)
			return true;
	return false;
}

// The columns of rel that only entryless indexes use (key columns; expressions and predicates of the
// other indexes count as uses, as in RelationGetIndexAttrBitmap).  Up to kMaxHotFreeColumns, else
// fewer (a column left out only keeps blocking HOT).
void
FindHotFreeColumns(Relation rel, RelInfo *info)
{
	if (entryless_am_count == 0)
		return;
	Bitmapset *entryless = nullptr; // attnos offset by FirstLowInvalidHeapAttributeNumber
	Bitmapset *others = nullptr;
	List *indexes = RelationGetIndexList(rel);
	ListCell *cell;
	foreach (cell, indexes) {
		Oid index_oid = lfirst_oid(cell);
		HeapTuple class_tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(index_oid));
		if (!HeapTupleIsValid(class_tuple))
			continue;
		bool is_entryless = IsEntrylessAm(reinterpret_cast<Form_pg_class>(GETSTRUCT(class_tuple))->relam);
		ReleaseSysCache(class_tuple);
		HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index_oid));
		if (!HeapTupleIsValid(tuple))
			continue;
		auto *index = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
		Bitmapset **target = is_entryless ? &entryless : &others;
		for (int i = 0; i < index->indnatts; i++)
			if (index->indkey.values[i] != 0)
				*target = bms_add_member(*target, index->indkey.values[i] - FirstLowInvalidHeapAttributeNumber);
		const AttrNumber expression_columns[] = {Anum_pg_index_indexprs, Anum_pg_index_indpred};
		for (AttrNumber anum : expression_columns) {
			bool isnull = true;
			Datum value = SysCacheGetAttr(INDEXRELID, tuple, anum, &isnull);
			if (!isnull)
				pull_varattnos(static_cast<Node *>(stringToNode(TextDatumGetCString(value))), 1, target);
		}
		ReleaseSysCache(tuple);
	}
	list_free(indexes);
	int x = -1;
	while ((x = bms_next_member(entryless, x)) >= 0 && info->nhot_free < kMaxHotFreeColumns) {
		AttrNumber attno = static_cast<AttrNumber>(x + FirstLowInvalidHeapAttributeNumber);
		if (attno > 0 && !bms_is_member(x, others))
			info->hot_free[info->nhot_free++] = attno;
	}
	bms_free(entryless);
	bms_free(others);
}

// True if index is a valid, non-partial, non-expression btree whose first key column is attno.
bool
IsExpiryIndex(Oid index_oid, AttrNumber attno)
{
	HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index_oid));
	if (!HeapTupleIsValid(tuple))
		return false;
	auto *index = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
	bool matches =
	    index->indisvalid && index->indkey.values[0] == attno && heap_attisnull(tuple, Anum_pg_index_indpred, nullptr);
	ReleaseSysCache(tuple);
	if (!matches)
		return false;
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(index_oid));
	if (!HeapTupleIsValid(tuple))
		return false;
	matches = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relam == BTREE_AM_OID;
	ReleaseSysCache(tuple);
	return matches;
}

} // namespace

const RelInfo *
GetRelInfo(Relation rel)
{
	if (rel->rd_amcache != nullptr)
		return static_cast<const RelInfo *>(rel->rd_amcache);

	ttl::RefreshExpiryType();
	RelInfo info = {};
	info.expiry_attno = ttl::FindExpiryColumn(RelationGetDescr(rel));
	Oid pk = RelationGetPrimaryKeyIndex(rel);
	if (OidIsValid(pk))
		DescribeKey(pk, &info);
	if (info.expiry_attno != InvalidAttrNumber) {
		List *indexes = RelationGetIndexList(rel);
		ListCell *cell;
		foreach (cell, indexes) {
			if (IsExpiryIndex(lfirst_oid(cell), info.expiry_attno)) {
				info.expiry_index = lfirst_oid(cell);
				break;
			}
		}
		list_free(indexes);
	}
	FindHotFreeColumns(rel, &info);
	// make_new_heap() names the transient relation of a rewrite pg_temp_<oid>; it has no indexes yet.
	info.transient = rel->rd_createSubid != InvalidSubTransactionId && !OidIsValid(pk) &&
	                 strncmp(RelationGetRelationName(rel), "pg_temp_", 8) == 0;

	// Lookups above may have processed invalidations for rel; install the finished copy only now.
	auto *cached = static_cast<RelInfo *>(MemoryContextAlloc(CacheMemoryContext, sizeof(RelInfo)));
	*cached = info;
	if (rel->rd_amcache != nullptr)
		pfree(rel->rd_amcache);
	rel->rd_amcache = cached;
	return cached;
}

void
RegisterEntrylessIndexAm(const char *amname)
{
	if (entryless_am_count < kMaxEntrylessAms)
		entryless_ams[entryless_am_count++] = amname;
}

void
AllowEntrylessHot(Relation rel)
{
	// RelationGetIndexAttrBitmap opens the indexes (locks: invalidations may rebuild rel's caches);
	// retry until the RelInfo used is the one still installed.
	for (int attempt = 0; attempt < 3; attempt++) {
		const RelInfo *info = GetRelInfo(rel);
		if (info->nhot_free == 0)
			return;
		bms_free(RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_ALL)); // computes rd_indexattr
		if (rel->rd_amcache != info || rel->rd_indexattr == nullptr)
			continue;
		// In place: PostgreSQL 15's bms_del_member never frees nor returns NULL.
		for (int i = 0; i < info->nhot_free; i++)
			rel->rd_indexattr =
			    bms_del_member(rel->rd_indexattr, info->hot_free[i] - FirstLowInvalidHeapAttributeNumber);
		return;
	}
}

AttrNumber
ExpiryAttno(Relation rel)
{
	if (rel->rd_amcache != nullptr)
		return static_cast<const RelInfo *>(rel->rd_amcache)->expiry_attno;
	return ttl::FindExpiryColumn(RelationGetDescr(rel));
}

bool
IsKvRelation(Relation rel)
{
	return rel->rd_tableam == KvRoutine();
}

} // namespace nodedb_kv::tableam
