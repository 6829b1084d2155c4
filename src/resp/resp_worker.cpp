// The RESP worker: a background worker that runs the resp/net loop and executes its turns inside
// PostgreSQL (PG15-PITFALLS §3-§6, §9).  One loop turn = every complete command of every ready client
// in one transaction: per command a fresh statement time and snapshot (read-your-writes within a
// pipeline), the client's role (SetUserIdAndSecContext), one guarded engine call at a time.  A
// PostgreSQL error in a command aborts the batch, which is then replayed one transaction per command so
// only the culprit fails (no subtransactions: no subxid-cache overflow).  A command that finds a lock
// busy (short lock_timeout) is parked and retried on later turns until nodedb_kv.resp_lock_wait, so other
// clients keep being served.  Replies are released only after the commit returned (synchronous_commit
// is honoured: a write reply under "on" means its WAL is flushed).
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "nodedb_kv/blocking/blocking.hpp"
#include "nodedb_kv/kv/kv_api.hpp"
#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_blocking.hpp"
#include "nodedb_kv/resp/resp_clients.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_engine.hpp"
#include "nodedb_kv/resp/resp_flush.hpp"
#include "nodedb_kv/resp/resp_net.hpp"
#include "nodedb_kv/resp/resp_protocol.hpp"
#include "nodedb_kv/resp/resp_tracking.hpp"
#include "nodedb_kv/tracking/tracking_filter.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

#include "nodedb_kv/pg/pg_worker.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "libpq/crypt.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/pubsub/pubsub_access.hpp"
#include "nodedb_kv/resp/resp_worker.hpp"
#include "nodedb_kv/tableam/tableam_takeover.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::resp {
namespace {

constexpr int kRestartSeconds = 1;
int self_pipe_fd = -1;                       // read end of the worker kit's signal self-pipe
constexpr const char *kLockTimeout = "25ms"; // one attempt at a busy lock; the command is retried later
constexpr int64_t kRetryMs = 25;             // pause before a parked command runs again
constexpr size_t kMaxTurnOutput = 1 << 20;   // reply bytes of one client per turn (fairness, memory)
constexpr size_t kMaxTurnCommands = 256;     // commands of one client per turn
int worker_index = 0;                        // this worker's slot on the pub/sub bus
int bcast_clients = 0;                       // this worker's clients with CLIENT TRACKING ... BCAST
int remote_redirects = 0;                    // this worker's tracking clients redirecting to another worker
resp::Tracker *worker_tracker = nullptr;     // the worker's tracking table (its keys leave the filter at exit)

void
DetachFromBus(int, Datum)
{
	pubsub::DetachWorker(worker_index);
	blocking::ResetWorker(worker_index); // its blocked clients are gone with it
	// The shared BCAST count must not keep counting this worker's clients (writers would publish every
	// change for nobody).  Its tracked keys stay counted in the filter: they only cost spare records.
	for (; bcast_clients > 0; bcast_clients--)
		tracking::BcastAdd(-1);
	for (; remote_redirects > 0; remote_redirects--)
		tracking::RemoteRedirectAdd(-1);
	// Nor its tracked keys (the filter would keep them, and their slots, forever).
	if (worker_tracker != nullptr)
		worker_tracker->Clear();
}

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

// One client's share of a turn.
struct Item {
	Client *client;
	size_t count;  // commands taken from the head of its queue
	Session saved; // the session before the turn (restored for a replay)
	std::string out;
	uint64_t lsn = 0;          // WAL position its replies wait for (0: none)
	bool blocked = false;      // its head command blocked (a blocking pop found every key empty)
	int64_t block_timeout = 0; // its timeout in ms (0: forever)
};

class Worker final : public Executor {
public:
	Worker()
	    : command_context_(AllocSetContextCreate(TopMemoryContext, "nodedb_kv RESP command", ALLOCSET_DEFAULT_SIZES))
	{
	}

	std::unique_ptr<WorkerEngine> engine_ = MakeEngine();
	WorkerEngine &engine = *engine_;

	void
	InstallHooks()
	{
		engine.begin_queued = [this](Session &s) { return BeginQueued(s); };
		engine.end_queued = [this](Session &) { return EndQueued(); };
		engine.block_on = [this](const Session &s, const std::vector<std::string> &keys) { return BlockOn(s, keys); };
		engine.unblock_local = [this](uint64_t id, bool error) { return UnblockLocal(id, error); };
		worker_tracker = &tracker_;
	}

