// The node cache of spilled sorted sets (rtypes_zcache.hpp).  Pure C++.
#include "nodedb_kv/rtypes/rtypes_zcache.hpp"

#include <iterator>

namespace nodedb_kv::rtypes {

size_t
ZtreeCache::Cost(const ZtreeNode &node)
{
	return (node.bytes ? node.bytes->size() : 0) + node.items.capacity() * sizeof(ZtreeItem) + 96;
}

const ZtreeNode *
ZtreeCache::Find(const std::string &prefix, uint64_t stamp, uint64_t id) const
{
	auto set = sets_.find(prefix);
	if (set == sets_.end() || set->second.stamp != stamp)
		return nullptr;
	auto node = set->second.nodes.find(id);
	return node == set->second.nodes.end() ? nullptr : &node->second;
}

ZtreeCache::Set &
ZtreeCache::Reset(const std::string &prefix, uint64_t stamp)
{
	Set &set = sets_[prefix];
	bytes_ -= set.bytes;
	set.nodes.clear();
	set.bytes = 0;
	set.stamp = stamp;
	set.mine = written_.count(prefix) > 0;
	return set;
}

void
ZtreeCache::Put(Set &set, uint64_t id, ZtreeNode node)
{
	size_t cost = Cost(node);
	auto [it, added] = set.nodes.try_emplace(id);
	if (!added) {
		size_t old = Cost(it->second);
		set.bytes -= old;
		bytes_ -= old;
	}
	it->second = std::move(node);
	set.bytes += cost;
	bytes_ += cost;
}

void
ZtreeCache::Fill(const std::string &prefix, uint64_t stamp, uint64_t id, const ZtreeNode &node)
{
	auto it = sets_.find(prefix);
	Set &set = it != sets_.end() && it->second.stamp == stamp ? it->second : Reset(prefix, stamp);
	Put(set, id, node);
	if (bytes_ > budget_)
		Shrink();
}

void
ZtreeCache::Advance(const std::string &prefix, uint64_t from, uint64_t to,
                    std::vector<std::pair<uint64_t, ZtreeNode>> *written, const std::vector<uint64_t> &deleted)
{
	written_.insert(prefix);
	auto it = sets_.find(prefix);
	Set &set = it != sets_.end() && it->second.stamp == from ? it->second : Reset(prefix, from);
	set.stamp = to;
	set.mine = true;
	for (uint64_t id : deleted) {
		auto node = set.nodes.find(id);
		if (node != set.nodes.end()) {
			size_t cost = Cost(node->second);
			set.bytes -= cost;
			bytes_ -= cost;
			set.nodes.erase(node);
		}
	}
	try {
		for (auto &[id, node] : *written)
			Put(set, id, std::move(node));
	} catch (...) {
		// (out of memory) The set's state is half made: forget it.
		bytes_ -= set.bytes;
		sets_.erase(prefix);
		throw;
	}
	if (bytes_ > budget_)
		Shrink();
}

void
ZtreeCache::DropMine()
{
	for (const std::string &prefix : written_) {
		auto it = sets_.find(prefix);
		if (it != sets_.end() && it->second.mine) {
			bytes_ -= it->second.bytes;
			sets_.erase(it);
		}
	}
}

void
ZtreeCache::Commit()
{
	if (written_.empty())
		return;
	for (const std::string &prefix : written_) {
		auto it = sets_.find(prefix);
		if (it != sets_.end())
			it->second.mine = false;
	}
	written_.clear();
}

void
ZtreeCache::Abort()
{
	if (written_.empty())
		return;
	DropMine();
	written_.clear();
}

void
ZtreeCache::SubAbort()
{
	DropMine();
}

void
ZtreeCache::Clear()
{
	sets_.clear();
	bytes_ = 0;
}

void
ZtreeCache::SetBudget(size_t budget)
{
	budget_ = budget;
	if (bytes_ > budget_)
		Shrink();
}

// Over the budget: the leaves go (a descent reads one, and each set has many more of them than inner
// nodes), then, if that was not enough, everything.
void
ZtreeCache::Shrink()
{
	for (auto set = sets_.begin(); set != sets_.end();) {
		auto &nodes = set->second.nodes;
		for (auto it = nodes.begin(); it != nodes.end();) {
			if (it->second.leaf) {
				size_t cost = Cost(it->second);
				set->second.bytes -= cost;
				bytes_ -= cost;
				it = nodes.erase(it);
			} else {
				++it;
			}
		}
		set = nodes.empty() ? sets_.erase(set) : std::next(set);
	}
	if (bytes_ > budget_ / 2)
		Clear();
}

} // namespace nodedb_kv::rtypes
