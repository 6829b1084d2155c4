// Rate gates over the kv engine.  A counter is the row of kv_rate_gates whose bytea key is
// gate || 0x00 || key (a gate name, being text, holds no NUL, so the split is unambiguous), with
// the hit count in "hits" and the window end in its kv_expiry column.  Privileges: the collection
// belongs to the extension; access is governed by EXECUTE on the RATE_* functions.
#include "nodedb_kv/kv/kv_number.hpp"

#include "nodedb_kv/gate/gate_rate.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/palloc.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/pg/pg_catalog.hpp"
#include "nodedb_kv/sqlfn/sqlfn_support.hpp"

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

void
Check(kv::Bytes gate, kv::Bytes key, int64 max_count, int64 window_seconds, GateState *state)
{
	kv::Target target = Counters("RATE_CHECK");
	int64 hits = 0;
	int64 ttl_ms = -1;
	// A denied hit is kept although the caller then raises 54001 (a denied call still counts).
	sqlfn::RaiseIfFailed(kv::CountHit(target, CounterKey(gate, key), {kv::TtlMode::SetIfNew, window_seconds * 1000},
	                                  max_count, &hits, &ttl_ms));
	state->current = hits;
	state->max_count = max_count;
	state->resets_in_ms = ttl_ms < 0 ? 0 : ttl_ms;
	state->allowed = hits <= max_count;
}

void
Remaining(kv::Bytes gate, kv::Bytes key, int64 max_count, GateState *state)
{
	kv::Target target = Counters("RATE_REMAINING");
	kv::Value value;
	sqlfn::RaiseIfFailed(kv::Get(target, CounterKey(gate, key), &value));
	int64 hits = 0;
	if (value.found && !value.isnull && !kv::ParseInt64(value.bytes.data, value.bytes.len, &hits))
		hits = 0;
	state->current = value.found ? hits : 0;
	state->max_count = max_count;
	state->resets_in_ms = value.found && value.ttl_ms > 0 ? value.ttl_ms : 0;
	state->allowed = state->current < max_count;
}

bool
Reset(kv::Bytes gate, kv::Bytes key)
{
	kv::Target target = Counters("RATE_RESET");
	bool deleted = false;
	sqlfn::RaiseIfFailed(kv::Delete(target, CounterKey(gate, key), &deleted));
	return deleted;
}

} // namespace nodedb_kv::gate
