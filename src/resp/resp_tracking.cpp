// Client-side caching over RESP (resp_tracking.hpp), pure C++: the CLIENT tracking subcommands with
// Redis 7's option rules and error texts (networking.c clientCommand, tracking.c), the keys a command
// makes its client track, the invalidation frames, and a worker's tracking table.  The table is
// per worker (its clients only); the shared filter (tracking_filter.hpp) tells writers which keys any
// worker tracks.  Entries are not removed when a client turns tracking off or goes away (as Redis):
// they go with the key's next invalidation or by eviction, and stale client ids are skipped then.
#include <algorithm>
#include <cstring>

#include "nodedb_kv/resp/resp_tracking.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

namespace nodedb_kv::resp {
namespace {

// The key arguments of spec in argv (COMMAND's first/last/step positions).
std::vector<std::string>
KeyArgs(const CommandSpec &spec, const Argv &argv)
{
	std::vector<std::string> keys;
	if (spec.first_key <= 0)
		return keys;
	int argc = static_cast<int>(argv.size());
	int last = spec.last_key < 0 ? argc + spec.last_key : spec.last_key;
	int step = spec.key_step > 0 ? spec.key_step : 1;
	for (int i = spec.first_key; i <= last && i < argc; i += step)
		keys.push_back(argv[i]);
	return keys;
}

void
TrackingInfo(CommandContext &ctx)
{
	const Session::Tracking &t = ctx.session.tracking;
	std::vector<const char *> flags;
	flags.push_back(t.on ? "on" : "off");
	if (t.bcast)
		flags.push_back("bcast");
	if (t.optin) {
		flags.push_back("optin");
		if (t.caching)
			flags.push_back("caching-yes");
	}
	if (t.optout) {
		flags.push_back("optout");
		if (t.caching)
			flags.push_back("caching-no");
	}
	if (t.noloop)
		flags.push_back("noloop");
	if (t.on && t.broken)
		flags.push_back("broken_redirect");
	ctx.out.Map(3);
	ctx.out.Bulk("flags");
	ctx.out.Set(flags.size());
	for (const char *flag : flags)
		ctx.out.Bulk(flag);
	ctx.out.Bulk("redirect");
	ctx.out.Integer(t.on ? static_cast<int64_t>(t.redirect) : -1);
	ctx.out.Bulk("prefixes");
	ctx.out.Array(t.prefixes.size());
	for (const std::string &prefix : t.prefixes)
		ctx.out.Bulk(prefix);
}

// CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT] [NOLOOP].
void
Tracking(CommandContext &ctx)
{
	const Argv &argv = ctx.argv;
	Session::Tracking &t = ctx.session.tracking;
	int64_t redirect = 0;
	bool bcast = false, optin = false, optout = false, noloop = false;
	std::vector<std::string> prefixes;
	for (size_t j = 3; j < argv.size(); j++) {
		bool more = j + 1 < argv.size();
		if (EqualsIgnoreCase(argv[j], "redirect") && more) {
			j++;
			if (redirect != 0)
				return ctx.out.Error("ERR A client can only redirect to a single other client");
			if (!ParseInt64(argv[j], &redirect))
				return ReplyNotInteger(ctx);
			if (redirect != static_cast<int64_t>(ctx.session.id) &&
			    (redirect <= 0 || !ctx.engine.ClientExists(static_cast<uint64_t>(redirect))))
				return ctx.out.Error("ERR The client ID you want redirect to does not exist");
		} else if (EqualsIgnoreCase(argv[j], "bcast")) {
			bcast = true;
		} else if (EqualsIgnoreCase(argv[j], "optin")) {
			optin = true;
		} else if (EqualsIgnoreCase(argv[j], "optout")) {
			optout = true;
		} else if (EqualsIgnoreCase(argv[j], "noloop")) {
			noloop = true;
		} else if (EqualsIgnoreCase(argv[j], "prefix") && more) {
			prefixes.push_back(argv[++j]);
		} else {
			return ReplySyntaxError(ctx);
		}
	}
	if (EqualsIgnoreCase(argv[2], "on")) {
		if (!bcast && !prefixes.empty())
			return ctx.out.Error("ERR PREFIX option requires BCAST mode to be enabled");
		if (t.on && t.bcast != bcast)
			return ctx.out.Error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
			                     "and then re-enabling it with a different mode.");
		if (bcast && (optin || optout))
			return ctx.out.Error("ERR OPTIN and OPTOUT are not compatible with BCAST");
		if (optin && optout)
			return ctx.out.Error("ERR You can't specify both OPTIN mode and OPTOUT mode");
		if ((optin && t.optout) || (optout && t.optin))
			return ctx.out.Error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this "
			                     "client, and then re-enabling it with a different mode.");
		if (bcast) {
			// Redis refuses prefixes that overlap one another (one would cover the other's keys).
			auto overlap = [](const std::string &p, const std::string &q) {
				return p.compare(0, q.size(), q) == 0 || q.compare(0, p.size(), p) == 0;
			};
			const char *tail = "'. Prefixes for a single client must not overlap.";
			for (size_t i = 0; i < prefixes.size(); i++) {
				for (const std::string &q : t.prefixes)
					if (overlap(prefixes[i], q))
						return ctx.out.Error("ERR Prefix '" + prefixes[i] + "' overlaps with an existing prefix '" + q +
						                     tail);
				for (size_t j = i + 1; j < prefixes.size(); j++)
					if (overlap(prefixes[i], prefixes[j]))
						return ctx.out.Error("ERR Prefix '" + prefixes[i] +
						                     "' overlaps with another provided prefix '" + prefixes[j] + tail);
			}
		}
		t.on = true;
		t.broken = false;
		t.redirect = static_cast<uint64_t>(redirect);
		t.bcast = bcast;
		t.optin = optin;
		t.optout = optout;
		t.noloop = noloop;
		if (bcast && prefixes.empty() && t.prefixes.empty())
			prefixes.emplace_back();
		for (std::string &p : prefixes)
			if (std::find(t.prefixes.begin(), t.prefixes.end(), p) == t.prefixes.end())
				t.prefixes.push_back(std::move(p));
		std::sort(t.prefixes.begin(), t.prefixes.end());
	} else if (EqualsIgnoreCase(argv[2], "off")) {
		t = Session::Tracking();
	} else {
		return ReplySyntaxError(ctx);
	}
	ctx.out.Simple("OK");
}

