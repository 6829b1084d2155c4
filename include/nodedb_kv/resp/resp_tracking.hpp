#pragma once
// Client-side caching over RESP, pure C++: the CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO
// subcommands (Redis 7's replies and errors), which keys a command makes its client track, the
// invalidation frames (RESP3 push, or a RESP2 "message" on __redis__:invalidate for a redirect target)
// and the worker's tracking table (key -> clients, bounded, oldest evicted first).  The worker
// (resp_worker_tracking.cpp) feeds it with the bus's invalidation records (tracking_key.hpp).
// Design notes: src/tracking/README.md.
#ifdef POSTGRES_H
static_assert(false, "resp_tracking.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "nodedb_kv/resp/resp_commands.hpp"

namespace nodedb_kv::resp {

// CLIENT TRACKING | CACHING | GETREDIR | TRACKINGINFO: true if argv[1] names one (its reply written).
bool ClientTrackingCommand(CommandContext &ctx);

// Keys a command about to run makes its session track (default mode, OPTIN/OPTOUT applied): the key
// arguments of read-only commands on rows, and of the read-only Z-commands (*zset true: the keys are
// kv_sorted index names, tracked under tracking::kZsetRelid).  Empty when the session does not track.
std::vector<std::string> KeysToTrack(const Session &s, const Argv &argv, bool *zset);
// After a command ran: CLIENT CACHING applies to the next command only.
void AfterTrackedCommand(Session &s, const Argv &argv);
// Whether a BCAST session hears about key (one of its prefixes starts it).
bool BcastMatches(const Session &s, std::string_view key);

// Appends the invalidation of key (key_null: every key, the flush invalidation) for the client
// `target`.  RESP3 target: a push frame; RESP2 target: a message on __redis__:invalidate if it is
// subscribed to something (Redis's rule), else nothing (returns false).  null_protocol spells the null
// (Redis uses the tracking client's protocol).
bool WriteInvalidation(const Session &target, std::string_view key, bool key_null, Protocol null_protocol,
                       std::string *out);

// The RESP3 push telling a tracking client its REDIRECT target (client id) is gone (Redis 7's
// "tracking-redir-broken").
std::string RedirBrokenFrame(uint64_t target);

// One worker's tracking table: which of its clients read which key (relation, key bytes).  An entry
// goes when the key is invalidated; past max_keys the oldest entries are evicted (their clients get an
// invalidation).  on_key(hash, delta) mirrors the entry count per key hash into the shared filter.
class Tracker {
public:
	using FilterFn = void (*)(uint64_t hash, int delta);
	struct Evicted {
		uint32_t relid;
		std::string key;
		std::vector<uint64_t> clients;
	};

	Tracker(uint32_t database, FilterFn filter) : database_(database), filter_(filter)
	{
	}

	// client reads key of relid: remember it.  Entries evicted to stay within max_keys go to *evicted.
	void Remember(uint32_t relid, std::string_view key, uint64_t client, size_t max_keys,
	              std::vector<Evicted> *evicted);
	// key of relid changed: its clients (the entry is gone).
	std::vector<uint64_t> Invalidate(uint32_t relid, std::string_view key);
	// relid was truncated: the clients of any of its keys (those entries are gone).
	std::vector<uint64_t> InvalidateRelation(uint32_t relid);
	// Forgets every entry (the worker exits): their keys leave the filter.
	void Clear();
	// While held, keys that leave the table leave the filter only at Hold(false): a key dropped and
	// remembered again meanwhile never looks untracked to a writer.
	void Hold(bool on);
	// While held: whether key of relid was invalidated (not evicted) since Hold(true).
	bool InvalidatedWhileHeld(uint32_t relid, std::string_view key) const;
	size_t
	Size() const
	{
		return entries_.size();
	}

private:
	struct Entry {
		std::vector<uint64_t> clients;
		std::list<std::string>::iterator age;
	};
	static std::string Id(uint32_t relid, std::string_view key);
	void Drop(std::unordered_map<std::string, Entry>::iterator it);

	uint32_t database_;
	FilterFn filter_;
	std::unordered_map<std::string, Entry> entries_;
	std::list<std::string> order_; // oldest first
	bool hold_ = false;
	std::vector<uint64_t> held_;                  // hashes whose filter decrement waits for Hold(false)
	std::unordered_set<std::string> invalidated_; // ids invalidated while held
};

} // namespace nodedb_kv::resp
