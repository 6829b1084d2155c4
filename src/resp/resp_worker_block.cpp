// Blocking pops in a RESP worker (resp_worker_loop.hpp; design: src/blocking/README.md): a client
// registers its keys before its command reads them, waits after the turn until a wake-up record of the
// bus makes it its key's first waiter, its deadline passes, or CLIENT UNBLOCK (of any worker) ends it.
#include <string>
#include <string_view>
#include <vector>

#include "nodedb_kv/blocking/blocking.hpp"
#include "nodedb_kv/resp/resp_protocol.hpp"

#include "nodedb_kv/resp/resp_worker_loop.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "miscadmin.h"
#include "utils/snapmgr.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"

namespace nodedb_kv::resp::loop {

// Engine::BlockOn: the client waits for keys from now on, and the command reads them with a snapshot
// taken after that, so a push committed later finds the waiter (no lost wake-up).
kv::Status
Worker::BlockOn(const Session &s, const std::vector<std::string> &keys)
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
Worker::SettleBlock(Item &item)
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
Worker::EndBlock(Client *c, bool error)
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
Worker::Unwait(Client *c)
{
	blocker_.Forget(c->session.id);
	c->blocked = c->block_woken = false;
	c->block_unblock = 0;
	c->block_deadline_ms = 0;
	c->session.blocked = false;
}

// CLIENT UNBLOCK of a client of this worker: false if it is not blocked.
bool
Worker::UnblockLocal(uint64_t id, bool error)
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
Worker::TakeUnblocks(Server &server)
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
Worker::WakeBlocked(Server &server, std::string_view payload)
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

} // namespace nodedb_kv::resp::loop
