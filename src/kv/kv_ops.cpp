// The kv engine operations (kv_api.hpp) over kv_handle / kv_row / kv_value.  Every write follows
// one loop: find and lock the key's row, build the new row (a copy, or a new row with defaults),
// apply the operation's edit, update or insert; an insert that loses a race to a concurrent insert
// of the same key starts the loop again and then updates the winner's row.
#include "nodedb_kv/kv/kv_handle.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/sysattr.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture_touch.hpp"

namespace nodedb_kv::kv {
namespace {

// Write: store the edited row in the transaction.  WriteOutside: store it in place, outside the
// transaction (the row must exist; ReadModifyWrite locks it first).
enum class EditResult { Write, WriteOutside, Skip, Fail };

// Changes the row in slot (values/isnull arrays, not yet stored).  is_new: no live row existed
// (handle->row is then meaningless).
typedef EditResult (*EditFn)(Handle *handle, TupleTableSlot *slot, bool is_new, void *arg, Status *status);

// Called once the write is done.  wrote: the edited row was stored, and slot holds it as stored,
// i.e. after BEFORE ROW triggers and the column's input conversion (typmod rounding, float4
// precision).  Otherwise a BEFORE ROW trigger suppressed the write: slot is the row that stays
// stored, or null if the key has none.
typedef void (*WrittenFn)(Handle *handle, TupleTableSlot *slot, bool wrote, void *arg);

// Runs the read-modify-write loop of one write operation.  *found_out tells whether a live row
// existed when the edit was applied; written (may be null) is called once the write is done.
void
ReadModifyWrite(Handle *handle, EditFn edit, WrittenFn written, void *arg, Status *status, bool *found_out)
{
	// Without BEFORE UPDATE row triggers the row is not locked first: the update itself waits for a
	// concurrent writer and reports a change, like UPDATE (one row lock and WAL record less per call).
	TriggerDesc *triggers = handle->rri->ri_TrigDesc;
	bool lock_first = triggers != nullptr && triggers->trig_update_before_row;
	for (;;) {
		bool found = LookupRow(handle, lock_first);
		if (found_out)
			*found_out = found;
		TupleTableSlot *slot = NewRowSlot(handle, found);
		EditResult result = edit(handle, slot, !found, arg, status);
		if (result == EditResult::WriteOutside) {
			if (!lock_first) {
				// An in-place write needs the newest version locked: look again, locking (once: not a
				// retry, so it does not count against nodedb_kv.max_write_attempts).
				lock_first = true;
				continue;
			}
			// Cannot be written in place: a transactional write (of the locked row: no Retry).
			WriteOutcome outcome = OverwriteRow(handle, slot) ? WriteOutcome::Written : UpdateRow(handle, slot, true);
			if (written != nullptr)
				written(handle, outcome == WriteOutcome::Written ? slot : handle->row, outcome == WriteOutcome::Written,
				        arg);
			return;
		}
		if (result != EditResult::Write)
			return;
		WriteOutcome outcome = found ? UpdateRow(handle, slot, lock_first) : InsertRow(handle, slot);
		if (outcome == WriteOutcome::Retry) {
			// Lost a race to a concurrent writer of the key (or a trigger sent the insert to an existing
			// key): apply the edit again.  A row that changed under an unlocked update is locked next
			// time, in line behind its writers, so the retry cannot lose the same race again.
			if (found)
				lock_first = true;
			NextAttempt(handle);
			continue;
		}
		if (written != nullptr) {
			if (outcome == WriteOutcome::Written)
				written(handle, slot, true, arg);
			else
				written(handle, found ? handle->row : nullptr, false, arg);
		}
		return;
	}
}

void
SetField(Handle *handle, TupleTableSlot *slot, Datum datum)
{
	slot->tts_values[handle->field_attno - 1] = datum;
	slot->tts_isnull[handle->field_attno - 1] = false;
}

bool
SameBytes(const Value &value, Bytes bytes)
{
	if (value.isnull)
		return bytes.len == 0; // a NULL field compares like a missing key
	return value.bytes.len == bytes.len && (bytes.len == 0 || memcmp(value.bytes.data, bytes.data, bytes.len) == 0);
}

struct IncrArgs {
	int64 delta;
	Ttl ttl;
	int64 result;
	int64 ttl_ms; // of the row as stored
	bool exists;  // the key has a row after the call (false only when a trigger suppressed its creation)
};

EditResult
IncrEdit(Handle *handle, TupleTableSlot *slot, bool is_new, void *arg, Status *status)
{
	auto *args = static_cast<IncrArgs *>(arg);
	int64 current = 0;
	if (!is_new && !ReadInt(handle, handle->row, &current, status))
		return EditResult::Fail;
	if (__builtin_add_overflow(current, args->delta, &args->result)) {
		SetStatus(status, Code::Overflow, "arithmetic overflow on %s", RelationGetRelationName(handle->rel));
		return EditResult::Fail;
	}
	Datum datum;
	if (!MakeInt(handle, args->result, &datum, status))
		return EditResult::Fail;
	SetField(handle, slot, datum);
	if (!ApplyTtl(handle, slot, args->ttl, is_new, status))
		return EditResult::Fail;
	args->ttl_ms = ExpiryMillis(handle, slot);
	return EditResult::Write;
}

// The result of INCR is the value stored, which a BEFORE trigger may have changed, or kept (a
// suppressed write leaves the old value).  If the stored value is no integer any more (a trigger's
// doing), the computed one is reported.
void
IncrWritten(Handle *handle, TupleTableSlot *slot, bool wrote, void *arg)
{
	auto *args = static_cast<IncrArgs *>(arg);
	args->exists = slot != nullptr;
	if (slot == nullptr)
		return;
	Status ignored;
	int64 stored = 0;
	if (ReadInt(handle, slot, &stored, &ignored))
		args->result = stored;
	if (!wrote)
		args->ttl_ms = TtlMillis(handle, slot);
}

struct HitArgs {
	IncrArgs incr;
	int64 limit;
};

// One more hit; over the limit, on an existing row, the hit is written outside the transaction.
EditResult
HitEdit(Handle *handle, TupleTableSlot *slot, bool is_new, void *arg, Status *status)
{
	auto *args = static_cast<HitArgs *>(arg);
	EditResult result = IncrEdit(handle, slot, is_new, &args->incr, status);
	if (result == EditResult::Write && !is_new && args->incr.result > args->limit)
		return EditResult::WriteOutside;
	return result;
}

struct FloatArgs {
	double delta;
	double result;
	bool exists;
};

EditResult
IncrFloatEdit(Handle *handle, TupleTableSlot *slot, bool is_new, void *arg, Status *status)
{
	auto *args = static_cast<FloatArgs *>(arg);
	double current = 0;
	if (!is_new && !ReadDouble(handle, handle->row, &current, status))
		return EditResult::Fail;
	args->result = current + args->delta;
	Datum datum;
	if (!MakeDouble(handle, args->result, &datum, status))
		return EditResult::Fail;
	SetField(handle, slot, datum);
	return ApplyTtl(handle, slot, {TtlMode::Keep, 0}, is_new, status) ? EditResult::Write : EditResult::Fail;
}

// The result of INCR_FLOAT is the value stored: after BEFORE triggers, rounded to numeric(p,s),
// narrowed to float4; the old value if a trigger suppressed the write.
void
IncrFloatWritten(Handle *handle, TupleTableSlot *slot, bool, void *arg)
{
	auto *args = static_cast<FloatArgs *>(arg);
	args->exists = slot != nullptr;
	if (slot == nullptr)
		return;
	Status ignored;
	double stored = 0;
	if (ReadDouble(handle, slot, &stored, &ignored))
		args->result = stored;
}

struct SwapArgs {
	bool compare;         // CAS: write only if the current text equals expected
	bool only_if_absent;  // SET NX
	bool only_if_present; // SET XX
	Bytes expected;
	Bytes value;
	Ttl ttl;
	Value *before;
	bool wrote;
};

EditResult
SwapEdit(Handle *handle, TupleTableSlot *slot, bool is_new, void *arg, Status *status)
{
	auto *args = static_cast<SwapArgs *>(arg);
	args->wrote = false;
	if (is_new)
		*args->before = {false, true, {nullptr, 0}, -1};
	else
		ReadValue(handle, handle->row, args->before);
	if (args->compare && !(is_new ? args->expected.len == 0 : SameBytes(*args->before, args->expected)))
		return EditResult::Skip;
	if ((args->only_if_absent && !is_new) || (args->only_if_present && is_new))
		return EditResult::Skip;
	Datum datum;
	if (!MakeValue(handle, handle->field_attno, args->value, &datum, status))
		return EditResult::Fail;
	SetField(handle, slot, datum);
	if (!ApplyTtl(handle, slot, args->ttl, is_new, status))
		return EditResult::Fail;
	args->wrote = true;
	return EditResult::Write;
}

// A write a BEFORE trigger suppressed did not happen.
void
SwapWritten(Handle *, TupleTableSlot *, bool wrote, void *arg)
{
	static_cast<SwapArgs *>(arg)->wrote = wrote;
}

struct ExpireArgs {
	Ttl ttl;
	bool applied;
};

EditResult
ExpireEdit(Handle *handle, TupleTableSlot *slot, bool is_new, void *arg, Status *status)
{
	auto *args = static_cast<ExpireArgs *>(arg);
	args->applied = false;
	if (is_new || (args->ttl.mode == TtlMode::Clear && TtlMillis(handle, handle->row) < 0))
		return EditResult::Skip; // EXPIRE of a missing key, PERSIST of a key without expiry
	if (!ApplyTtl(handle, slot, args->ttl, false, status))
		return EditResult::Fail;
	args->applied = true;
	return EditResult::Write;
}

void
ExpireWritten(Handle *, TupleTableSlot *, bool wrote, void *arg)
{
	static_cast<ExpireArgs *>(arg)->applied = wrote;
}

// The privileges of the statement a write stands for, INSERT INTO t (key, field[, expiry]) ... ON
// CONFLICT (key) DO UPDATE SET field = ...[, expiry = ...] RETURNING field: the key is read (the
// arbiter) and inserted, never updated; the field read, inserted and updated; the expiry column only
// when ttl writes it (Set, Clear: both; SetIfNew: a new row's).  read_field: the old value is read.
Privileges
UpsertPrivileges(Ttl ttl, bool read_field)
{
	AclMode expiry = ttl.mode == TtlMode::Keep       ? 0
	                 : ttl.mode == TtlMode::SetIfNew ? ACL_INSERT
	                                                 : (ACL_INSERT | ACL_UPDATE);
	AclMode field = (read_field ? ACL_SELECT : 0) | ACL_INSERT | ACL_UPDATE;
	return {ACL_SELECT | ACL_INSERT, field, expiry, 0};
}

// Opens, runs one write, closes.  number: the operation stores numbers (the field's type is checked
// before anything is read).
Status
RunWrite(const Target &target, Bytes key, const Privileges &privileges, EditFn edit, WrittenFn written, void *arg,
         bool *found, bool number = false)
{
	Handle handle;
	Status status;
	if (OpenHandle(target, key, Access::Write, &handle, &status, &privileges) &&
	    (!number || CheckNumberField(&handle, &status)))
		ReadModifyWrite(&handle, edit, written, arg, &status, found);
	CloseHandle(&handle);
	return status;
}

} // namespace

Status
Incr(const Target &target, Bytes key, int64_t delta, Ttl ttl, int64_t *result, int64_t *ttl_ms, bool *exists)
{
	IncrArgs args = {delta, ttl, 0, -1, true};
	Status status = RunWrite(target, key, UpsertPrivileges(ttl, true), IncrEdit, IncrWritten, &args, nullptr, true);
	*result = args.result;
	if (ttl_ms != nullptr)
		*ttl_ms = args.ttl_ms;
	if (exists != nullptr)
		*exists = args.exists;
	return status;
}

Status
CountHit(const Target &target, Bytes key, Ttl ttl, int64_t limit, int64_t *result, int64_t *ttl_ms)
{
	HitArgs args = {{1, ttl, 0, -1, true}, limit};
	Status status = RunWrite(target, key, UpsertPrivileges(ttl, true), HitEdit, IncrWritten, &args.incr, nullptr, true);
	*result = args.incr.result;
	if (ttl_ms != nullptr)
		*ttl_ms = args.incr.ttl_ms;
	return status;
}

Status
IncrFloat(const Target &target, Bytes key, double delta, double *result, bool *exists)
{
	FloatArgs args = {delta, 0, true};
	Status status = RunWrite(target, key, UpsertPrivileges({TtlMode::Keep, 0}, true), IncrFloatEdit, IncrFloatWritten,
	                         &args, nullptr, true);
	*result = args.result;
	if (exists != nullptr)
		*exists = args.exists;
	return status;
}

Status
CompareAndSwap(const Target &target, Bytes key, Bytes expected, Bytes new_value, bool *success, Value *before)
{
	SwapArgs args = {true, false, false, expected, new_value, {TtlMode::Keep, 0}, before, false};
	Status status =
	    RunWrite(target, key, UpsertPrivileges({TtlMode::Keep, 0}, true), SwapEdit, SwapWritten, &args, nullptr);
	*success = args.wrote;
	return status;
}

Status
GetSet(const Target &target, Bytes key, Bytes new_value, Value *before)
{
	SwapArgs args = {false, false, false, {nullptr, 0}, new_value, {TtlMode::Keep, 0}, before, false};
	return RunWrite(target, key, UpsertPrivileges({TtlMode::Keep, 0}, true), SwapEdit, SwapWritten, &args, nullptr);
}

Status
Set(const Target &target, Bytes key, Bytes value, SetOptions options, bool *written, Value *before)
{
	Value ignored;
	SwapArgs args = {false,
	                 options.only_if_absent,
	                 options.only_if_present,
	                 {nullptr, 0},
	                 value,
	                 options.ttl,
	                 before ? before : &ignored,
	                 false};
	Status status =
	    RunWrite(target, key, UpsertPrivileges(options.ttl, before != nullptr), SwapEdit, SwapWritten, &args, nullptr);
	*written = args.wrote;
	return status;
}

Status
Expire(const Target &target, Bytes key, Ttl ttl, bool *applied)
{
	ExpireArgs args = {ttl, false};
	// UPDATE t SET expiry = ... WHERE key = $1 (PERSIST also reads whether there is an expiry).
	AclMode expiry = ttl.mode == TtlMode::Clear ? (ACL_SELECT | ACL_UPDATE) : ACL_UPDATE;
	Privileges privileges = {ACL_SELECT, 0, expiry, 0};
	Status status = RunWrite(target, key, privileges, ExpireEdit, ExpireWritten, &args, nullptr);
	*applied = args.applied;
	return status;
}

Status
Get(const Target &target, Bytes key, Value *value)
{
	Handle handle;
	Status status;
	*value = {false, true, {nullptr, 0}, -1};
	Privileges privileges = {ACL_SELECT, ACL_SELECT, ACL_SELECT, 0}; // the value and its time to live
	if (OpenHandle(target, key, Access::Read, &handle, &status, &privileges) && LookupRow(&handle, true))
		ReadValue(&handle, handle.row, value);
	CloseHandle(&handle);
	return status;
}

Status
Exists(const Target &target, Bytes key, bool *exists)
{
	Handle handle;
	Status status;
	Privileges privileges = {ACL_SELECT, 0, 0, 0};
	*exists = OpenHandle(target, key, Access::Read, &handle, &status, &privileges) && LookupRow(&handle, true);
	CloseHandle(&handle);
	return status;
}

Status
Delete(const Target &target, Bytes key, bool *deleted)
{
	Handle handle;
	Status status;
	*deleted = false;
	Privileges privileges = {ACL_SELECT, 0, 0, ACL_DELETE}; // DELETE FROM t WHERE key = $1
	if (OpenHandle(target, key, Access::Delete, &handle, &status, &privileges) && LookupRow(&handle, true))
		*deleted = DeleteRow(&handle);
	CloseHandle(&handle);
	return status;
}

Status
Version(const Target &target, Bytes key, bool lock, RowVersion *version)
{
	Handle handle;
	Status status;
	*version = {false, 0, 0, 0, 0, 0, false, 0};
	// SELECT key FROM t WHERE key = $1 [FOR UPDATE]; the lock needs a write handle (it finds the newest
	// version) and, as FOR UPDATE, UPDATE on the table or any column (the block's own writes check
	// theirs).
	Privileges privileges = {ACL_SELECT, 0, 0, lock ? ACL_UPDATE : static_cast<AclMode>(0)};
	if (!OpenHandle(target, key, lock ? Access::Delete : Access::Read, &handle, &status, &privileges)) {
		CloseHandle(&handle);
		return status;
	}
	version->storage = handle.rel->rd_node.relNode;
	if (LookupRow(&handle, lock)) {
		bool isnull = false;
		Datum xmin = slot_getsysattr(handle.row, MinTransactionIdAttributeNumber, &isnull);
		version->found = true;
		version->xmin = isnull ? 0 : DatumGetTransactionId(xmin);
		version->block = ItemPointerGetBlockNumber(&handle.row->tts_tid);
		version->offset = ItemPointerGetOffsetNumber(&handle.row->tts_tid);
		version->own = !isnull && TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin));
		// heap_getsysattr answers the raw t_cid (for a version of ours: the inserting command)
		Datum cid = slot_getsysattr(handle.row, MinCommandIdAttributeNumber, &isnull);
		version->cid = isnull ? 0 : DatumGetCommandId(cid);
	} else {
		Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(handle.rel), handle.key_attno - 1);
		version->touches = capture::Touches(RelationGetRelid(handle.rel), handle.key, attr->attlen, attr->attbyval);
	}
	CloseHandle(&handle);
	return status;
}

} // namespace nodedb_kv::kv
