#pragma once
// The RESP worker's executor (resp_worker.hpp), internal to src/resp/resp_worker*.cpp: the `Worker`
// that runs the resp/net loop's turns inside PostgreSQL, declared once and defined by concern:
//  - resp_worker.cpp           registration, entry point, start-up, tick, statistics flush;
//  - resp_worker_turn.cpp      a loop turn: the batch transaction, one command, the replay, the commit;
//  - resp_worker_exec.cpp      EXEC's queued commands (their snapshot, role and subtransaction);
//  - resp_worker_block.cpp     blocking pops (waits, wake-ups, timeouts, CLIENT UNBLOCK);
//  - resp_worker_bus.cpp       the pub/sub bus: drain, delivery, subscriptions;
//  - resp_worker_tracking.cpp  client-side caching (tracking table, invalidations, redirects);
//  - resp_worker_clients.cpp   the client registry (CLIENT LIST / KILL across workers).
// Design: src/resp/README.md.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/resp/resp_blocking.hpp"
#include "nodedb_kv/resp/resp_engine.hpp"
#include "nodedb_kv/resp/resp_net.hpp"
#include "nodedb_kv/resp/resp_tracking.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/resowner.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::resp::loop {

constexpr int64_t kRetryMs = 25;           // pause before a parked command runs again
constexpr size_t kMaxTurnOutput = 1 << 20; // reply bytes of one client per turn (fairness, memory)
constexpr size_t kMaxTurnCommands = 256;   // commands of one client per turn

extern int worker_index;              // this worker's slot on the pub/sub bus
extern int bcast_clients;             // this worker's clients with CLIENT TRACKING ... BCAST
extern int remote_redirects;          // this worker's tracking clients redirecting to another worker
extern resp::Tracker *worker_tracker; // the worker's tracking table (its keys leave the filter at exit)

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
	Worker();

	std::unique_ptr<WorkerEngine> engine_ = MakeEngine();
	WorkerEngine &engine = *engine_;

	void InstallHooks();
	static NetConfig CurrentNetConfig(int index = 0);

	// Executor (resp_net.hpp).
	void RunTurn(Server &server, const std::vector<Client *> &clients) override;
	void Opened(Client &client) override;
	void Closed(Client &client) override;
	void Tick(Server &server) override;
	uint64_t DurableLsn() override;

private:
	// ---- A loop turn (resp_worker_turn.cpp). ----
	kv::Status Failure(const pg::ErrorInfo &error);
	bool Begin();
	bool Commit(pg::ErrorInfo *error, uint64_t *lsn);
	void Abort();
	bool RunOne(Client *client, const Argv &argv, Writer &writer);
	bool RunBatch(std::vector<Item> &items);
	void Replay(std::vector<Item> &items);

	// ---- EXEC's queued commands (resp_worker_exec.cpp). ----
	kv::Status BeginQueued(Session &s);
	void EndSub(bool commit);
	kv::Status EndQueued();

	// ---- Blocking pops (resp_worker_block.cpp, src/blocking/README.md). ----
	kv::Status BlockOn(const Session &s, const std::vector<std::string> &keys);
	void SettleBlock(Item &item);
	void EndBlock(Client *c, bool error);
	void Unwait(Client *c);
	bool UnblockLocal(uint64_t id, bool error);
	void TakeUnblocks(Server &server);
	void WakeBlocked(Server &server, std::string_view payload);

	// ---- The client registry (resp_worker_clients.cpp). ----
	void Publish(Server &server, Client &client);
	static void TakeKills(Server &server);

	// ---- The pub/sub bus (resp_worker_bus.cpp). ----
	void DrainBus(Server &server);
	bool MayReceive(const Session &s, uint32_t relid);
	void EndDeliveryTransaction();
	static void SyncSubscriptions(const Session &before, const Session &after);

	// ---- Client-side caching (resp_worker_tracking.cpp). ----
	void SyncTracking(const Session &before, const Session &after);
	void Invalidate(Server &server, std::string_view payload);
	void Notify(Server &server, uint64_t id, std::string_view key, bool key_null, uint64_t origin);
	void TrackCommand(Client *client, const Argv &argv);
	void Remember(Server &server, uint32_t relid, const std::string &key, uint64_t client);

	// ---- Statistics (resp_worker.cpp). ----
	void FlushStats();

	static constexpr int64_t kStatsFlushMs = 1000; // PostgreSQL's PGSTAT_MIN_INTERVAL
	int64_t stats_force_at_ = 0;                   // steady-clock ms when pending stats are forced out
	MemoryContext command_context_;
	Tracker tracker_;
	int tracking_clients_ = 0; // this worker's clients with tracking on
	// Keys this turn's commands read (re-remembered after the turn's own invalidations, RunTurn).
	struct TurnRead {
		uint32_t relid;
		std::string key;
		uint64_t client;
	};
	std::vector<TurnRead> turn_reads_;
	pubsub::Cursor cursor_ = {0, 0};
	// This worker's blocked clients.
	Blocker blocker_;
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
};

} // namespace nodedb_kv::resp::loop
