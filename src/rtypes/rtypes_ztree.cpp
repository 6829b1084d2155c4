// The spilled sorted set (rtypes_ztree.hpp): a counted B+tree of rows.  Pure C++.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "nodedb_kv/rtypes/rtypes_ztree.hpp"

#include "nodedb_kv/rtypes/rtypes_bytes.hpp"
#include "nodedb_kv/rtypes/rtypes_zcache.hpp"

namespace nodedb_kv::rtypes {
namespace {

bool
GetScore(std::string_view text, size_t *pos, double *score)
{
	if (text.size() - *pos < 8 || !DecodeScoreItem(text.substr(*pos, 8), score))
		return false;
	*pos += 8;
	return true;
}

bool
GetMember(std::string_view text, size_t *pos, std::string_view *member)
{
	uint64_t len = 0;
	if (!GetVarint(text, pos, &len) || text.size() - *pos < len)
		return false;
	*member = text.substr(*pos, static_cast<size_t>(len));
	*pos += static_cast<size_t>(len);
	return true;
}

} // namespace

std::string
EncodeScoreItem(double score)
{
	uint64_t bits = 0;
	memcpy(&bits, &score, sizeof(bits));
	std::string out(8, '\0');
	for (size_t i = 0; i < 8; i++)
		out[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
	return out;
}

namespace {

// The node codec (the layout in rtypes_ztree.hpp), on plain fields so BuildZtree shares it.
struct PlainItem {
	double score;
	std::string_view member;
	uint64_t child, count;
};

template <typename Items>
std::string
EncodeNode(bool leaf, uint64_t stamp, const Items &items)
{
	std::string out;
	out.push_back(leaf ? '\0' : '\1');
	PutU64(stamp, &out);
	PutVarint(items.size(), &out);
	for (const auto &item : items) {
		if (!leaf) {
			PutU64(item.child, &out);
			PutVarint(item.count, &out);
		}
		out += EncodeScoreItem(item.score);
		PutVarint(item.member.size(), &out);
		out.append(item.member.data(), item.member.size());
	}
	return out;
}

template <typename Items>
size_t
EncodedSize(bool leaf, const Items &items)
{
	size_t size = 9 + VarintSize(items.size());
	for (const auto &item : items)
		size += (leaf ? 0 : 8 + VarintSize(item.count)) + 8 + VarintSize(item.member.size()) + item.member.size();
	return size;
}

template <typename Items>
bool
Overfull(bool leaf, const Items &items)
{
	return items.size() > kZtreeMaxItems || (items.size() > 1 && EncodedSize(leaf, items) > kZtreeMaxBytes);
}

template <typename Items>
bool
Underfull(bool leaf, const Items &items)
{
	return items.size() < kZtreeMaxItems / 4 && EncodedSize(leaf, items) < kZtreeMaxBytes / 4;
}

} // namespace

ZsetSpilled::ZsetSpilled(ZtreeRows *rows, uint64_t count, uint64_t root, uint64_t next)
    : rows_(rows), count_(count), root_(root), next_(next), stamp_(next)
{
}

bool
ZsetSpilled::Fail(bool corrupt) const
{
	if (!failed_) {
		failed_ = true;
		if (corrupt)
			rows_->Corrupt();
	}
	return false;
}

bool
ZsetSpilled::Failed() const
{
	return failed_;
}

bool
DecodeZtreeNode(std::shared_ptr<const std::string> bytes, ZtreeNode *node)
{
	node->items.clear();
	node->bytes = std::move(bytes);
	std::string_view text(*node->bytes);
	size_t pos = 1;
	uint64_t n = 0;
	bool ok = !text.empty() && static_cast<unsigned char>(text[0]) <= 1 && GetU64(text, &pos, &node->stamp) &&
	          GetVarint(text, &pos, &n) && n <= text.size();
	node->leaf = ok && text[0] == '\0';
	if (ok)
		node->items.reserve(static_cast<size_t>(n));
	for (uint64_t i = 0; ok && i < n; i++) {
		ZtreeItem item;
		if (!node->leaf)
			ok = GetU64(text, &pos, &item.child) && GetVarint(text, &pos, &item.count);
		ok = ok && GetScore(text, &pos, &item.score) && GetMember(text, &pos, &item.member);
		node->items.push_back(item);
	}
	return ok && pos == text.size();
}

void
ZsetSpilled::UseCache(ZtreeCache *cache, std::string prefix, bool verify_root)
{
	cache_ = cache;
	cache_prefix_ = std::move(prefix);
	verify_root_ = verify_root;
}

ZsetSpilled::Node *
ZsetSpilled::Load(uint64_t id) const
{
	auto it = nodes_.find(id);
	if (it != nodes_.end())
		return it->second.gone ? (Fail(true), nullptr) : &it->second;
	if (failed_)
		return nullptr;
	if (cache_ != nullptr && !(verify_root_ && id == root_)) {
		// The cache's copy of the node in the header's state (src/rtypes/README.md "Node cache").
		if (const ZtreeNode *cached = cache_->Find(cache_prefix_, stamp_, id)) {
			Node &node = nodes_.emplace(id, Node()).first->second;
			static_cast<ZtreeNode &>(node) = *cached;
			node.stored = true;
			return &node;
		}
	}
	std::string bytes;
	bool found = false;
	if (!rows_->GetNode(id, &bytes, &found)) {
		failed_ = true;
		return nullptr;
	}
	Node &node = nodes_.emplace(id, Node()).first->second;
	node.stored = true;
	bool ok = found && DecodeZtreeNode(std::make_shared<const std::string>(std::move(bytes)), &node);
	if (!ok || (node.items.empty() && id != root_)) {
		nodes_.erase(id);
		Fail(true);
		return nullptr;
	}
	if (id == root_ && node.stamp != stamp_) {
		nodes_.erase(id);
		failed_ = true;
		rows_->Stale();
		return nullptr;
	}
	if (cache_ != nullptr)
		cache_->Fill(cache_prefix_, stamp_, id, node);
	return &node;
}

std::string_view
ZsetSpilled::Keep(std::string_view member)
{
	return arena_.emplace_back(member);
}

ZsetSpilled::Node *
ZsetSpilled::NewNode(bool leaf, uint64_t *id)
{
	*id = next_++;
	Node &node = nodes_[*id];
	node = Node();
	node.leaf = leaf;
	node.dirty = true;
	return &node;
}

bool
ZsetSpilled::LookupScore(std::string_view member, double *score) const
{
	auto it = scores_.find(std::string(member));
	if (it != scores_.end()) {
		if (it->second)
			*score = *it->second;
		return it->second.has_value();
	}
	if (failed_)
		return false;
	bool found = false;
	double value = 0;
	if (!rows_->GetScore(member, &value, &found)) {
		failed_ = true;
		return false;
	}
	scores_.emplace(std::string(member), found ? std::optional<double>(value) : std::nullopt);
	*score = value;
	return found;
}

size_t
ZsetSpilled::Size() const
{
	return static_cast<size_t>(count_);
}

bool
ZsetSpilled::Score(std::string_view member, double *score) const
{
	return LookupScore(member, score);
}

// The number of entries for which below(score, member) holds; below must hold for a prefix of the
// order (true, ..., true, false, ...).  One descent.
template <typename Pred>
size_t
ZsetSpilled::CountBelow(Pred below) const
{
	size_t total = 0;
	uint64_t id = root_;
	while (count_ > 0) {
		const Node *node = Load(id);
		if (node == nullptr)
			return 0;
		const auto &items = node->items;
		if (node->leaf) {
			auto it = std::partition_point(items.begin(), items.end(),
			                               [&](const Item &item) { return below(item.score, item.member); });
			return total + static_cast<size_t>(it - items.begin());
		}
		// The last child whose lower bound is below (the first child otherwise).
		auto it = std::partition_point(items.begin() + 1, items.end(),
		                               [&](const Item &item) { return below(item.score, item.member); });
		size_t child = static_cast<size_t>(it - items.begin()) - 1;
		for (size_t i = 0; i < child; i++)
			total += static_cast<size_t>(items[i].count);
		id = items[child].child;
	}
	return total;
}

bool
ZsetSpilled::Rank(std::string_view member, size_t *rank) const
{
	double score = 0;
	if (!LookupScore(member, &score))
		return false;
	*rank = CountBelow([&](double s, std::string_view m) { return ZsetLess(s, m, score, member); });
	return !failed_;
}

size_t
ZsetSpilled::ScoreBound(double score, bool after) const
{
	if (after)
		return CountBelow([&](double s, std::string_view) { return s <= score; });
	return CountBelow([&](double s, std::string_view) { return s < score; });
}

void
ZsetSpilled::LexWalk(const LexBound &min, const LexBound &max, bool, size_t *begin, size_t *end) const
{
	// As Redis walks a skiplist (zslFirstInLexRange / zslLastInLexRange): descents that take the
	// members as sorted bytewise, which they are when every member has one score (what lex ranges are
	// meant for); either direction covers the same positions then.
	*begin = CountBelow([&](double, std::string_view m) { return !LexGteMin(m, min); });
	*end = CountBelow([&](double, std::string_view m) { return LexLteMax(m, max); });
	if (*end < *begin)
		*end = *begin;
}

void
ZsetSpilled::Collect(uint64_t id, size_t begin, size_t end, std::vector<ZsetEntry> *out) const
{
	const Node *node = Load(id);
	if (node == nullptr)
		return;
	if (node->leaf) {
		end = std::min(end, node->items.size());
		for (size_t i = begin; i < end; i++)
			out->push_back({std::string(node->items[i].member), node->items[i].score});
		return;
	}
	size_t offset = 0;
	for (const Item &item : node->items) {
		size_t count = static_cast<size_t>(item.count);
		if (offset + count > begin && offset < end)
			Collect(item.child, std::max(begin, offset) - offset, std::min(end, offset + count) - offset, out);
		offset += count;
		if (offset >= end || failed_)
			break;
	}
}

void
ZsetSpilled::Slice(size_t begin, size_t end, std::vector<ZsetEntry> *out) const
{
	end = std::min(end, static_cast<size_t>(count_));
	if (begin < end)
		Collect(root_, begin, end, out);
}

// Moves the upper half of an overfull node to a new right sibling, described in *split.
void
ZsetSpilled::SplitOff(Node *node, Split *split)
{
	uint64_t right_id = 0;
	bool leaf = node->leaf;
	size_t half = node->items.size() / 2;
	std::vector<Item> upper(std::make_move_iterator(node->items.begin() + static_cast<std::ptrdiff_t>(half)),
	                        std::make_move_iterator(node->items.end()));
	node->items.resize(half);
	node->dirty = true;
	Node *right = NewNode(leaf, &right_id); // (node stays valid: the map's elements do not move)
	right->items = std::move(upper);
	split->happened = true;
	split->right = right_id;
	split->count = 0;
	for (const Item &item : right->items)
		split->count += leaf ? 1 : item.count;
	split->score = right->items[0].score;
	split->member = right->items[0].member;
}

bool
ZsetSpilled::InsertAt(uint64_t id, double score, std::string_view member, Split *split)
{
	Node *node = Load(id);
	if (node == nullptr)
		return false;
	auto &items = node->items;
	auto less = [&](const Item &item) { return ZsetLess(item.score, item.member, score, member); };
	if (node->leaf) {
		auto it = std::partition_point(items.begin(), items.end(), less);
		Item item;
		item.score = score;
		item.member = Keep(member);
		items.insert(it, item);
	} else {
		auto it = std::partition_point(items.begin() + 1, items.end(), [&](const Item &item) {
			return !ZsetLess(score, member, item.score, item.member); // lower bound <= entry
		});
		size_t child = static_cast<size_t>(it - items.begin()) - 1;
		Split below;
		if (!InsertAt(items[child].child, score, member, &below))
			return false;
		items[child].count++;
		if (below.happened) {
			items[child].count -= below.count;
			Item item;
			item.score = below.score;
			item.member = below.member;
			item.child = below.right;
			item.count = below.count;
			items.insert(items.begin() + static_cast<std::ptrdiff_t>(child) + 1, std::move(item));
		}
	}
	node->dirty = true;
	if (Overfull(node->leaf, items))
		SplitOff(node, split);
	return true;
}

void
ZsetSpilled::Insert(double score, std::string_view member)
{
	if (count_ == 0) {
		Node *root = NewNode(true, &root_);
		Item item;
		item.score = score;
		item.member = Keep(member);
		root->items.push_back(item);
		count_ = 1;
		return;
	}
	uint64_t old_root = root_;
	Split split;
	if (!InsertAt(old_root, score, member, &split))
		return;
	count_++;
	if (!split.happened)
		return;
	uint64_t new_id = 0;
	Node *root = NewNode(false, &new_id);
	Item left, right;
	left.child = old_root;
	left.count = count_ - split.count;
	left.score = split.score; // (unused: the first child's bound)
	right.child = split.right;
	right.count = split.count;
	right.score = split.score;
	right.member = split.member;
	left.member = split.member;
	root->items.push_back(left);
	root->items.push_back(right);
	root_ = new_id;
}

// After a removal under parent's child index: drops the child if it is empty, or merges it with a
// neighbour (or shares their items evenly) if it is underfull.
void
ZsetSpilled::Rebalance(Node *parent, size_t index)
{
	auto &items = parent->items;
	Node *child = Load(items[index].child);
	if (child == nullptr)
		return;
	if (child->items.empty()) {
		child->gone = true;
		items.erase(items.begin() + static_cast<std::ptrdiff_t>(index));
		return;
	}
	if (items.size() < 2 || !Underfull(child->leaf, child->items))
		return;
	size_t l = index + 1 < items.size() ? index : index - 1;
	Node *left = Load(items[l].child);
	Node *right = Load(items[l + 1].child);
	if (left == nullptr || right == nullptr)
		return;
	if (!right->leaf) { // right's first bound becomes a separator inside left: the parent's is exact
		right->items[0].score = items[l + 1].score;
		right->items[0].member = items[l + 1].member;
	}
	for (Item &item : right->items)
		left->items.push_back(std::move(item));
	right->items.clear();
	left->dirty = right->dirty = true;
	if (!Overfull(left->leaf, left->items)) {
		items[l].count += items[l + 1].count;
		right->gone = true;
		items.erase(items.begin() + static_cast<std::ptrdiff_t>(l) + 1);
		return;
	}
	size_t half = left->items.size() / 2;
	right->items.assign(std::make_move_iterator(left->items.begin() + static_cast<std::ptrdiff_t>(half)),
	                    std::make_move_iterator(left->items.end()));
	left->items.resize(half);
	uint64_t total = items[l].count + items[l + 1].count, moved = 0;
	for (const Item &item : right->items)
		moved += right->leaf ? 1 : item.count;
	items[l].count = total - moved;
	items[l + 1].count = moved;
	items[l + 1].score = right->items[0].score;
	items[l + 1].member = right->items[0].member;
}

bool
ZsetSpilled::RemoveAt(uint64_t id, double score, std::string_view member)
{
	Node *node = Load(id);
	if (node == nullptr)
		return false;
	auto &items = node->items;
	if (node->leaf) {
		auto it = std::partition_point(items.begin(), items.end(), [&](const Item &item) {
			return ZsetLess(item.score, item.member, score, member);
		});
		if (it == items.end() || it->score != score || it->member != member)
			return Fail(true); // the member row names an entry the tree does not have
		items.erase(it);
		node->dirty = true;
		return true;
	}
	auto it = std::partition_point(items.begin() + 1, items.end(),
	                               [&](const Item &item) { return !ZsetLess(score, member, item.score, item.member); });
	size_t child = static_cast<size_t>(it - items.begin()) - 1;
	if (!RemoveAt(items[child].child, score, member))
		return false;
	items[child].count--;
	node->dirty = true;
	Rebalance(node, child);
	return !failed_;
}

void
ZsetSpilled::Erase(double score, std::string_view member)
{
	if (!RemoveAt(root_, score, member))
		return;
	count_--;
	// The root shrinks: an inner root with one child hands over to it; an empty leaf root goes.
	for (;;) {
		Node *root = Load(root_);
		if (root == nullptr)
			return;
		if (root->leaf) {
			if (root->items.empty()) {
				root->gone = true;
				root_ = 0;
			}
			return;
		}
		if (root->items.size() > 1)
			return;
		root->gone = true;
		root_ = root->items.empty() ? 0 : root->items[0].child;
		if (root_ == 0)
			return;
	}
}

bool
ZsetSpilled::Put(std::string_view member, double score)
{
	// (-0 stays -0, as in Redis's skiplist; it equals 0 in the order.)
	double current = 0;
	bool found = LookupScore(member, &current);
	if (failed_ || (found && current == score))
		return false;
	if (found)
		Erase(current, member);
	Insert(score, member);
	std::string key(member);
	scores_[key] = score;
	dirty_scores_.insert(std::move(key));
	changed_ = true;
	return !found;
}

bool
ZsetSpilled::Remove(std::string_view member)
{
	double score = 0;
	if (!LookupScore(member, &score) || failed_)
		return false;
	Erase(score, member);
	std::string key(member);
	scores_[key] = std::nullopt;
	dirty_scores_.insert(std::move(key));
	changed_ = true;
	return true;
}

void
ZsetSpilled::RemoveRange(size_t begin, size_t end)
{
	std::vector<ZsetEntry> doomed;
	Slice(begin, end, &doomed);
	for (const ZsetEntry &entry : doomed) {
		if (failed_)
			return;
		Erase(entry.score, entry.member);
		scores_[entry.member] = std::nullopt;
		dirty_scores_.insert(entry.member);
		changed_ = true;
	}
}

bool
ZsetSpilled::Flush()
{
	if (failed_)
		return false;
	if (!changed_)
		return true;
	next_++; // a new stamp, also when no node was made (ids are taken from next_ on)
	uint64_t stamp = next_;
	if (root_ != 0) {
		Node *root = Load(root_);
		if (root == nullptr)
			return false;
		root->stamp = stamp;
		root->dirty = true;
	}
	std::vector<std::pair<uint64_t, ZtreeNode>> written; // for the cache: the new state's nodes
	std::vector<uint64_t> deleted;
	for (auto &[id, node] : nodes_) {
		if (node.gone) {
			if (node.stored && !rows_->DeleteNode(id))
				return Fail(false);
			deleted.push_back(id);
		} else if (node.dirty) {
			auto bytes = std::make_shared<const std::string>(node.leaf ? EncodeNode(true, node.stamp, node.items)
			                                                           : EncodeNode(false, node.stamp, node.items));
			// A node whose changes cancelled out (a member moved within one subtree: -1 and +1 on the
			// same count) keeps its row.
			if (node.stored && node.bytes && *node.bytes == *bytes) {
				node.dirty = false;
				continue;
			}
			if (!rows_->PutNode(id, *bytes))
				return Fail(false);
			node.stored = true;
			if (cache_ != nullptr) {
				written.emplace_back(id, ZtreeNode());
				DecodeZtreeNode(std::move(bytes), &written.back().second); // (views the cached row)
			}
		}
		node.dirty = false;
	}
	for (const std::string &member : dirty_scores_) {
		const std::optional<double> &score = scores_[member];
		if (!(score ? rows_->PutScore(member, *score) : rows_->DeleteScore(member)))
			return Fail(false);
	}
	dirty_scores_.clear();
	if (cache_ != nullptr)
		cache_->Advance(cache_prefix_, stamp_, stamp, &written, deleted);
	stamp_ = stamp;
	return true;
}

void
BuildZtree(const std::vector<ZsetEntry> &entries, std::vector<std::pair<uint64_t, std::string>> *nodes, uint64_t *root,
           uint64_t *next)
{
	nodes->clear();
	uint64_t id = 1;
	*root = 0;
	*next = id;
	if (entries.empty())
		return;
	// One level: the nodes of items, each filled to 3/4 of the limits; returns the level above.
	std::vector<PlainItem> level;
	for (const ZsetEntry &entry : entries)
		level.push_back({entry.score, entry.member, 0, 1});
	bool leaf = true;
	std::vector<std::pair<std::vector<PlainItem>, uint64_t>> built; // (items, id)
	for (;;) {
		std::vector<PlainItem> above;
		std::vector<PlainItem> current;
		std::vector<std::pair<std::vector<PlainItem>, uint64_t>> made;
		auto close = [&]() {
			uint64_t count = 0;
			for (const PlainItem &item : current)
				count += item.count;
			above.push_back({current[0].score, current[0].member, id, count});
			made.emplace_back(std::move(current), id++);
			current.clear();
		};
		for (const PlainItem &item : level) {
			current.push_back(item);
			if (current.size() >= kZtreeMaxItems * 3 / 4 || EncodedSize(leaf, current) >= kZtreeMaxBytes * 3 / 4)
				close();
		}
		if (!current.empty())
			close();
		bool top = made.size() == 1;
		for (auto &[items, node_id] : made) {
			// Encoded once ids are known; the root's stamp is the next id, known only at the top.
			nodes->emplace_back(node_id, top ? std::string() : EncodeNode(leaf, 0, items));
			if (top)
				built.emplace_back(std::move(items), node_id);
		}
		if (top) {
			*root = built[0].second;
			*next = id;
			nodes->back().second = EncodeNode(leaf, id, built[0].first);
			return;
		}
		level = std::move(above); // (its members view the strings of entries)
		leaf = false;
	}
}

} // namespace nodedb_kv::rtypes
