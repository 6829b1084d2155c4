// kv_sorted reloptions (amoptions).  Index AMs have real reloptions in PG15 (unlike table AMs,
// PG15-PITFALLS §1 "Reloptions"): a private relopt kind with string options and validators.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/reloptions.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/sortedindex/sortedindex_options.hpp"

namespace nodedb_kv::sortedindex {
namespace {

relopt_kind sorted_relopt_kind;

void
ValidateWindow(const char *value)
{
	if (value == nullptr)
		return;
	if (strcmp(value, "daily") != 0 && strcmp(value, "weekly") != 0 && strcmp(value, "monthly") != 0 &&
	    strcmp(value, "custom") != 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("invalid value for kv_sorted option \"window\": \"%s\"", value),
		                errhint("Valid values are \"daily\", \"weekly\", \"monthly\" and \"custom\".")));
}

void
ValidateInstant(const char *value)
{
	if (value != nullptr)
		(void)ParseInstant(value);
}

} // namespace

TimestampTz
ParseInstant(const char *value)
{
	const char *p = value;
	if (*p == '-')
		p++;
	bool digits = *p != '\0';
	for (; *p != '\0'; p++)
		digits &= isdigit(static_cast<unsigned char>(*p)) != 0;
	if (digits) {
		// Epoch milliseconds, as the product brief writes them.
		int64 ms = pg_strtoint64(value);
		return static_cast<TimestampTz>(ms) * 1000 -
		       static_cast<TimestampTz>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	}
	return DatumGetTimestampTz(
	    DirectFunctionCall3(timestamptz_in, CStringGetDatum(value), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

void
RegisterOptions()
{
	sorted_relopt_kind = add_reloption_kind();
	add_string_reloption(sorted_relopt_kind, "window",
	                     "Time window of a kv_sorted index (daily, weekly, monthly, custom)", nullptr, ValidateWindow,
	                     AccessExclusiveLock);
	add_string_reloption(sorted_relopt_kind, "window_column", "Column whose instant places a row in a window", nullptr,
	                     nullptr, AccessExclusiveLock);
	add_string_reloption(sorted_relopt_kind, "window_start", "Start of a custom window (timestamptz or epoch ms)",
	                     nullptr, ValidateInstant, AccessExclusiveLock);
	add_string_reloption(sorted_relopt_kind, "window_end", "End of a custom window (timestamptz or epoch ms)", nullptr,
	                     ValidateInstant, AccessExclusiveLock);
	add_string_reloption(sorted_relopt_kind, "key", "Member column of a kv_sorted index (default: the primary key)",
	                     nullptr, nullptr, AccessExclusiveLock);
}

bytea *
ParseOptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt table[] = {
	    {"window", RELOPT_TYPE_STRING, offsetof(SortedOptions, window)},
	    {"window_column", RELOPT_TYPE_STRING, offsetof(SortedOptions, window_column)},
	    {"window_start", RELOPT_TYPE_STRING, offsetof(SortedOptions, window_start)},
	    {"window_end", RELOPT_TYPE_STRING, offsetof(SortedOptions, window_end)},
	    {"key", RELOPT_TYPE_STRING, offsetof(SortedOptions, key)},
	};
	return static_cast<bytea *>(
	    build_reloptions(reloptions, validate, sorted_relopt_kind, sizeof(SortedOptions), table, lengthof(table)));
}

const char *
OptionValue(Relation index, int SortedOptions::*field)
{
	auto *options = reinterpret_cast<SortedOptions *>(index->rd_options);
	if (options == nullptr || options->*field == 0)
		return nullptr;
	return reinterpret_cast<const char *>(options) + options->*field;
}

} // namespace nodedb_kv::sortedindex
