// The pub/sub bus in a RESP worker (resp_worker_loop.hpp; design: src/pubsub/README.md): the drain from
// this worker's cursor (messages to subscribers, invalidation records to client-side caching, wake-ups
// to blocked clients) and the mirror of its sessions' subscriptions into the shared bus.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "nodedb_kv/blocking/blocking.hpp"
#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/tracking/tracking_filter.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

#include "nodedb_kv/resp/resp_worker_loop.hpp"

#include "nodedb_kv/pg/pg_worker.hpp"

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/pubsub/pubsub_access.hpp"

namespace nodedb_kv::resp::loop {

// Reads the bus from this worker's cursor and delivers to its subscribers.  Without subscribers the
// cursor just moves to the end (nothing published before a SUBSCRIBE is delivered to it).
void
Worker::DrainBus(Server &server)
{
	pubsub::ClearWake(worker_index);
	if (!server.HasSubscribers() && tracking_clients_ == 0 && !blocker_.Any()) {
		// A client of this worker may be the REDIRECT target of a tracking client of another worker,
		// which appends Redirect records for it: read them while any such redirect exists.  The head is
		// read before the count, so a redirect turned on after the count was read appends its records
		// after that head (nothing of it is skipped).
		pubsub::Cursor head = pubsub::Head();
		if (!tracking::AnyRemoteRedirect()) {
			cursor_ = head;
			return;
		}
	}
	if (buffer_.empty())
		buffer_.resize(pubsub::MaxMessageBytes() + 64);
	// nodedb_kv.test_clock_offset moves the soft limit's clock too (tests never sleep 60 s).
	Server::OutputLimit limit = {static_cast<size_t>(guc::pubsub_client_buffer_kb) * 1024,
	                             static_cast<size_t>(guc::pubsub_client_buffer_soft_kb) * 1024,
	                             static_cast<int64_t>(guc::pubsub_client_buffer_soft_s) * 1000,
	                             Server::NowMs() + static_cast<int64_t>(guc::test_clock_offset_s * 1000)};
	for (;;) {
		uint64_t lost = 0;
		size_t n = pubsub::Read(&cursor_, buffer_.data(), buffer_.size(), &lost);
		if (lost > 0)
			pubsub::CountLost(lost);
		if (n == 0)
			break;
		size_t offset = 0;
		const char *channel, *payload;
		size_t channel_len, payload_len;
		uint32_t relid = 0;
		uint64_t dropped = 0;
		while (pubsub::NextRecord(buffer_.data(), n, &offset, &channel, &channel_len, &payload, &payload_len, &relid)) {
			if (std::string_view(channel, channel_len) == tracking::kChannel)
				Invalidate(server, {payload, payload_len});
			else if (std::string_view(channel, channel_len) == blocking::kChannel)
				WakeBlocked(server, {payload, payload_len});
			else if (relid == 0)
				server.Deliver({channel, channel_len}, {payload, payload_len}, limit, &dropped);
			else
				server.Deliver({channel, channel_len}, {payload, payload_len}, limit, &dropped,
				               [&](const Session &s) { return MayReceive(s, relid); });
		}
		for (uint64_t i = 0; i < dropped; i++)
			pubsub::CountDroppedClient();
	}
	EndDeliveryTransaction();
}

// A collection's change event or keyspace notification goes only to a client whose role may SELECT
// from the collection now (pubsub::MayReceive): a pattern subscribed before the collection existed,
// or a REVOKE after the SUBSCRIBE, lets nothing through.  The check runs in a transaction (started at
// the first such message of a drain: its start processes GRANT/REVOKE/DDL invalidations); any error
// refuses.
bool
Worker::MayReceive(const Session &s, uint32_t relid)
{
	pg::ErrorInfo error;
	if (!in_delivery_xact_) {
		if (!pg::BeginTransaction(&error))
			return false;
		in_delivery_xact_ = true;
	}
	bool allowed = false;
	if (!pg::Guarded([&] { allowed = pubsub::MayReceive(s.role, relid); }, &error))
		return false;
	return allowed;
}

void
Worker::EndDeliveryTransaction()
{
	if (!in_delivery_xact_)
		return;
	in_delivery_xact_ = false;
	pg::ErrorInfo error;
	(void)pg::CommitTransaction(&error); // read-only: nothing to lose if it fails (then aborted)
}

// Mirrors a session's subscription changes (before -> after) into the shared bus.
void
Worker::SyncSubscriptions(const Session &before, const Session &after)
{
	if (before.Subscriptions() == 0 && after.Subscriptions() == 0)
		return;
	auto diff = [](const std::vector<std::string> &from, const std::vector<std::string> &to, bool pattern) {
		for (const std::string &name : from)
			if (std::find(to.begin(), to.end(), name) == to.end())
				(void)pubsub::AddSubscription(worker_index, pattern, name.data(), name.size(), -1);
		for (const std::string &name : to)
			if (std::find(from.begin(), from.end(), name) == from.end())
				(void)pubsub::AddSubscription(worker_index, pattern, name.data(), name.size(), 1);
	};
	diff(before.channels, after.channels, false);
	diff(before.patterns, after.patterns, true);
}

} // namespace nodedb_kv::resp::loop
