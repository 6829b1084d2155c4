// Definition rules of kv tables, checked after the DDL statement ran (the catalogs then show the
// final shape, whatever syntax produced it), and the planner hooks that keep index-only scans away
// from kv tables (the visibility map knows nothing about expiry, PG15-PITFALLS §1.3).
//
// pg_dump creates a table through default_table_access_method and adds the primary key after the
// data: CREATE TABLE without USING kv and without a primary key is therefore accepted (without
// takeover until the key exists); an explicit USING kv, SET ACCESS METHOD kv, or removing the key
// of a kv table that had one is refused.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "optimizer/cost.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_ddl.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"
#include "nodedb_kv/ttl/ttl_worker.hpp"

namespace nodedb_kv::tableam {
namespace {

ProcessUtility_hook_type prev_utility = nullptr;
get_relation_info_hook_type prev_relation_info = nullptr;
set_rel_pathlist_hook_type prev_rel_pathlist = nullptr;

// Number of key columns of rel's primary key (0 = none).
int
PrimaryKeyColumns(Relation rel)
{
	Oid pk = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(pk))
		return 0;
	HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
	if (!HeapTupleIsValid(tuple))
		return 0;
	int columns = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple))->indnkeyatts;
	ReleaseSysCache(tuple);
	return columns;
}

// Errors unless rel has at most one kv_expiry column.
void
CheckExpiryColumns(Relation rel)
{
	ttl::RefreshExpiryType();
	TupleDesc desc = RelationGetDescr(rel);
	int count = 0;
	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && TupleDescAttr(desc, i)->atttypid == ttl::ExpiryTypeOid())
			count++;
	if (count > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_TABLE_DEFINITION),
		                errmsg("kv table \"%s\" has more than one kv_expiry column", RelationGetRelationName(rel)),
		                errdetail("A key has one expiry instant; a kv table can have at most one column of type "
		                          "kv_expiry.")));
}

// Errors unless rel's primary key (if any) is a single column; also if it has none and require_key.
void
CheckPrimaryKey(Relation rel, bool require_key)
{
	int columns = PrimaryKeyColumns(rel);
	if (columns == 0 && require_key)
		ereport(ERROR, (errcode(ERRCODE_INVALID_TABLE_DEFINITION),
		                errmsg("kv table \"%s\" needs a primary key", RelationGetRelationName(rel)),
		                errhint("Declare one column as PRIMARY KEY; it is the key of the collection.")));
	if (columns > 1)
		ereport(ERROR,
		        (errcode(ERRCODE_INVALID_TABLE_DEFINITION),
		         errmsg("the primary key of kv table \"%s\" must be a single column", RelationGetRelationName(rel)),
		         errdetail("The primary key has %d columns.", columns)));
}

// Creates a btree index on the expiry column of relid unless one exists (the expiry worker deletes
// through it).  The caller must have closed the relation (CREATE INDEX refuses a relation this
// session has open).  Uses SPI: it runs as part of the DDL statement.
void
EnsureExpiryIndex(Oid relid)
{
	Relation rel = relation_open(relid, NoLock);
	if (rel->rd_amcache != nullptr) { // the index list may have changed within this statement
		pfree(rel->rd_amcache);
		rel->rd_amcache = nullptr;
	}
	const RelInfo *info = GetRelInfo(rel);
	char *sql = nullptr;
	if (info->expiry_attno != InvalidAttrNumber && !OidIsValid(info->expiry_index)) {
		const char *column = NameStr(TupleDescAttr(RelationGetDescr(rel), info->expiry_attno - 1)->attname);
		sql = psprintf(
		    "CREATE INDEX ON %s (%s)",
		    quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel)),
		    quote_identifier(column));
	}
	relation_close(rel, NoLock);
	if (sql == nullptr)
		return;
	SPI_connect();
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create the expiry index: %s", sql);
	SPI_finish();
	pfree(sql);
}

