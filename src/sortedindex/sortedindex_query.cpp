// RANK / TOPK / RANGE / SORTED_COUNT over kv_sorted indexes.  Reads see committed state only: the
// structure changes at commit, and the slow path reads with a snapshot that hides the transaction's
// own writes (sortedindex_load.cpp).  RESP's reads (own_writes) also see their transaction's own
// pending writes, laid over the committed structure (sortedindex_overlay.cpp).
#include <algorithm>
#include <cmath>

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/relation.h"
#include "access/table.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/varlena.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/sortedindex/sortedindex_load.hpp"
#include "nodedb_kv/sortedindex/sortedindex_overlay.hpp"
#include "nodedb_kv/sortedindex/sortedindex_query.hpp"
#include "nodedb_kv/sortedindex/sortedindex_store.hpp"

namespace nodedb_kv::sortedindex {
namespace {

constexpr int kMaxRetries = 100;

struct Target {
	Relation index;
	IndexDef def;
	bool slow; // standby: no shared structure
	SlotRef ref;
	bool in_window;
	int32 window;
	// slow path
	Prepared *entries;
	int64 nentries;
};

// Resolves name to a kv_sorted index the user may read (SELECT on its table).
Relation
OpenIndex(const char *name)
{
	List *names = stringToQualifiedNameList(name);
	Oid relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("kv_sorted index \"%s\" does not exist", name)));
	Relation index = relation_open(relid, NoLock);
	Oid am = get_index_am_oid("kv_sorted", true);
	if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_rel->relam != am) {
		relation_close(index, AccessShareLock);
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not a kv_sorted index", name)));
	}
	Oid heapoid = index->rd_index->indrelid;
	AclResult acl = pg_class_aclcheck(heapoid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(heapoid));
	return index;
}

void
Open(const char *name, Target *t)
{
	memset(t, 0, sizeof(*t));
	t->index = OpenIndex(name);
	t->slow = RecoveryInProgress();
	if (t->slow) {
		Relation heap = table_open(t->index->rd_index->indrelid, AccessShareLock);
		LoadIndexDef(t->index, heap, &t->def);
		t->in_window = CurrentWindow(t->def, &t->window);
		if (t->in_window)
			t->nentries = LoadSorted(t->index, heap, t->def, t->window, &t->entries);
		table_close(heap, AccessShareLock);
		return;
	}
	t->ref = Attach(t->index, &t->def);
	t->in_window = CurrentWindow(t->def, &t->window);
}

void
Reattach(Target *t)
{
	CHECK_FOR_INTERRUPTS();
	t->ref = Attach(t->index, &t->def);
	t->in_window = CurrentWindow(t->def, &t->window);
}

void
Close(Target *t)
{
	relation_close(t->index, AccessShareLock);
}

int
CompareSlow(const Prepared &p, const char *prefix, int len)
{
	return memcmp(p.data, prefix, Min(len, p.sortkey_len)) ?: (p.sortkey_len < len ? -1 : 0);
}

// Raw copies collected under the lock, converted to text afterwards.
struct Collected {
	int count;
	int capacity;
	int64 *ranks;
	char **members;
	int *member_lens;
	double *scores;
	const IndexDef *def;
	bool want_score;
};

void
Collect(void *arg, int64 rank, const char *sortkey, int sortkey_len, const char *member, int member_len)
{
	auto *c = static_cast<Collected *>(arg);
	if (c->count == c->capacity) {
		c->capacity *= 2;
		c->ranks = static_cast<int64 *>(repalloc_huge(c->ranks, sizeof(int64) * c->capacity));
		c->members = static_cast<char **>(repalloc_huge(c->members, sizeof(char *) * c->capacity));
		c->member_lens = static_cast<int *>(repalloc_huge(c->member_lens, sizeof(int) * c->capacity));
		c->scores = static_cast<double *>(repalloc_huge(c->scores, sizeof(double) * c->capacity));
	}
	c->ranks[c->count] = rank;
	c->members[c->count] = static_cast<char *>(palloc(member_len + 1));
	memcpy(c->members[c->count], member, member_len);
	c->member_lens[c->count] = member_len;
	c->scores[c->count] = c->want_score && sortkey != nullptr ? DecodeFirstColumn(*c->def, sortkey) : 0;
	c->count++;
}

