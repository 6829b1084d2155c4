// Shared glue of the SQL functions (argument checks, status reporting, jsonb results).  No kv logic.
#include "nodedb_kv/sqlfn/sqlfn_support.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "common/base64.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::sqlfn {

void
RaiseIfFailed(const kv::Status &status)
{
	if (status.ok())
		return;
	const char *s = kv::DescribeCode(status.code).sqlstate;
	int sqlerrcode = MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
	if (status.detail[0] != '\0')
		ereport(ERROR, (errcode(sqlerrcode), errmsg("%s", status.message), errdetail("%s", status.detail)));
	ereport(ERROR, (errcode(sqlerrcode), errmsg("%s", status.message)));
}

void
RequireArgument(FunctionCallInfo fcinfo, int index, const char *what, const char *function, const char *sqlstate)
{
	if (PG_NARGS() > index && !PG_ARGISNULL(index))
		return;
	ereport(ERROR, (errcode(MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4])),
	                errmsg("%s: %s must not be NULL", function, what)));
}

kv::Bytes
TextArgument(FunctionCallInfo fcinfo, int index)
{
	text *value = PG_GETARG_TEXT_PP(index);
	return {VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value)};
}

const char *
OptionalCString(FunctionCallInfo fcinfo, int index)
{
	if (PG_NARGS() <= index || PG_ARGISNULL(index))
		return nullptr;
	return text_to_cstring(PG_GETARG_TEXT_PP(index));
}

void
AppendJsonString(StringInfo json, const char *data, size_t len)
{
	escape_json(json, pnstrdup(data, len));
}

void
AppendJsonBase64(StringInfo json, const kv::Value &value)
{
	if (!value.found || value.isnull) {
		appendStringInfoString(json, "null");
		return;
	}
	int len = static_cast<int>(value.bytes.len);
	int size = pg_b64_enc_len(len) + 1;
	char *encoded = static_cast<char *>(palloc(size));
	int written = pg_b64_encode(value.bytes.data, len, encoded, size);
	if (written < 0)
		elog(ERROR, "could not encode a value as base64");
	appendStringInfoChar(json, '"');
	appendBinaryStringInfo(json, encoded, written);
	appendStringInfoChar(json, '"');
}

Datum
JsonbFromText(StringInfo json)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json->data));
}

} // namespace nodedb_kv::sqlfn