void
Caching(CommandContext &ctx)
{
	Session::Tracking &t = ctx.session.tracking;
	if (!t.on)
		return ctx.out.Error("ERR CLIENT CACHING can be called only when the client is in tracking mode with "
		                     "OPTIN or OPTOUT mode enabled");
	if (EqualsIgnoreCase(ctx.argv[2], "yes")) {
		if (!t.optin)
			return ctx.out.Error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
	} else if (EqualsIgnoreCase(ctx.argv[2], "no")) {
		if (!t.optout)
			return ctx.out.Error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
	} else {
		return ReplySyntaxError(ctx);
	}
	t.caching = true;
	ctx.out.Simple("OK");
}

} // namespace

bool
ClientTrackingCommand(CommandContext &ctx)
{
	const Argv &argv = ctx.argv;
	std::string sub = Lower(argv[1]);
	auto arity_error = [&] { ctx.out.Error("ERR wrong number of arguments for 'client|" + sub + "' command"); };
	if (sub == "tracking") {
		argv.size() < 3 ? arity_error() : Tracking(ctx);
		return true;
	}
	if (sub == "caching") {
		argv.size() != 3 ? arity_error() : Caching(ctx);
		return true;
	}
	if (sub == "getredir") {
		if (argv.size() != 2)
			arity_error();
		else
			ctx.out.Integer(ctx.session.tracking.on ? static_cast<int64_t>(ctx.session.tracking.redirect) : -1);
		return true;
	}
	if (sub == "trackinginfo") {
		argv.size() != 2 ? arity_error() : TrackingInfo(ctx);
		return true;
	}
	return false;
}

std::vector<std::string>
KeysToTrack(const Session &s, const Argv &argv, bool *zset)
{
	*zset = false;
	const Session::Tracking &t = s.tracking;
	if (!t.on || t.bcast)
		return {};
	if ((t.optin && !t.caching) || (t.optout && t.caching))
		return {};
	const CommandSpec *spec = Lookup(argv);
	if (spec == nullptr || !(spec->flags & kReadonly))
		return {};
	// Z-commands (kIndexRead) on a named collection name kv_sorted indexes: a change of any row of the
	// index's table invalidates the index name (tracking_capture.cpp).  In a kv_db<n> keyspace they
	// read zset keys, tracked as rows like any other key.
	*zset = (spec->flags & kIndexRead) != 0 && !s.typed_keyspace;
	std::string_view name(spec->name);
	if (name == "zunion" || name == "zinter" || name == "zdiff" || name == "zintercard" || name == "sintercard") {
		// numkeys key [key ...]
		int64_t n = 0;
		std::vector<std::string> keys;
		if (argv.size() > 2 && ParseInt64(argv[1], &n) && n > 0)
			for (size_t i = 2; i < argv.size() && static_cast<int64_t>(i - 2) < n; i++)
				keys.push_back(argv[i]);
		return keys;
	}
	return KeyArgs(*spec, argv);
}

