#pragma once
// Messages published by a transaction (kv_publish from SQL, PUBLISH inside a RESP worker's batch, change
// events): kept in transaction memory and appended to the bus at commit, never on rollback; a rolled
// back subtransaction takes its own messages along.  PG-native.
#include <cstddef>

namespace nodedb_kv::pubsub {

// Queues a message for the bus at commit.  relid: the collection whose data it carries (keyspace
// notifications), else 0 (see Append).  ERROR (54000) when it is larger than the bus allows.  May ERROR
// (out of memory).
void PublishAtCommit(const char *channel, size_t channel_len, const char *payload, size_t payload_len,
                     unsigned int relid = 0);

// Registers the transaction and subtransaction callbacks.  Called once from _PG_init.
void InstallPendingCallbacks();

} // namespace nodedb_kv::pubsub
