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
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "optimizer/cost.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/tableam/tableam_ddl.hpp"
#include "nodedb_kv/tableam/tableam_relinfo.hpp"
#include "nodedb_kv/tableam/tableam_scan.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"
#include "nodedb_kv/ttl/ttl_expiry.hpp"

namespace nodedb_kv::tableam {
namespace {

ProcessUtility_hook_type prev_utility = nullptr;
get_relation_info_hook_type prev_relation_info = nullptr;
set_rel_pathlist_hook_type prev_rel_pathlist = nullptr;

// Subscribers to CREATE/DROP EXTENSION (OnExtensionChanged); set only in _PG_init.
constexpr int kMaxExtensionListeners = 4;
void (*extension_listeners[kMaxExtensionListeners])() = {};
int extension_listener_count = 0;

// Tells every subscriber that CREATE or DROP EXTENSION ran in this backend.
void
NotifyExtensionChanged()
{
	for (int i = 0; i < extension_listener_count; i++)
		extension_listeners[i]();
}

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

// True if type is a domain whose base-type chain passes through kv_expiry (a domain over it).
bool
IsDomainOverExpiry(Oid type)
{
	Oid expiry = ttl::ExpiryTypeOid();
	if (!OidIsValid(expiry) || type == expiry)
		return false;
	for (;;) {
		HeapTuple tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
		if (!HeapTupleIsValid(tuple))
			return false;
		auto *form = reinterpret_cast<Form_pg_type>(GETSTRUCT(tuple));
		bool domain = form->typtype == TYPTYPE_DOMAIN;
		type = form->typbasetype;
		ReleaseSysCache(tuple);
		if (!domain)
			return false;
		if (type == expiry)
			return true;
	}
}

// Errors unless rel has at most one kv_expiry column and no column of a domain over kv_expiry
// (expiry is recognised by the kv_expiry type itself, without catalog access: such a column would
// silently never expire).
void
CheckExpiryColumns(Relation rel)
{
	ttl::RefreshExpiryType();
	TupleDesc desc = RelationGetDescr(rel);
	int count = 0;
	for (int i = 0; i < desc->natts; i++) {
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		if (attr->attisdropped)
			continue;
		if (attr->atttypid == ttl::ExpiryTypeOid())
			count++;
		else if (IsDomainOverExpiry(attr->atttypid))
			ereport(ERROR,
			        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			         errmsg("column \"%s\" of kv table \"%s\" has type %s, a domain over kv_expiry",
			                NameStr(attr->attname), RelationGetRelationName(rel), format_type_be(attr->atttypid)),
			         errdetail("Only a column of type kv_expiry itself is an expiry column; a domain over it would "
			                   "never expire."),
			         errhint("Declare the column as kv_expiry (a CHECK constraint can add what the domain checks).")));
	}
	if (count > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_TABLE_DEFINITION),
		                errmsg("kv table \"%s\" has more than one kv_expiry column", RelationGetRelationName(rel)),
		                errdetail("A key has one expiry instant; a kv table can have at most one column of type "
		                          "kv_expiry.")));
}

// True if rel has a deferrable primary key, which RelationGetPrimaryKeyIndex() does not report.
bool
HasDeferrablePrimaryKey(Relation rel)
{
	List *indexes = RelationGetIndexList(rel);
	bool found = false;
	ListCell *cell;
	foreach (cell, indexes) {
		HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(cell)));
		if (!HeapTupleIsValid(tuple))
			continue;
		auto *form = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
		found = found || (form->indisprimary && !form->indimmediate);
		ReleaseSysCache(tuple);
	}
	list_free(indexes);
	return found;
}