	void
	RunTurn(Server &server, const std::vector<Client *> &clients) override
	{
		engine.server = &server;
		// Messages published before this turn's SUBSCRIBEs are not theirs.
		DrainBus(server);
		TakeUnblocks(server);
		std::vector<Item> items;
		items.reserve(clients.size());
		size_t total = 0;
		for (Client *client : clients) {
			// A blocked client unblocked or timed out (not woken by a push) answers without running again.
			if (client->blocked && !client->block_woken) {
				EndBlock(client, client->block_unblock == static_cast<int>(blocking::Unblock::Error));
				if (client->queued.empty()) {
					Publish(server, *client); // CLIENT LIST of other workers: no longer flags=b
					continue;
				}
			}
			size_t count = std::min(client->queued.size(), kMaxTurnCommands);
			items.push_back({client, count, client->session, std::string(), 0, false, 0});
			total += count;
		}
		pgstat_report_activity(STATE_RUNNING, "nodedb_kv RESP batch");
		if (!RunBatch(items)) {
			for (Item &item : items) {
				item.client->session = item.saved;
				item.out.clear();
			}
			Replay(items);
		} else {
			for (Item &item : items) {
				item.client->pending += item.out;
				item.client->pending_lsn = std::max(item.client->pending_lsn, item.lsn);
				for (size_t i = 0; i < item.count; i++)
					item.client->queued.pop_front();
				item.client->first_blocked_ms = 0;
			}
		}
		for (Item &item : items)
			SettleBlock(item);
		bool anonymous = guc::resp_anonymous_role != nullptr && guc::resp_anonymous_role[0] != '\0';
		for (Client *client : clients)
			client->auth_required = !client->session.authenticated && !anonymous;
		server.CountCommands(total);
		for (Item &item : items) {
			SyncSubscriptions(item.saved, item.client->session);
			SyncTracking(item.saved, item.client->session);
			Publish(server, *item.client);
		}
		TakeKills(server);
		// The turn's own invalidations arrive now, after its reads re-tracked keys its writes changed (a
		// pipelined SET k then GET k): the reads whose keys this drain invalidated are remembered again
		// (not those evicted), and the keys never leave the filter in between (a writer committing
		// meanwhile still sees them tracked).
		tracker_.Hold(true);
		DrainBus(server);
		for (const TurnRead &read : turn_reads_)
			if (tracker_.InvalidatedWhileHeld(read.relid, read.key))
				Remember(server, read.relid, read.key, read.client);
		turn_reads_.clear();
		tracker_.Hold(false);
		pgstat_report_activity(STATE_IDLE, nullptr);
	}

	void
	Opened(Client &client) override
	{
		client.registry_slot = RegistryAcquire(worker_index);
		Publish(*engine.server, client);
	}

	void
	Closed(Client &client) override
	{
		SyncSubscriptions(client.session, Session());
		SyncTracking(client.session, Session());
		RegistryRelease(client.registry_slot);
		client.registry_slot = -1;
		blocker_.Forget(client.session.id); // a client that disconnects while blocked is forgotten
	}

	// ---- Blocking pops (src/blocking/README.md). ----

	// Engine::BlockOn: the client waits for keys from now on, and the command reads them with a snapshot
	// taken after that, so a push committed later finds the waiter (no lost wake-up).
	kv::Status
	BlockOn(const Session &s, const std::vector<std::string> &keys)
	{
		// Tests only: a push committed now is not in the command's first snapshot and finds no waiter.
		if (guc::test_block_delay_ms > 0 && !blocker_.Waiting(s.id))
			pg_usleep(static_cast<long>(guc::test_block_delay_ms) * 1000L);
		if (!blocker_.Watch(s.id, s.relid, keys)) {
			kv::Status full{};
			full.code = kv::Code::InvalidArgument;
			strlcpy(full.message, "too many blocked clients (the blocking registry is full)", sizeof(full.message));
			return full;
		}
		pg::ErrorInfo error;
		if (!pg::Guarded(
		        [] {
			        PopActiveSnapshot();
			        PushActiveSnapshot(GetTransactionSnapshot());
		        },
		        &error))
			return Failure(error);
		return kv::Status{};
	}

