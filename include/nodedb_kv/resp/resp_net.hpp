#pragma once
// The RESP network loop, pure C++ over Boost.Asio: one single-threaded io_context per worker process,
// listening sockets shared between workers with SO_REUSEPORT, per-client parsing and output buffers with
// backpressure, idle timeouts, a self-pipe that signal handlers write to, and a periodic tick.  It knows
// nothing of PostgreSQL: each loop turn hands every client with complete commands to the Executor (the
// PG-aware worker), which runs them and fills the clients' replies.
#ifdef POSTGRES_H
static_assert(false, "resp_net.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nodedb_kv/resp/resp_clients.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_protocol.hpp"

namespace nodedb_kv::resp {

struct NetConfig {
	std::vector<std::string> addresses; // host names or IP addresses to listen on
	int port = 0;
	int self_pipe_fd = -1;      // read end of the signal self-pipe, or -1
	size_t max_clients = 10000; // connections of this worker
	int64_t max_bulk_len = 512LL * 1024 * 1024;
	int timeout_s = 0;                    // idle seconds before a client is closed (0 = never)
	size_t max_output = 64 * 1024 * 1024; // unsent reply bytes before a client is no longer read
	size_t max_commands_per_turn = 1024;  // commands of one client run in one loop turn
	int tick_ms = 100;
	uint64_t first_id = 1; // client ids: first_id, first_id + id_step, ... (unique across workers)
	uint64_t id_step = 1;
	bool auth_required = true; // new clients must AUTH (no anonymous role): pre-AUTH request limits apply
};

// One client connection as the executor sees it.
struct Client {
	Session session;
	std::deque<Argv> queued;  // complete commands not yet run, in order
	std::string pending;      // replies of the current turn, sent once the turn's work is durable
	uint64_t pending_lsn = 0; // WAL position that must be flushed before `pending` goes out (0: none)
	std::deque<std::pair<uint64_t, std::string>> held; // replies waiting for their WAL flush, in order
	std::string protocol_error;   // sent after the replies to earlier commands, then the connection closes
	int64_t not_before_ms = 0;    // parked: run nothing and send nothing before this (monotonic ms)
	int64_t first_blocked_ms = 0; // when the command at the head first found a lock busy (0 = never)
	bool closed = false;          // the peer went away: nothing more is sent
	bool auth_required = true;    // not authenticated and no anonymous role: Redis's pre-AUTH request limits
	int registry_slot = -1;       // its slot in the shared client registry (resp_clients.hpp), -1: none
	// A blocking pop at the head of `queued` waits for a push (src/blocking/README.md): not run again
	// until woken (a push to one of its keys made it its key's first waiter), unblocked (CLIENT UNBLOCK),
	// or its deadline passed.  Its earlier replies still go out.
	bool blocked = false;
	bool block_woken = false;
	int block_unblock = 0;         // blocking::Unblock requested by CLIENT UNBLOCK (0: none)
	int64_t block_deadline_ms = 0; // monotonic ms (0: forever)

	// Whether the loop should run this client's head command now.
	bool
	Runnable(int64_t now_ms) const
	{
		return !queued.empty() && not_before_ms <= now_ms &&
		       (!blocked || block_woken || block_unblock != 0 ||
		        (block_deadline_ms != 0 && block_deadline_ms <= now_ms));
	}
};

class Server;

// The PG-aware side, called from the loop.  Neither call may throw or longjmp.
class Executor {
public:
	virtual ~Executor() = default;
	// Runs queued commands of the given clients; for each command run, pops it from `queued` and appends
	// its reply to `pending`.  Commands left queued (a busy lock, a parked client) run in a later turn.
	virtual void RunTurn(Server &server, const std::vector<Client *> &clients) = 0;
	// Called every tick_ms and when the self-pipe is written: interrupts, configuration reload, shutdown
	// (by calling server.Stop()).
	virtual void Tick(Server &server) = 0;
	// A client connected (before its first turn).
	virtual void
	Opened(Client &)
	{
	}
	// A client's connection is gone (after its last turn); its subscriptions end.
	virtual void
	Closed(Client &)
	{
	}
	// The WAL position known to be flushed (replies wait for theirs).
	virtual uint64_t
	DurableLsn()
	{
		return UINT64_MAX;
	}
};

class Server {
public:
	Server(NetConfig config, Executor *executor);
	~Server();
	Server(const Server &) = delete;
	Server &operator=(const Server &) = delete;

	// Binds every address and runs the loop until Stop().  Returns false with *error set if no address
	// could be bound or the loop failed.
	bool Run(std::string *error);
	void Stop();
	void UpdateConfig(const NetConfig &config);

	// Monotonic milliseconds.
	static int64_t NowMs();

	// CLIENT LIST's connection facts of client id (false: no such connection).
	bool Facts(uint64_t id, ConnFacts *facts);
	// Closes the client with that address ("ip:port") or id; true if one was found.
	bool Kill(const std::string &address, uint64_t id);
	size_t ClientCount() const;
	uint64_t
	TotalConnections() const
	{
		return total_connections_;
	}
	uint64_t
	TotalCommands() const
	{
		return total_commands_;
	}
	void
	CountCommands(uint64_t n)
	{
		total_commands_ += n;
	}
	// Delivers one pub/sub message to every subscribed client of this worker (push frames appended to
	// its output, sent at once).  A client whose unsent output would pass max_output is disconnected
	// instead (a slow subscriber); *dropped counts them.  Returns the frames written.
	size_t Deliver(std::string_view channel, std::string_view payload, size_t max_output, uint64_t *dropped);
	// Redis's client-output-buffer-limit pubsub <hard> <soft> <soft seconds>: past hard at once, or past
	// soft continuously for soft_ms (measured at deliveries, as Redis does, with now_ms).
	struct OutputLimit {
		size_t hard;
		size_t soft;     // 0: no soft limit
		int64_t soft_ms; // 0: no soft limit
		int64_t now_ms;
	};
	// may_receive (when set): whether a client that subscribed to the message may receive it (a message
	// carrying a collection's data goes only to clients whose role may read the collection now).
	size_t Deliver(std::string_view channel, std::string_view payload, const OutputLimit &limit, uint64_t *dropped,
	               const std::function<bool(const Session &)> &may_receive = nullptr);
	// Whether any client of this worker subscribes to something.
	bool HasSubscribers() const;
	// The connected client with this id, or nullptr.
	Client *Find(uint64_t id);
	// Appends bytes (a push frame) to the client's output behind its unsent replies and sends them.
	void Push(uint64_t id, std::string_view bytes);
	// Ids of every connected client.
	std::vector<uint64_t> ClientIds() const;

	// Asks for another loop turn soon (a parked client becomes runnable at not_before_ms).
	void WakeAt(int64_t when_ms);

	struct Impl;

private:
	std::unique_ptr<Impl> impl_;
	uint64_t total_connections_ = 0;
	uint64_t total_commands_ = 0;
	friend struct Impl;
};

} // namespace nodedb_kv::resp
