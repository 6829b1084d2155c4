#pragma once
// Internals of the kv engine (PG-native): an open collection for one operation, row lookup with
// row locks, writes through the executor's simple-relation path, and value encoding.  Only
// src/kv/ includes this header; everything else uses kv_api.hpp.
#include "nodedb_kv/kv/kv_api.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::kv {

struct CacheEntry;

// One operation on one collection.  Opened by OpenHandle, released by CloseHandle (or by transaction
// abort: everything is in PG memory and resource owners).
struct Handle {
	Relation rel;
	Relation pk_index;
	bool pk_index_owned; // opened by OpenHandle (else the executor's, closed by ExecCloseIndices)
	Oid key_eq_proc;
	Oid key_collation;
	AttrNumber key_attno;
	AttrNumber field_attno;
	AttrNumber expiry_attno; // InvalidAttrNumber if the collection has none
	Oid field_base_type;     // base type of the value field (domains resolved)
	Datum key;               // the key as a datum of the key column's type
	bool write;
	const Target *target;
	EState *estate;          // write handles only
	ResultRelInfo *rri;      // write handles only
	TupleTableSlot *row;     // the row found by LookupRow (locked for write handles)
	TupleTableSlot *new_row; // the row NewRowSlot builds (one slot for every attempt)
	int attempts;            // lookups and writes retried so far (NextAttempt)
	bool snapshot_pushed;
	CacheEntry *cache; // the transaction's kept state of this collection (kv_cache.cpp), or null
};

// What an operation does to the collection (decides locks and the privileges checked).
enum class Access { Read, Write, Delete };

// The privileges an operation needs: those the executor would check for the same statement
// (ExecCheckRTEPerms), per column for SELECT / INSERT / UPDATE, and DELETE at table level.  A column
// the operation neither reads nor writes (the expiry column when no ttl is passed, the key for
// UPDATE) needs none.
struct Privileges {
	AclMode key;    // on the key column
	AclMode field;  // on the value field
	AclMode expiry; // on the expiry column (ignored when the collection has none)
	AclMode table;  // ACL_DELETE (table-level only); ACL_UPDATE: of the table or any column (a row lock)
};

// Opens target: checks the AM, row-level security, privileges and read-only state, resolves the
// value field and converts key.  privileges: what the operation needs (null: by access, every
// privilege of that kind on the key, field and expiry columns).  On a refusal returns false with
// *status set.  CloseHandle must be called either way.
bool OpenHandle(const Target &target, Bytes key, Access access, Handle *handle, Status *status,
                const Privileges *privileges = nullptr);

// Column privilege check for one more column an operation reads or writes (OpenHandle checked those
// of its Privileges): modes (SELECT / INSERT / UPDATE) at table level or else on the column, as
// ExecCheckRTEPerms does.  Internal targets need none.  On a refusal false with a 42501 *status.
bool CheckColumn(Handle *handle, AttrNumber attno, AclMode modes, Status *status);

// Releases what OpenHandle took (queued AFTER triggers fire here for write handles).
void CloseHandle(Handle *handle);

// Finds the live row of the handle's key into handle->row.  Write handles wait for a transaction
// still inserting it and, with lock, lock it (READ COMMITTED: the newest version; REPEATABLE READ:
// serialization failure if it changed).  Without lock the row is the newest committed version (and
// under REPEATABLE READ the one our snapshot sees); UpdateRow then detects a concurrent change.
// Returns false if the key is absent or expired.
bool LookupRow(Handle *handle, bool lock);

// Counts one more attempt of the handle's operation before a retry (a concurrent writer got there
// first, or a BEFORE trigger sent the write to another key): CHECK_FOR_INTERRUPTS, then ERROR 40001
// once nodedb_kv.max_write_attempts attempts are used up.  Every retry loop of the engine calls it.
void NextAttempt(Handle *handle);

// A slot for the row to write: a copy of handle->row (update) or a new row with the key, column
// defaults and no expiry (insert).  Its values may be changed before ExecStoreVirtualTuple.
TupleTableSlot *NewRowSlot(Handle *handle, bool from_existing);

// What a write did.  Suppressed: a BEFORE ROW trigger returned NULL ("do nothing"), nothing was
// written.  Retry: a concurrent transaction got there first (it inserted the key, or changed or
// deleted the unlocked row); the caller looks the key up again.
enum class WriteOutcome { Written, Suppressed, Retry };

// Inserts the row in slot with speculative insertion on the primary key.  The arbiter check sees the
// row as BEFORE INSERT triggers left it (as INSERT ... ON CONFLICT does): if a trigger changed the key
// and that key exists, handle->key becomes the trigger's key and the retry updates that row.
WriteOutcome InsertRow(Handle *handle, TupleTableSlot *slot);

