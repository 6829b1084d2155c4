// The command table and the dispatcher: lookup, Redis's unknown-command / arity / NOAUTH replies, the
// one mapping from engine status codes to Redis error replies, and small helpers the handlers share
// (case folding; Redis's glob matcher lives in pubsub/pubsub_glob.cpp).  Pure C++.
#include <algorithm>
#include <cctype>

#include "nodedb_kv/pubsub/pubsub_glob.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"

namespace nodedb_kv::resp {

std::string
Lower(std::string_view text)
{
	std::string lower(text);
	for (char &c : lower)
		c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
	return lower;
}

bool
EqualsIgnoreCase(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); i++) {
		if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i])))
			return false;
	}
	return true;
}

void
CommandTable::Add(const CommandSpec &spec)
{
	index_[spec.name] = commands_.size();
	commands_.push_back(spec);
}

void
CommandTable::SetKeyspaceHandler(std::string_view name, Handler handler)
{
	auto it = index_.find(Lower(name));
	if (it != index_.end())
		commands_[it->second].keyspace_handler = handler;
}

const CommandSpec *
CommandTable::Find(std::string_view name) const
{
	if (name.size() > 64)
		return nullptr;
	auto it = index_.find(Lower(name));
	return it == index_.end() ? nullptr : &commands_[it->second];
}

const CommandTable &
Commands()
{
	// Built on first use, explicitly (no static registrars spread over files).
	static const CommandTable table = [] {
		CommandTable t;
		RegisterStringCommands(&t);
		RegisterKeyCommands(&t);
		RegisterServerCommands(&t);
		RegisterPubSubCommands(&t);
		RegisterHashCommands(&t);
		RegisterZsetCommands(&t);
		RegisterTxCommands(&t);
		RegisterTypedCommands(&t);
		return t;
	}();
	return table;
}

const CommandSpec *
Lookup(const Argv &argv)
{
	return argv.empty() ? nullptr : Commands().Find(argv[0]);
}

Needs
WhatItNeeds(const CommandSpec *spec)
{
	return spec == nullptr || (spec->flags & kNoTxn) ? Needs::Nothing : Needs::Transaction;
}

void
ReplySyntaxError(CommandContext &ctx)
{
	ctx.out.Error("ERR syntax error");
}

void
ReplyNotInteger(CommandContext &ctx)
{
	ctx.out.Error("ERR value is not an integer or out of range");
}

void
ReplyStatus(CommandContext &ctx, const kv::Status &status)
{
	switch (status.code) {
	case kv::Code::TypeMismatch:
		ReplyNotInteger(ctx);
		return;
	case kv::Code::Overflow:
		ctx.out.Error("ERR increment or decrement would overflow");
		return;
	case kv::Code::UnknownField:
	case kv::Code::NotKvTable:
		// The collection's shape does not hold Redis strings (a typed collection, or no longer a kv table).
		ctx.out.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
		return;
	case kv::Code::WrongType:
		ctx.out.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
		return;
	case kv::Code::ReadOnly:
		ctx.out.Error("READONLY You can't write against a read only replica.");
		return;
	case kv::Code::PermissionDenied:
		ctx.out.Error(std::string("NOPERM ") + status.message);
		return;
	default:
		ctx.out.Error(std::string(kv::DescribeCode(status.code).redis_prefix) + " " + status.message);
		return;
	}
}

void
Execute(Session &session, Engine &engine, Writer &out, const Argv &argv)
{
	const CommandSpec *spec = Lookup(argv);
	if (spec == nullptr) {
		// Redis 7: the name and up to 128 characters of arguments, each quoted and followed by a space.
		std::string args;
		for (size_t i = 1; i < argv.size() && args.size() < 128; i++) {
			size_t room = 128 - args.size();
			args += "'" + argv[i].substr(0, room) + "' ";
		}
		out.Error("ERR unknown command '" + argv[0].substr(0, 128) + "', with args beginning with: " + args);
		FlagMultiError(session);
		return;
	}
	int argc = static_cast<int>(argv.size());
	if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
		out.Error(std::string("ERR wrong number of arguments for '") + spec->name + "' command");
		FlagMultiError(session);
		return;
	}
	if (!session.authenticated && !(spec->flags & kNoAuth) && !engine.Anonymous(&session)) {
		out.Error("NOAUTH Authentication required.");
		FlagMultiError(session);
		return;
	}
	if (session.protocol == Protocol::Resp2 && session.Subscriptions() > 0 && !(spec->flags & kPubSub) &&
	    !session.in_exec) {
		out.Error(std::string("ERR Can't execute '") + spec->name +
		          "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
		FlagMultiError(session);
		return;
	}
	if (QueuedInMulti(session, *spec)) {
		QueueCommand(session, out, argv);
		return;
	}
	// CLIENT LIST's cmd=: container commands with their subcommand, as Redis 7 ("client|list").
	session.last_command = spec->name;
	std::string_view name(spec->name);
	if (argv.size() > 1 &&
	    (name == "client" || name == "config" || name == "object" || name == "pubsub" || name == "command"))
		session.last_command += "|" + Lower(argv[1]);
	CommandContext ctx{session, engine, out, argv, *spec};
	if (session.typed_keyspace && spec->keyspace_handler != nullptr)
		spec->keyspace_handler(ctx);
	else
		spec->handler(ctx);
}

bool
GlobMatch(std::string_view pattern, std::string_view text, bool nocase)
{
	// KEYS and SCAN take "*" as "everything" without matching (Redis does too), so even the empty key.
	if (pattern == "*")
		return true;
	return pubsub::GlobMatch(pattern.data(), pattern.size(), text.data(), text.size(), nocase);
}

} // namespace nodedb_kv::resp
