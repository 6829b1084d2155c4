// Index insertion of kv_sorted: nothing.  The executor calls aminsert while the row is not yet
// committed; the shared structure is fed at commit by change capture (sortedindex_capture.cpp).
#include "nodedb_kv/sortedindex/sortedindex_am.hpp"

namespace nodedb_kv::sortedindex {

bool
kvsorted_insert(Relation, Datum *, bool *, ItemPointer, Relation, IndexUniqueCheck, bool, IndexInfo *)
{
	return false;
}

} // namespace nodedb_kv::sortedindex
