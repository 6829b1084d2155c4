#pragma once
// A RESP worker's blocked clients (blocking pops), pure C++ over the shared registry (blocking.hpp):
// which of its clients wait for which keys, the registration before a blocking command reads its keys,
// and the wake-up records of the bus turned into the clients to run again (a key's first waiter only,
// so clients are served in the order they blocked, across workers).  The worker (resp_worker_block.cpp)
// owns the transaction side; the commands are resp_cmd_rblock.cpp.  Design notes: src/blocking/README.md.
#ifdef POSTGRES_H
static_assert(false, "resp_blocking.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nodedb_kv::resp {

// The shared registry's calls (blocking.hpp; injected so that this class stays pure and unit-testable).
struct WaitRegistry {
	bool (*park)(uint64_t client, int worker, const uint64_t *hashes, size_t n);
	size_t (*unpark)(uint64_t client, uint64_t *waited, size_t cap);
	bool (*is_first)(uint64_t client, uint64_t hash);
	void (*wake)(const uint64_t *hashes, size_t n);
};

class Blocker {
public:
	Blocker(int worker, uint32_t database, WaitRegistry registry)
	    : worker_(worker), database_(database), registry_(registry)
	{
	}
	// Client waits for keys of collection relid from now on (a client that waits already keeps its place).
	// False: the shared registry is full.
	bool Watch(uint64_t client, uint32_t relid, const std::vector<std::string> &keys);
	bool
	Waiting(uint64_t client) const
	{
		return keys_.count(client) != 0;
	}
	bool
	Any() const
	{
		return !keys_.empty();
	}
	// The client waits no more; the keys others still wait for get a wake-up record (their next waiter may
	// be served now).
	void Forget(uint64_t client);
	// A wake-up record's payload (hashes of keys that got a push): appends to *woken the waiting clients of
	// this worker that are the first waiter of one of those keys.
	void OnRecord(std::string_view payload, std::vector<uint64_t> *woken) const;

private:
	int worker_;
	uint32_t database_;
	WaitRegistry registry_;
	std::unordered_map<uint64_t, std::vector<uint64_t>> keys_;    // client -> hashes of its keys
	std::unordered_map<uint64_t, std::vector<uint64_t>> waiters_; // hash -> clients, in blocking order
};

} // namespace nodedb_kv::resp
