// Client-side caching in a RESP worker (resp_worker_loop.hpp; design: src/tracking/README.md): the
// keys a command reads enter the worker's tracking table before its snapshot; invalidation records of the
// bus reach the clients that track the key (or their REDIRECT target, on this worker or another one).
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/resp/resp_clients.hpp"
#include "nodedb_kv/tracking/tracking_filter.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

#include "nodedb_kv/resp/resp_worker_loop.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "miscadmin.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"

namespace nodedb_kv::resp::loop {

namespace {

// The worker that serves client id (ids are index + 1 + k * resp_workers: NetConfig's first_id/id_step).
int
WorkerOfClient(uint64_t id)
{
	return static_cast<int>((id - 1) % static_cast<uint64_t>(guc::resp_workers));
}

// This worker's share of nodedb_kv.tracking_table_max_keys: every worker keeps at most its share, so the
// keys tracked by all workers together stay within the setting (see src/tracking/README.md).
size_t
TrackingShare()
{
	size_t share = static_cast<size_t>(guc::tracking_table_max_keys) / static_cast<size_t>(guc::resp_workers);
	return share > 0 ? share : 1;
}

} // namespace

// Mirrors a session's tracking changes (before -> after) into the bus (a tracking client counts as a
// listener of the internal channel, so writers publish and this worker is woken) and the BCAST count.
void
Worker::SyncTracking(const Session &before, const Session &after)
{
	bool was = before.tracking.on, is = after.tracking.on;
	if (was != is) {
		(void)pubsub::AddSubscription(worker_index, false, tracking::kChannel.data(), tracking::kChannel.size(),
		                              is ? 1 : -1);
		tracking_clients_ += is ? 1 : -1;
	}
	bool was_bcast = was && before.tracking.bcast, is_bcast = is && after.tracking.bcast;
	if (was_bcast != is_bcast) {
		tracking::BcastAdd(is_bcast ? 1 : -1);
		bcast_clients += is_bcast ? 1 : -1;
	}
	auto remote = [](const Session &s) {
		return s.tracking.on && s.tracking.redirect != 0 && WorkerOfClient(s.tracking.redirect) != worker_index;
	};
	bool was_remote = remote(before), is_remote = remote(after);
	if (was_remote != is_remote) {
		tracking::RemoteRedirectAdd(is_remote ? 1 : -1);
		remote_redirects += is_remote ? 1 : -1;
	}
}

// Invalidation records from the bus (tracking_capture.cpp, or another worker's redirects).
void
Worker::Invalidate(Server &server, std::string_view payload)
{
	size_t offset = 0;
	tracking::Record record;
	while (tracking::NextRecord(payload, &offset, &record)) {
		if (record.kind == tracking::RecordKind::Redirect) {
			Client *target = server.Find(record.target);
			std::string frame;
			if (target != nullptr &&
			    WriteInvalidation(target->session, record.key, record.key_null, target->session.protocol, &frame))
				server.Push(record.target, frame);
			continue;
		}
		if (record.database != MyDatabaseId)
			continue;
		bool flush = record.kind == tracking::RecordKind::Flush;
		std::vector<uint64_t> clients =
		    flush ? tracker_.InvalidateRelation(record.relid) : tracker_.Invalidate(record.relid, record.key);
		uint64_t origin = flush ? 0 : record.target;
		if (!flush)
			for (uint64_t id : clients)
				Notify(server, id, record.key, false, origin);
		// BCAST clients hear every key of every collection under their prefixes (Redis: of every
		// database); a flush reaches every BCAST client and every tracking client that reads the
		// collection.
		if (!flush && bcast_clients == 0)
			continue;
		for (uint64_t id : server.ClientIds()) {
			Client *c = server.Find(id);
			if (c == nullptr || !c->session.tracking.on)
				continue;
			bool tracked = std::find(clients.begin(), clients.end(), id) != clients.end();
			if (flush) {
				if (tracked || c->session.relid == record.relid || c->session.tracking.bcast)
					Notify(server, id, {}, true, 0);
			} else if (c->session.tracking.bcast && BcastMatches(c->session, record.key)) {
				Notify(server, id, record.key, false, origin);
			}
		}
	}
}

// Sends client `id` (or its redirect target) the invalidation of key (key_null: flush).  origin: the
// RESP client whose write it is (0: another writer, an eviction): NOLOOP skips its own writes only.
void
Worker::Notify(Server &server, uint64_t id, std::string_view key, bool key_null, uint64_t origin)
{
	Client *c = server.Find(id);
	// Entries outlive a client's tracking (Redis too): skip clients that no longer track.
	if (c == nullptr || !c->session.tracking.on)
		return;
	Session &s = c->session;
	if (!key_null && s.tracking.noloop && origin == id)
		return;
	uint64_t target_id = s.tracking.redirect != 0 ? s.tracking.redirect : id;
	Client *target = target_id == id ? c : server.Find(target_id);
	if (target == nullptr) {
		if (target_id == id)
			return;
		bool remote = WorkerOfClient(target_id) != worker_index;
		if (!remote || !RegistryExists(target_id)) {
			// The REDIRECT target is gone: as Redis, the client is told (RESP3) on every invalidation
			// it would have received, and CLIENT LIST / TRACKINGINFO show the broken redirect.
			c->session.tracking.broken = true;
			if (s.protocol == Protocol::Resp3)
				server.Push(id, RedirBrokenFrame(target_id));
			return;
		}
		// On another worker: it delivers to its client.
		std::string record;
		tracking::AppendRecord(&record, {tracking::RecordKind::Redirect, MyDatabaseId, 0, target_id, key_null, key});
		(void)pubsub::Append(tracking::kChannel.data(), tracking::kChannel.size(), record.data(), record.size());
		// That worker may have no subscribers (the bus then wakes nobody there): wake it.
		pubsub::WakeWorker(WorkerOfClient(target_id));
		return;
	}
	std::string frame;
	if (WriteInvalidation(target->session, key, key_null, s.protocol, &frame))
		server.Push(target_id, frame);
}

// Before a command's snapshot: the keys it reads enter the tracking table (and the shared filter),
// so a writer committing after the snapshot finds them; keys it writes are noted for NOLOOP.
void
Worker::TrackCommand(Client *client, const Argv &argv)
{
	Session &s = client->session;
	if (!s.tracking.on)
		return;
	bool zset = false;
	std::vector<std::string> keys = KeysToTrack(s, argv, &zset);
	uint32_t relid = zset ? tracking::kZsetRelid : s.relid;
	if (!zset && relid == 0)
		return;
	for (std::string &key : keys) {
		Remember(*engine.server, relid, key, s.id);
		turn_reads_.push_back({relid, std::move(key), s.id});
	}
}

// client reads key of relid: into the tracking table (evicting past this worker's share).
void
Worker::Remember(Server &server, uint32_t relid, const std::string &key, uint64_t client)
{
	std::vector<Tracker::Evicted> evicted;
	tracker_.Remember(relid, key, client, TrackingShare(), &evicted);
	for (const Tracker::Evicted &e : evicted)
		for (uint64_t id : e.clients)
			Notify(server, id, e.key, false, 0);
}

} // namespace nodedb_kv::resp::loop
