#pragma once
// Rate gates: fixed-window counters per (gate, key), kept in the extension's unlogged kv collection
// kv_rate_gates.  The window starts at the first hit and the counter row expires at its end (the
// expiry worker removes it; a later hit takes the key over and starts a new window).
#include "nodedb_kv/kv/kv_api.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

namespace nodedb_kv::gate {

struct GateState {
	int64 current; // hits in the current window, including this one for Check
	int64 max_count;
	int64 resets_in_ms; // until the window ends (0 when no window is open)
	bool allowed;       // current <= max_count
};

// Counts one hit and tells whether it is allowed.  One atomic step (row lock on the counter).
void Check(kv::Bytes gate, kv::Bytes key, int64 max_count, int64 window_seconds, GateState *state);

// Reads the counter without counting.
void Remaining(kv::Bytes gate, kv::Bytes key, int64 max_count, GateState *state);

// Deletes the counter; returns whether one existed.
bool Reset(kv::Bytes gate, kv::Bytes key);

} // namespace nodedb_kv::gate