// Errors unless rel's primary key (if any) is a single column checked at once; also if it has none
// and require_key.  create_as: the statement was CREATE TABLE AS / SELECT INTO (for the hint).
void
CheckPrimaryKey(Relation rel, bool require_key, bool create_as = false)
{
	int columns = PrimaryKeyColumns(rel);
	if (columns == 0 && HasDeferrablePrimaryKey(rel))
		ereport(ERROR, (errcode(ERRCODE_INVALID_TABLE_DEFINITION),
		                errmsg("the primary key of kv table \"%s\" cannot be deferrable", RelationGetRelationName(rel)),
		                errdetail("Expiry takeover and ON CONFLICT need the key to be unique at every row."),
		                errhint("Drop DEFERRABLE from the PRIMARY KEY.")));
	if (columns == 0 && require_key && create_as)
		ereport(ERROR, (errcode(ERRCODE_INVALID_TABLE_DEFINITION),
		                errmsg("kv table \"%s\" needs a primary key", RelationGetRelationName(rel)),
		                errdetail("CREATE TABLE AS and SELECT INTO cannot declare one."),
		                errhint("Create the table with CREATE TABLE ... (key ... PRIMARY KEY, ...) USING kv, then "
		                        "fill it with INSERT ... SELECT.")));
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

// Deletes the expired rows of the kv table relid as the expiry worker would (real deletes through the
// kv AM inside ttl::WithExpiryBypass: logical decoding shows them, kv_stats counts them as expired), under
// an AccessExclusiveLock kept until commit.  Called before an ALTER TABLE that may rewrite the table
// or take the expiry property away: a rewrite copies only the rows its MVCC scan sees (expired ones
// would vanish without a trace), and a table whose expiry column is gone or retyped would show them
// again.  Needs an active snapshot; may ereport.
void
PurgeExpiredRows(Oid relid)
{
	LockRelationOid(relid, AccessExclusiveLock);
	Relation rel = OpenKvTable(relid);
	if (rel == nullptr)
		return;
	const RelInfo *info = GetRelInfo(rel);
	AttrNumber attno = info->expiry_attno;
	if (attno == InvalidAttrNumber || info->transient || !ActiveSnapshotSet()) {
		relation_close(rel, NoLock);
		return;
	}
	TimestampTz now = ttl::Now();
	Snapshot snapshot = GetActiveSnapshot();
	CommandId cid = GetCurrentCommandId(true);
	Oid index_oid = info->expiry_index;
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	// Through the expiry index (expiry <= now) when there is one: the work follows what expired.
	Relation index = OidIsValid(index_oid) ? index_open(index_oid, AccessShareLock) : nullptr;
	IndexScanDesc index_scan = nullptr;
	TableScanDesc scan = nullptr;
	if (index != nullptr) {
		ScanKeyData key;
		ScanKeyInit(&key, 1, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE, TimestampTzGetDatum(now));
		index_scan = index_beginscan(rel, index, snapshot, 1, 0);
		index_rescan(index_scan, &key, 1, nullptr, 0);
	} else {
		scan = table_beginscan(rel, snapshot, 0, nullptr);
	}
	auto purge = [&] {
		while (index_scan != nullptr ? index_getnext_slot(index_scan, ForwardScanDirection, slot)
		                             : table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
			CHECK_FOR_INTERRUPTS();
			if (!ttl::SlotExpired(slot, attno, now))
				continue;
			TM_FailureData tmfd;
			// Our lock keeps other writers out: anything but TM_Ok would be our own earlier change.
			(void)table_tuple_delete(rel, &slot->tts_tid, cid, snapshot, InvalidSnapshot, true, &tmfd, false);
		}
	};
	ttl::WithExpiryBypass(purge);
	if (index_scan != nullptr) {
		index_endscan(index_scan);
		index_close(index, NoLock);
	} else {
		table_endscan(scan);
	}
	ExecDropSingleTupleTableSlot(slot);
	relation_close(rel, NoLock);
	CommandCounterIncrement();
}

// What an ALTER TABLE statement is about to do to a kv table (seen before it runs).
struct AlterPlan {
	Oid relid;
	bool had_key;     // it was a kv table with a primary key
	bool to_kv;       // SET ACCESS METHOD kv
	bool new_columns; // ADD COLUMN / ALTER COLUMN TYPE: an expiry column may appear
	bool purge;       // may rewrite the table or drop its expiry property: delete expired rows first
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
		// Subcommands that may rewrite (ATRewriteTables copies what an MVCC scan sees) or that drop or
		// retype a column (maybe the expiry column).
		switch (cmd->subtype) {
		case AT_AddColumn:
		case AT_AlterColumnType:
		case AT_DropColumn:
		case AT_SetAccessMethod:
		case AT_SetLogged:
		case AT_SetUnLogged:
			plan.purge = true;
			break;
		default:
			break;
		}
	}
	if (Relation rel = OpenKvTable(plan.relid)) {
		plan.had_key = PrimaryKeyColumns(rel) > 0;
		relation_close(rel, NoLock);
	} else {
		plan.purge = false;
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

// CREATE TABLE AS / SELECT INTO cannot declare a primary key: a kv result is always refused.  So is a
// kv materialized view (explicit USING kv or through default_table_access_method): it has no key,
// and REFRESH would rebuild it without takeover or expiry rules.
void
AfterCreateAs(CreateTableAsStmt *stmt)
{
	if (stmt->into == nullptr || stmt->into->rel == nullptr)
		return;
	Oid relid = RangeVarGetRelid(stmt->into->rel, NoLock, true);
	if (!OidIsValid(relid))
		return;
	Relation rel = try_relation_open(relid, NoLock);
	if (rel == nullptr)
		return;
	bool kv = IsKvRelation(rel);
	char relkind = rel->rd_rel->relkind;
	if (kv && relkind == RELKIND_MATVIEW)
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		         errmsg("materialized view \"%s\" cannot use the kv access method", RelationGetRelationName(rel)),
		         errdetail("A kv relation needs a primary key, which a materialized view cannot have."),
		         errhint("Create the materialized view USING heap.")));
	if (kv && relkind == RELKIND_RELATION)
		CheckPrimaryKey(rel, true, true);
	relation_close(rel, NoLock);
}

void
UtilityHook(PlannedStmt *pstmt, const char *query, bool read_only_tree, ProcessUtilityContext context,
            ParamListInfo params, QueryEnvironment *env, DestReceiver *dest, QueryCompletion *qc)
{
	Node *tree = pstmt->utilityStmt;
	AlterPlan alter = {};
	if (IsA(tree, AlterTableStmt)) {
		alter = PlanAlter(reinterpret_cast<AlterTableStmt *>(tree));
		if (alter.purge)
			PurgeExpiredRows(alter.relid);
	}

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
			NotifyExtensionChanged();
	} else if (IsA(tree, DropStmt) && reinterpret_cast<DropStmt *>(tree)->removeType == OBJECT_EXTENSION)
		NotifyExtensionChanged();
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

void
OnExtensionChanged(void (*fn)())
{
	if (extension_listener_count >= kMaxExtensionListeners)
		elog(ERROR, "too many extension-change listeners");
	extension_listeners[extension_listener_count++] = fn;
}

} // namespace nodedb_kv::tableam
