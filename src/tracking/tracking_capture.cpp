// Invalidations from every writer (tracking_capture.hpp): a change-capture consumer, so RESP commands,
// SQL, KV functions, COPY, the expiry worker and TRUNCATE all invalidate the same way, at commit.
// PRE_COMMIT (may ERROR): when some client tracks anything (one atomic read, then one lookup of the
// internal channel; nothing else when nobody tracks), every change is encoded as a record (key bytes:
// bytea and text as they are, other key types as their text output, which is what a RESP client
// names) into one buffer under TopTransactionContext, cut into bus-sized chunks.  COMMIT (after the
// commit record and after the transaction became visible, must not fail): each chunk is compacted in
// place to the records still wanted - truncations, keys whose hash is in the shared filter, everything
// while a BCAST client exists - and appended to the bus (allocation-free, never errors).  Checking the
// filter only at COMMIT closes the race with a reader: a worker adds a key to the filter before the
// snapshot of the command that reads it, so a reader that saw the old value is always found.
#include <string_view>

#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/tracking/tracking_filter.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/tracking/tracking_capture.hpp"

namespace nodedb_kv::tracking {
namespace {

// One encoded record of the transaction.
struct Item {
	uint64 hash;
	uint32 offset; // in its chunk's buffer
	uint32 size;
	bool flush;
};

// Records of one bus message.
struct Chunk {
	Chunk *next;
	char *buf;
	Item *items;
	int count;
};

Chunk *chunks = nullptr;

// The key bytes a RESP client names this key by.
std::string_view
KeyBytes(const capture::Change &change)
{
	Oid type = change.key_type.type;
	if (type == BYTEAOID || type == TEXTOID || type == VARCHAROID || type == BPCHAROID) {
		auto *key = reinterpret_cast<varlena *>(DatumGetPointer(change.key));
		return std::string_view(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key));
	}
	Oid output;
	bool varlena;
	getTypeOutputInfo(type, &output, &varlena);
	char *text = OidOutputFunctionCall(output, change.key);
	return std::string_view(text);
}

// Appends a chunk of Key records under kZsetRelid (keys: their names, origins) to the list ending at
// *last.  In TopTransactionContext.
void
AddZsetChunk(Chunk **last, const char *const *names, const uint64 *origins, int n)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += RecordSize(strlen(names[i]));
	auto *chunk = static_cast<Chunk *>(palloc0(sizeof(Chunk)));
	chunk->buf = static_cast<char *>(palloc(total + 1));
	chunk->items = static_cast<Item *>(palloc(sizeof(Item) * (n + 1)));
	size_t offset = 0;
	for (int i = 0; i < n; i++) {
		std::string_view key(names[i]);
		size_t size = WriteRecord(chunk->buf + offset, RecordKind::Key, MyDatabaseId, kZsetRelid, key, origins[i]);
		chunk->items[chunk->count++] = {KeyHash(MyDatabaseId, kZsetRelid, key), static_cast<uint32>(offset),
		                                static_cast<uint32>(size), false};
		offset += size;
	}
	if (*last == nullptr)
		chunks = chunk;
	else
		(*last)->next = chunk;
	*last = chunk;
}

// Z-commands track kv_sorted index names (tracking_key.hpp kZsetRelid): every changed (or truncated)
// table's kv_sorted indexes are invalidated by name, "name" and "schema.name" (how a client may write
// it).  The origin is the writing client's when one client made all of the table's changes, else 0.
void
AddZsetRecords(const capture::Change *changes, int count, Chunk **last)
{
	Oid am = get_index_am_oid("kv_sorted", true);
	if (!OidIsValid(am))
		return;
	// Distinct tables (a transaction changes few; a COPY many rows of one).
	Oid *relids = static_cast<Oid *>(palloc(sizeof(Oid) * count));
	uint64 *origins = static_cast<uint64 *>(palloc(sizeof(uint64) * count));
	int nrel = 0;
	for (int i = 0; i < count; i++) {
		int j = nrel - 1;
		while (j >= 0 && relids[j] != changes[i].relid)
			j--;
		if (j < 0) {
			relids[nrel] = changes[i].relid;
			origins[nrel++] = changes[i].origin;
		} else if (origins[j] != changes[i].origin) {
			origins[j] = 0;
		}
	}
	size_t limit = pubsub::MaxMessageBytes() - kChannel.size();
	const int kBatch = 64;
	const char *names[kBatch];
	uint64 name_origins[kBatch];
	int n = 0;
	size_t bytes = 0;
	for (int r = 0; r < nrel; r++) {
		Relation rel = RelationIdGetRelation(relids[r]);
		if (rel == nullptr)
			continue;
		List *indexes = RelationGetIndexList(rel);
		RelationClose(rel);
		ListCell *lc;
		foreach (lc, indexes) {
			HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(lfirst_oid(lc)));
			if (!HeapTupleIsValid(tuple))
				continue;
			auto *form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
			if (form->relam == am) {
				char *name = pstrdup(NameStr(form->relname));
				char *nsp = get_namespace_name(form->relnamespace);
				char *qualified = psprintf("%s.%s", nsp != nullptr ? nsp : "", name);
				for (char *each : {name, qualified}) {
					size_t size = RecordSize(strlen(each));
					if (n == kBatch || bytes + size > limit) {
						AddZsetChunk(last, names, name_origins, n);
						n = 0;
						bytes = 0;
					}
					names[n] = each;
					name_origins[n++] = origins[r];
					bytes += size;
				}
			}
			ReleaseSysCache(tuple);
		}
		list_free(indexes);
	}
	if (n > 0)
		AddZsetChunk(last, names, name_origins, n);
}

