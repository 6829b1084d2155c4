// Transactions: MULTI EXEC DISCARD WATCH UNWATCH with Redis 7's semantics and replies, and the queuing
// the dispatcher does while a block is open.  Pure C++: the block lives in the Session; EXEC runs the
// queued commands one after another inside the worker's current transaction (one command of the turn,
// so no other client's command runs between them), asking the engine to isolate each one
// (BeginQueued / EndQueued: the block's snapshot, a subtransaction when needed).  WATCH records the
// identity of each key's row (kv::RowVersion: the version's xmin and ctid, or absent with the key's
// touch count); EXEC locks the rows of the watched keys when the block writes, and answers nil if any
// identity changed, whoever changed it (RESP on any worker, SQL, KV_* functions, expiry, FLUSHDB, this
// very client).  A table rewrite (VACUUM FULL, CLUSTER) is not a change (kv::SameVersion).
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "nodedb_kv/resp/resp_commands.hpp"

namespace nodedb_kv::resp {
namespace {

// What a queued block may hold: its commands' bytes plus a per-argument overhead.  Past it the command
// is refused and EXEC aborts (Redis bounds a client's memory the same way, by closing it).
constexpr size_t kMaxMultiBytes = 64 * 1024 * 1024;
constexpr size_t kArgOverhead = 32;

void
ClearMulti(Session &s)
{
	s.multi = MultiState();
}

void
MultiCommand(CommandContext &ctx)
{
	Session &s = ctx.session;
	if (s.multi.active) {
		ctx.out.Error("ERR MULTI calls can not be nested");
		return;
	}
	s.multi = MultiState();
	s.multi.active = true;
	s.multi.commands = std::make_shared<std::vector<Argv>>();
	ctx.out.Simple("OK");
}

void
DiscardCommand(CommandContext &ctx)
{
	Session &s = ctx.session;
	if (!s.multi.active) {
		ctx.out.Error("ERR DISCARD without MULTI");
		return;
	}
	ClearMulti(s);
	s.watched.clear();
	ctx.out.Simple("OK");
}

// The row identity of key in collection relid; a collection that is gone holds no key.
bool
CurrentVersion(CommandContext &ctx, uint32_t relid, const std::string &key, bool lock, kv::RowVersion *version)
{
	kv::Status status = ctx.engine.KeyVersion(relid, key, lock, version);
	if (status.code == kv::Code::NoSuchCollection) {
		*version = {false, 0, 0, 0, 0, 0, false, 0};
		return true;
	}
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	return true;
}

void
WatchCommand(CommandContext &ctx)
{
	Session &s = ctx.session;
	if (s.multi.active) {
		ctx.out.Error("ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (size_t i = 1; i < ctx.argv.size(); i++) {
		const std::string &key = ctx.argv[i];
		bool known = false;
		for (const WatchedKey &w : s.watched)
			known = known || (w.relid == s.relid && w.key == key);
		if (known)
			continue; // Redis keeps the first WATCH of a key
		WatchedKey watched;
		watched.relid = s.relid;
		watched.key = key;
		if (!CurrentVersion(ctx, s.relid, key, false, &watched.version))
			return;
		s.watched.push_back(std::move(watched));
	}
	ctx.out.Simple("OK");
}

void
UnwatchCommand(CommandContext &ctx)
{
	ctx.session.watched.clear();
	ctx.out.Simple("OK");
}

void
ExecCommand(CommandContext &ctx)
{
	Session &s = ctx.session;
	if (!s.multi.active) {
		ctx.out.Error("ERR EXEC without MULTI");
		return;
	}
	// The block and the watches end here whatever happens (Redis's discardTransaction / unwatch).
	MultiState block = s.multi;
	std::vector<WatchedKey> watched;
	watched.swap(s.watched);
	ClearMulti(s);
	if (block.dirty) {
		ctx.out.Error("EXECABORT Transaction discarded because of previous errors.");
		return;
	}
	const std::vector<Argv> &commands = *block.commands;
	// A block that writes locks the watched rows, so nobody changes them between this check and the
	// commit; a read-only block reads them with the same snapshot as its commands.
	bool writes = false;
	for (size_t i = 0; i < block.count; i++) {
		const CommandSpec *spec = Lookup(commands[i]);
		writes = writes || spec == nullptr || !(spec->flags & kReadonly);
	}
	for (const WatchedKey &w : watched) {
		kv::RowVersion now{false, 0, 0, 0, 0, 0, false, 0};
		if (!CurrentVersion(ctx, w.relid, w.key, writes, &now))
			return;
		if (!kv::SameVersion(w.version, now)) {
			ctx.out.NullArray();
			return;
		}
	}
	std::string replies;
	Writer writer(&replies, s.protocol);
	for (size_t i = 0; i < block.count; i++) {
		kv::Status status = ctx.engine.BeginQueued(s);
		if (status.ok()) {
			writer.SetProtocol(s.protocol);
			s.in_exec = true;
			s.exec_count = block.count;
			try {
				Execute(s, ctx.engine, writer, commands[i]);
			} catch (const std::exception &e) {
				// As the worker does for a command (the block's subtransaction must still be ended).
				writer.Error(std::string("ERR ") + e.what());
			}
			s.in_exec = false;
			s.exec_count = 0;
			status = ctx.engine.EndQueued(s);
		}
		if (!status.ok()) {
			// The block cannot go on (a busy lock, or an error outside any subtransaction): EXEC's one reply
			// is the error, and the worker retries or replays the whole command.
			ReplyStatus(ctx, status);
			return;
		}
	}
	ctx.out.Array(block.count);
	ctx.out.Raw(replies);
}

} // namespace

bool
QueuedInMulti(const Session &session, const CommandSpec &spec)
{
	if (!session.multi.active || (spec.flags & kNoQueue))
		return false;
	std::string_view name = spec.name;
	return name != "quit" && name != "reset";
}

void
FlagMultiError(Session &session)
{
	if (session.multi.active) {
		session.multi.dirty = true;
		// EXEC will only answer EXECABORT: the queued commands are not needed any more.  count stays (CLIENT
		// LIST's multi=: Redis stops counting at the error).
		session.multi.commands = std::make_shared<std::vector<Argv>>();
		session.multi.bytes = 0;
	}
}

void
QueueCommand(Session &session, Writer &out, const Argv &argv)
{
	MultiState &m = session.multi;
	if (m.dirty) {
		out.Simple("QUEUED"); // EXEC aborts anyway: nothing to keep
		return;
	}
	size_t bytes = kArgOverhead;
	for (const std::string &arg : argv)
		bytes += arg.size() + kArgOverhead;
	if (m.bytes + bytes > kMaxMultiBytes) {
		out.Error("ERR MULTI block too large: more than " + std::to_string(kMaxMultiBytes >> 20) +
		          " MiB of queued commands");
		FlagMultiError(session);
		return;
	}
	// Entries past count belong to a copy of the session that was rolled back (a replayed turn).
	if (m.commands->size() > m.count)
		m.commands->resize(m.count);
	m.commands->push_back(argv);
	m.count++;
	m.bytes += bytes;
	out.Simple("QUEUED");
}

void
RegisterTxCommands(CommandTable *table)
{
	table->Add({"multi", 1, kFast | kNoTxn | kNoQueue, MultiCommand, 0, 0, 0});
	table->Add({"exec", 1, kNoQueue, ExecCommand, 0, 0, 0});
	table->Add({"discard", 1, kFast | kNoTxn | kNoQueue, DiscardCommand, 0, 0, 0});
	table->Add({"watch", -2, kFast | kNoQueue, WatchCommand, 1, -1, 1});
	table->Add({"unwatch", 1, kFast | kNoTxn, UnwatchCommand, 0, 0, 0});
}

} // namespace nodedb_kv::resp