void
InitCollected(Collected *c, const IndexDef *def, bool want_score)
{
	c->count = 0;
	c->capacity = 16;
	c->ranks = static_cast<int64 *>(palloc(sizeof(int64) * c->capacity));
	c->members = static_cast<char **>(palloc(sizeof(char *) * c->capacity));
	c->member_lens = static_cast<int *>(palloc(sizeof(int) * c->capacity));
	c->scores = static_cast<double *>(palloc(sizeof(double) * c->capacity));
	c->def = def;
	c->want_score = want_score;
}

int
ToHits(const Collected &c, Hit **hits)
{
	*hits = static_cast<Hit *>(palloc(sizeof(Hit) * Max(c.count, 1)));
	for (int i = 0; i < c.count; i++)
		(*hits)[i] = {c.ranks[i], MemberToText(*c.def, c.members[i], c.member_lens[i]), c.want_score, c.scores[i]};
	return c.count;
}

// Ranks [first, first+limit) of the current window into *hits.
int
Fetch(Target *t, int64 first, int64 limit, bool want_score, Hit **hits)
{
	Collected c;
	InitCollected(&c, &t->def, want_score);
	if (!t->in_window || limit <= 0)
		return ToHits(c, hits);
	if (t->slow) {
		for (int64 r = first; r < first + limit && r <= t->nentries; r++) {
			const Prepared &p = t->entries[r - 1];
			Collect(&c, r, p.data, p.sortkey_len, p.data + p.sortkey_len, p.member_len);
		}
		return ToHits(c, hits);
	}
	for (int attempt = 0; !QueryFrom(t->ref, t->window, first, limit, Collect, &c); attempt++) {
		if (attempt > kMaxRetries)
			elog(ERROR, "kv_sorted index keeps changing under the query");
		c.count = 0;
		Reattach(t);
	}
	return ToHits(c, hits);
}

// Runs answer(overlay) with the transaction's own writes laid over the committed structure, all of it
// against one state of the slot (stamps before and after; retried otherwise).  False when the
// transaction changed nothing of the index's table (or on a standby): the committed answer holds.
// answer returns false when a query saw the slot change.
template <typename Answer>
bool
WithOverlay(Target *t, Answer answer)
{
	if (t->slow || !t->in_window)
		return false;
	Oid heap = t->index->rd_index->indrelid;
	for (int attempt = 0;; attempt++) {
		if (attempt > kMaxRetries)
			elog(ERROR, "kv_sorted index keeps changing under the query");
		uint64 before = 0;
		uint64 after = 0;
		Overlay o;
		OverlayResult result = OverlayResult::Retry;
		if (QueryStamp(t->ref, &before))
			result = BuildOverlay(heap, t->def, t->ref, t->window, &o);
		if (result == OverlayResult::None)
			return false;
		if (result == OverlayResult::Ready && answer(o) && QueryStamp(t->ref, &after) && after == before)
			return true;
		Reattach(t);
	}
}

// Ranks [first, first + limit) of the merged order.  False if the slot changed.
bool
FetchMerged(Target *t, const Overlay &o, int64 first, int64 limit, bool want_score, Hit **hits, int *n)
{
	int64 last = Min(first + limit - 1, o.count);
	Collected c;
	InitCollected(&c, &t->def, want_score);
	if (first < 1 || first > last) {
		*n = ToHits(c, hits);
		return true;
	}
	// A's entries among the positions, and the run of C \ R entries that fills the others.
	int64 a_from = std::lower_bound(o.added_ranks, o.added_ranks + o.nadded, first) - o.added_ranks;
	int64 a_to = std::upper_bound(o.added_ranks, o.added_ranks + o.nadded, last) - o.added_ranks;
	int64 from_c = (last - first + 1) - (a_to - a_from);
	Collected committed;
	InitCollected(&committed, &t->def, want_score);
	if (from_c > 0) {
		int64 i0 = first - a_from; // index in C \ R of the first committed entry wanted
		int64 k0 = OverlayCommittedRank(o, i0);
		if (!QueryFrom(t->ref, t->window, k0, from_c + o.nremoved, Collect, &committed))
			return false;
	}
	int64 ci = 0;
	int64 aj = a_from;
	for (int64 pos = first; pos <= last; pos++) {
		if (aj < a_to && o.added_ranks[aj] == pos) {
			const Prepared *p = o.added[aj++];
			Collect(&c, pos, p->data, p->sortkey_len, p->data + p->sortkey_len, p->member_len);
			continue;
		}
		while (ci < committed.count && OverlayTouched(o, committed.members[ci], committed.member_lens[ci]) != nullptr)
			ci++;
		if (ci >= committed.count)
			break; // cannot happen with one state of the slot
		// Collected keeps the member and score: copy them as they are.
		Collect(&c, pos, nullptr, 0, committed.members[ci], committed.member_lens[ci]);
		c.scores[c.count - 1] = committed.scores[ci];
		ci++;
	}
	*n = ToHits(c, hits);
	return true;
}

} // namespace