// Opens relid if it is a kv table (caller closes with NoLock), else returns nullptr.
Relation
OpenKvTable(Oid relid)
{
	if (!OidIsValid(relid))
		return nullptr;
	Relation rel = try_relation_open(relid, NoLock);
	if (rel == nullptr)
		return nullptr;
	if (rel->rd_rel->relkind == RELKIND_RELATION && IsKvRelation(rel))
		return rel;
	relation_close(rel, NoLock);
	return nullptr;
}

// What an ALTER TABLE statement is about to do to a kv table (seen before it runs).
struct AlterPlan {
	Oid relid;
	bool had_key;     // it was a kv table with a primary key
	bool to_kv;       // SET ACCESS METHOD kv
	bool new_columns; // ADD COLUMN / ALTER COLUMN TYPE: an expiry column may appear
};

AlterPlan
PlanAlter(AlterTableStmt *stmt)
{
	AlterPlan plan = {};
	if (stmt->objtype != OBJECT_TABLE || stmt->relation == nullptr)
		return plan;
	plan.relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	ListCell *cell;
	foreach (cell, stmt->cmds) {
		auto *cmd = static_cast<AlterTableCmd *>(lfirst(cell));
		if (cmd->subtype == AT_SetAccessMethod && cmd->name != nullptr && strcmp(cmd->name, "kv") == 0)
			plan.to_kv = true;
		if (cmd->subtype == AT_AddColumn || cmd->subtype == AT_AlterColumnType)
			plan.new_columns = true;
	}
	if (Relation rel = OpenKvTable(plan.relid)) {
		plan.had_key = PrimaryKeyColumns(rel) > 0;
		relation_close(rel, NoLock);
	}
	return plan;
}

void
AfterAlter(const AlterPlan &plan)
{
	Relation rel = OpenKvTable(plan.relid);
	if (rel == nullptr)
		return;
	CheckExpiryColumns(rel);
	CheckPrimaryKey(rel, plan.had_key || plan.to_kv);
	bool want_index = (plan.to_kv || plan.new_columns) && PrimaryKeyColumns(rel) == 1;
	relation_close(rel, NoLock);
	if (want_index)
		EnsureExpiryIndex(plan.relid);
}

void
AfterCreate(CreateStmt *stmt)
{
	Relation rel = OpenKvTable(RangeVarGetRelid(stmt->relation, NoLock, true));
	if (rel == nullptr)
		return;
	bool explicit_kv = stmt->accessMethod != nullptr && strcmp(stmt->accessMethod, "kv") == 0;
	CheckExpiryColumns(rel);
	CheckPrimaryKey(rel, explicit_kv);
	bool want_index = PrimaryKeyColumns(rel) == 1;
	Oid relid = RelationGetRelid(rel);
	relation_close(rel, NoLock);
	if (want_index)
		EnsureExpiryIndex(relid);
}

void
AfterCreateAs(CreateTableAsStmt *stmt)
{
	if (stmt->into == nullptr || stmt->into->rel == nullptr)
		return;
	Relation rel = OpenKvTable(RangeVarGetRelid(stmt->into->rel, NoLock, true));
	if (rel == nullptr)
		return;
	CheckPrimaryKey(rel, true); // CREATE TABLE AS cannot declare one: always refused
	relation_close(rel, NoLock);
}

void
UtilityHook(PlannedStmt *pstmt, const char *query, bool read_only_tree, ProcessUtilityContext context,
            ParamListInfo params, QueryEnvironment *env, DestReceiver *dest, QueryCompletion *qc)
{
	Node *tree = pstmt->utilityStmt;
	AlterPlan alter = {};
	if (IsA(tree, AlterTableStmt))
		alter = PlanAlter(reinterpret_cast<AlterTableStmt *>(tree));

	if (prev_utility)
		prev_utility(pstmt, query, read_only_tree, context, params, env, dest, qc);
	else
		standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);

	if (IsA(tree, CreateStmt))
		AfterCreate(reinterpret_cast<CreateStmt *>(tree));
	else if (IsA(tree, CreateTableAsStmt))
		AfterCreateAs(reinterpret_cast<CreateTableAsStmt *>(tree));
	else if (IsA(tree, AlterTableStmt))
		AfterAlter(alter);
	else if (IsA(tree, CreateExtensionStmt)) {
		if (strcmp(reinterpret_cast<CreateExtensionStmt *>(tree)->extname, "nodedb_kv") == 0)
			ttl::NotifyExtensionChanged(); // the TTL launcher re-probes this database at commit
	} else if (IsA(tree, DropStmt) && reinterpret_cast<DropStmt *>(tree)->removeType == OBJECT_EXTENSION)
		ttl::NotifyExtensionChanged();
}

