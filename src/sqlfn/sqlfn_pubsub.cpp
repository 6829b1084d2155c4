// kv_publish(channel, message text | bytea) -> bigint: queues a pub/sub message for delivery when the
// transaction commits (never on rollback) and returns how many subscribers the channel has now.  Datum
// glue over pubsub_pending and pubsub_bus.
#include "nodedb_kv/pubsub/pubsub_bus.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/builtins.h"
NODEDB_KV_PG_INCLUDE_END

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
