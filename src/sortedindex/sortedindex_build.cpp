// CREATE INDEX / REINDEX of a kv_sorted index: checks the definition (kv table, supported columns
// and options), records its dependency on the unique index of a `key` column other than the primary
// key, and writes the relation's only page, a metapage.  The shared structure is not built
// here but on first use, so a rolled-back CREATE INDEX leaves nothing behind.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/generic_xlog.h"
#include "access/xloginsert.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/sortedindex/sortedindex_am.hpp"
#include "nodedb_kv/sortedindex/sortedindex_key.hpp"

namespace nodedb_kv::sortedindex {
namespace {

constexpr uint32 kMagic = 0x6B76736F; // "kvso"
constexpr uint32 kVersion = 1;

struct MetaPage {
	uint32 magic;
	uint32 version;
};

void
InitMetaPage(Page page)
{
	PageInit(page, BLCKSZ, MAXALIGN(sizeof(MetaPage)));
	auto *meta = reinterpret_cast<MetaPage *>(PageGetSpecialPointer(page));
	meta->magic = kMagic;
	meta->version = kVersion;
}

} // namespace

IndexBuildResult *
kvsorted_build(Relation heap, Relation index, IndexInfo *info)
{
	IndexDef def;
	LoadIndexDef(index, heap, &def); // ERRORs on what kv_sorted cannot index
	// A member column other than the primary key relies on its unique index: dropping that index
	// needs CASCADE (which drops this one too).  REINDEX builds again: replace, do not add.
	deleteDependencyRecordsForClass(RelationRelationId, RelationGetRelid(index), RelationRelationId, DEPENDENCY_NORMAL);
	if (OidIsValid(def.member_index)) {
		ObjectAddress self = {RelationRelationId, RelationGetRelid(index), 0};
		ObjectAddress unique = {RelationRelationId, def.member_index, 0};
		recordDependencyOn(&self, &unique, DEPENDENCY_NORMAL);
	}
	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	Buffer buffer = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	GenericXLogState *state = GenericXLogStart(index);
	Page page = GenericXLogRegisterBuffer(state, buffer, GENERIC_XLOG_FULL_IMAGE);
	InitMetaPage(page);
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buffer);

	auto *result = static_cast<IndexBuildResult *>(palloc0(sizeof(IndexBuildResult)));
	// Leave the table's row estimate as it is (the index build does not count rows).
	result->heap_tuples = heap->rd_rel->reltuples < 0 ? 0 : heap->rd_rel->reltuples;
	result->index_tuples = 0;
	return result;
}

// Unlogged indexes: the metapage of the init fork.
void
kvsorted_buildempty(Relation index)
{
	Page page = static_cast<Page>(palloc(BLCKSZ));
	InitMetaPage(page);
	PageSetChecksumInplace(page, 0);
	smgrwrite(RelationGetSmgr(index), INIT_FORKNUM, 0, page, true);
	log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM, 0, page, true);
	smgrimmedsync(RelationGetSmgr(index), INIT_FORKNUM);
	pfree(page);
}

} // namespace nodedb_kv::sortedindex
