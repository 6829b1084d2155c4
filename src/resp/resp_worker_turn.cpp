// A RESP worker's loop turn (resp_worker_loop.hpp): every ready client's commands in one transaction,
// one command at a time under its client's role with a fresh snapshot, the replay of a failed batch one
// transaction per command (a busy lock parks the command for a later turn), and the commit whose WAL
// position the replies wait for (src/resp/README.md "Execution of a loop turn").
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "nodedb_kv/blocking/blocking.hpp"
#include "nodedb_kv/kv/kv_api.hpp"
#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_flush.hpp"
#include "nodedb_kv/resp/resp_protocol.hpp"
#include "nodedb_kv/resp/resp_tracking.hpp"

#include "nodedb_kv/resp/resp_worker_loop.hpp"

#include "nodedb_kv/pg/pg_worker.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/tableam/tableam_takeover.hpp"

namespace nodedb_kv::resp::loop {

void
Worker::RunTurn(Server &server, const std::vector<Client *> &clients)
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

kv::Status
Worker::Failure(const pg::ErrorInfo &error)
{
	engine.failed = true;
	engine.failure.code = kv::Code::Internal;
	strlcpy(engine.failure.message, error.message, sizeof(engine.failure.message));
	engine.failure.detail[0] = '\0';
	return engine.failure;
}

bool
Worker::Begin()
{
	pg::ErrorInfo error;
	return pg::BeginTransaction(&error);
}

// Commits.  Where the settings allow (resp_flush.hpp), without waiting for the WAL flush: *lsn is then
// the position the turn's replies must wait for (reads too: they may have seen unflushed commits), and
// the flusher is asked to flush it.  *lsn = 0: the replies may go out at once.
bool
Worker::Commit(pg::ErrorInfo *error, uint64_t *lsn)
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
Worker::DurableLsn()
{
	return FlushedLsn();
}

void
Worker::Abort()
{
	pg::AbortTransaction();
}

// Runs one command inside the current transaction, writing its reply with writer.  Returns false if it
// raised a PostgreSQL error (engine.failure), after which the transaction must be aborted.
bool
Worker::RunOne(Client *client, const Argv &argv, Writer &writer)
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
Worker::RunBatch(std::vector<Item> &items)
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
Worker::Replay(std::vector<Item> &items)
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

} // namespace nodedb_kv::resp::loop
