// The messages of the current transaction, delivered at commit (pubsub_pending.hpp).  A singly linked
// list in TopTransactionContext, each message tagged with the subtransaction that queued it:
// subtransaction ids grow within a transaction, so ROLLBACK TO SAVEPOINT drops the tail with subid >=
// the aborted id.  XACT_EVENT_COMMIT appends them to the bus in queue order (Append cannot fail, which
// a COMMIT callback requires: PG15-PITFALLS §7).  PREPARE TRANSACTION with queued messages is refused
// (COMMIT PREPARED runs no callbacks).
#include "nodedb_kv/pubsub/pubsub_bus.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "utils/memutils.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/pubsub/pubsub_pending.hpp"

namespace nodedb_kv::pubsub {
namespace {

struct Pending {
	Pending *next;
	SubTransactionId subid;
	Oid relid;
	size_t channel_len;
	size_t payload_len;
	char bytes[FLEXIBLE_ARRAY_MEMBER]; // channel then payload
};

Pending *first = nullptr;
Pending *last = nullptr;

void
Forget()
{
	first = last = nullptr; // the memory goes with TopTransactionContext
}

void
XactCallback(XactEvent event, void *)
{
	switch (event) {
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
		HoldWakes();
		for (Pending *p = first; p != nullptr; p = p->next)
			(void)Append(p->bytes, p->channel_len, p->bytes + p->channel_len, p->payload_len, p->relid);
		ReleaseWakes();
		Forget();
		break;
	case XACT_EVENT_PRE_PREPARE:
		if (first != nullptr)
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("cannot PREPARE a transaction that published pub/sub messages")));
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
	case XACT_EVENT_PREPARE:
		Forget();
		break;
	default:
		break;
	}
}

void
SubXactCallback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId, void *)
{
	if (event != SUBXACT_EVENT_ABORT_SUB || first == nullptr)
		return;
	// Messages are queued in subid order along the list: cut at the first one of the aborted subtree.
	Pending *keep_last = nullptr;
	for (Pending *p = first; p != nullptr && p->subid < mySubid; p = p->next)
		keep_last = p;
	if (keep_last == nullptr)
		Forget();
	else {
		keep_last->next = nullptr;
		last = keep_last;
	}
}

} // namespace

void
PublishAtCommit(const char *channel, size_t channel_len, const char *payload, size_t payload_len, unsigned int relid)
{
	size_t limit = MaxMessageBytes();
	if (channel_len + payload_len > limit)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("pub/sub message too large: %zu bytes (channel and payload)", channel_len + payload_len),
		                errdetail("nodedb_kv.pubsub_memory allows at most %zu bytes per message.", limit)));
	auto *p = static_cast<Pending *>(
	    MemoryContextAlloc(TopTransactionContext, offsetof(Pending, bytes) + channel_len + payload_len));
	p->next = nullptr;
	p->subid = GetCurrentSubTransactionId();
	p->relid = relid;
	p->channel_len = channel_len;
	p->payload_len = payload_len;
	memcpy(p->bytes, channel, channel_len);
	memcpy(p->bytes + channel_len, payload, payload_len);
	if (last == nullptr)
		first = p;
	else
		last->next = p;
	last = p;
}

void
InstallPendingCallbacks()
{
	RegisterXactCallback(XactCallback, nullptr);
	RegisterSubXactCallback(SubXactCallback, nullptr);
}

} // namespace nodedb_kv::pubsub
