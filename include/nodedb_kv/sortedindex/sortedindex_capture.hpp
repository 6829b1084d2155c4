#pragma once
// kv_sorted's change-capture consumer and its DROP hook.
#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"

namespace nodedb_kv::sortedindex {

// Registers the consumer and the object-access hook.  Called from _PG_init.
void RegisterSortedConsumer();

// Encodes a captured change for index def into *p (the new entry, or remove_only); sortkey and member
// are scratch buffers.  False if the change lacks a needed column (the index is newer than the change).
// May ERROR (collation functions, entry size).
bool PrepareChange(const IndexDef &def, const capture::Change &change, Prepared *p, Buf *sortkey, Buf *member);

} // namespace nodedb_kv::sortedindex
