// Opened collections kept across the operations of one transaction (kv_api.hpp SetHandleCache; the
// RESP worker runs a loop turn's commands in one transaction).  An entry holds what OpenHandle builds
// for one (relation, read/write): the relation and its primary key open and locked, the executor
// state of writes (ResultRelInfo with every index open, slots), the value field's base type, and the
// row-level-security and privilege answers per user.  Per operation stay: the key, the command id,
// the snapshot, AFTER-trigger query level, the field resolution.
// Invalidation: a relcache invalidation of the relation (ALTER, GRANT/REVOKE, TRUNCATE, DROP...) marks
// its entries stale, and a stale entry is closed instead of reused; every entry is closed before
// commit (no relcache reference outlives the transaction) and forgotten at abort (the resource owner
// releases it); a subtransaction starts and ends with the entries closed, so no entry belongs to a
// resource owner other than the one that is current.  Collections with triggers are never kept (their
// executor state must not span operations).
#include "nodedb_kv/kv/kv_handle.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "utils/inval.h"
#include "utils/memutils.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::kv {

struct CacheEntry {
	bool used;   // the slot holds an entry
	bool in_use; // a handle has it now
	bool stale;  // invalidated: close instead of reuse
	bool write;
	Oid relid;
	SubTransactionId subxid; // created in this subtransaction
	Relation rel;
	Relation pk_index;
	bool pk_index_owned;
	EState *estate;
	ResultRelInfo *rri;
	TupleTableSlot *row;
	TupleTableSlot *new_row;
	AttrNumber base_type_attno; // field_base_type's column (InvalidAttrNumber: none yet)
	Oid base_type;
	static constexpr int kAnswers = 8;
	struct Answer {
		Oid user;
		Privileges privileges;
		AttrNumber field_attno;
		bool allowed;
	} answers[kAnswers]; // privilege checks, newest at next_answer - 1
	int nanswers;
	int next_answer;
	Oid rls_user; // check_enable_rls answered "not enabled" for this user (InvalidOid: unknown)
};

namespace {

constexpr int kEntries = 16;
CacheEntry entries[kEntries];
bool enabled = false;
bool callbacks_installed = false;

// Closes what the entry holds (the relation lock stays until the transaction ends, as table_close(NoLock)).
void
CloseEntry(CacheEntry *entry)
{
	if (entry->estate != nullptr) {
		ExecCloseIndices(entry->rri);
		ExecResetTupleTable(entry->estate->es_tupleTable, false);
		FreeExecutorState(entry->estate);
	} else if (entry->row != nullptr)
		ExecDropSingleTupleTableSlot(entry->row);
	if (entry->pk_index != nullptr && entry->pk_index_owned)
		index_close(entry->pk_index, NoLock);
	if (entry->rel != nullptr)
		table_close(entry->rel, NoLock);
	memset(entry, 0, sizeof(*entry));
}

// Closes every entry no handle holds; an entry in use is marked stale (closed when its handle closes).
void
CloseAll()
{
	for (CacheEntry &entry : entries) {
		if (!entry.used)
			continue;
		if (entry.in_use)
			entry.stale = true;
		else
			CloseEntry(&entry);
	}
}

// After commit or abort: the resource owner released the references, the memory is gone.  Only the
// slots in use are cleared: this runs at every transaction end of the RESP worker, a turn with one
// command included, and clearing the whole array cost more than 1,000 instructions per turn.
void
ForgetAll()
{
	for (CacheEntry &entry : entries) {
		if (entry.used || entry.in_use)
			memset(&entry, 0, sizeof(entry));
	}
}

void
XactCallback(XactEvent event, void *)
{
	switch (event) {
	case XACT_EVENT_PRE_COMMIT:
	case XACT_EVENT_PARALLEL_PRE_COMMIT:
	case XACT_EVENT_PRE_PREPARE:
		CloseAll();
		break;
	default: // commit, prepare (nothing is left), abort
		ForgetAll();
		break;
	}
}

void
SubXactCallback(SubXactEvent event, SubTransactionId subxid, SubTransactionId, void *)
{
	switch (event) {
	case SUBXACT_EVENT_START_SUB:
	case SUBXACT_EVENT_PRE_COMMIT_SUB:
		CloseAll();
		break;
	case SUBXACT_EVENT_ABORT_SUB:
		// The entries of the aborted subtransaction went with its resource owner.
		for (CacheEntry &entry : entries) {
			if (entry.used && entry.subxid == subxid)
				memset(&entry, 0, sizeof(entry));
		}
		break;
	default:
		break;
	}
}

void
RelcacheCallback(Datum, Oid relid)
{
	for (CacheEntry &entry : entries) {
		if (entry.used && (relid == InvalidOid || entry.relid == relid))
			entry.stale = true;
	}
}

} // namespace