void
AfterTrackedCommand(Session &s, const Argv &argv)
{
	if (!s.tracking.caching)
		return;
	// Redis keeps the flag across CLIENT commands (CLIENT CACHING itself sets it).
	if (!argv.empty() && EqualsIgnoreCase(argv[0], "client"))
		return;
	s.tracking.caching = false;
}

bool
BcastMatches(const Session &s, std::string_view key)
{
	for (const std::string &prefix : s.tracking.prefixes)
		if (key.substr(0, prefix.size()) == prefix)
			return true;
	return false;
}

bool
WriteInvalidation(const Session &target, std::string_view key, bool key_null, Protocol null_protocol, std::string *out)
{
	if (target.protocol == Protocol::Resp3) {
		out->append(">2\r\n$10\r\ninvalidate\r\n");
	} else if (target.Subscriptions() > 0) {
		out->append("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
	} else {
		return false; // RESP2 has no push frames outside subscribed mode
	}
	if (key_null) {
		out->append(null_protocol == Protocol::Resp3 ? "_\r\n" : "$-1\r\n");
		return true;
	}
	out->append("*1\r\n$" + std::to_string(key.size()) + "\r\n");
	out->append(key.data(), key.size());
	out->append("\r\n");
	return true;
}

std::string
RedirBrokenFrame(uint64_t target)
{
	return ">2\r\n$21\r\ntracking-redir-broken\r\n:" + std::to_string(target) + "\r\n";
}

std::string
Tracker::Id(uint32_t relid, std::string_view key)
{
	std::string id(reinterpret_cast<const char *>(&relid), sizeof(relid));
	id.append(key.data(), key.size());
	return id;
}

void
Tracker::Drop(std::unordered_map<std::string, Entry>::iterator it)
{
	uint32_t relid;
	memcpy(&relid, it->first.data(), sizeof(relid));
	uint64_t hash = tracking::KeyHash(database_, relid, std::string_view(it->first).substr(sizeof(relid)));
	if (hold_)
		held_.push_back(hash);
	else
		filter_(hash, -1);
	order_.erase(it->second.age);
	entries_.erase(it);
}

void
Tracker::Remember(uint32_t relid, std::string_view key, uint64_t client, size_t max_keys, std::vector<Evicted> *evicted)
{
	std::string id = Id(relid, key);
	auto it = entries_.find(id);
	if (it == entries_.end()) {
		// The filter first: a writer committing from now on sees the key as tracked.
		filter_(tracking::KeyHash(database_, relid, key), 1);
		order_.push_back(id);
		it = entries_.emplace(std::move(id), Entry{{}, std::prev(order_.end())}).first;
	}
	std::vector<uint64_t> &clients = it->second.clients;
	if (std::find(clients.begin(), clients.end(), client) == clients.end())
		clients.push_back(client);
	while (entries_.size() > max_keys && !order_.empty()) {
		auto oldest = entries_.find(order_.front());
		uint32_t old_relid;
		memcpy(&old_relid, oldest->first.data(), sizeof(old_relid));
		evicted->push_back({old_relid, oldest->first.substr(sizeof(old_relid)), std::move(oldest->second.clients)});
		Drop(oldest);
	}
}

std::vector<uint64_t>
Tracker::Invalidate(uint32_t relid, std::string_view key)
{
	auto it = entries_.find(Id(relid, key));
	if (it == entries_.end())
		return {};
	std::vector<uint64_t> clients = std::move(it->second.clients);
	if (hold_)
		invalidated_.insert(it->first);
	Drop(it);
	return clients;
}

void
Tracker::Hold(bool on)
{
	hold_ = on;
	if (on)
		return;
	for (uint64_t hash : held_)
		filter_(hash, -1);
	held_.clear();
	invalidated_.clear();
}

bool
Tracker::InvalidatedWhileHeld(uint32_t relid, std::string_view key) const
{
	return invalidated_.count(Id(relid, key)) > 0;
}

void
Tracker::Clear()
{
	while (!entries_.empty())
		Drop(entries_.begin());
	Hold(false);
}

std::vector<uint64_t>
Tracker::InvalidateRelation(uint32_t relid)
{
	std::vector<uint64_t> clients;
	for (auto it = entries_.begin(); it != entries_.end();) {
		uint32_t entry_relid;
		memcpy(&entry_relid, it->first.data(), sizeof(entry_relid));
		auto next = std::next(it);
		if (entry_relid == relid) {
			if (hold_)
				invalidated_.insert(it->first);
			for (uint64_t c : it->second.clients)
				if (std::find(clients.begin(), clients.end(), c) == clients.end())
					clients.push_back(c);
			Drop(it);
		}
		it = next;
	}
	return clients;
}

} // namespace nodedb_kv::resp
