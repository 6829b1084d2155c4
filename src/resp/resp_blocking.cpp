// A RESP worker's blocked clients (resp_blocking.hpp), pure C++ over the shared registry.
#include "nodedb_kv/resp/resp_blocking.hpp"

#include <algorithm>
#include <cstring>

#include "nodedb_kv/tracking/tracking_key.hpp"

namespace nodedb_kv::resp {

bool
Blocker::Watch(uint64_t client, uint32_t relid, const std::vector<std::string> &keys)
{
	if (Waiting(client))
		return true;
	std::vector<uint64_t> hashes;
	hashes.reserve(keys.size());
	for (const std::string &key : keys) {
		uint64_t hash = tracking::KeyHash(database_, relid, key);
		if (std::find(hashes.begin(), hashes.end(), hash) == hashes.end())
			hashes.push_back(hash);
	}
	if (!registry_.park(client, worker_, hashes.data(), hashes.size()))
		return false;
	for (uint64_t hash : hashes)
		waiters_[hash].push_back(client);
	keys_.emplace(client, std::move(hashes));
	return true;
}

void
Blocker::Forget(uint64_t client)
{
	auto it = keys_.find(client);
	if (it == keys_.end())
		return;
	for (uint64_t hash : it->second) {
		auto w = waiters_.find(hash);
		if (w == waiters_.end())
			continue;
		w->second.erase(std::remove(w->second.begin(), w->second.end(), client), w->second.end());
		if (w->second.empty())
			waiters_.erase(w);
	}
	std::vector<uint64_t> waited(it->second.size());
	keys_.erase(it);
	size_t n = registry_.unpark(client, waited.data(), waited.size());
	registry_.wake(waited.data(), n);
}

void
Blocker::OnRecord(std::string_view payload, std::vector<uint64_t> *woken) const
{
	for (size_t at = 0; at + sizeof(uint64_t) <= payload.size(); at += sizeof(uint64_t)) {
		uint64_t hash;
		memcpy(&hash, payload.data() + at, sizeof(hash));
		auto w = waiters_.find(hash);
		if (w == waiters_.end())
			continue;
		for (uint64_t client : w->second) {
			if (std::find(woken->begin(), woken->end(), client) != woken->end())
				continue;
			if (registry_.is_first(client, hash)) {
				woken->push_back(client);
				break; // one waiter per key: the next one is woken when this one is done
			}
		}
	}
}

} // namespace nodedb_kv::resp
