// Connection and server commands: PING ECHO SELECT AUTH HELLO CLIENT COMMAND QUIT INFO FLUSHALL TIME CONFIG, with
// Redis 7's replies.  HELLO 2|3 switches the connection's protocol; replies are written as shapes and
// the writer spells them for that protocol.  Pure C++.
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_tracking.hpp"

namespace nodedb_kv::resp {
namespace {

constexpr const char *kRedisVersion = "7.0.0"; // the Redis behaviour we reproduce, for clients that ask

void
PingCommand(CommandContext &ctx)
{
	if (ctx.argv.size() > 2)
		return ctx.out.Error("ERR wrong number of arguments for 'ping' command");
	if (ctx.session.protocol == Protocol::Resp2 && ctx.session.Subscriptions() > 0) {
		// Subscribed (RESP2): a pong array, as Redis answers inside the push stream.
		ctx.out.Array(2);
		ctx.out.Bulk("pong");
		return ctx.out.Bulk(ctx.argv.size() == 2 ? std::string_view(ctx.argv[1]) : std::string_view());
	}
	if (ctx.argv.size() == 2)
		return ctx.out.Bulk(ctx.argv[1]);
	ctx.out.Simple("PONG");
}

void
EchoCommand(CommandContext &ctx)
{
	ctx.out.Bulk(ctx.argv[1]);
}

void
QuitCommand(CommandContext &ctx)
{
	ctx.session.close_after_reply = true;
	ctx.out.Simple("OK");
}

void
SelectCommand(CommandContext &ctx)
{
	const std::string &arg = ctx.argv[1];
	int64_t index = -1;
	bool numeric = ParseInt64(arg, &index);
	if (numeric && index < 0)
		return ctx.out.Error("ERR DB index is out of range");
	bool found = false;
	kv::Status status = ctx.engine.SelectDb(&ctx.session, numeric ? index : -1, numeric ? "" : arg, &found);
	if (!status.ok())
		return ctx.out.Error(std::string("ERR ") + status.message);
	if (!found)
		return ctx.out.Error(numeric ? "ERR DB index is out of range" : "ERR no such kv collection '" + arg + "'");
	ctx.out.Simple("OK");
}

// Checks user/password; replies the error itself and returns false on failure.
bool
DoAuth(CommandContext &ctx, const std::string &user, const std::string &password)
{
	bool ok = false;
	kv::Status status = ctx.engine.Authenticate(&ctx.session, user, password, &ok);
	if (!status.ok()) {
		ReplyStatus(ctx, status);
		return false;
	}
	if (!ok) {
		ctx.out.Error("WRONGPASS invalid username-password pair or user is disabled.");
		return false;
	}
	return true;
}

void
AuthCommand(CommandContext &ctx)
{
	if (ctx.argv.size() > 3)
		return ReplySyntaxError(ctx);
	std::string user = ctx.argv.size() == 3 ? ctx.argv[1] : ctx.engine.DefaultUser();
	if (DoAuth(ctx, user, ctx.argv.back()))
		ctx.out.Simple("OK");
}

bool
ValidClientName(const std::string &name)
{
	for (char c : name) {
		if (c < '!' || c > '~')
			return false;
	}
	return true;
}

void
HelloCommand(CommandContext &ctx)
{
	const Argv &argv = ctx.argv;
	int64_t version = static_cast<int64_t>(ctx.session.protocol); // HELLO without a version keeps the protocol
	size_t next = 1;
	if (argv.size() >= 2) {
		if (!ParseInt64(argv[1], &version))
			return ctx.out.Error("ERR Protocol version is not an integer or out of range");
		next = 2;
		if (version < 2 || version > 3)
			return ctx.out.Error("NOPROTO unsupported protocol version");
	}
	std::string name;
	bool set_name = false;
	std::string user, password;
	bool auth = false;
	for (size_t j = next; j < argv.size(); j++) {
		size_t left = argv.size() - j - 1;
		if (EqualsIgnoreCase(argv[j], "auth") && left >= 2) {
			auth = true;
			user = argv[j + 1];
			password = argv[j + 2];
			j += 2;
		} else if (EqualsIgnoreCase(argv[j], "setname") && left >= 1) {
			set_name = true;
			name = argv[j + 1];
			j += 1;
		} else
			return ctx.out.Error("ERR Syntax error in HELLO option '" + argv[j] + "'");
	}
	if (auth && !DoAuth(ctx, user, password))
		return;
	if (!ctx.session.authenticated && !ctx.engine.Anonymous(&ctx.session))
		return ctx.out.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
		                     "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
		                     "select the RESP protocol version at the same time");
	if (set_name) {
		if (!ValidClientName(name))
			return ctx.out.Error("ERR Client names cannot contain spaces, newlines or special characters.");
		ctx.session.name = name;
	}
	ctx.session.protocol = static_cast<Protocol>(version);
	ctx.out.SetProtocol(ctx.session.protocol);
	std::string info = ctx.engine.Info(ctx.session, "role");
	ctx.out.Map(7);
	ctx.out.Bulk("server");
	ctx.out.Bulk("redis");
	ctx.out.Bulk("version");
	ctx.out.Bulk(kRedisVersion);
	ctx.out.Bulk("proto");
	ctx.out.Integer(version);
	ctx.out.Bulk("id");
	ctx.out.Integer(static_cast<int64_t>(ctx.session.id));
	ctx.out.Bulk("mode");
	ctx.out.Bulk("standalone");
	ctx.out.Bulk("role");
	ctx.out.Bulk(info == "replica" ? "replica" : "master");
	ctx.out.Bulk("modules");
	ctx.out.Array(0);
}

// CLIENT LIST [TYPE type | ID id ...]: every worker's clients the session may see (Redis 7.0's
// argument rules and errors).
void
ClientList(CommandContext &ctx)
{
	const Argv &argv = ctx.argv;
	bool by_type = false, by_id = false;
	ClientType type = ClientType::Normal;
	std::vector<uint64_t> ids;
	if (argv.size() == 4 && EqualsIgnoreCase(argv[2], "type")) {
		if (!ParseClientType(argv[3], &type))
			return ctx.out.Error("ERR Unknown client type '" + argv[3] + "'");
		by_type = true;
	} else if (argv.size() > 3 && EqualsIgnoreCase(argv[2], "id")) {
		for (size_t j = 3; j < argv.size(); j++) {
			int64_t id;
			if (!ParseInt64(argv[j], &id))
				return ctx.out.Error("ERR Invalid client ID");
			ids.push_back(static_cast<uint64_t>(id));
		}
		by_id = true;
	} else if (argv.size() != 2) {
		return ReplySyntaxError(ctx);
	}
	std::vector<ClientInfo> clients = ctx.engine.Clients(ctx.session);
	int64_t now = MonotonicMs();
	std::string text;
	if (by_id) {
		// In the order asked, as Redis (an id twice: listed twice).
		for (uint64_t id : ids)
			for (const ClientInfo &info : clients)
				if (info.id == id)
					text += FormatClientLine(info, now) + "\n";
	} else {
		for (const ClientInfo &info : clients)
			if (!by_type || TypeOfClient(info) == type)
				text += FormatClientLine(info, now) + "\n";
	}
	ctx.out.Verbatim(text);
}

void
ClientCommand(CommandContext &ctx)
{
	const Argv &argv = ctx.argv;
	std::string sub = Lower(argv[1]);
	Session &s = ctx.session;
	auto arity_error = [&] { ctx.out.Error("ERR wrong number of arguments for 'client|" + sub + "' command"); };
	if (sub == "id") {
		if (argv.size() != 2)
			return arity_error();
		return ctx.out.Integer(static_cast<int64_t>(s.id));
	}
	if (sub == "setname") {
		if (argv.size() != 3)
			return arity_error();
		if (!ValidClientName(argv[2]))
			return ctx.out.Error("ERR Client names cannot contain spaces, newlines or special characters.");
		s.name = argv[2];
		return ctx.out.Simple("OK");
	}
	if (sub == "getname") {
		if (argv.size() != 2)
			return arity_error();
		return s.name.empty() ? ctx.out.Null() : ctx.out.Bulk(s.name);
	}
	if (sub == "setinfo") {
		if (argv.size() != 4)
			return arity_error();
		std::string attr = Lower(argv[2]);
		if (!ValidClientName(argv[3]))
			return ctx.out.Error("ERR " + argv[2] + " cannot contain spaces, newlines or special characters.");
		if (attr == "lib-name")
			s.lib_name = argv[3];
		else if (attr == "lib-ver")
			s.lib_ver = argv[3];
		else
			return ctx.out.Error("ERR Unrecognized option '" + argv[2] + "'");
		return ctx.out.Simple("OK");
	}
	if (sub == "list")
		return ClientList(ctx);
	if (sub == "info") {
		if (argv.size() != 2)
			return arity_error();
		for (const ClientInfo &info : ctx.engine.Clients(s))
			if (info.id == s.id)
				return ctx.out.Verbatim(FormatClientLine(info, MonotonicMs()) + "\n");
		return ctx.out.Verbatim("");
	}
	if (sub == "kill") {
		ClientFilter filter;
		std::string error;
		if (argv.size() < 3)
			return arity_error();
		if (!ParseKillFilter(argv, &filter, &error))
			return ctx.out.Error(error);
		int64_t killed = 0;
		bool self = false;
		kv::Status status = ctx.engine.KillClients(s, filter, &killed, &self);
		if (!status.ok())
			return status.code == kv::Code::InvalidArgument ? ctx.out.Error(std::string("ERR ") + status.message)
			                                                : ReplyStatus(ctx, status);
		if (self)
			s.close_after_reply = true;
		if (filter.old_form)
			return killed > 0 ? ctx.out.Simple("OK") : ctx.out.Error("ERR No such client");
		return ctx.out.Integer(killed);
	}
	if (sub == "unblock") {
		// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]: 1 when that client was blocked and is unblocked.
		if (argv.size() < 3)
			return arity_error();
		if (argv.size() > 4)
			return ctx.out.Error("ERR unknown subcommand or wrong number of arguments for '" + argv[1].substr(0, 128) +
			                     "'. Try CLIENT HELP.");
		bool error = false;
		if (argv.size() == 4) {
			error = EqualsIgnoreCase(argv[3], "error");
			if (!error && !EqualsIgnoreCase(argv[3], "timeout"))
				return ctx.out.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
		}
		int64_t id = 0;
		if (!ParseInt64(argv[2], &id))
			return ctx.out.Error("ERR value is not an integer or out of range");
		bool unblocked = false;
		kv::Status status = ctx.engine.UnblockClient(s, static_cast<uint64_t>(id), error, &unblocked);
		if (!status.ok())
			return ReplyStatus(ctx, status);
		return ctx.out.Integer(unblocked ? 1 : 0);
	}
	if (ClientTrackingCommand(ctx))
		return;
	ctx.out.Error("ERR unknown subcommand '" + argv[1].substr(0, 128) + "'. Try CLIENT HELP.");
}

// One entry of COMMAND / COMMAND INFO (Redis 7's 10-element form).
void
CommandInfo(CommandContext &ctx, const CommandSpec &spec)
{
	ctx.out.Array(10);
	ctx.out.Bulk(spec.name);
	ctx.out.Integer(spec.arity);
	std::vector<const char *> flags;
	if (spec.flags & kWrite)
		flags.push_back("write");
	if (spec.flags & kReadonly)
		flags.push_back("readonly");
	if (spec.flags & kAdmin)
		flags.push_back("admin");
	if (spec.flags & kFast)
		flags.push_back("fast");
	if (spec.flags & kNoAuth)
		flags.push_back("no_auth");
	ctx.out.Set(flags.size());
	for (const char *flag : flags)
		ctx.out.Simple(flag);
	ctx.out.Integer(spec.first_key);
	ctx.out.Integer(spec.last_key);
	ctx.out.Integer(spec.key_step);
	ctx.out.Set(0);   // ACL categories
	ctx.out.Set(0);   // tips
	ctx.out.Array(0); // key specs
	ctx.out.Array(0); // subcommands
}

void
CommandCommand(CommandContext &ctx)
{
	const Argv &argv = ctx.argv;
	const auto &all = Commands().All();
	if (argv.size() == 1) {
		ctx.out.Array(all.size());
		for (const CommandSpec &spec : all)
			CommandInfo(ctx, spec);
		return;
	}
	std::string sub = Lower(argv[1]);
	if (sub == "count" && argv.size() == 2)
		return ctx.out.Integer(static_cast<int64_t>(all.size()));
	if (sub == "info") {
		if (argv.size() == 2) {
			ctx.out.Array(all.size());
			for (const CommandSpec &spec : all)
				CommandInfo(ctx, spec);
			return;
		}
		ctx.out.Array(argv.size() - 2);
		for (size_t i = 2; i < argv.size(); i++) {
			const CommandSpec *spec = Commands().Find(argv[i]);
			if (spec == nullptr)
				ctx.out.NullArray();
			else
				CommandInfo(ctx, *spec);
		}
		return;
	}
	if (sub == "docs") {
		// Enough for clients that ask: a summary per known command.
		std::vector<const CommandSpec *> specs;
		if (argv.size() == 2) {
			for (const CommandSpec &spec : all)
				specs.push_back(&spec);
		} else {
			for (size_t i = 2; i < argv.size(); i++) {
				if (const CommandSpec *spec = Commands().Find(argv[i]))
					specs.push_back(spec);
			}
		}
		ctx.out.Map(specs.size());
		for (const CommandSpec *spec : specs) {
			ctx.out.Bulk(spec->name);
			ctx.out.Map(1);
			ctx.out.Bulk("summary");
			ctx.out.Bulk(std::string("Redis ") + spec->name + " over a nodedb_kv collection");
		}
		return;
	}
	if (sub == "list" && argv.size() == 2) {
		ctx.out.Array(all.size());
		for (const CommandSpec &spec : all)
			ctx.out.Bulk(spec.name);
		return;
	}
	ctx.out.Error("ERR unknown subcommand '" + argv[1].substr(0, 128) + "'. Try COMMAND HELP.");
}

void
InfoCommand(CommandContext &ctx)
{
	std::string section = ctx.argv.size() > 1 ? Lower(ctx.argv[1]) : "default";
	ctx.out.Verbatim(ctx.engine.Info(ctx.session, section));
}

// FLUSHALL [ASYNC|SYNC]: every kv_db<n> keyspace the role may TRUNCATE (named collections are not
// Redis databases and stay).
void
FlushAllCommand(CommandContext &ctx)
{
	if (ctx.argv.size() > 2 ||
	    (ctx.argv.size() == 2 && !EqualsIgnoreCase(ctx.argv[1], "sync") && !EqualsIgnoreCase(ctx.argv[1], "async")))
		return ReplySyntaxError(ctx);
	kv::Status status = ctx.engine.FlushAll(ctx.session);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	ctx.out.Simple("OK");
}

void
TimeCommand(CommandContext &ctx)
{
	int64_t micros = ctx.engine.WallMicros();
	ctx.out.Array(2);
	ctx.out.Bulk(std::to_string(micros / 1000000));
	ctx.out.Bulk(std::to_string(micros % 1000000));
}

void
ConfigCommand(CommandContext &ctx)
{
	const Argv &argv = ctx.argv;
	std::string sub = Lower(argv[1]);
	if (sub == "get") {
		if (argv.size() < 3)
			return ctx.out.Error("ERR wrong number of arguments for 'config|get' command");
		// A read-only view of the settings clients commonly ask for.
		static const std::pair<const char *, const char *> kSettings[] = {
		    {"databases", "16"},
		    {"appendonly", "no"},
		    {"save", ""},
		    {"maxmemory", "0"},
		    {"maxmemory-policy", "noeviction"},
		    {"timeout", "0"},
		    {"proto-max-bulk-len", "536870912"},
		};
		std::string keyspace_events = ctx.engine.KeyspaceEvents();
		std::vector<std::pair<const char *, const char *>> hits;
		for (const auto &setting : kSettings) {
			for (size_t i = 2; i < argv.size(); i++) {
				if (GlobMatch(argv[i], setting.first, true)) {
					hits.push_back(setting);
					break;
				}
			}
		}
		for (size_t i = 2; i < argv.size(); i++) {
			if (GlobMatch(argv[i], "notify-keyspace-events", true)) {
				hits.emplace_back("notify-keyspace-events", keyspace_events.c_str());
				break;
			}
		}
		ctx.out.Map(hits.size());
		for (const auto &hit : hits) {
			ctx.out.Bulk(hit.first);
			ctx.out.Bulk(hit.second);
		}
		return;
	}
	if (sub == "set" && argv.size() == 4 && Lower(argv[2]) == "notify-keyspace-events") {
		// The one setting CONFIG SET changes (for every worker and backend; see pubsub_keyspace.hpp).
		kv::Status status = ctx.engine.SetKeyspaceEvents(ctx.session, argv[3]);
		if (status.code == kv::Code::InvalidArgument)
			return ctx.out.Error("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
			                     "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
		if (!status.ok())
			return ReplyStatus(ctx, status);
		return ctx.out.Simple("OK");
	}
	if (sub == "set" || sub == "resetstat" || sub == "rewrite")
		return ctx.out.Error("ERR CONFIG " + sub + " is not supported: nodedb_kv is configured through PostgreSQL");
	ctx.out.Error("ERR unknown subcommand '" + argv[1].substr(0, 128) + "'. Try CONFIG HELP.");
}

} // namespace

void
RegisterServerCommands(CommandTable *table)
{
	table->Add({"ping", -1, kFast | kNoAuth | kNoTxn | kPubSub, PingCommand, 0, 0, 0});
	table->Add({"echo", 2, kFast | kNoTxn, EchoCommand, 0, 0, 0});
	table->Add({"quit", -1, kFast | kNoAuth | kNoTxn | kPubSub, QuitCommand, 0, 0, 0});
	table->Add({"select", 2, kFast, SelectCommand, 0, 0, 0});
	table->Add({"auth", -2, kFast | kNoAuth, AuthCommand, 0, 0, 0});
	table->Add({"hello", -1, kFast | kNoAuth, HelloCommand, 0, 0, 0});
	table->Add({"client", -2, kNoTxn, ClientCommand, 0, 0, 0});
	table->Add({"command", -1, kNoTxn, CommandCommand, 0, 0, 0});
	table->Add({"info", -1, 0, InfoCommand, 0, 0, 0});
	table->Add({"flushall", -1, kWrite, FlushAllCommand, 0, 0, 0});
	table->Add({"time", 1, kFast | kNoTxn, TimeCommand, 0, 0, 0});
	table->Add({"config", -2, kAdmin, ConfigCommand, 0, 0, 0}); // CONFIG SET checks the role: a transaction
}

} // namespace nodedb_kv::resp
