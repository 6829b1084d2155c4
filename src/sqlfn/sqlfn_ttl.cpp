// SQL functions around expiry: kv_now(), kv_ttl(seconds), kv_ttl_remaining(expiry).  Datum glue
// over ttl_clock; the clock itself lives in src/ttl.
#include "nodedb_kv/ttl/ttl_duration.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
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
	if (!nodedb_kv::ttl::SecondsToMicros(seconds, &micros))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("kv_ttl: seconds out of range: %g", seconds),
		                errhint("Pass a finite number of seconds; use NULL for a key that never expires.")));
	if (!nodedb_kv::ttl::AddMicros(nodedb_kv::ttl::Now(), micros, &result) || !IS_VALID_TIMESTAMP(result))
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("kv_ttl: timestamp out of range")));
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
