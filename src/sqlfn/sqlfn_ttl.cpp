// SQL functions around expiry: kv_now(), kv_ttl(seconds), kv_ttl_remaining(expiry).  Datum glue
// over ttl_clock; the clock itself lives in src/ttl.
#include "nodedb_kv/ttl/ttl_duration.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/float.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/ttl/ttl_clock.hpp"

NODEDB_KV_FUNCTION(nodedb_kv_now)
{
	PG_RETURN_TIMESTAMPTZ(nodedb_kv::ttl::Now());
}

NODEDB_KV_FUNCTION(nodedb_kv_ttl)
{
	double seconds = PG_GETARG_FLOAT8(0);
	int64 micros = 0;
	int64 result = 0;
	// Positive seconds are bounded by kMaxTtlMicros (far below the end of the timestamp range); negative
	// ones (an expiry in the past) only by the start of the timestamp range.
	bool in_range = nodedb_kv::ttl::SecondsToMicros(seconds, &micros) &&
	                nodedb_kv::ttl::AddMicros(nodedb_kv::ttl::Now(), micros, &result) && IS_VALID_TIMESTAMP(result);
	if (!in_range && (std::isnan(seconds) || seconds > 0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("kv_ttl: seconds must be a finite number up to %lld, not %s",
		                       static_cast<long long>(nodedb_kv::ttl::kMaxTtlMicros / USECS_PER_SEC),
		                       float8out_internal(seconds)),
		                errhint("Use NULL for a key that never expires.")));
	if (!in_range)
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
		                errmsg("kv_ttl: timestamp out of range: now - %s seconds", float8out_internal(-seconds)),
		                errhint("Any negative number of seconds, such as -1, makes a key expired at once.")));
	PG_RETURN_TIMESTAMPTZ(result);
}

NODEDB_KV_FUNCTION(nodedb_kv_ttl_remaining)
{
	TimestampTz expiry = PG_GETARG_TIMESTAMPTZ(0);
	// 'infinity' is a legal never-expiring value, like NULL: no time is "left" either way.
	if (TIMESTAMP_IS_NOEND(expiry))
		PG_RETURN_NULL();
	TimestampTz now = nodedb_kv::ttl::Now();
	auto *result = static_cast<Interval *>(palloc0(sizeof(Interval)));
	if (!TIMESTAMP_NOT_FINITE(expiry) && expiry > now)
		result->time = expiry - now;
	PG_RETURN_INTERVAL_P(result);
}
