#pragma once
// Shared glue of the SQL functions: argument checks, engine status -> ereport, jsonb results.
#include "nodedb_kv/kv/kv_api.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "lib/stringinfo.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::sqlfn {

// ERROR with the status's SQLSTATE (kv::DescribeCode), message and detail.  Does nothing for Ok.
void RaiseIfFailed(const kv::Status &status);

// ERROR (SQLSTATE sqlstate, e.g. "22004") if argument `index` is NULL; `what` names it.
void RequireArgument(FunctionCallInfo fcinfo, int index, const char *what, const char *function, const char *sqlstate);

// The bytes of a text argument (detoasted).
kv::Bytes TextArgument(FunctionCallInfo fcinfo, int index);

// Optional text argument as a C string, or nullptr if NULL/absent.
const char *OptionalCString(FunctionCallInfo fcinfo, int index);

// Appends a JSON string literal of bytes (escaped) / base64 of bytes (or null when absent).
void AppendJsonString(StringInfo json, const char *data, size_t len);
void AppendJsonBase64(StringInfo json, const kv::Value &value);

// Parses the JSON text into a jsonb Datum.
Datum JsonbFromText(StringInfo json);

} // namespace nodedb_kv::sqlfn
