// SQL functions KV_INCR, KV_DECR, KV_INCR_FLOAT, KV_CAS and KV_GETSET: Datum glue over the kv engine
// (src/kv).  Results and errors as in CONTRACT.md "Atomic operations".
#include "nodedb_kv/kv/kv_api.hpp"
#include "nodedb_kv/ttl/ttl_duration.hpp"

#include "nodedb_kv/sqlfn/sqlfn_support.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::sqlfn {
namespace {

// The collection, key and field of a KV_* call: arguments 0 and 1, field at field_index.
kv::Target
TargetOf(FunctionCallInfo fcinfo, const char *function, int field_index)
{
	RequireArgument(fcinfo, 0, "collection", function, "22004");
	RequireArgument(fcinfo, 1, "key", function, "22004");
	return {PG_GETARG_OID(0), OptionalCString(fcinfo, field_index), function, false};
}

// The optional ttl argument (seconds) of KV_INCR/KV_DECR.
kv::Ttl
TtlArgument(FunctionCallInfo fcinfo, int index, const char *function)
{
	if (PG_ARGISNULL(index))
		return {kv::TtlMode::Keep, 0};
	// The same bound as kv_ttl(): an expiry that far from now is a valid timestamp for millennia.
	constexpr int64 kMaxSeconds = ttl::kMaxTtlMicros / USECS_PER_SEC;
	int64 seconds = PG_GETARG_INT64(index);
	if (seconds <= 0 || seconds > kMaxSeconds)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("%s: ttl must be between 1 and %lld seconds, not %lld", function,
		                       static_cast<long long>(kMaxSeconds), static_cast<long long>(seconds)),
		                errhint("Leave ttl out (or NULL) to keep the key's expiry.")));
	return {kv::TtlMode::Set, seconds * 1000};
}

Datum
Increment(FunctionCallInfo fcinfo, const char *function, bool negate)
{
	kv::Target target = TargetOf(fcinfo, function, 4);
	RequireArgument(fcinfo, 2, "delta", function, "22004");
	int64 delta = PG_GETARG_INT64(2);
	if (negate) {
		if (delta == PG_INT64_MIN) {
			// -delta does not fit: the result overflows whatever the current value.
			char *relname = get_rel_name(target.relid);
			ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			                errmsg("arithmetic overflow on %s", relname ? relname : "?")));
		}
		delta = -delta;
	}
	kv::Ttl ttl = TtlArgument(fcinfo, 3, function);
	int64 result = 0;
	bool exists = true;
	RaiseIfFailed(kv::Incr(target, TextArgument(fcinfo, 1), delta, ttl, &result, nullptr, &exists));
	if (!exists)
		PG_RETURN_NULL(); // a BEFORE INSERT trigger suppressed the new key's row
	PG_RETURN_INT64(result);
}

} // namespace
} // namespace nodedb_kv::sqlfn

using namespace nodedb_kv;

// KV_INCR(collection regclass, key text, delta bigint, ttl bigint = NULL, field text = NULL) -> bigint
NODEDB_KV_FUNCTION(nodedb_kv_incr)
{
	return sqlfn::Increment(fcinfo, "KV_INCR", false);
}

// KV_DECR(collection regclass, key text, delta bigint, ttl bigint = NULL, field text = NULL) -> bigint
NODEDB_KV_FUNCTION(nodedb_kv_decr)
{
	return sqlfn::Increment(fcinfo, "KV_DECR", true);
}

// KV_INCR_FLOAT(collection regclass, key text, delta float8, field text = NULL) -> float8
NODEDB_KV_FUNCTION(nodedb_kv_incr_float)
{
	kv::Target target = sqlfn::TargetOf(fcinfo, "KV_INCR_FLOAT", 3);
	sqlfn::RequireArgument(fcinfo, 2, "delta", "KV_INCR_FLOAT", "22004");
	double result = 0;
	bool exists = true;
	sqlfn::RaiseIfFailed(kv::IncrFloat(target, sqlfn::TextArgument(fcinfo, 1), PG_GETARG_FLOAT8(2), &result, &exists));
	if (!exists)
		PG_RETURN_NULL(); // a BEFORE INSERT trigger suppressed the new key's row
	PG_RETURN_FLOAT8(result);
}

// KV_CAS(collection regclass, key text, expected text, new_value text, field text = NULL) -> jsonb
// {"success": bool, "current_value": base64 of the value before the call | null}
NODEDB_KV_FUNCTION(nodedb_kv_cas)
{
	kv::Target target = sqlfn::TargetOf(fcinfo, "KV_CAS", 4);
	sqlfn::RequireArgument(fcinfo, 2, "expected", "KV_CAS", "22004");
	sqlfn::RequireArgument(fcinfo, 3, "new_value", "KV_CAS", "22004");
	bool success = false;
	kv::Value before;
	sqlfn::RaiseIfFailed(kv::CompareAndSwap(target, sqlfn::TextArgument(fcinfo, 1), sqlfn::TextArgument(fcinfo, 2),
	                                        sqlfn::TextArgument(fcinfo, 3), &success, &before));
	StringInfoData json;
	initStringInfo(&json);
	appendStringInfo(&json, "{\"success\": %s, \"current_value\": ", success ? "true" : "false");
	sqlfn::AppendJsonBase64(&json, before);
	appendStringInfoChar(&json, '}');
	return sqlfn::JsonbFromText(&json);
}

// KV_GETSET(collection regclass, key text, new_value text, field text = NULL) -> jsonb
// {"old_value": base64 | null}
NODEDB_KV_FUNCTION(nodedb_kv_getset)
{
	kv::Target target = sqlfn::TargetOf(fcinfo, "KV_GETSET", 3);
	sqlfn::RequireArgument(fcinfo, 2, "new_value", "KV_GETSET", "22004");
	kv::Value before;
	sqlfn::RaiseIfFailed(kv::GetSet(target, sqlfn::TextArgument(fcinfo, 1), sqlfn::TextArgument(fcinfo, 2), &before));
	StringInfoData json;
	initStringInfo(&json);
	appendStringInfoString(&json, "{\"old_value\": ");
	sqlfn::AppendJsonBase64(&json, before);
	appendStringInfoChar(&json, '}');
	return sqlfn::JsonbFromText(&json);
}
