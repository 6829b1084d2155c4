// Rate gates over the kv engine.  A counter is the row of kv_rate_gates whose bytea key is
// gate || 0x00 || key (a gate name, being text, holds no NUL, so the split is unambiguous), with
// the hit count in "hits" and the window end in its kv_expiry column.  Privileges: the collection
// belongs to the extension; access is governed by EXECUTE on the RATE_* functions.
#include <cstdio>

#include "nodedb_kv/gate/gate_rate.hpp"
#include "nodedb_kv/rtypes/rtypes_number.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/palloc.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/pg/pg_catalog.hpp"

namespace nodedb_kv::gate {
namespace {

kv::Bytes
CounterKey(kv::Bytes gate, kv::Bytes key)
{
	char *data = static_cast<char *>(palloc(gate.len + 1 + key.len));
	memcpy(data, gate.data, gate.len);
	data[gate.len] = '\0';
	memcpy(data + gate.len + 1, key.data, key.len);
	return {data, gate.len + 1 + key.len};
}

kv::Target
Counters(const char *action)
{
	return {pg::ExtensionRelation("kv_rate_gates"), "hits", action, true};
}

} // namespace

kv::Status
Check(kv::Bytes gate, kv::Bytes key, int64_t max_count, int64_t window_seconds, GateState *state)
{
	kv::Target target = Counters("RATE_CHECK");
	int64_t hits = 0;
	int64_t ttl_ms = -1;
	// A denied hit is kept although the caller then reports 54001 (a denied call still counts).
	kv::Status status = kv::CountHit(target, CounterKey(gate, key), {kv::TtlMode::SetIfNew, window_seconds * 1000},
	                                 max_count, &hits, &ttl_ms);
	state->current = hits;
	state->max_count = max_count;
	state->resets_in_ms = ttl_ms < 0 ? 0 : ttl_ms;
	state->allowed = status.ok() && hits <= max_count;
	if (status.ok() && !state->allowed) {
		long long retry = static_cast<long long>(state->resets_in_ms);
		status.code = kv::Code::RateLimited;
		snprintf(status.message, sizeof(status.message),
		         "rate limit exceeded for %.*s:%.*s, retry after %lldms (current=%lld, max=%lld)",
		         static_cast<int>(gate.len), gate.data, static_cast<int>(key.len), key.data, retry,
		         static_cast<long long>(state->current), static_cast<long long>(state->max_count));
		snprintf(status.detail, sizeof(status.detail), "retry_after_ms=%lld", retry);
	}
	return status;
}

kv::Status
Remaining(kv::Bytes gate, kv::Bytes key, int64_t max_count, GateState *state)
{
	kv::Target target = Counters("RATE_REMAINING");
	kv::Value value;
	kv::Status status = kv::Get(target, CounterKey(gate, key), &value);
	int64_t hits = 0;
	if (status.ok() && value.found && !value.isnull && !rtypes::ParseInt64(value.bytes.data, value.bytes.len, &hits))
		hits = 0;
	bool found = status.ok() && value.found;
	state->current = found ? hits : 0;
	state->max_count = max_count;
	state->resets_in_ms = found && value.ttl_ms > 0 ? value.ttl_ms : 0;
	state->allowed = state->current < max_count;
	return status;
}

kv::Status
Reset(kv::Bytes gate, kv::Bytes key, bool *existed)
{
	kv::Target target = Counters("RATE_RESET");
	*existed = false;
	return kv::Delete(target, CounterKey(gate, key), existed);
}

} // namespace nodedb_kv::gate
