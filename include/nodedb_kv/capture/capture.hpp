#pragma once
// Change capture: every committed change of a kv table, delivered to registered consumers (kv_stats,
// sorted indexes, pub/sub).  Writers record (relation, key with its type, op, and the new row's
// values of the columns some consumer asked for) in a log private to the transaction.  Subtransaction
// abort drops what the subtransaction recorded; at commit the log goes to every consumer with the
// commit LSN and time (PG15-PITFALLS §7); abort discards it.  Capture knows nothing of the table AM
// above it (the AM decides what to record) nor of what consumers do.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "nodes/bitmapset.h"
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::capture {

enum class ChangeOp : uint8 { Insert, Update, Delete, Expire, Truncate };
constexpr int kChangeOpCount = 5;

// Type of a captured key, from the key column's pg_attribute.
struct KeyType {
	Oid type;
	Oid collation;
	int16 len;
	bool byval;
};

// One recorded change.  Everything it points to lives in the log's memory context (under
// TopTransactionContext) until the end of the transaction.
struct Change {
	Oid relid;                // the table (for Truncate too)
	ChangeOp op;              //
	bool key_isnull;          // true for Truncate and for tables without a primary key
	bool watched;             // some consumer asked for columns of this relation (whatever the op)
	SubTransactionId subid;   // subtransaction that recorded it
	KeyType key_type;         // valid unless key_isnull
	Datum key;                // copied
	int ncolumns;             // requested columns of the new row (Insert and Update), else 0
	const AttrNumber *attnos; // their attribute numbers, ascending
	const Datum *values;      // their values (copied), parallel to attnos
	const bool *isnull;       //
	uint64 origin;            // the RESP client whose command made it (SetOrigin), 0: any other writer
};

// What commit delivers along with the changes.
struct CommitInfo {
	XLogRecPtr lsn;   // end of the transaction's commit record (XactLastCommitEnd)
	TimestampTz time; // the transaction's commit timestamp
};

// A consumer of committed changes.  Any callback may be null.
struct Consumer {
	const char *name;
	// Adds to *columns the attribute numbers of rel's new rows this consumer needs.  Called with
	// catalog access allowed, at a write, at most once per relation until its next relcache
	// invalidation.  A consumer that asks for nothing costs writers nothing.
	void (*columns)(Relation rel, Bitmapset **columns);
	// Before the commit record: may ERROR (the transaction then aborts) and must reserve everything
	// commit needs.  count may be 0.
	void (*pre_commit)(const Change *changes, int count);
	// After the commit record, before locks are released: must not fail (an ERROR here is a PANIC).
	void (*commit)(const Change *changes, int count, const CommitInfo &info);
	// Transaction abort (also after a failed pre_commit): release reservations.  Must not fail.
	void (*abort)();
};

// Registers a consumer; only from _PG_init.
void RegisterConsumer(const Consumer &consumer);

// Records a change of rel.  key_attno names the key column (InvalidAttrNumber: no key); new_row is
// the new row version for Insert and Update (consumers' columns are copied from it), else nullptr.
// The caller decides whether rel is captured at all (rewrite targets are not).  May ERROR (memory).
void Record(Relation rel, ChangeOp op, AttrNumber key_attno, Datum key, bool key_isnull, TupleTableSlot *new_row);

// The RESP client (its id) whose command runs now, for the changes recorded from now on (0: none).  The
// RESP worker sets it around each command, so CLIENT TRACKING ... NOLOOP can tell a client's own writes.
void SetOrigin(uint64 origin);

// Number of changes recorded by the current transaction so far.
int PendingChangeCount();

// The changes recorded by the current transaction so far, in order (*count of them; valid until the
// next Record or the end of the (sub)transaction).
const Change *PendingChanges(int *count);

// Registers the transaction, subtransaction and relcache callbacks.  Called from _PG_init.
void InstallCallbacks();

} // namespace nodedb_kv::capture
