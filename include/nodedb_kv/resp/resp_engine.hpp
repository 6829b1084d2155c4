#pragma once
// The command layer's Engine as the RESP worker runs it (resp_engine.cpp, PG-aware implementation;
// this header is pure).  The worker tells it which client's command runs and learns from it whether
// the command raised a PostgreSQL error (then the transaction must be aborted).
#ifdef POSTGRES_H
static_assert(false, "resp_engine.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <functional>
#include <memory>

#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_net.hpp"

namespace nodedb_kv::resp {

class WorkerEngine : public Engine {
public:
	Server *server = nullptr;
	Client *client = nullptr; // the client whose command runs
	int worker_index = 0;     // this worker's index (client registry, pub/sub bus slot)
	bool failed = false;      // the command raised a PostgreSQL error: abort the transaction
	kv::Status failure{};     // that error as a status

	// EXEC's steps around each queued command (resp_commands.hpp), set by the worker, which owns the
	// transaction, its snapshots and subtransactions.
	std::function<kv::Status(Session &)> begin_queued, end_queued;

	kv::Status
	BeginQueued(Session &s) override
	{
		return begin_queued ? begin_queued(s) : Engine::BeginQueued(s);
	}
	kv::Status
	EndQueued(Session &s) override
	{
		return end_queued ? end_queued(s) : Engine::EndQueued(s);
	}

	// Blocking pops (resp_commands.hpp), set by the worker, which owns the waits and the snapshots.
	std::function<kv::Status(const Session &, const std::vector<std::string> &)> block_on;
	std::function<bool(uint64_t, bool)> unblock_local; // CLIENT UNBLOCK of a client of this worker
	bool block_requested = false;                      // the command asked to block (Block)
	int64_t block_timeout_ms = 0;

	kv::Status
	BlockOn(const Session &s, const std::vector<std::string> &keys) override
	{
		return block_on ? block_on(s, keys) : Engine::BlockOn(s, keys);
	}
	void
	Block(const Session &, int64_t timeout_ms) override
	{
		block_requested = true;
		block_timeout_ms = timeout_ms;
	}
	bool
	BlockRerun() override
	{
		return client != nullptr && client->blocked;
	}

	void
	BeginCommand(Client *c)
	{
		client = c;
		failed = false;
		block_requested = false;
		block_timeout_ms = 0;
	}
};

// The engine over the kv API.
std::unique_ptr<WorkerEngine> MakeEngine();

} // namespace nodedb_kv::resp
