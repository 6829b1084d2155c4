// SQL functions RATE_CHECK, RATE_REMAINING and RATE_RESET: Datum glue over src/gate.  Results and
// errors as in CONTRACT.md "Rate gates".
#include "nodedb_kv/gate/gate_rate.hpp"
#include "nodedb_kv/sqlfn/sqlfn_support.hpp"

using namespace nodedb_kv;

namespace nodedb_kv::sqlfn {
namespace {

// Checks the (gate, key[, max_count[, window_seconds]]) arguments: non-NULL and positive (22023).
void
GateArguments(FunctionCallInfo fcinfo, const char *function, int count)
{
	static const char *const kNames[] = {"gate", "key", "max_count", "window_seconds"};
	for (int i = 0; i < count; i++)
		RequireArgument(fcinfo, i, kNames[i], function, "22023");
	for (int i = 2; i < count; i++)
		if (PG_GETARG_INT32(i) <= 0)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("%s: %s must be positive, not %d", function, kNames[i], PG_GETARG_INT32(i))));
	if (VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)) == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s: gate must not be empty", function)));
}

} // namespace
} // namespace nodedb_kv::sqlfn

// RATE_CHECK(gate text, key text, max_count int, window_seconds int) -> jsonb
NODEDB_KV_FUNCTION(nodedb_kv_rate_check)
{
	sqlfn::GateArguments(fcinfo, "RATE_CHECK", 4);
	kv::Bytes gate = sqlfn::TextArgument(fcinfo, 0);
	kv::Bytes key = sqlfn::TextArgument(fcinfo, 1);
	gate::GateState state;
	// Over the limit: RateLimited, raised as 54001 through the one status table (CONTRACT.md fixes
	// 54001: class 54, program limit exceeded; PG names it statement_too_complex).
	sqlfn::RaiseIfFailed(gate::Check(gate, key, PG_GETARG_INT32(2), PG_GETARG_INT32(3), &state));
	StringInfoData json;
	initStringInfo(&json);
	appendStringInfo(&json, "{\"allowed\": true, \"current\": %lld, \"max_count\": %lld, \"remaining\": %lld}",
	                 static_cast<long long>(state.current), static_cast<long long>(state.max_count),
	                 static_cast<long long>(state.max_count - state.current));
	return sqlfn::JsonbFromText(&json);
}

// RATE_REMAINING(gate text, key text, max_count int, window_seconds int) -> jsonb (read-only)
NODEDB_KV_FUNCTION(nodedb_kv_rate_remaining)
{
	sqlfn::GateArguments(fcinfo, "RATE_REMAINING", 4);
	gate::GateState state;
	sqlfn::RaiseIfFailed(
	    gate::Remaining(sqlfn::TextArgument(fcinfo, 0), sqlfn::TextArgument(fcinfo, 1), PG_GETARG_INT32(2), &state));
	int64 remaining = state.max_count > state.current ? state.max_count - state.current : 0;
	StringInfoData json;
	initStringInfo(&json);
	appendStringInfo(&json, "{\"remaining\": %lld, \"current\": %lld, \"max_count\": %lld, \"resets_in_ms\": %lld}",
	                 static_cast<long long>(remaining), static_cast<long long>(state.current),
	                 static_cast<long long>(state.max_count), static_cast<long long>(state.resets_in_ms));
	return sqlfn::JsonbFromText(&json);
}

// RATE_RESET(gate text, key text) -> jsonb {"gate": ..., "key": ..., "reset": bool}
NODEDB_KV_FUNCTION(nodedb_kv_rate_reset)
{
	sqlfn::GateArguments(fcinfo, "RATE_RESET", 2);
	kv::Bytes gate = sqlfn::TextArgument(fcinfo, 0);
	kv::Bytes key = sqlfn::TextArgument(fcinfo, 1);
	bool existed = false;
	sqlfn::RaiseIfFailed(gate::Reset(gate, key, &existed));
	StringInfoData json;
	initStringInfo(&json);
	appendStringInfoString(&json, "{\"gate\": ");
	sqlfn::AppendJsonString(&json, gate.data, gate.len);
	appendStringInfoString(&json, ", \"key\": ");
	sqlfn::AppendJsonString(&json, key.data, key.len);
	appendStringInfo(&json, ", \"reset\": %s}", existed ? "true" : "false");
	return sqlfn::JsonbFromText(&json);
}