bool
Rank(const char *index_name, const char *member_text, int64 *rank, bool own_writes)
{
	Target t;
	Open(index_name, &t);
	bool found = false;
	if (t.in_window) {
		Buf member;
		BufInit(&member);
		MemberBytes(&member, t.def, MemberFromText(t.def, member_text));
		uint32 hash = MemberHash(member.data, member.len);
		if (own_writes && WithOverlay(&t, [&](const Overlay &o) {
			    found = false;
			    if (const Prepared *p = OverlayTouched(o, member.data, member.len)) {
				    int j = OverlayAddedIndex(o, p);
				    found = j >= 0;
				    if (found)
					    *rank = o.added_ranks[j];
				    return true;
			    }
			    int64 committed = 0;
			    if (!QueryRank(t.ref, t.window, member.data, member.len, hash, &found, &committed))
				    return false;
			    if (found)
				    *rank = OverlayMergedRank(o, committed);
			    return true;
		    })) {
			Close(&t);
			return found;
		}
		if (t.slow) {
			for (int64 i = 0; i < t.nentries && !found; i++) {
				const Prepared &p = t.entries[i];
				if (p.member_len == member.len && memcmp(p.data + p.sortkey_len, member.data, member.len) == 0) {
					found = true;
					*rank = i + 1;
				}
			}
		} else {
			for (int attempt = 0; !QueryRank(t.ref, t.window, member.data, member.len, hash, &found, rank); attempt++) {
				if (attempt > kMaxRetries)
					elog(ERROR, "kv_sorted index keeps changing under the query");
				Reattach(&t);
			}
		}
	}
	Close(&t);
	return found;
}

int64
Count(const char *index_name, bool own_writes)
{
	Target t;
	Open(index_name, &t);
	int64 count = 0;
	if (own_writes && WithOverlay(&t, [&](const Overlay &o) {
		    count = o.count;
		    return true;
	    })) {
		Close(&t);
		return count;
	}
	if (t.in_window) {
		if (t.slow)
			count = t.nentries;
		else
			for (int attempt = 0; !QueryCount(t.ref, t.window, &count); attempt++) {
				if (attempt > kMaxRetries)
					elog(ERROR, "kv_sorted index keeps changing under the query");
				Reattach(&t);
			}
	}
	Close(&t);
	return count;
}

int
TopK(const char *index_name, int64 k, Hit **hits)
{
	if (k < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("TOPK count must not be negative: %lld", static_cast<long long>(k))));
	Target t;
	Open(index_name, &t);
	int n = Fetch(&t, 1, k, false, hits);
	Close(&t);
	return n;
}