void
SetHandleCache(bool on)
{
	if (on && !callbacks_installed) {
		RegisterXactCallback(XactCallback, nullptr);
		RegisterSubXactCallback(SubXactCallback, nullptr);
		CacheRegisterRelcacheCallback(RelcacheCallback, 0);
		callbacks_installed = true;
	}
	if (!on && IsTransactionState())
		CloseAll();
	enabled = on;
}

void
CloseCachedHandles()
{
	CloseAll();
}

CacheEntry *
CacheTake(Oid relid, bool write)
{
	if (!enabled)
		return nullptr;
	CacheEntry *free_slot = nullptr;
	SubTransactionId subxid = GetCurrentSubTransactionId();
	for (CacheEntry &entry : entries) {
		if (!entry.used) {
			if (free_slot == nullptr)
				free_slot = &entry;
			continue;
		}
		if (entry.relid != relid || entry.write != write)
			continue;
		if (entry.in_use)
			return nullptr; // an operation inside an operation on the same collection: not kept
		if (entry.stale || entry.subxid != subxid) {
			CloseEntry(&entry);
			free_slot = &entry;
			break;
		}
		entry.in_use = true;
		return &entry;
	}
	if (free_slot == nullptr)
		return nullptr;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->relid = relid;
	free_slot->write = write;
	free_slot->subxid = subxid;
	free_slot->in_use = true;
	return free_slot;
}

bool
CacheFilled(const CacheEntry *entry)
{
	return entry->used;
}

void
CacheFill(CacheEntry *entry, Handle *handle)
{
	entry->rel = handle->rel;
	entry->pk_index = handle->pk_index;
	entry->pk_index_owned = handle->pk_index_owned;
	entry->estate = handle->estate;
	entry->rri = handle->rri;
	entry->row = handle->row;
	entry->new_row = handle->new_row;
	entry->used = true;
}

void
CacheApply(const CacheEntry *entry, Handle *handle)
{
	handle->rel = entry->rel;
	handle->pk_index = entry->pk_index;
	handle->pk_index_owned = entry->pk_index_owned;
	handle->estate = entry->estate;
	handle->rri = entry->rri;
	handle->row = entry->row;
	handle->new_row = entry->new_row;
}

bool
CacheBaseType(CacheEntry *entry, AttrNumber attno, Oid *type)
{
	if (entry == nullptr || !entry->used || entry->base_type_attno != attno)
		return false;
	*type = entry->base_type;
	return true;
}

void
CacheSetBaseType(CacheEntry *entry, AttrNumber attno, Oid type)
{
	if (entry == nullptr)
		return;
	entry->base_type_attno = attno;
	entry->base_type = type;
}

bool
CacheRlsOff(const CacheEntry *entry, Oid user)
{
	return entry != nullptr && entry->used && OidIsValid(user) && entry->rls_user == user;
}

void
CacheSetRlsOff(CacheEntry *entry, Oid user)
{
	if (entry != nullptr)
		entry->rls_user = user;
}

int
CachePrivileges(const CacheEntry *entry, Oid user, const Privileges &privileges, AttrNumber field_attno)
{
	if (entry == nullptr || !entry->used)
		return -1;
	for (int i = 0; i < entry->nanswers; i++) {
		const CacheEntry::Answer &answer = entry->answers[i];
		if (answer.user == user && answer.field_attno == field_attno &&
		    memcmp(&answer.privileges, &privileges, sizeof(privileges)) == 0)
			return answer.allowed ? 1 : 0;
	}
	return -1;
}

void
CacheSetPrivileges(CacheEntry *entry, Oid user, const Privileges &privileges, AttrNumber field_attno, bool allowed)
{
	if (entry == nullptr)
		return;
	CacheEntry::Answer &answer = entry->answers[entry->next_answer];
	memset(&answer, 0, sizeof(answer));
	answer.user = user;
	answer.privileges = privileges;
	answer.field_attno = field_attno;
	answer.allowed = allowed;
	entry->next_answer = (entry->next_answer + 1) % CacheEntry::kAnswers;
	if (entry->nanswers < CacheEntry::kAnswers)
		entry->nanswers++;
}

bool
CacheRelease(CacheEntry *entry, Handle *handle, bool keep)
{
	entry->in_use = false;
	if (!entry->used) {
		// Never filled (the open failed or the collection is not kept): the handle closes its own.
		memset(entry, 0, sizeof(*entry));
		return false;
	}
	if (keep && !entry->stale && entry->subxid == GetCurrentSubTransactionId())
		return true;
	CacheApply(entry, handle); // the handle's objects are the entry's: close them once, here
	CloseEntry(entry);
	return true;
}

} // namespace nodedb_kv::kv
