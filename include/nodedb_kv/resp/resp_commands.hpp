#pragma once
// The RESP command layer, pure C++: a declarative command table (name, arity, flags, handler) that is
// registered explicitly, the per-connection session, and the engine interface the handlers call.
// Handlers never touch PostgreSQL: resp/worker implements Engine over the kv API, running each call
// under the error bridge, so a PostgreSQL error arrives here as a kv::Status like any refusal.
#ifdef POSTGRES_H
static_assert(false, "resp_commands.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nodedb_kv/kv/kv_api.hpp"
#include "nodedb_kv/kv/kv_fields.hpp"
#include "nodedb_kv/kv/kv_typed.hpp"
#include "nodedb_kv/resp/resp_clients.hpp"
#include "nodedb_kv/resp/resp_protocol.hpp"
#include "nodedb_kv/rtypes/rtypes_zset.hpp"
#include "nodedb_kv/sortedindex/sortedindex_zset.hpp"

namespace nodedb_kv::rtypes {
class ZtreeCache; // rtypes_zcache.hpp
}

namespace nodedb_kv::resp {

// A key WATCH recorded (resp_cmd_tx.cpp): its collection, and the identity of its row then.
struct WatchedKey {
	uint32_t relid = 0;
	std::string key;
	kv::RowVersion version{false, 0, 0, 0, 0, 0, false, 0};
};

// The MULTI block being queued (resp_cmd_tx.cpp).  Cheap to copy (the worker copies every session each
// turn): the commands live in a shared vector, of which the first `count` belong to this copy (a copy
// restored for a replay ignores what a later copy appended, and the next append drops it).
struct MultiState {
	bool active = false;
	bool dirty = false; // a command was refused while queuing: EXEC answers EXECABORT
	size_t count = 0;
	size_t bytes = 0; // what the queued commands take (bounded: kMaxMultiBytes)
	std::shared_ptr<std::vector<Argv>> commands;
};

// A cursor of SCAN (kind Keys: position is the last key returned) or of HSCAN / SSCAN / ZSCAN over a
// spilled container (kind Members: the last member returned).  Clients see only the decimal id.
enum class CursorKind : uint8_t { Keys, Members };
struct ScanCursor {
	uint64_t id = 0;
	CursorKind kind = CursorKind::Keys;
	std::string position;
};

// What one connection remembers between commands.  Copyable: the worker snapshots it before a batch
// and restores it when the batch is replayed one command per transaction.
struct Session {
	uint64_t id = 0;
	Protocol protocol = Protocol::Resp2;
	bool authenticated = false; // AUTH passed (or the anonymous role applies)
	std::string user;           // role name of the session ("" before AUTH)
	uint32_t role = 0;          // role OID commands run as (0: none yet)
	// The current collection: kv_db<db_index>, or a named kv table (db_index -1).
	uint32_t relid = 0;
	std::string field; // value column ("" = the collection's single value field)
	std::string db_name;
	int64_t db_index = 0;
	bool typed_keyspace = false; // a kv_db<n> table (keys carry a Redis type)
	std::string name, lib_name, lib_ver;
	std::string address;       // "ip:port" of the client
	std::string local_address; // "ip:port" it connected to (CLIENT LIST laddr=)
	int64_t created_ms = 0;
	std::string last_command;
	bool close_after_reply = false; // QUIT, CLIENT KILL of itself
	bool blocked = false;           // waits in a blocking pop (CLIENT LIST flag b; set by the worker)
	// SCAN / HSCAN / SSCAN / ZSCAN cursors (resp_cursor.hpp): id -> where the iteration goes on.
	std::deque<ScanCursor> cursors;
	uint64_t next_cursor = 1;
	// Pub/sub subscriptions, in subscription order (the worker mirrors them into the shared bus).
	std::vector<std::string> channels;
	std::vector<std::string> patterns;
	// MULTI / EXEC / WATCH (resp_cmd_tx.cpp).
	MultiState multi;
	std::vector<WatchedKey> watched;
	bool in_exec = false;  // EXEC runs its block (a SUBSCRIBE in it does not stop the later commands)
	size_t exec_count = 0; // while EXEC runs: the block's size (CLIENT LIST's multi=, as Redis's)
	// CLIENT TRACKING (resp_tracking.hpp).
	struct Tracking {
		bool on = false;
		bool bcast = false, optin = false, optout = false, noloop = false;
		bool caching = false;              // CLIENT CACHING yes (OPTIN) / no (OPTOUT), for the next command
		uint64_t redirect = 0;             // client id invalidations go to (0: this client)
		bool broken = false;               // the REDIRECT target went away (Redis's flag R, broken_redirect)
		std::vector<std::string> prefixes; // BCAST prefixes, sorted
	} tracking;

	size_t
	Subscriptions() const
	{
		return channels.size() + patterns.size();
	}
};

// Keys of one SCAN step.
struct ScanPage {
	std::vector<std::string> keys;
	bool done = false; // no key after the last one returned
};

// One field of a typed row (hash commands).
struct HashField {
	std::string name;
	bool exists = false; // not SQL NULL
	std::string value;
	kv::FieldKind kind = kv::FieldKind::Text;
};

// One member of a sorted set (Z-commands): member and score.
using ZMember = rtypes::ZsetEntry;

// A key with its Redis type (GetTyped).  In a kv_db<n> keyspace the row's `type`; elsewhere a string
// (a named collection's value or typed row, as GET reads it).
struct TypedValue {
	bool found = false;
	rtypes::Type type = rtypes::Type::String;
	std::string_view value; // engine memory, valid until the command ends
	int64_t ttl_ms = -1;    // -1: no expiry
};

// What an edit of ModifyTyped does with a key (kv_typed.hpp's TypedAction).
struct TypedWrite {
	kv::TypedAction action = kv::TypedAction::Keep;
	rtypes::Type type = rtypes::Type::String;
	std::string value;
	kv::Ttl ttl{kv::TtlMode::Keep, 0}; // Keep: an existing key keeps its expiry
};

// The edit: given the key as stored, says what to write.  It may run more than once (a retry after a
// concurrent writer), so it must compute its results from current each time.
using TypedEdit = std::function<void(const TypedValue &current, TypedWrite *write)>;

// The kv engine as commands see it.  Every call runs in the worker's current transaction as the
// session's role; a PostgreSQL error comes back as a Status (code Internal, or WouldBlock for a lock
// that is not available now) and the worker then discards the transaction's work and replays.
class Engine {
public:
	virtual ~Engine() = default;
	virtual kv::Status Get(const Session &s, std::string_view key, kv::Value *value) = 0;
	virtual kv::Status Set(const Session &s, std::string_view key, std::string_view value, kv::SetOptions options,
	                       bool *written, kv::Value *before) = 0;
	virtual kv::Status Delete(const Session &s, std::string_view key, bool *deleted) = 0;
	virtual kv::Status Exists(const Session &s, std::string_view key, bool *exists) = 0;
	virtual kv::Status Incr(const Session &s, std::string_view key, int64_t delta, int64_t *result) = 0;
	virtual kv::Status CompareAndSwap(const Session &s, std::string_view key, std::string_view expected,
	                                  std::string_view value, bool *success, kv::Value *before) = 0;
	virtual kv::Status Expire(const Session &s, std::string_view key, kv::Ttl ttl, bool *applied) = 0;
	// Keys after `after` (all keys from the start when from_start) in key order, at most count.
	virtual kv::Status Scan(const Session &s, std::string_view after, bool from_start, size_t count,
	                        ScanPage *page) = 0;
	virtual kv::Status Count(const Session &s, int64_t *count) = 0;
	// RANDOMKEY: a random live key (kv_api.hpp RandomKey); *found false when the collection is empty.
	virtual kv::Status RandomKey(const Session &s, std::string *key, bool *found) = 0;
	virtual kv::Status Flush(const Session &s) = 0;
	// SELECT: switches s to kv_db<index> (index >= 0) or to the kv table `name`.  *found false: no such
	// collection (the Status is then Ok).
	virtual kv::Status SelectDb(Session *s, int64_t index, std::string_view name, bool *found) = 0;
	// AUTH: checks the password of role `user`; on success sets s->role, s->user, s->authenticated.
	virtual kv::Status Authenticate(Session *s, std::string_view user, std::string_view password, bool *ok) = 0;
	// The role for clients that did not AUTH (nodedb_kv.resp_anonymous_role); false if none.
	virtual bool Anonymous(Session *s) = 0;
	// nodedb_kv's clock ("now" of the current command), in Unix milliseconds.
	virtual int64_t NowMillis() = 0;
	// Wall-clock time for TIME, in microseconds since the Unix epoch.
	virtual int64_t WallMicros() = 0;
	// The default user of AUTH with one argument (nodedb_kv.resp_default_user).
	virtual std::string DefaultUser() = 0;
	// INFO: the sections the worker knows (server, clients, stats, replication, keyspace).
	virtual std::string Info(const Session &s, std::string_view section) = 0;
	// CLIENT LIST / INFO / KILL over every worker's clients (the shared registry, resp_clients.hpp).
	// Clients: those the session's role may see (PostgreSQL's pg_stat_activity rule: its own role's
	// clients, every client for members of pg_read_all_stats), in id order; its own worker's as they are
	// now, the others' as of their last loop turn.
	virtual std::vector<ClientInfo> Clients(const Session &s) = 0;
	// CLIENT KILL: closes every client matching filter that the role may signal (pg_signal_backend's
	// rule: a role's own clients, anyone's for members of pg_signal_backend, a superuser's only for a
	// superuser); *killed counts them, *self says whether the caller is one of them (it closes after its
	// reply).  USER naming no role: InvalidArgument "No such user '<name>'".
	virtual kv::Status KillClients(const Session &s, const ClientFilter &filter, int64_t *killed, bool *self) = 0;
	// FLUSHALL: empties every kv_db<n> keyspace the session's role may TRUNCATE (default: none).
	virtual kv::Status
	FlushAll(const Session &)
	{
		return kv::Status{};
	}
	// Whether a client with this id is connected to any worker (CLIENT TRACKING ... REDIRECT id).
	virtual bool
	ClientExists(uint64_t)
	{
		return false;
	}
	// PUBLISH: queues the message for the bus when the command's transaction commits; *receivers is the
	// number of clients (all workers) that would receive it now.  (Defaults: an engine without a bus.)
	virtual kv::Status
	Publish(const Session &, std::string_view, std::string_view, int64_t *receivers)
	{
		*receivers = 0;
		return kv::Status{};
	}
	// SUBSCRIBE / PSUBSCRIBE: whether the session's role may listen to name.  A collection's change
	// channel (or a pattern matching one) needs SELECT on it: PermissionDenied otherwise.
	virtual kv::Status
	CheckSubscribe(const Session &, const std::string &, bool)
	{
		return kv::Status{};
	}
	// PUBSUB NUMSUB / NUMPAT / CHANNELS over every worker's subscriptions.
	virtual int64_t
	NumSub(std::string_view)
	{
		return 0;
	}
	virtual int64_t
	NumPat()
	{
		return 0;
	}
	virtual std::vector<std::string>
	Channels(const std::string *)
	{
		return {};
	}
	// Keyspace notifications (pubsub_keyspace.hpp): the event of a write command that changed key in the
	// session's collection (type: a pubsub::KeyspaceClass), published at commit if the flags want it.
	virtual void
	Notify(const Session &, uint32_t, const char *, std::string_view)
	{
	}
	// CONFIG GET / SET notify-keyspace-events (Redis's flag letters).  Setting needs a superuser session
	// (PermissionDenied); InvalidArgument: a letter Redis does not know.
	virtual std::string
	KeyspaceEvents()
	{
		return "";
	}
	virtual kv::Status
	SetKeyspaceEvents(const Session &, std::string_view)
	{
		return NotSupported();
	}

	// ---- Blocking pops (resp_cmd_rblock.cpp; design: src/blocking/README.md). ----
	// A blocking command that may block (not inside MULTI) names its keys before it reads them: the worker
	// registers the client as their waiter (a client that waits already keeps its place) and gives the
	// command a fresh snapshot, so a push committed after that snapshot wakes it.  Unsupported: this
	// engine cannot block (the command answers as its non-blocking form); another failure: reply it.
	virtual kv::Status
	BlockOn(const Session &, const std::vector<std::string> &)
	{
		return NotSupported();
	}
	// Every key was empty: the command blocks for timeout_ms (0: forever), counted from its first run.  It
	// writes no reply; the worker runs it again when one of its keys gets a push, and answers the timeout
	// or CLIENT UNBLOCK itself.
	virtual void
	Block(const Session &, int64_t)
	{
	}
	// Whether this run is a re-run of a blocked command: keys of another type are passed over (Redis 7.0
	// serves a blocked client only from a key of its type) instead of answering WRONGTYPE.
	virtual bool
	BlockRerun()
	{
		return false;
	}
	// CLIENT UNBLOCK id [TIMEOUT|ERROR]: *unblocked: that client was blocked and the session's role may
	// signal it (CLIENT KILL's rule); it then gets the timeout reply, or -UNBLOCKED with error.
	virtual kv::Status
	UnblockClient(const Session &, uint64_t, bool, bool *unblocked)
	{
		*unblocked = false;
		return kv::Status{};
	}

	// ---- Transactions (resp_cmd_tx.cpp). ----
	// WATCH / EXEC: the identity of key's row in collection relid (kv::Version; no collection: not found).
	// lock: the newest version, locked until the transaction ends (EXEC of a block that writes).
	virtual kv::Status
	KeyVersion(uint32_t, std::string_view, bool, kv::RowVersion *version)
	{
		*version = {false, 0, 0, 0, 0, 0, false, 0};
		return NotSupported();
	}
	// EXEC: called before and after each queued command of the block.  The worker gives each command
	// the block's snapshot with the block's earlier writes visible and, when it must, its own
	// subtransaction (a PostgreSQL error then fails only that command, in place).  A status that is not
	// ok: the block cannot go on and EXEC answers that error alone (the worker retries or replays it).
	virtual kv::Status
	BeginQueued(Session &)
	{
		return kv::Status{};
	}
	virtual kv::Status
	EndQueued(Session &)
	{
		return kv::Status{};
	}
	// ---- Redis-typed keys of kv_db<n> (resp_cmd_rtypes.cpp and the container commands). ----
	// The key's type, value and time to live (default: through Get, as a string).
	virtual kv::Status
	GetTyped(const Session &s, std::string_view key, TypedValue *out)
	{
		kv::Value value{};
		kv::Status status = Get(s, key, &value);
		*out = TypedValue{};
		if (!status.ok() || !value.found)
			return status;
		out->found = true;
		if (!value.isnull && value.bytes.len > 0)
			out->value = std::string_view(value.bytes.data, value.bytes.len);
		out->ttl_ms = value.ttl_ms;
		return status;
	}
	// Read-modify-write of a kv_db<n> key's type and value; *applied: a row was written or deleted.
	virtual kv::Status
	ModifyTyped(const Session &, std::string_view, const TypedEdit &, bool *applied)
	{
		*applied = false;
		return NotSupported();
	}

	// ---- Members of spilled containers (rows of kv_members, keys of rtypes_spill.hpp).  No privilege
	// checks of their own: the command has read or written the container's header row in the keyspace
	// as the session's role first, and the member keys it uses are derived from that row. ----
	// The keyspace's stable name for member keys (its schema-qualified table name).
	virtual kv::Status
	KeyspaceName(const Session &, std::string *name)
	{
		name->clear();
		return NotSupported();
	}
	// While on (a write of a spilled container, once it has locked the header row): member reads use a
	// snapshot taken at the read (READ COMMITTED), so they see every change of the container committed
	// before the lock was taken, as UPDATE's EvalPlanQual rechecks the newest row version; the command's
	// own snapshot may predate such a commit.
	virtual void
	MembersLatest(bool)
	{
	}
	virtual kv::Status
	MemberGet(const Session &, std::string_view, std::string *, bool *found)
	{
		*found = false;
		return NotSupported();
	}
	// Inserts or overwrites; *existed: the member key was there.
	virtual kv::Status
	MemberPut(const Session &, std::string_view, std::string_view, bool *existed)
	{
		*existed = false;
		return NotSupported();
	}
	virtual kv::Status
	MemberDelete(const Session &, std::string_view, bool *deleted)
	{
		*deleted = false;
		return NotSupported();
	}
	// Up to count member rows with from <= key < end, ascending; *done: no more in the range.
	virtual kv::Status
	MemberScan(const Session &, std::string_view, std::string_view, size_t,
	           std::vector<std::pair<std::string, std::string>> *out, bool *done)
	{
		out->clear();
		*done = true;
		return NotSupported();
	}
	// The process's node cache of spilled sorted sets (rtypes_zcache.hpp), told of every transaction
	// end; null: none (the sets read every node from its row).
	virtual rtypes::ZtreeCache *
	NodeCache()
	{
		return nullptr;
	}
	// Fails the command as a busy lock does (55P03): the worker runs it again later in a new
	// transaction, with a new snapshot (a spilled sorted set read older than its locked header).
	virtual kv::Status
	Retry(const char *message)
	{
		kv::Status status{};
		status.code = kv::Code::WouldBlock;
		snprintf(status.message, sizeof(status.message), "%s", message);
		return status;
	}

	// ---- Typed collections (hashes: resp_cmd_hash.cpp).  *typed false: the current collection is not
	// a typed collection (WRONGTYPE); a kv_db<n> keyspace answers Unsupported for now. ----
	// The fields `names` (all value fields when null) of key's row; *found false: no such key.
	virtual kv::Status
	GetFields(const Session &, std::string_view, const std::vector<std::string> *, std::vector<HashField> *, bool *,
	          bool *typed)
	{
		*typed = false;
		return NotSupported();
	}
	// Writes (name, value) pairs (value ignored for Clear) as kv::WriteFields does.
	virtual kv::Status
	WriteFields(const Session &, std::string_view, const std::vector<std::pair<std::string, std::string>> &,
	            kv::FieldWrite, int64_t *, bool *typed)
	{
		*typed = false;
		return NotSupported();
	}
	// HINCRBY / HINCRBYFLOAT on one field.
	virtual kv::Status
	IncrField(const Session &, std::string_view, std::string_view, int64_t, int64_t *, bool *typed)
	{
		*typed = false;
		return NotSupported();
	}
	virtual kv::Status
	IncrFloatField(const Session &, std::string_view, std::string_view, double, double *, bool *typed)
	{
		*typed = false;
		return NotSupported();
	}
	// Whether the current collection is typed (TYPE says hash).
	virtual kv::Status
	IsTyped(const Session &, bool *typed)
	{
		*typed = false;
		return NotSupported();
	}

	// ---- Sorted sets = kv_sorted indexes (resp_cmd_zset.cpp).  Reads: committed state of the index
	// (sortedindex_zset.hpp); writes: rows of info.table through the kv engine. ----
	virtual kv::Status
	ZsetDescribe(const Session &, std::string_view, sortedindex::ZsetInfo *info)
	{
		info->exists = false;
		return NotSupported();
	}
	virtual kv::Status
	ZsetCount(const Session &, std::string_view, int64_t *)
	{
		return NotSupported();
	}
	// 1-based rank in index order.
	virtual kv::Status
	ZsetRank(const Session &, std::string_view, std::string_view, bool *, int64_t *)
	{
		return NotSupported();
	}
	// Ranks [first, first + limit) in index order (first >= 1).
	virtual kv::Status
	ZsetSlice(const Session &, std::string_view, int64_t, int64_t, std::vector<ZMember> *)
	{
		return NotSupported();
	}
	virtual kv::Status
	ZsetRangeByScore(const Session &, std::string_view, double, double, std::vector<ZMember> *)
	{
		return NotSupported();
	}
	// The member's row's score column as stored now (this transaction's view; *found false: no row or
	// NULL score).
	virtual kv::Status
	ZsetGetScore(const Session &, const sortedindex::ZsetInfo &, std::string_view, bool *, double *)
	{
		return NotSupported();
	}
	// Upserts the member's row with the score column = text (only_if_absent / only_if_present: NX / XX).
	virtual kv::Status
	ZsetSetScore(const Session &, const sortedindex::ZsetInfo &, std::string_view, std::string_view, bool, bool, bool *)
	{
		return NotSupported();
	}
	// Adds delta to the score column (integer columns: delta must be integral).
	virtual kv::Status
	ZsetIncrScore(const Session &, const sortedindex::ZsetInfo &, std::string_view, double, double *)
	{
		return NotSupported();
	}
	// Deletes the member's row.
	virtual kv::Status
	ZsetRemove(const Session &, const sortedindex::ZsetInfo &, std::string_view, bool *)
	{
		return NotSupported();
	}

protected:
	static kv::Status
	NotSupported()
	{
		kv::Status status{};
		status.code = kv::Code::Unsupported;
		snprintf(status.message, sizeof(status.message), "not supported by this engine");
		return status;
	}
};

// Command flags (as Redis's command table).
enum CommandFlag : uint32_t {
	kWrite = 1 << 0,
	kReadonly = 1 << 1,
	kFast = 1 << 2,
	kAdmin = 1 << 3,
	kNoAuth = 1 << 4,  // allowed before AUTH (AUTH, HELLO, PING, QUIT)
	kNoTxn = 1 << 5,   // needs no transaction (connection-level commands)
	kLoading = 1 << 6, // keeps the session's transaction-free state only
	kPubSub = 1 << 7,  // allowed while a RESP2 client is subscribed (SUBSCRIBE ... PING QUIT RESET)
	// Reads a kv_sorted index, which shows committed state only: after a write earlier in the same
	// turn (one transaction), the worker runs it in the next turn, so a client's pipelined ZADD then
	// ZRANK sees its own write (resp_worker_turn.cpp).
	kIndexRead = 1 << 8,
	kNoQueue = 1 << 9, // runs at once inside MULTI (MULTI EXEC DISCARD WATCH; QUIT and RESET by name)
};

struct CommandContext;
using Handler = void (*)(CommandContext &ctx);

// One entry of the command table.  arity: exact argument count including the name when positive, at
// least -arity when negative (Redis's convention).
struct CommandSpec {
	const char *name; // lower case
	int arity;
	uint32_t flags;
	Handler handler;
	int first_key, last_key, key_step;  // for COMMAND INFO
	Handler keyspace_handler = nullptr; // runs instead of handler on a kv_db<n> keyspace (if set)
};

// What a handler works with.
struct CommandContext {
	Session &session;
	Engine &engine;
	Writer &out;
	const Argv &argv;
	const CommandSpec &spec;
};

class CommandTable {
public:
	void Add(const CommandSpec &spec);
	// The command named (case-insensitively) name, or nullptr.
	const CommandSpec *Find(std::string_view name) const;
	// Gives the command name a handler for kv_db<n> keyspaces (Redis-typed keys).
	void SetKeyspaceHandler(std::string_view name, Handler handler);
	const std::vector<CommandSpec> &
	All() const
	{
		return commands_;
	}

private:
	std::vector<CommandSpec> commands_;
	std::unordered_map<std::string, size_t> index_;
};

// The table of every command (built once by RegisterAllCommands).
const CommandTable &Commands();

// Registration, one function per command family (resp_cmd_*.cpp).
void RegisterStringCommands(CommandTable *table);
void RegisterKeyCommands(CommandTable *table);
void RegisterServerCommands(CommandTable *table);
void RegisterPubSubCommands(CommandTable *table);

// The push frames of one pub/sub message for a client: a "message" if it subscribes to channel, and a
// "pmessage" per pattern of its that matches.  Appends to out; returns how many frames it wrote.
size_t WriteMessage(const Session &session, std::string_view channel, std::string_view payload, std::string *out);
// Whether WriteMessage would write anything for channel (the client subscribes to it or a matching pattern).
bool MatchesSubscription(const Session &session, std::string_view channel);
// A write command's keyspace notification (Redis's notifyKeyspaceEvent): one line in the handler, after
// the write succeeded.  type is a pubsub::KeyspaceClass (pubsub_keyspace.hpp).
void Notify(CommandContext &ctx, uint32_t type, const char *event, std::string_view key);
void RegisterHashCommands(CommandTable *table);
void RegisterTxCommands(CommandTable *table);
void RegisterZsetCommands(CommandTable *table);
// Redis-typed keys of kv_db<n>: OBJECT, the keyspace handlers of the hash commands, sets and lists
// (resp_cmd_rtypes.cpp, resp_cmd_rhash.cpp, resp_cmd_rset.cpp, resp_cmd_rlist.cpp).
void RegisterTypedCommands(CommandTable *table);

// What a command needs from the worker before it runs.
enum class Needs { Nothing, Transaction };

// Looks argv's command up; nullptr if unknown.
const CommandSpec *Lookup(const Argv &argv);

// Whether running spec needs a transaction.
Needs WhatItNeeds(const CommandSpec *spec);

// Runs one command: arity and auth checks, then its handler; writes exactly one reply.
void Execute(Session &session, Engine &engine, Writer &out, const Argv &argv);

// MULTI (resp_cmd_tx.cpp): whether spec is queued while a block is open, the queuing itself (+QUEUED,
// or an error that makes EXEC answer EXECABORT), and the flag a refused command sets.
bool QueuedInMulti(const Session &session, const CommandSpec &spec);
void QueueCommand(Session &session, Writer &out, const Argv &argv);
void FlagMultiError(Session &session);

// ---- Helpers for handlers (resp_commands.cpp). ----

// Writes the error reply for a failed engine status.
void ReplyStatus(CommandContext &ctx, const kv::Status &status);
// Redis's common errors.
void ReplySyntaxError(CommandContext &ctx);
void ReplyNotInteger(CommandContext &ctx);
std::string Lower(std::string_view text);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Redis's glob matching (stringmatchlen).
bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase = false);

} // namespace nodedb_kv::resp