void
PreCommit(const capture::Change *changes, int count)
{
	chunks = nullptr;
	if (count == 0 || !pubsub::AnyListeners() || !pubsub::HasListeners(kChannel.data(), kChannel.size()))
		return;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	size_t limit = pubsub::MaxMessageBytes() - kChannel.size();
	Chunk *last = nullptr;
	int i = 0;
	while (i < count) {
		// One chunk: as many records as fit in one message.
		size_t total = 0;
		int first = i, n = 0;
		std::string_view *keys = static_cast<std::string_view *>(palloc(sizeof(std::string_view) * (count - i)));
		for (; i < count; i++) {
			const capture::Change &change = changes[i];
			bool flush = change.op == capture::ChangeOp::Truncate;
			if (!flush && change.key_isnull) {
				keys[i - first] = std::string_view();
				continue;
			}
			std::string_view key = flush ? std::string_view() : KeyBytes(change);
			size_t size = RecordSize(key.size());
			if (size > limit) {
				ereport(WARNING, (errmsg("invalidation of a tracked key not sent: key too large for the pub/sub bus")));
				keys[i - first] = std::string_view();
				continue;
			}
			if (total + size > limit)
				break;
			keys[i - first] = key;
			total += size;
			n++;
		}
		auto *chunk = static_cast<Chunk *>(palloc0(sizeof(Chunk)));
		chunk->buf = static_cast<char *>(palloc(total + 1));
		chunk->items = static_cast<Item *>(palloc(sizeof(Item) * (n + 1)));
		size_t offset = 0;
		for (int j = first; j < i; j++) {
			const capture::Change &change = changes[j];
			bool flush = change.op == capture::ChangeOp::Truncate;
			if (!flush && (change.key_isnull || keys[j - first].data() == nullptr))
				continue;
			std::string_view key = keys[j - first];
			size_t size = WriteRecord(chunk->buf + offset, flush ? RecordKind::Flush : RecordKind::Key, MyDatabaseId,
			                          change.relid, key, change.origin);
			chunk->items[chunk->count++] = {KeyHash(MyDatabaseId, change.relid, key), static_cast<uint32>(offset),
			                                static_cast<uint32>(size), flush};
			offset += size;
		}
		pfree(keys);
		if (last == nullptr)
			chunks = chunk;
		else
			last->next = chunk;
		last = chunk;
	}
	AddZsetRecords(changes, count, &last);
	MemoryContextSwitchTo(old);
}

void
Commit(const capture::Change *, int, const capture::CommitInfo &)
{
	bool bcast = AnyBcast();
	for (Chunk *chunk = chunks; chunk != nullptr; chunk = chunk->next) {
		size_t kept = 0;
		for (int j = 0; j < chunk->count; j++) {
			const Item &item = chunk->items[j];
			if (!item.flush && !bcast && !FilterHas(item.hash))
				continue;
			if (kept != item.offset)
				memmove(chunk->buf + kept, chunk->buf + item.offset, item.size);
			kept += item.size;
		}
		if (kept > 0)
			(void)pubsub::Append(kChannel.data(), kChannel.size(), chunk->buf, kept);
	}
	chunks = nullptr;
}

void
Abort()
{
	chunks = nullptr; // the memory goes with TopTransactionContext
}

} // namespace

void
RegisterTrackingConsumer()
{
	capture::RegisterConsumer({"tracking", nullptr, PreCommit, Commit, Abort});
}

} // namespace nodedb_kv::tracking
