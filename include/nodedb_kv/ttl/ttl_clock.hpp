#pragma once
// nodedb_kv's one clock.  "Now" is max(statement start time, a shared monotonic high-water mark) plus
// the test-only offset nodedb_kv.test_clock_offset.  The high-water mark keeps a backwards step of the
// wall clock from resurrecting keys that already expired (PG15-PITFALLS §8).  Parallel workers use
// their leader's instant for the statement (published in shared memory), never one of their own.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "datatype/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::ttl {

// The current instant for expiry decisions.  Stable within a statement (and within a bgworker tick
// that set its statement start time).  Never errors; needs no catalog access (safe under buffer locks).
TimestampTz Now();

// Registers the clock's shared-memory area and the ExecutorStart hook through which a parallel leader
// publishes its instant before its workers start.  Called from _PG_init.
void RegisterClockShmem();

} // namespace nodedb_kv::ttl
