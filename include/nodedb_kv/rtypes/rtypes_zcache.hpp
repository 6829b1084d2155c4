#pragma once
// A process's cache of the decoded node rows of spilled sorted sets (src/rtypes/README.md "Node
// cache"), so that a ZRANK of a big set reads its member row and the nodes the cache lacks, not a
// row per level.  Per set (its member prefix: keyspace, key, generation) it holds the nodes of one
// state of the tree, named by the stamp the header's tail and the root carry.  Pure C++; the RESP
// engine owns one per worker and tells it about transaction ends.
//
// Why a stamp names a state here: writers of one set serialize on its header row and every write
// takes a new, larger stamp, so the *committed* states of a set have distinct stamps.  Uncommitted
// states (this process's own writes, and what it reads after them) get stamps that an aborted write
// may leave for another writer to reuse with other contents: such states are kept apart ("mine"), and
// become committed ones at Commit() or are forgotten at Abort() / SubAbort().  A state read by a
// transaction that has not written the set is committed (its snapshot sees only committed rows).
#ifdef POSTGRES_H
static_assert(false, "rtypes_zcache.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "nodedb_kv/rtypes/rtypes_ztree.hpp"

namespace nodedb_kv::rtypes {

class ZtreeCache {
public:
	// Nodes kept in all, in bytes (rows and decoded items); past it leaves go first, then everything
	// (nodedb_kv.zset_node_cache sets it).
	static constexpr size_t kDefaultBudget = size_t{16} << 20;

	explicit ZtreeCache(size_t budget = kDefaultBudget) : budget_(budget)
	{
	}

	// Node id of set prefix in the state stamp, or nullptr.
	const ZtreeNode *Find(const std::string &prefix, uint64_t stamp, uint64_t id) const;
	// Remembers node id of set prefix, read in the state stamp (a set keeps one state: another one
	// replaces it).
	void Fill(const std::string &prefix, uint64_t stamp, uint64_t id, const ZtreeNode &node);
	// This transaction changed set prefix from state `from` to state `to`: the nodes written (decoded)
	// and deleted; the others are those of `from` (kept if the set's state was `from`).
	void Advance(const std::string &prefix, uint64_t from, uint64_t to,
	             std::vector<std::pair<uint64_t, ZtreeNode>> *written, const std::vector<uint64_t> &deleted);
	// The transaction committed: the states it wrote or read after its writes are committed ones.
	void Commit();
	// The transaction aborted (or prepared): its uncommitted states go.
	void Abort();
	// A subtransaction aborted: the transaction's uncommitted states go (some may be the aborted
	// subtransaction's); the transaction still counts as a writer of its sets.
	void SubAbort();
	// Forgets everything (kv_members was truncated, rewritten...).
	void Clear();
	// A new bound (nodedb_kv.zset_node_cache changed): shrinks now if it is over.
	void SetBudget(size_t budget);

	size_t
	bytes() const
	{
		return bytes_;
	}
	size_t
	sets() const
	{
		return sets_.size();
	}

private:
	struct Set {
		uint64_t stamp = 0;
		bool mine = false; // an uncommitted state of this transaction
		size_t bytes = 0;
		std::unordered_map<uint64_t, ZtreeNode> nodes;
	};

	static size_t Cost(const ZtreeNode &node);
	Set &Reset(const std::string &prefix, uint64_t stamp);
	void Put(Set &set, uint64_t id, ZtreeNode node);
	void DropMine();
	void Shrink();

	size_t budget_;
	size_t bytes_ = 0;
	std::unordered_map<std::string, Set> sets_;
	std::unordered_set<std::string> written_; // sets this transaction wrote
};

} // namespace nodedb_kv::rtypes
