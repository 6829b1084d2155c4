#pragma once
// The spilled sorted set (src/rtypes/README.md "Spilled sorted sets"): a counted B+tree whose nodes
// are rows, plus one row per member holding its score.  Pure C++ over an interface of rows
// (ZtreeRows); the command layer implements it over kv_members (resp_spill.cpp), the unit tests over a
// map.
//
//   member row := prefix 0x00 member -> score       (8 bytes, the IEEE 754 bits little-endian)
//   node row   := prefix 0x01 id     -> node        (id: as a list position, rtypes_spill.hpp)
//   node       := kind stamp varint(n) item*        kind 0 leaf, 1 inner; stamp: 8 bytes big-endian
//   leaf item  := score varint(len) member          ascending (score, member)
//   inner item := child(8) varint(count) score varint(len) member
//                                                   count: the entries under child; (score, member):
//                                                   a lower bound of child's entries and above every
//                                                   entry of the child before (the first is unused)
//
// The key's header (rtypes_spill.hpp) holds count = the members, head = the root's id, tail = the
// next free id, which also serves as the set's change stamp: every write takes a new one and stores it
// in the root.  A writer locks the header (its newest version) but reads nodes with its snapshot: a
// root whose stamp differs from the header's tail was read from a snapshot older than the last
// change, and the command must run again (Stale).  Rank, score and lex bounds are one descent
// (O(log N) rows), a slice a descent plus the leaves it covers, a write O(log N) rows.
#ifdef POSTGRES_H
static_assert(false, "rtypes_ztree.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "nodedb_kv/rtypes/rtypes_zset.hpp"

namespace nodedb_kv::rtypes {

constexpr size_t kZtreeMaxItems = 128; // a node with more items splits
// or (with 2 items or more) a longer encoding: node rows stay below PostgreSQL's TOAST threshold (about
// 2 kB with the key), so they are never compressed
constexpr size_t kZtreeMaxBytes = 1800;

// The rows of one spilled set.  Each call returns false on a failure that the implementation has
// already reported (the set then stops: Failed()).
class ZtreeRows {
public:
	virtual ~ZtreeRows() = default;
	virtual bool GetNode(uint64_t id, std::string *bytes, bool *found) = 0;
	virtual bool PutNode(uint64_t id, std::string_view bytes) = 0;
	virtual bool DeleteNode(uint64_t id) = 0;
	virtual bool GetScore(std::string_view member, double *score, bool *found) = 0;
	virtual bool PutScore(std::string_view member, double score) = 0;
	virtual bool DeleteScore(std::string_view member) = 0;
	// A node or member row that does not decode, or a missing node.
	virtual void Corrupt() = 0;
	// The rows read are older than the header (see above): the command must run again.
	virtual void Stale() = 0;
};

// The 8-byte score item of a member row (and of the inline encoding).
std::string EncodeScoreItem(double score);

// A decoded node row.  An item's member views the bytes of the row it was read from (bytes, shared by
// the copies of the node: reading a node allocates nothing per item) or memory of the ZsetSpilled that
// inserted it.
struct ZtreeItem {
	double score = 0;
	std::string_view member;
	uint64_t child = 0; // inner nodes
	uint64_t count = 0; // inner nodes
};
struct ZtreeNode {
	bool leaf = true;
	uint64_t stamp = 0;
	std::shared_ptr<const std::string> bytes; // the row (never changed)
	std::vector<ZtreeItem> items;
};
// Decodes the node row *bytes into node (its items view *bytes); false if malformed.
bool DecodeZtreeNode(std::shared_ptr<const std::string> bytes, ZtreeNode *node);

class ZtreeCache; // rtypes_zcache.hpp

// The sorted set of a spilled key.  Reads and writes go through a cache of the rows of one command;
// Flush writes what changed.
class ZsetSpilled final : public SortedSet {
public:
	// count, root, next: the header's count, head, tail.
	ZsetSpilled(ZtreeRows *rows, uint64_t count, uint64_t root, uint64_t next);

	size_t Size() const override;
	bool Score(std::string_view member, double *score) const override;
	bool Rank(std::string_view member, size_t *rank) const override;
	void Slice(size_t begin, size_t end, std::vector<ZsetEntry> *out) const override;
	size_t ScoreBound(double score, bool after) const override;
	void LexWalk(const LexBound &min, const LexBound &max, bool rev, size_t *begin, size_t *end) const override;
	bool Put(std::string_view member, double score) override;
	bool Remove(std::string_view member) override;
	void RemoveRange(size_t begin, size_t end) override;
	bool Failed() const override;

	// Makes the set own its rows (which must be those passed to the constructor).
	void
	Own(std::unique_ptr<ZtreeRows> rows)
	{
		owned_ = std::move(rows);
	}
	// Reads nodes through cache (the set's member prefix names it there) and keeps what it reads and
	// writes in it.  With verify_root (writers), the root is read from its row all the same, and a
	// root whose stamp is not the header's fails the command (Stale), as without a cache.
	void UseCache(ZtreeCache *cache, std::string prefix, bool verify_root);

	// Writes the changed nodes and member rows and takes a new stamp; false on failure.
	bool Flush();
	// The header fields after the changes (Flush first).
	uint64_t
	count() const
	{
		return count_;
	}
	uint64_t
	root() const
	{
		return root_;
	}
	uint64_t
	next() const
	{
		return next_;
	}
	// Whether anything changed.
	bool
	changed() const
	{
		return changed_;
	}

private:
	// An item's member views the bytes of the node row it was read from or arena_ (inserted members):
	// nothing is copied to read a node, and items move between nodes freely within a command (a node
	// keeps the row it was read from alive).
	using Item = ZtreeItem;
	struct Node : ZtreeNode {
		bool stored = false; // a row exists
		bool dirty = false;
		bool gone = false;
	};
	struct Split {
		bool happened = false;
		uint64_t right = 0, count = 0;
		double score = 0;
		std::string_view member;
	};

	std::string_view Keep(std::string_view member);
	Node *Load(uint64_t id) const;
	Node *NewNode(bool leaf, uint64_t *id);
	bool LookupScore(std::string_view member, double *score) const;
	template <typename Pred> size_t CountBelow(Pred below) const;
	void Collect(uint64_t id, size_t begin, size_t end, std::vector<ZsetEntry> *out) const;
	bool InsertAt(uint64_t id, double score, std::string_view member, Split *split);
	bool RemoveAt(uint64_t id, double score, std::string_view member);
	void Rebalance(Node *parent, size_t index);
	void SplitOff(Node *node, Split *split);
	void Insert(double score, std::string_view member);
	void Erase(double score, std::string_view member);
	bool Fail(bool corrupt) const;

	std::unique_ptr<ZtreeRows> owned_;
	ZtreeRows *rows_;
	ZtreeCache *cache_ = nullptr;
	std::string cache_prefix_;
	bool verify_root_ = false;
	uint64_t count_, root_, next_, stamp_;
	bool changed_ = false;
	mutable bool failed_ = false;
	mutable std::unordered_map<uint64_t, Node> nodes_; // (elements never move: views stay valid)
	std::deque<std::string> arena_;                    // (emplace_back never moves the strings)
	mutable std::unordered_map<std::string, std::optional<double>> scores_;
	std::unordered_set<std::string> dirty_scores_;
};

// The nodes of a set that spills now, holding entries (ascending): leaves filled to 3/4, then each
// level above; ids from 1, the root last.  *root and *next are its header's head and tail; the root
// holds the stamp *next.
void BuildZtree(const std::vector<ZsetEntry> &entries, std::vector<std::pair<uint64_t, std::string>> *nodes,
                uint64_t *root, uint64_t *next);

} // namespace nodedb_kv::rtypes
