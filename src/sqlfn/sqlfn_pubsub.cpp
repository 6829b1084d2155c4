// kv_publish(channel, message text | bytea) -> bigint: queues a pub/sub message for delivery when the
// transaction commits (never on rollback) and returns how many subscribers the channel has now.  Datum
// glue over pubsub_pending and pubsub_bus.  kv_pubsub_stats_row(): the bus's counters for the
// kv_pubsub_stats view.
#include "nodedb_kv/pubsub/pubsub_bus.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "funcapi.h"
#include "utils/builtins.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/pubsub/pubsub_access.hpp"
#include "nodedb_kv/pubsub/pubsub_pending.hpp"

namespace {

// Both variants: the message's bytes are the text's bytes or the bytea's.
Datum
Publish(FunctionCallInfo fcinfo)
{
	text *channel = PG_GETARG_TEXT_PP(0);
	struct varlena *message = PG_GETARG_VARLENA_PP(1);
	const char *name = VARDATA_ANY(channel);
	size_t name_len = VARSIZE_ANY_EXHDR(channel);
	nodedb_kv::pubsub::CheckPublish(name, name_len);
	nodedb_kv::pubsub::PublishAtCommit(name, name_len, VARDATA_ANY(message), VARSIZE_ANY_EXHDR(message));
	PG_RETURN_INT64(nodedb_kv::pubsub::Receivers(name, name_len));
}

} // namespace

NODEDB_KV_FUNCTION(nodedb_kv_kv_publish_text)
{
	return Publish(fcinfo);
}

NODEDB_KV_FUNCTION(nodedb_kv_kv_publish_bytea)
{
	return Publish(fcinfo);
}

// kv_pubsub_stats_row() -> (channels, patterns, subscriptions, messages_published, clients_dropped,
// messages_lost, ring_bytes, wake_signals): the whole server's bus (every database), as INFO's stats section.
NODEDB_KV_FUNCTION(nodedb_kv_kv_pubsub_stats_row)
{
	using namespace nodedb_kv::pubsub;
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "kv_pubsub_stats_row must return a record");
	desc = BlessTupleDesc(desc);
	int64 channels = 0;
	ForEachChannel(
	    nullptr, 0, [](void *arg, const char *, size_t) { ++*static_cast<int64 *>(arg); }, &channels);
	BusStats bus = Stats();
	Datum values[8] = {Int64GetDatum(channels),
	                   Int64GetDatum(NumPat()),
	                   Int64GetDatum(static_cast<int64>(bus.subscriptions)),
	                   Int64GetDatum(static_cast<int64>(bus.published)),
	                   Int64GetDatum(static_cast<int64>(bus.dropped_clients)),
	                   Int64GetDatum(static_cast<int64>(bus.lost_messages)),
	                   Int64GetDatum(static_cast<int64>(bus.bytes_capacity)),
	                   Int64GetDatum(static_cast<int64>(bus.wake_signals))};
	bool nulls[8] = {};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