	// After the turn: a client whose head command blocked waits (from its first block on, until its
	// deadline); a client that waited and whose command ran to a reply waits no more.
	void
	SettleBlock(Item &item)
	{
		Client *c = item.client;
		if (!item.blocked) {
			if (blocker_.Waiting(c->session.id) || c->blocked)
				Unwait(c);
			return;
		}
		int64_t now = Server::NowMs();
		if (!c->blocked) {
			c->blocked = true;
			c->block_deadline_ms = item.block_timeout > 0 ? now + item.block_timeout : 0;
		}
		c->block_woken = false;
		c->session.blocked = true;
		if (c->block_unblock != 0 || (c->block_deadline_ms != 0 && c->block_deadline_ms <= now))
			EndBlock(c, c->block_unblock == static_cast<int>(blocking::Unblock::Error));
	}

	// The blocked command at the head of c's queue answers without running: the timeout reply (a null
	// array, as Redis for every blocking command), or CLIENT UNBLOCK ... ERROR's error.
	void
	EndBlock(Client *c, bool error)
	{
		Writer writer(&c->pending, c->session.protocol);
		if (error)
			writer.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
		else
			writer.NullArray();
		c->queued.pop_front();
		Unwait(c);
	}

	void
	Unwait(Client *c)
	{
		blocker_.Forget(c->session.id);
		c->blocked = c->block_woken = false;
		c->block_unblock = 0;
		c->block_deadline_ms = 0;
		c->session.blocked = false;
	}

	// CLIENT UNBLOCK of a client of this worker: false if it is not blocked.
	bool
	UnblockLocal(uint64_t id, bool error)
	{
		Client *c = engine.server->Find(id);
		if (c == nullptr || !c->blocked)
			return false;
		c->block_unblock = static_cast<int>(error ? blocking::Unblock::Error : blocking::Unblock::Timeout);
		c->block_woken = false;
		engine.server->WakeAt(Server::NowMs());
		return true;
	}

	// CLIENT UNBLOCK requests of other workers for this worker's clients.
	void
	TakeUnblocks(Server &server)
	{
		uint64_t ids[64];
		blocking::Unblock modes[64];
		size_t n;
		while ((n = blocking::TakeUnblocks(worker_index, ids, modes, 64)) > 0) {
			for (size_t i = 0; i < n; i++) {
				Client *c = server.Find(ids[i]);
				if (c != nullptr && c->blocked) {
					c->block_unblock = static_cast<int>(modes[i]);
					c->block_woken = false;
				}
			}
			server.WakeAt(Server::NowMs());
			if (n < 64)
				break;
		}
	}

	// A wake-up record of the bus: the clients it makes their key's first waiter run again.
	void
	WakeBlocked(Server &server, std::string_view payload)
	{
		std::vector<uint64_t> woken;
		blocker_.OnRecord(payload, &woken);
		bool any = false;
		for (uint64_t id : woken) {
			Client *c = server.Find(id);
			if (c != nullptr && c->blocked && c->block_unblock == 0) {
				c->block_woken = true;
				any = true;
			}
		}
		if (any)
			server.WakeAt(Server::NowMs());
	}

	// Mirrors a client into its registry slot (CLIENT LIST of other workers).
	void
	Publish(Server &server, Client &client)
	{
		if (client.registry_slot < 0)
			return;
		ConnFacts facts;
		if (!server.Facts(client.session.id, &facts))
			return;
		ClientInfo info;
		DescribeClient(client.session, facts, worker_index, &info);
		RegistryPublish(client.registry_slot, info);
	}

	// Closes the clients other workers asked to kill (CLIENT KILL).
	static void
	TakeKills(Server &server)
	{
		RegistryTakeKills(
		    worker_index, [](void *arg, uint64_t id) { (void)static_cast<Server *>(arg)->Kill("", id); }, &server);
	}

