#pragma once
// Change capture: every write to a kv table records (relation, key, op) in a log private to the
// transaction.  Subtransaction abort drops what the subtransaction recorded; at commit the log is
// delivered to the registered consumers (PG15-PITFALLS §7); abort discards it.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "executor/tuptable.h"
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::tableam {

enum class ChangeOp : uint8 { Insert, Update, Delete, Expire, Truncate };

struct Change {
	Oid relid;
	ChangeOp op;
	bool key_isnull;        // true for Truncate and for tables without a primary key
	SubTransactionId subid; // subtransaction that recorded it
	Datum key;              // copied into the log's memory context
};

// A consumer of committed changes.  pre_commit may ERROR (the transaction then aborts) and must
// reserve everything commit needs; commit must not fail (it runs after the commit record);
// abort releases reservations.  Any callback may be null.
struct ChangeConsumer {
	const char *name;
	void (*pre_commit)(const Change *changes, int count);
	void (*commit)();
	void (*abort)();
};

// Registers a consumer; only from _PG_init.
void RegisterChangeConsumer(const ChangeConsumer &consumer);

// Records a change of the row in slot (the key is read from the slot).  Ignores rewrite targets.
void CaptureSlotChange(Relation rel, ChangeOp op, TupleTableSlot *slot);

// Records a change with an explicit key (or none, for Truncate).
void CaptureChange(Relation rel, ChangeOp op, Datum key, bool key_isnull);

// Number of changes recorded by the current transaction so far.
int PendingChangeCount();

// Registers the transaction and subtransaction callbacks.  Called from _PG_init.
void InstallCaptureCallbacks();

} // namespace nodedb_kv::tableam
