#pragma once
// Reloptions of kv_sorted indexes: WITH (window = daily|weekly|monthly|custom, window_column,
// window_start, window_end, key).  Each value is checked on its own here; how they combine is
// checked when the definition is loaded (sortedindex_key.cpp).
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/rel.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::sortedindex {

// The parsed options as build_reloptions lays them out (string offsets, 0 = not given).
struct SortedOptions {
	int32 vl_len_;
	int window;
	int window_column;
	int window_start;
	int window_end;
	int key;
};

// Registers the reloption kind and its options.  Called from _PG_init.
void RegisterOptions();

// amoptions: parses (and with validate, checks) reloptions.
bytea *ParseOptions(Datum reloptions, bool validate);

// The string value of an option of index (offset from SortedOptions), or nullptr when not given.
const char *OptionValue(Relation index, int SortedOptions::*field);

// Parses a window_start/window_end value: a timestamptz literal or epoch milliseconds.  May ERROR.
TimestampTz ParseInstant(const char *value);

} // namespace nodedb_kv::sortedindex