	// Reads the bus from this worker's cursor and delivers to its subscribers.  Without subscribers the
	// cursor just moves to the end (nothing published before a SUBSCRIBE is delivered to it).
	void
	DrainBus(Server &server)
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
			while (pubsub::NextRecord(buffer_.data(), n, &offset, &channel, &channel_len, &payload, &payload_len,
			                          &relid)) {
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
	MayReceive(const Session &s, uint32_t relid)
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
	EndDeliveryTransaction()
	{
		if (!in_delivery_xact_)
			return;
		in_delivery_xact_ = false;
		pg::ErrorInfo error;
		(void)pg::CommitTransaction(&error); // read-only: nothing to lose if it fails (then aborted)
	}

	// Mirrors a session's subscription changes (before -> after) into the shared bus.
	static void
	SyncSubscriptions(const Session &before, const Session &after)
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

	// Mirrors a session's tracking changes (before -> after) into the bus (a tracking client counts as a
	// listener of the internal channel, so writers publish and this worker is woken) and the BCAST count.
	void
	SyncTracking(const Session &before, const Session &after)
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
	Invalidate(Server &server, std::string_view payload)
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
	Notify(Server &server, uint64_t id, std::string_view key, bool key_null, uint64_t origin)
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
			tracking::AppendRecord(&record,
			                       {tracking::RecordKind::Redirect, MyDatabaseId, 0, target_id, key_null, key});
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
	TrackCommand(Client *client, const Argv &argv)
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
	Remember(Server &server, uint32_t relid, const std::string &key, uint64_t client)
	{
		std::vector<Tracker::Evicted> evicted;
		tracker_.Remember(relid, key, client, TrackingShare(), &evicted);
		for (const Tracker::Evicted &e : evicted)
			for (uint64_t id : e.clients)
				Notify(server, id, e.key, false, 0);
	}

	void
	Tick(Server &server) override
	{
		engine.server = &server;
		pg::ServiceInterrupts();
		DrainBus(server);
		TakeKills(server);
		TakeUnblocks(server);
		if (pg::TerminationRequested()) {
			server.Stop();
			return;
		}
		if (pg::ReloadConfigIfRequested())
			server.UpdateConfig(CurrentNetConfig());
		FlushStats();
	}

	// This worker's table and WAL statistics reach pg_stat_* within about a second of the command
	// that made them.  pgstat_report_stat(false) measures "now" by the last transaction's stop time,
	// which stands still while the worker runs no transaction, so a worker that went idle within a
	// second of its last flush would keep its counts forever: a backend's main loop forces the flush
	// on a timer; so does this worker, on its own clock, once its counts have waited a second.
	void
	FlushStats()
	{
		int64_t now = Server::NowMs();
		bool force = stats_force_at_ != 0 && now >= stats_force_at_;
		long retry = 0;
		pg::ErrorInfo error;
		(void)pg::Guarded([&] { retry = pgstat_report_stat(force); }, &error);
		if (retry <= 0)
			stats_force_at_ = 0;
		else if (stats_force_at_ == 0 || force)
			stats_force_at_ = now + kStatsFlushMs;
	}

	static NetConfig
	CurrentNetConfig(int index = 0)
	{
		NetConfig config;
		config.first_id = static_cast<uint64_t>(index) + 1;
		config.id_step = static_cast<uint64_t>(guc::resp_workers);
		config.port = guc::resp_port;
		std::string list = guc::resp_listen_addresses ? guc::resp_listen_addresses : "localhost";
		size_t start = 0;
		while (start <= list.size()) {
			size_t comma = list.find(',', start);
			std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
			item.erase(0, item.find_first_not_of(" \t"));
			item.erase(item.find_last_not_of(" \t") + 1);
			if (!item.empty())
				config.addresses.push_back(item);
			if (comma == std::string::npos)
				break;
			start = comma + 1;
		}
		config.max_clients = static_cast<size_t>(guc::resp_max_clients);
		config.max_bulk_len = guc::resp_max_bulk_len;
		config.timeout_s = guc::resp_timeout_s;
		config.self_pipe_fd = self_pipe_fd;
		config.auth_required = guc::resp_anonymous_role == nullptr || guc::resp_anonymous_role[0] == '\0';
		return config;
	}

private:
	static constexpr int64_t kStatsFlushMs = 1000; // PostgreSQL's PGSTAT_MIN_INTERVAL
	int64_t stats_force_at_ = 0;                   // steady-clock ms when pending stats are forced out
	MemoryContext command_context_;
	Tracker tracker_{MyDatabaseId, tracking::FilterAdd};
	int tracking_clients_ = 0; // this worker's clients with tracking on
	// Keys this turn's commands read (re-remembered after the turn's own invalidations, above).
	struct TurnRead {
		uint32_t relid;
		std::string key;
		uint64_t client;
	};
	std::vector<TurnRead> turn_reads_;
	pubsub::Cursor cursor_ = {0, 0};
	// This worker's blocked clients.
	Blocker blocker_{worker_index, MyDatabaseId, {blocking::Park, blocking::Unpark, blocking::IsFirst, blocking::Wake}};
	std::vector<char> buffer_;
	Oid saved_user_ = InvalidOid;
	int saved_sec_context_ = 0;
	// EXEC (resp_cmd_tx.cpp): in a replay, each queued command runs in its own subtransaction, so a
	// PostgreSQL error fails only that command, in place; in a batch it runs without one (no subxid
	// cache use), and an error sends the turn to the replay.
	bool queued_subxacts_ = false;
	bool in_delivery_xact_ = false; // DrainBus started a transaction for MayReceive
	bool queued_in_sub_ = false;
	MemoryContext queued_context_ = nullptr;
	ResourceOwner queued_owner_ = nullptr;

	kv::Status
	Failure(const pg::ErrorInfo &error)
	{
		engine.failed = true;
		engine.failure.code = kv::Code::Internal;
		strlcpy(engine.failure.message, error.message, sizeof(engine.failure.message));
		engine.failure.detail[0] = '\0';
		return engine.failure;
	}

	// Before a queued command of an EXEC block: [a subtransaction,] the block's snapshot with its earlier
	// writes visible (one snapshot for the whole block: its reads are consistent with each other and with
	// the WATCH check), and the session's role (AUTH may have changed it within the block).
	kv::Status
	BeginQueued(Session &s)
	{
		if (engine.failed)
			return engine.failure;
		queued_context_ = CurrentMemoryContext;
		queued_owner_ = CurrentResourceOwner;
		queued_in_sub_ = false;
		pg::ErrorInfo error;
		bool ok = pg::Guarded(
		    [&] {
			    if (queued_subxacts_) {
				    BeginInternalSubTransaction(nullptr);
				    queued_in_sub_ = true;
				    MemoryContextSwitchTo(queued_context_);
			    }
			    CommandCounterIncrement();
			    PushCopiedSnapshot(GetActiveSnapshot());
			    UpdateActiveSnapshotCommandId();
			    if (OidIsValid(s.role))
				    SetUserIdAndSecContext(s.role, saved_sec_context_ | SECURITY_LOCAL_USERID_CHANGE);
		    },
		    &error);
		MemoryContextSwitchTo(queued_context_);
		if (ok)
			return kv::Status{};
		kv::Status failure = Failure(error);
		EndSub(false);
		return failure;
	}

	// Ends the queued command's subtransaction, if any (commit: release it; else roll it back).
	void
	EndSub(bool commit)
	{
		if (!queued_in_sub_)
			return;
		queued_in_sub_ = false;
		pg::ErrorInfo error;
		bool ok = pg::Guarded(
		    [&] {
			    if (commit)
				    ReleaseCurrentSubTransaction();
			    else
				    RollbackAndReleaseCurrentSubTransaction();
		    },
		    &error);
		MemoryContextSwitchTo(queued_context_);
		CurrentResourceOwner = queued_owner_;
		if (!ok) {
			// As pg::AbortTransaction: the transaction state is unknown, the worker restarts.
			ereport(LOG, (errmsg("nodedb_kv RESP worker: could not end a subtransaction: %s", error.message)));
			proc_exit(1);
		}
	}

	// After a queued command.  A PostgreSQL error in its subtransaction: rolled back, the command's
	// error reply stays in place and the block goes on (a busy lock stops the block: EXEC is retried).
	// Without a subtransaction any error stops the block (the turn is replayed).
	kv::Status
	EndQueued()
	{
		if (!engine.failed) {
			pg::ErrorInfo error;
			if (!pg::Guarded([] { PopActiveSnapshot(); }, &error)) {
				kv::Status failure = Failure(error);
				EndSub(false);
				return failure;
			}
			EndSub(true);
			return kv::Status{};
		}
		bool in_sub = queued_in_sub_;
		EndSub(false);
		if (!in_sub || engine.failure.code == kv::Code::WouldBlock)
			return engine.failure;
		engine.failed = false;
		return kv::Status{};
	}

	bool
	Begin()
	{
		pg::ErrorInfo error;
		return pg::BeginTransaction(&error);
	}

	// Commits.  Where the settings allow (resp_flush.hpp), without waiting for the WAL flush: *lsn is then
	// the position the turn's replies must wait for (reads too: they may have seen unflushed commits), and
	// the flusher is asked to flush it.  *lsn = 0: the replies may go out at once.
	bool
	Commit(pg::ErrorInfo *error, uint64_t *lsn)
	{
		*lsn = 0;
		bool pipeline = PipelineCommit();
		XLogRecPtr before = XactLastCommitEnd;
		int configured = synchronous_commit;
		if (pipeline)
			synchronous_commit = SYNCHRONOUS_COMMIT_OFF;
		bool ok = pg::CommitTransaction(error);
		synchronous_commit = configured;
		if (!ok || !pipeline)
			return ok;
		// At the very start of a page the insert position lies past a page header nobody wrote yet, and
		// XLogFlush can never reach it (the replies would wait forever): FlushableTarget moves it back.
		XLogRecPtr target = FlushableTarget(XactLastCommitEnd != before ? XactLastCommitEnd : GetXLogInsertRecPtr());
		if (target <= GetFlushRecPtr(nullptr))
			return true;
		pg::ErrorInfo flush_error;
		if (!pg::Guarded([&] { RequestFlush(target); }, &flush_error))
			ereport(LOG, (errmsg("nodedb_kv RESP worker: WAL flush request failed: %s", flush_error.message)));
		*lsn = target;
		return true;
	}

	uint64_t
	DurableLsn() override
	{
		return FlushedLsn();
	}

	void
	Abort()
	{
		pg::AbortTransaction();
	}

	// Runs one command inside the current transaction, writing its reply with writer.  Returns false if it
	// raised a PostgreSQL error (engine.failure), after which the transaction must be aborted.
	bool
	RunOne(Client *client, const Argv &argv, Writer &writer)
	{
		engine.BeginCommand(client);
		Session &session = client->session;
		// A client that did not AUTH takes on nodedb_kv.resp_anonymous_role before its first command, so
		// that command too runs with the role's privileges, never the worker's (SUBSCRIBE's NOPERM, GET...).
		if (!session.authenticated)
			(void)engine.Anonymous(&session);
		Oid role = session.role;
		TrackCommand(client, argv);
		pg::ErrorInfo error;
		MemoryContext old = MemoryContextSwitchTo(command_context_);
		// The command's "now", a snapshot that sees the earlier commands of this turn, and its role.
		bool ready = pg::Guarded(
		    [&] {
			    pubsub::KeyspaceCommandBegin();
			    // Lazy expiry only when its "expired" event has a listener (Redis deletes always; here
			    // the expiry worker deletes otherwise).
			    tableam::SetNoteExpiredKeys(pubsub::KeyspaceWanted(pubsub::kNotifyExpired) && pubsub::AnyListeners());
			    SetCurrentStatementStartTimestamp();
			    CommandCounterIncrement();
			    PopActiveSnapshot();
			    PushActiveSnapshot(GetTransactionSnapshot());
			    GetUserIdAndSecContext(&saved_user_, &saved_sec_context_);
			    if (OidIsValid(role))
				    SetUserIdAndSecContext(role, saved_sec_context_ | SECURITY_LOCAL_USERID_CHANGE);
		    },
		    &error);
		if (!ready) {
			engine.failed = true;
			engine.failure.code = kv::Code::Internal;
			strlcpy(engine.failure.message, error.message, sizeof(engine.failure.message));
			engine.failure.detail[0] = '\0';
		} else {
			writer.SetProtocol(session.protocol);
			if (session.relid == 0 && session.db_index == 0) {
				// A new connection starts on kv_db0 (looked up once it exists).
				bool found = false;
				(void)engine.SelectDb(&session, 0, "", &found);
			}
			// The changes this command records are its client's (NOLOOP).
			capture::SetOrigin(session.id);
			try {
				Execute(session, engine, writer, argv);
				AfterTrackedCommand(session, argv);
			} catch (const std::exception &e) {
				writer.Error(std::string("ERR ") + e.what());
			}
			// Lazy expiry below is no write of the client's (Redis signals it without a client: NOLOOP
			// does not skip it).
			capture::SetOrigin(0);
			// Expired keys the command read are deleted (lazy expiry, as the command's user); their
			// "expired" events and those of rows its writes took over without an event on their key.
			if (!engine.failed && !pg::Guarded(
			                          [] {
				                          tableam::ExpireNotedKeys();
				                          pubsub::KeyspaceCommandEnd();
			                          },
			                          &error)) {
				engine.failed = true;
				engine.failure.code = kv::Code::Internal;
				strlcpy(engine.failure.message, error.message, sizeof(engine.failure.message));
				engine.failure.detail[0] = '\0';
			}
			SetUserIdAndSecContext(saved_user_, saved_sec_context_);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(command_context_);
		return !engine.failed;
	}

	// Every item's commands in one transaction.  False if any raised a PostgreSQL error or the commit
	// failed: nothing of the batch happened and the caller replays it.
	bool
	RunBatch(std::vector<Item> &items)
	{
		if (!Begin())
			return false;
		bool wrote = false; // a write command ran earlier in this turn
		for (Item &item : items) {
			Writer writer(&item.out, item.client->session.protocol);
			for (size_t i = 0; i < item.count; i++) {
				// kv_sorted indexes show committed state: a client's index read (ZRANK...) after a write of
				// this turn runs in the next turn, so a pipelined ZADD then ZRANK sees its own write.  As
				// its first command of a turn it may run here: it then precedes the turn's writes.  (In a
				// kv_db<n> keyspace Z-commands read zset keys, rows of this transaction: no split.)
				const CommandSpec *spec = Lookup(item.client->queued[i]);
				uint32_t flags = spec != nullptr ? spec->flags : 0;
				if (i > 0 && wrote && (flags & kIndexRead) && !item.client->session.typed_keyspace) {
					item.count = i;
					break;
				}
				// (EXEC may write: its block's commands.)
				wrote = wrote || (flags & kWrite) || (spec != nullptr && std::string_view(spec->name) == "exec");
				if (!RunOne(item.client, item.client->queued[i], writer)) {
					Abort();
					return false;
				}
				// A blocking pop that found every key empty stays at the head of the queue (no reply).
				if (engine.block_requested) {
					item.count = i;
					item.blocked = true;
					item.block_timeout = engine.block_timeout_ms;
					break;
				}
				// QUIT, a delayed AUTH failure, or a turn's worth of output: the rest waits for a later turn.
				if (item.client->session.close_after_reply || item.client->not_before_ms > Server::NowMs() ||
				    item.out.size() > kMaxTurnOutput) {
					item.count = i + 1;
					break;
				}
			}
		}
		pg::ErrorInfo error;
		uint64_t lsn = 0;
		if (!Commit(&error, &lsn))
			return false;
		for (Item &item : items)
			item.lsn = lsn;
		return true;
	}

	// One transaction per command, so only a failing command fails.  A command that found a lock busy
	// stays queued (with the client's later commands) and the client is retried after kRetryMs, until
	// nodedb_kv.resp_lock_wait has passed.
	void
	Replay(std::vector<Item> &items)
	{
		queued_subxacts_ = true;
		// EXEC's subtransactions (below) and cached collection handles do not mix: the replay opens
		// collections per operation.
		kv::SetHandleCache(false);
		for (Item &item : items) {
			Client *client = item.client;
			Writer writer(&item.out, client->session.protocol);
			for (size_t i = 0; i < item.count; i++) {
				size_t mark = item.out.size();
				pg::ErrorInfo error;
				uint64_t lsn = 0;
				if (!pg::BeginTransaction(&error)) {
					writer.Error(std::string("ERR ") + error.message);
					client->queued.pop_front();
					continue;
				}
				Session before = client->session; // restored when the command is retried (EXEC ends a block)
				bool ran = RunOne(client, client->queued.front(), writer);
				if (ran && engine.block_requested) {
					Abort(); // it read only: nothing to keep
					item.blocked = true;
					item.block_timeout = engine.block_timeout_ms;
					break;
				}
				if (!ran) {
					Abort();
					if (engine.failed && engine.failure.code == kv::Code::WouldBlock) {
						int64_t now = Server::NowMs();
						if (client->first_blocked_ms == 0)
							client->first_blocked_ms = now;
						if (now - client->first_blocked_ms < guc::resp_lock_wait_ms) {
							client->session = before;
							item.out.resize(mark);
							client->not_before_ms = now + kRetryMs;
							break;
						}
						item.out.resize(mark);
						writer.Error("ERR could not obtain a lock within nodedb_kv.resp_lock_wait: " +
						             std::string(engine.failure.message));
					}
				} else if (!Commit(&error, &lsn)) {
					item.out.resize(mark);
					writer.Error(std::string("ERR ") + error.message);
				}
				item.lsn = std::max(item.lsn, lsn);
				client->first_blocked_ms = 0;
				client->queued.pop_front();
				if (client->session.close_after_reply)
					break;
			}
			client->pending += item.out;
			client->pending_lsn = std::max(client->pending_lsn, item.lsn);
		}
		queued_subxacts_ = false;
		kv::SetHandleCache(true);
	}
};

// Subscribers' output (a backlog of messages a slow reader has not taken yet), bus reads and turn
// buffers come and go in large blocks.  glibc's defaults hand freed blocks of 128 kB and more back to the
// kernel (munmap, or trimming the heap's top), so the next burst faults in zeroed pages again: a page
// fault and a page clear per 4 kB, a fifth of the worker's CPU in a 100-subscriber fan-out.  The worker
// keeps up to 64 MB of freed heap for reuse instead (blocks up to 32 MB come from the heap), as Redis's
// allocator keeps its free pages.
void
KeepFreedMemory()
{
	(void)mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

// Runs the loop until SIGTERM.  False with *message set when it could not serve.
bool
RunWorker(int index, char *message, size_t size)
{
	std::string error;
	kv::SetHandleCache(true); // a turn's commands share their collections' open state
	kv::SetNoWait(true);      // a lock held elsewhere: 55P03 at once, the command is retried later
	worker_index = index;     // before the Worker: its Blocker registers waits under it
	KeepFreedMemory();
	Worker worker;
	worker.InstallHooks();
	Server server(Worker::CurrentNetConfig(index), &worker);
	worker_index = index;
	worker.engine.worker_index = index;
	RegistryResetWorker(index);   // a restarted worker's former clients are gone
	blocking::ResetWorker(index); // and their waits
	pubsub::AttachWorker(index, MyProcPid);
	pubsub::SetKeyspaceFromCapture(false); // commands report their own Redis event names
	pubsub::InstallReceiveCache();
	before_shmem_exit(DetachFromBus, 0);
	worker.engine.server = &server;
	ereport(LOG, (errmsg("nodedb_kv RESP worker %d listening on port %d", index, guc::resp_port)));
	if (server.Run(&error) || pg::TerminationRequested())
		return true;
	strlcpy(message, error.c_str(), size);
	return false;
}

} // namespace

void
RegisterWorkers()
{
	const char *env = getenv("NODEDB_PORT_RESP");
	if (env != nullptr && env[0] != '\0')
		SetConfigOption("nodedb_kv.resp_port", env, PGC_POSTMASTER, PGC_S_ARGV);
	if (guc::resp_port <= 0)
		return;
	RegisterFlusher();
	RegisterClientRegistry();
	for (int i = 0; i < guc::resp_workers; i++) {
		BackgroundWorker worker;
		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_ConsistentState; // a standby serves reads
		worker.bgw_restart_time = kRestartSeconds;
		strlcpy(worker.bgw_library_name, "nodedb_kv", BGW_MAXLEN);
		strlcpy(worker.bgw_function_name, "nodedb_kv_resp_worker_main", BGW_MAXLEN);
		snprintf(worker.bgw_name, BGW_MAXLEN, "nodedb_kv RESP worker %d", i);
		strlcpy(worker.bgw_type, "nodedb_kv RESP worker", BGW_MAXLEN);
		worker.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&worker);
	}
}

} // namespace nodedb_kv::resp

void
nodedb_kv_resp_worker_main(Datum arg) noexcept
{
	using namespace nodedb_kv;
	int index = DatumGetInt32(arg);
	resp::self_pipe_fd = pg::InstallWorkerSignals();
	pg::WakeOnSignal(SIGUSR2); // pub/sub publishers: new messages on the bus
	BackgroundWorkerInitializeConnection(guc::resp_database, nullptr, 0);
	// One short attempt at a busy lock; the worker retries the command on a later turn.
	SetConfigOption("lock_timeout", resp::kLockTimeout, PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("application_name", "nodedb_kv RESP", PGC_USERSET, PGC_S_OVERRIDE);
	char message[512] = "";
	try {
		if (!resp::RunWorker(index, message, sizeof(message)) && message[0] == '\0')
			strlcpy(message, "no address could be bound", sizeof(message));
	} catch (const std::exception &e) {
		strlcpy(message, e.what(), sizeof(message));
	} catch (...) {
		strlcpy(message, "unknown C++ exception", sizeof(message));
	}
	if (message[0] != '\0')
		ereport(ERROR, (errmsg("nodedb_kv RESP worker could not serve port %d: %s", guc::resp_port, message)));
	// Exit code 1: the postmaster restarts the worker (0 would unregister it); at shutdown it does not.
	proc_exit(1);
}
