#pragma once
// The member rows of spilled containers (kv_members; format: rtypes_spill.hpp; design:
// src/rtypes/README.md "Lifecycle"): reclaiming those of containers that are gone.  PG-free like
// kv_api.hpp; same error conventions.
#ifdef POSTGRES_H
static_assert(false, "kv_members.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>

#include "nodedb_kv/kv/kv_api.hpp"

namespace nodedb_kv::kv {

// One bounded step of the members vacuum, in the caller's transaction: walks kv_members in key order
// from `from` (empty: the first row) one container at a time and deletes the rows of those whose key
// no longer holds a header of their generation (deleted, expired, overwritten, renamed, keyspace
// truncated or dropped).  A live container costs two index probes and one unit of budget, a dead one
// one unit per row deleted; the step stops once budget units are spent (0: no bound), in the middle
// of a dead container if need be.  *deleted: rows deleted; *next (the caller's memory context): where
// the next step goes on; *done: the walk reached the end of kv_members.  action names the caller in
// errors.  Reads with the active snapshot; no privilege checks (kv_members is the extension's).
Status VacuumMembers(const char *action, Bytes from, size_t budget, int64_t *deleted, Bytes *next, bool *done);

} // namespace nodedb_kv::kv