// Replaces handle->row with the row in slot.  locked: LookupRow locked it (BEFORE UPDATE row
// triggers fire here, and may change the key); otherwise it is the newest committed version,
// unlocked, and the update itself waits for a concurrent writer as UPDATE does (Retry if that writer
// changed or deleted it; under REPEATABLE READ a serialization failure).  Relations with BEFORE
// UPDATE row triggers must use the locked form.
WriteOutcome UpdateRow(Handle *handle, TupleTableSlot *slot, bool locked);

// Writes the row in slot over the locked handle->row in place, outside the transaction: it survives
// the transaction's abort, is not captured, and readers see it at once.  Returns false (writing
// nothing) if the collection is WAL-logged or the new row does not have the old one's exact layout.
// The write lives as long as the version it overwrote: a version this transaction wrote still dies
// with the transaction (and a subtransaction's with the subtransaction), taking the write along.
bool OverwriteRow(Handle *handle, TupleTableSlot *slot);

// Deletes the locked handle->row; false if a BEFORE DELETE row trigger said "do nothing".
bool DeleteRow(Handle *handle);

// Value encoding (kv_value.cpp).
// Whether the value field's type can hold a number (integer, numeric, float, text or bytea types and
// domains over them); else false with a 42846 *status naming the type.  INCR checks it up front.
bool CheckNumberField(Handle *handle, Status *status);
bool ReadInt(Handle *handle, TupleTableSlot *slot, int64 *value, Status *status);
bool MakeInt(Handle *handle, int64 value, Datum *datum, Status *status);
bool ReadDouble(Handle *handle, TupleTableSlot *slot, double *value, Status *status);
bool MakeDouble(Handle *handle, double value, Datum *datum, Status *status);
void ReadValue(Handle *handle, TupleTableSlot *slot, Value *value);
bool MakeValue(Handle *handle, AttrNumber attno, Bytes bytes, Datum *datum, Status *status);
int64 TtlMillis(Handle *handle, TupleTableSlot *slot);
// Same for the row being built in slot's values/isnull arrays (not yet stored).
int64 ExpiryMillis(Handle *handle, TupleTableSlot *slot);
// Applies ttl to the expiry column of the virtual row in slot (is_new: the row is being created).
bool ApplyTtl(Handle *handle, TupleTableSlot *slot, Ttl ttl, bool is_new, Status *status);

// Would-block mode (SetNoWait): whether it is on; LockCollection takes a relation lock, at once or
// raising 55P03 in that mode (else waiting, as table_open does).
bool NoWait();
void LockCollection(Oid relid, LOCKMODE mode);
// Raises 55P03 for the row of handle's key (the text heap uses for NOWAIT).
[[noreturn]] void RowWouldBlock(Handle *handle);

// Collections kept open across the operations of a transaction (kv_cache.cpp; SetHandleCache in
// kv_api.hpp turns it on).  CacheTake: the entry of (relid, write) for a handle being opened, marked in
// use: filled (CacheFilled: reuse it with CacheApply) or new (CacheFill it once the handle is open);
// null when the cache is off or full or the entry is in use.  CacheRelease at close: true if the
// entry took care of the handle's objects (kept, or closed because stale / keep false), false if the
// handle must close them itself (the entry was never filled).
CacheEntry *CacheTake(Oid relid, bool write);
bool CacheFilled(const CacheEntry *entry);
void CacheFill(CacheEntry *entry, Handle *handle);
void CacheApply(const CacheEntry *entry, Handle *handle);
bool CacheRelease(CacheEntry *entry, Handle *handle, bool keep);
// Per-entry answers (null entry: nothing cached).  CachePrivileges: 1 allowed, 0 refused, -1 unknown.
bool CacheBaseType(CacheEntry *entry, AttrNumber attno, Oid *type);
void CacheSetBaseType(CacheEntry *entry, AttrNumber attno, Oid type);
bool CacheRlsOff(const CacheEntry *entry, Oid user);
void CacheSetRlsOff(CacheEntry *entry, Oid user);
int CachePrivileges(const CacheEntry *entry, Oid user, const Privileges &privileges, AttrNumber field_attno);
void CacheSetPrivileges(CacheEntry *entry, Oid user, const Privileges &privileges, AttrNumber field_attno,
                        bool allowed);
// Closes every kept collection (before DDL on one of them in this transaction: TRUNCATE).
void CloseCachedHandles();

// Fills *status (printf-style message).
void SetStatus(Status *status, Code code, const char *format, ...) pg_attribute_printf(3, 4);

} // namespace nodedb_kv::kv
