#pragma once
// Rate gates: fixed-window counters per (gate, key), kept in the extension's unlogged kv collection
// kv_rate_gates.  The window starts at the first hit and the counter row expires at its end (the
// expiry worker removes it; a later hit takes the key over and starts a new window).  The API is PG-free
// and reports failures as kv::Status values (the engine's rule: errors are values); the SQL functions
// raise them, RESP would reply them.
#ifdef POSTGRES_H
static_assert(false, "gate_rate.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstdint>

#include "nodedb_kv/kv/kv_api.hpp"

namespace nodedb_kv::gate {

struct GateState {
	int64_t current; // hits in the current window, including this one for Check
	int64_t max_count;
	int64_t resets_in_ms; // until the window ends (0 when no window is open)
	bool allowed;         // current <= max_count
};

// Counts one hit and tells whether it is allowed.  One atomic step (row lock on the counter).  Over the
// limit the status is RateLimited (54001) with the contract's message ("rate limit exceeded for
// <gate>:<key>, retry after <ms>ms (current=<c>, max=<m>)", detail "retry_after_ms=<ms>"), and the hit
// is still counted (outside the caller's transaction, see kv::CountHit); *state is filled either way.
kv::Status Check(kv::Bytes gate, kv::Bytes key, int64_t max_count, int64_t window_seconds, GateState *state);

// Reads the counter without counting.
kv::Status Remaining(kv::Bytes gate, kv::Bytes key, int64_t max_count, GateState *state);

// Deletes the counter; *existed tells whether one existed.
kv::Status Reset(kv::Bytes gate, kv::Bytes key, bool *existed);

} // namespace nodedb_kv::gate
