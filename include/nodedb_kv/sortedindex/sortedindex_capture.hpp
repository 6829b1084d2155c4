#pragma once
// kv_sorted's change-capture consumer and its DROP hook.

namespace nodedb_kv::sortedindex {

// Registers the consumer and the object-access hook.  Called from _PG_init.
void RegisterSortedConsumer();

} // namespace nodedb_kv::sortedindex
