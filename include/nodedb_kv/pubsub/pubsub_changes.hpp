#pragma once
// Change events: a change-capture consumer that publishes every committed change of a kv collection on
// the channel named after it (CONTRACT.md "RESP" -> "Change events").  PG-native.

namespace nodedb_kv::pubsub {

// The channel of a collection: its name when it lives in schema "public", else "schema.name" (no
// quoting).  Returns a palloc'd string, or nullptr if relid names no relation.  Needs catalog access.
char *CollectionChannel(unsigned int relid);

// Whether the current user may listen to name (a channel, or a pattern when pattern is true): false if
// it is the change channel of a kv collection (or, for a pattern, may match it or one of its keyspace
// notification channels) the user has no SELECT privilege on, or if it is a plain channel (any
// pattern) and the user is not in nodedb_kv.pubsub_role.
// Needs a transaction; may ERROR.
bool MayListen(const char *name, size_t len, bool pattern);

// Registers the capture consumer.  Called once from _PG_init.
void RegisterChangeEvents();

} // namespace nodedb_kv::pubsub