int
Range(const char *index_name, double lo, double hi, Hit **hits, bool own_writes)
{
	Target t;
	Open(index_name, &t);
	Buf a;
	Buf b;
	BufInit(&a);
	BufInit(&b);
	if (!EncodeNumericBound(t.def, lo, true, &a) || !EncodeNumericBound(t.def, hi, false, &b)) {
		Close(&t);
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
		                errmsg("RANGE needs a kv_sorted index whose first column is numeric")));
	}
	*hits = nullptr;
	int n = 0;
	Collected empty;
	InitCollected(&empty, &t.def, true);
	if (!t.in_window || lo > hi || std::isnan(lo) || std::isnan(hi)) {
		n = ToHits(empty, hits);
		Close(&t);
		return n;
	}
	// In index order the range is [start, end] with start/end the smaller/larger encoded bound.
	bool desc = t.def.cols[0].desc;
	const Buf &start = desc ? b : a;
	const Buf &end = desc ? a : b;
	if (own_writes && WithOverlay(&t, [&](const Overlay &o) {
		    // Committed entries in range (minus R), merged by rank with A's entries in range.
		    Collected c;
		    InitCollected(&c, &t.def, true);
		    if (!QueryRange(t.ref, t.window, start.data, start.len, end.data, end.len, Collect, &c))
			    return false;
		    Collected merged;
		    InitCollected(&merged, &t.def, true);
		    int ci = 0;
		    int aj = 0;
		    auto in_range = [&](const Prepared *p) {
			    return CompareSlow(*p, start.data, start.len) >= 0 && CompareSlow(*p, end.data, end.len) <= 0;
		    };
		    for (;;) {
			    while (ci < c.count && OverlayTouched(o, c.members[ci], c.member_lens[ci]) != nullptr)
				    ci++;
			    while (aj < o.nadded && !in_range(o.added[aj]))
				    aj++;
			    int64 c_rank = ci < c.count ? OverlayMergedRank(o, c.ranks[ci]) : 0;
			    bool take_a = aj < o.nadded && (ci >= c.count || o.added_ranks[aj] < c_rank);
			    if (take_a) {
				    const Prepared *p = o.added[aj++];
				    Collect(&merged, o.added_ranks[aj - 1], p->data, p->sortkey_len, p->data + p->sortkey_len,
				            p->member_len);
			    } else if (ci < c.count) {
				    Collect(&merged, c_rank, nullptr, 0, c.members[ci], c.member_lens[ci]);
				    merged.scores[merged.count - 1] = c.scores[ci];
				    ci++;
			    } else
				    break;
		    }
		    n = ToHits(merged, hits);
		    return true;
	    })) {
		Close(&t);
		return n;
	}
	int64 first = 1;
	int64 last = 0; // last rank inside the range
	if (t.slow) {
		while (first <= t.nentries && CompareSlow(t.entries[first - 1], start.data, start.len) < 0)
			first++;
		last = first - 1;
		while (last < t.nentries && CompareSlow(t.entries[last], end.data, end.len) <= 0)
			last++;
	} else {
		Collected c;
		InitCollected(&c, &t.def, true);
		for (int attempt = 0; !QueryRange(t.ref, t.window, start.data, start.len, end.data, end.len, Collect, &c);
		     attempt++) {
			if (attempt > kMaxRetries)
				elog(ERROR, "kv_sorted index keeps changing under the query");
			c.count = 0;
			Reattach(&t);
		}
		n = ToHits(c, hits);
		Close(&t);
		return n;
	}
	n = Fetch(&t, first, last - first + 1, true, hits);
	Close(&t);
	return n;
}

bool
Describe(const char *index_name, Described *described)
{
	List *names = stringToQualifiedNameList(index_name);
	Oid relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);
	if (!OidIsValid(relid))
		return false;
	Relation index = OpenIndex(index_name);
	Relation heap = table_open(index->rd_index->indrelid, AccessShareLock);
	IndexDef def;
	LoadIndexDef(index, heap, &def);
	described->table = RelationGetRelid(heap);
	described->score_attno = def.cols[0].attno;
	described->score_type = def.cols[0].type;
	described->desc = def.cols[0].desc;
	described->member_is_key = !OidIsValid(def.member_index);
	table_close(heap, AccessShareLock);
	relation_close(index, AccessShareLock);
	return true;
}

int
Slice(const char *index_name, int64 first, int64 limit, Hit **hits, bool own_writes)
{
	Target t;
	Open(index_name, &t);
	int n = 0;
	if (own_writes &&
	    WithOverlay(&t, [&](const Overlay &o) { return FetchMerged(&t, o, first, limit, true, hits, &n); })) {
		Close(&t);
		return n;
	}
	n = Fetch(&t, first, limit, true, hits);
	Close(&t);
	return n;
}

} // namespace nodedb_kv::sortedindex
