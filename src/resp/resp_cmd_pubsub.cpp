// Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB RESET, with Redis 7's
// replies, and the push frames of delivered messages.  Subscriptions live in the Session; the worker
// mirrors their changes into the shared bus after each turn (so a replayed batch cannot count twice),
// and PUBLISH is queued for the bus when its transaction commits.  Pure C++.
#include <algorithm>

#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/pubsub/pubsub_glob.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"

namespace nodedb_kv::resp {
namespace {

// One "subscribe"-family reply: kind, name (null for an UNSUBSCRIBE of nothing), subscriptions left.
void
ReplySubscription(CommandContext &ctx, const char *kind, const std::string *name)
{
	ctx.out.Push(3);
	ctx.out.Bulk(kind);
	if (name == nullptr)
		ctx.out.Null();
	else
		ctx.out.Bulk(*name);
	ctx.out.Integer(static_cast<int64_t>(ctx.session.Subscriptions()));
}

bool
CheckNameLength(CommandContext &ctx, const std::string &name)
{
	if (name.size() <= pubsub::kMaxNameLen)
		return true;
	ctx.out.Error("ERR channel or pattern longer than " + std::to_string(pubsub::kMaxNameLen) + " bytes");
	return false;
}

void
Subscribe(CommandContext &ctx, bool pattern)
{
	std::vector<std::string> &list = pattern ? ctx.session.patterns : ctx.session.channels;
	// All or nothing, as Redis's ACL check: one channel the role may not read refuses the command.
	for (size_t i = 1; i < ctx.argv.size(); i++) {
		kv::Status status = ctx.engine.CheckSubscribe(ctx.session, ctx.argv[i], pattern);
		if (status.code == kv::Code::PermissionDenied)
			return ctx.out.Error("NOPERM this user has no permissions to access one of the channels used as arguments");
		if (!status.ok())
			return ReplyStatus(ctx, status);
	}
	for (size_t i = 1; i < ctx.argv.size(); i++) {
		const std::string &name = ctx.argv[i];
		if (!CheckNameLength(ctx, name))
			continue;
		if (std::find(list.begin(), list.end(), name) == list.end())
			list.push_back(name);
		ReplySubscription(ctx, pattern ? "psubscribe" : "subscribe", &name);
	}
}

void
Unsubscribe(CommandContext &ctx, bool pattern)
{
	std::vector<std::string> &list = pattern ? ctx.session.patterns : ctx.session.channels;
	const char *kind = pattern ? "punsubscribe" : "unsubscribe";
	if (ctx.argv.size() == 1) {
		if (list.empty())
			return ReplySubscription(ctx, kind, nullptr);
		// Each reported with the count left after it, as Redis does.
		while (!list.empty()) {
			std::string name = std::move(list.front());
			list.erase(list.begin());
			ReplySubscription(ctx, kind, &name);
		}
		return;
	}
	for (size_t i = 1; i < ctx.argv.size(); i++) {
		const std::string &name = ctx.argv[i];
		auto it = std::find(list.begin(), list.end(), name);
		if (it != list.end())
			list.erase(it);
		ReplySubscription(ctx, kind, &name);
	}
}

void
SubscribeCommand(CommandContext &ctx)
{
	Subscribe(ctx, false);
}

void
PsubscribeCommand(CommandContext &ctx)
{
	Subscribe(ctx, true);
}

void
UnsubscribeCommand(CommandContext &ctx)
{
	Unsubscribe(ctx, false);
}

void
PunsubscribeCommand(CommandContext &ctx)
{
	Unsubscribe(ctx, true);
}

void
PublishCommand(CommandContext &ctx)
{
	int64_t receivers = 0;
	kv::Status status = ctx.engine.Publish(ctx.session, ctx.argv[1], ctx.argv[2], &receivers);
	if (!status.ok())
		return ReplyStatus(ctx, status);
	ctx.out.Integer(receivers);
}

void
PubsubCommand(CommandContext &ctx)
{
	std::string sub = Lower(ctx.argv[1]);
	size_t argc = ctx.argv.size();
	auto arity_error = [&] { ctx.out.Error("ERR wrong number of arguments for 'pubsub|" + sub + "' command"); };
	if (sub == "channels" || sub == "shardchannels") {
		if (argc > 3)
			// The table's arity (-2) lets it through; Redis's handler answers with its own text.
			return ctx.out.Error("ERR unknown subcommand or wrong number of arguments for '" +
			                     ctx.argv[1].substr(0, 128) + "'. Try PUBSUB HELP.");
		std::vector<std::string> names;
		if (sub == "channels")
			names = ctx.engine.Channels(argc == 3 ? &ctx.argv[2] : nullptr);
		ctx.out.Array(names.size());
		for (const std::string &name : names)
			ctx.out.Bulk(name);
		return;
	}
	if (sub == "numsub" || sub == "shardnumsub") {
		ctx.out.Array((argc - 2) * 2);
		for (size_t i = 2; i < argc; i++) {
			ctx.out.Bulk(ctx.argv[i]);
			ctx.out.Integer(sub == "numsub" ? ctx.engine.NumSub(ctx.argv[i]) : 0);
		}
		return;
	}
	if (sub == "numpat") {
		if (argc != 2)
			return arity_error();
		return ctx.out.Integer(ctx.engine.NumPat());
	}
	if (sub == "help" && argc == 2) {
		static const char *const kHelp[] = {
		    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		    "CHANNELS [<pattern>]",
		    "    Return the currently active channels matching a <pattern> (default: '*').",
		    "NUMPAT",
		    "    Return number of subscriptions to patterns.",
		    "NUMSUB [<channel> ...]",
		    "    Return the number of subscribers for the specified channels, excluding",
		    "    pattern subscriptions(default: no channels).",
		    "SHARDCHANNELS [<pattern>]",
		    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
		    "SHARDNUMSUB [<shardchannel> ...]",
		    "    Return the number of subscribers for the specified shard level channel(s)",
		    "HELP",
		    "    Prints this help."};
		ctx.out.Array(sizeof(kHelp) / sizeof(kHelp[0]));
		for (const char *line : kHelp)
			ctx.out.Simple(line);
		return;
	}
	ctx.out.Error("ERR unknown subcommand '" + ctx.argv[1].substr(0, 128) + "'. Try PUBSUB HELP.");
}

// RESET: the connection as new (Redis's clearClientConnectionState): no subscriptions, RESP2, kv_db0,
// no name, not authenticated (the anonymous role applies again, if any).
void
ResetCommand(CommandContext &ctx)
{
	Session &s = ctx.session;
	Session fresh;
	fresh.id = s.id;
	fresh.address = s.address;
	fresh.local_address = s.local_address;
	fresh.created_ms = s.created_ms;
	fresh.lib_name = s.lib_name;
	fresh.lib_ver = s.lib_ver;
	fresh.last_command = "reset";
	s = fresh;
	ctx.out.Simple("RESET");
}

} // namespace

bool
MatchesSubscription(const Session &session, std::string_view channel)
{
	for (const std::string &name : session.channels)
		if (name == channel)
			return true;
	for (const std::string &pattern : session.patterns)
		if (pubsub::GlobMatch(pattern.data(), pattern.size(), channel.data(), channel.size()))
			return true;
	return false;
}

size_t
WriteMessage(const Session &session, std::string_view channel, std::string_view payload, std::string *out)
{
	size_t frames = 0;
	Writer writer(out, session.protocol);
	for (const std::string &name : session.channels) {
		if (name == channel) {
			writer.Push(3);
			writer.Bulk("message");
			writer.Bulk(channel);
			writer.Bulk(payload);
			frames++;
			break;
		}
	}
	for (const std::string &pattern : session.patterns) {
		if (pubsub::GlobMatch(pattern.data(), pattern.size(), channel.data(), channel.size())) {
			writer.Push(4);
			writer.Bulk("pmessage");
			writer.Bulk(pattern);
			writer.Bulk(channel);
			writer.Bulk(payload);
			frames++;
		}
	}
	return frames;
}

void
Notify(CommandContext &ctx, uint32_t type, const char *event, std::string_view key)
{
	ctx.engine.Notify(ctx.session, type, event, key);
}

void
RegisterPubSubCommands(CommandTable *table)
{
	table->Add({"subscribe", -2, kPubSub | kNoTxn, SubscribeCommand, 0, 0, 0});
	table->Add({"unsubscribe", -1, kPubSub | kNoTxn, UnsubscribeCommand, 0, 0, 0});
	table->Add({"psubscribe", -2, kPubSub | kNoTxn, PsubscribeCommand, 0, 0, 0});
	table->Add({"punsubscribe", -1, kPubSub | kNoTxn, PunsubscribeCommand, 0, 0, 0});
	table->Add({"publish", 3, kFast, PublishCommand, 0, 0, 0});
	table->Add({"pubsub", -2, 0, PubsubCommand, 0, 0, 0});
	table->Add({"reset", 1, kFast | kNoAuth | kNoTxn | kPubSub, ResetCommand, 0, 0, 0});
}

} // namespace nodedb_kv::resp