// Index-only scans would return expired rows from all-visible pages: never offer them on kv tables.
void
RelationInfoHook(PlannerInfo *root, Oid relid, bool inhparent, RelOptInfo *rel)
{
	if (prev_relation_info)
		prev_relation_info(root, relid, inhparent, rel);
	if (rel->indexlist == NIL)
		return;
	Relation table = table_open(relid, NoLock);
	bool kv = IsKvRelation(table);
	table_close(table, NoLock);
	if (!kv)
		return;
	ListCell *cell;
	foreach (cell, rel->indexlist) {
		auto *index = static_cast<IndexOptInfo *>(lfirst(cell));
		for (int i = 0; i < index->ncolumns; i++)
			index->canreturn[i] = false;
	}
}

// True if any path of rel (complete or partial) is an index-only scan.
bool
HasIndexOnlyPath(RelOptInfo *rel)
{
	ListCell *cell;
	foreach (cell, rel->pathlist)
		if (static_cast<Path *>(lfirst(cell))->pathtype == T_IndexOnlyScan)
			return true;
	foreach (cell, rel->partial_pathlist)
		if (static_cast<Path *>(lfirst(cell))->pathtype == T_IndexOnlyScan)
			return true;
	return false;
}

// Cleared canreturn[] is not enough: check_index_only() (indxpath.c) accepts every index when the
// query needs no column of the table at all (count(*), EXISTS (SELECT FROM t)), and such a scan
// answers from all-visible pages without reading the expiry column.  When that happened, the paths
// of set_plain_rel_pathlist() (allpaths.c, PG15) are built again with index-only scans disabled; the
// old list is dropped because the index-only path may have pruned the paths that must replace it
// (the sequential scan, for one).  enable_indexonlyscan is restored even on error.
void
RelPathlistHook(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	if (HasIndexOnlyPath(rel) && rte->rtekind == RTE_RELATION && !rte->inh && rte->tablesample == nullptr &&
	    rte->relkind == RELKIND_RELATION) {
		Relation table = table_open(rte->relid, NoLock);
		bool kv = IsKvRelation(table);
		table_close(table, NoLock);
		if (kv) {
			bool saved = enable_indexonlyscan;
			rel->pathlist = NIL;
			rel->partial_pathlist = NIL;
			enable_indexonlyscan = false;
			PG_TRY();
			{
				Relids required_outer = rel->lateral_relids;
				add_path(rel, create_seqscan_path(root, rel, required_outer, 0));
				if (rel->consider_parallel && required_outer == nullptr) {
					int workers = compute_parallel_worker(rel, rel->pages, -1, max_parallel_workers_per_gather);
					if (workers > 0)
						add_partial_path(rel, create_seqscan_path(root, rel, nullptr, workers));
				}
				create_index_paths(root, rel);
				create_tidscan_paths(root, rel);
			}
			PG_FINALLY();
			{
				enable_indexonlyscan = saved;
			}
			PG_END_TRY();
		}
	}
	if (prev_rel_pathlist)
		prev_rel_pathlist(root, rel, rti, rte);
}

} // namespace

void
InstallDdlHooks()
{
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = UtilityHook;
	prev_relation_info = get_relation_info_hook;
	get_relation_info_hook = RelationInfoHook;
	prev_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = RelPathlistHook;
}

} // namespace nodedb_kv::tableam
