// The clock module: the single definition of "now" for expiry.  Owns the shared high-water mark; does
// not decide what is expired (ttl_expiry.cpp does).
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "port/atomics.h"
#include "storage/shmem.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/shmem/shmem.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::ttl {
namespace {

struct ClockShared {
	pg_atomic_uint64 high_water; // largest statement timestamp any backend has used
};

ClockShared *shared = nullptr;

// Per-backend cache: the answer only changes when the statement timestamp or the offset changes.
TimestampTz cached_statement = DT_NOBEGIN;
TimestampTz cached_base = 0;

size_t
ClockSize()
{
	return sizeof(ClockShared);
}

void
ClockInit(void *base, bool found)
{
	shared = static_cast<ClockShared *>(base);
	if (!found)
		pg_atomic_init_u64(&shared->high_water, 0);
}

// Raises the high-water mark to at least ts and returns the mark (which may be larger than ts).
TimestampTz
Advance(TimestampTz ts)
{
	if (shared == nullptr)
		return ts;
	uint64 seen = pg_atomic_read_u64(&shared->high_water);
	while (static_cast<TimestampTz>(seen) < ts) {
		if (pg_atomic_compare_exchange_u64(&shared->high_water, &seen, static_cast<uint64>(ts)))
			return ts;
	}
	return static_cast<TimestampTz>(seen);
}

} // namespace

TimestampTz
Now()
{
	TimestampTz statement = GetCurrentStatementStartTimestamp();
	if (statement != cached_statement) {
		cached_base = Advance(statement);
		cached_statement = statement;
	}
	return cached_base + static_cast<TimestampTz>(guc::test_clock_offset_s * USECS_PER_SEC);
}

void
RegisterClockShmem()
{
	shmem::Register({"nodedb_kv clock", ClockSize, ClockInit, 0, false});
}

} // namespace nodedb_kv::ttl
