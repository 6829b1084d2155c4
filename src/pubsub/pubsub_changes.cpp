// Change events (pubsub_changes.hpp): at PRE_COMMIT, for every captured change of a collection whose
// channel has a listener (one shared-table lookup per collection; nothing at all when nobody subscribes
// to anything), the JSON payload is built up to its commit-only fields, in a buffer with room for them:
//   {"key":"s1","op":"update","lsn":"0/1A2B3C8","timestamp_ms":1764637200123}
// (bytea keys in base64 with "key_encoding":"base64"; TRUNCATE has "key":null).  At COMMIT, after the
// commit record, the LSN and time are written into the reserved room and the messages appended to the
// bus, which cannot fail (PG15-PITFALLS §7).  Abort forgets them.  Other key types are sent as their
// text output.
#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/pubsub/pubsub_glob.hpp"
#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace_d.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "common/base64.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/pubsub/pubsub_access.hpp"
#include "nodedb_kv/pubsub/pubsub_changes.hpp"

namespace nodedb_kv::pubsub {
namespace {

constexpr int64 kUnixEpochOffsetMs = static_cast<int64>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
constexpr int kTailRoom = 80; // ,"lsn":"XXXXXXXX/XXXXXXXX","timestamp_ms":-9223372036854775808}

// One event waiting for the commit record: channel and the payload up to its commit-only fields.
struct Event {
	Event *next;
	Oid relid;
	char *channel;
	size_t channel_len;
	char *payload; // palloc'd with kTailRoom spare bytes
	size_t payload_len;
};

Event *events = nullptr;
Event *events_last = nullptr;

const char *
OpName(capture::ChangeOp op)
{
	switch (op) {
	case capture::ChangeOp::Insert:
		return "insert";
	case capture::ChangeOp::Update:
		return "update";
	case capture::ChangeOp::Delete:
		return "delete";
	case capture::ChangeOp::Expire:
		return "expire";
	case capture::ChangeOp::Truncate:
		return "truncate";
	}
	return "unknown";
}

// Appends "key":... (and "key_encoding") for a change.
void
AppendKey(StringInfo buf, const capture::Change &change)
{
	appendStringInfoString(buf, "{\"key\":");
	if (change.key_isnull) {
		appendStringInfoString(buf, "null");
		return;
	}
	if (change.key_type.type == BYTEAOID) {
		bytea *key = DatumGetByteaPP(change.key);
		int len = VARSIZE_ANY_EXHDR(key);
		int room = pg_b64_enc_len(len);
		char *encoded = static_cast<char *>(palloc(room + 1));
		int n = pg_b64_encode(VARDATA_ANY(key), len, encoded, room);
		encoded[n < 0 ? 0 : n] = '\0';
		appendStringInfoChar(buf, '"');
		appendStringInfoString(buf, encoded);
		appendStringInfoString(buf, "\",\"key_encoding\":\"base64\"");
		return;
	}
	Oid output;
	bool varlena;
	getTypeOutputInfo(change.key_type.type, &output, &varlena);
	escape_json(buf, OidOutputFunctionCall(output, change.key));
}

void
PreCommit(const capture::Change *changes, int count)
{
	events = events_last = nullptr;
	if (count == 0 || !AnyListeners())
		return;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	Oid last_relid = InvalidOid;
	char *channel = nullptr;
	bool listened = false;
	size_t limit = MaxMessageBytes();
	for (int i = 0; i < count; i++) {
		const capture::Change &change = changes[i];
		if (change.relid != last_relid) {
			last_relid = change.relid;
			channel = CollectionChannel(change.relid);
			listened = channel != nullptr && HasListeners(channel, strlen(channel));
		}
		if (!listened)
			continue;
		StringInfoData buf;
		initStringInfo(&buf);
		AppendKey(&buf, change);
		appendStringInfo(&buf, ",\"op\":\"%s\"", OpName(change.op));
		size_t channel_len = strlen(channel);
		if (channel_len + buf.len + kTailRoom > limit) {
			ereport(WARNING,
			        (errmsg("change event of \"%s\" not published: key too large for the pub/sub bus", channel)));
			continue;
		}
		enlargeStringInfo(&buf, kTailRoom);
		auto *event = static_cast<Event *>(palloc(sizeof(Event)));
		*event = {nullptr, change.relid, channel, channel_len, buf.data, static_cast<size_t>(buf.len)};
		if (events_last == nullptr)
			events = event;
		else
			events_last->next = event;
		events_last = event;
	}
	MemoryContextSwitchTo(old);
}

void
Commit(const capture::Change *, int, const capture::CommitInfo &info)
{
	int64 ms = info.time / 1000 + kUnixEpochOffsetMs;
	HoldWakes();
	for (Event *e = events; e != nullptr; e = e->next) {
		int n =
		    snprintf(e->payload + e->payload_len, kTailRoom, ",\"lsn\":\"%X/%X\",\"timestamp_ms\":%lld}",
		             static_cast<uint32>(info.lsn >> 32), static_cast<uint32>(info.lsn), static_cast<long long>(ms));
		(void)Append(e->channel, e->channel_len, e->payload, e->payload_len + n, e->relid);
	}
	ReleaseWakes();
	events = events_last = nullptr;
}

void
Abort()
{
	events = events_last = nullptr; // the memory goes with TopTransactionContext
}

// Whether a pattern may match one of the collection's keyspace notification channels
// (__keyspace@<db>__:<key> carries its keys, __keyevent@<db>__:<event> sends them as messages).
bool
MayMatchKeyspace(const char *pattern, size_t len, Oid relid)
{
	char *db = KeyspaceDb(relid);
	if (db == nullptr)
		return false;
	static const char *const kinds[] = {"__keyspace@", "__keyevent@"};
	for (const char *kind : kinds) {
		char *prefix = psprintf("%s%s__:", kind, db);
		if (GlobMayMatchPrefix(pattern, len, prefix, strlen(prefix)))
			return true;
	}
	return false;
}

} // namespace

char *
CollectionChannel(unsigned int relid)
{
	char *name = get_rel_name(relid);
	if (name == nullptr)
		return nullptr;
	Oid nsp = get_rel_namespace(relid);
	if (nsp == PG_PUBLIC_NAMESPACE)
		return name;
	char *schema = get_namespace_name(nsp);
	return psprintf("%s.%s", schema ? schema : "", name);
}

bool
MayListen(const char *name, size_t len, bool pattern)
{
	// A pattern may match plain channels too: it needs nodedb_kv.pubsub_role as well as SELECT on the
	// collections it matches.
	if (pattern && !InPubSubRole())
		return false;
	Oid kv_am = get_table_am_oid("kv", true);
	if (!OidIsValid(kv_am))
		return pattern || InPubSubRole();
	Oid user = GetUserId();
	if (!pattern) {
		// A keyspace notification channel of a collection (__keyspace@<db>__:key, __keyevent@<db>__:event)
		// carries its keys: the collection's privilege, as its change channel.
		char *copy = pnstrdup(name, len);
		if (strncmp(copy, "__keyspace@", 11) == 0 || strncmp(copy, "__keyevent@", 11) == 0) {
			char *db = copy + 11;
			char *end = strstr(db, "__:");
			if (end != nullptr) {
				*end = '\0';
				copy = db[strspn(db, "0123456789")] == '\0' && db[0] != '\0' ? psprintf("kv_db%s", db) : db;
			}
		}
		// "schema.table" or "table" (in public): the only names a collection's channel can have.
		char *dot = strchr(copy, '.');
		Oid nsp = PG_PUBLIC_NAMESPACE;
		const char *relname = copy;
		if (dot != nullptr) {
			*dot = '\0';
			nsp = get_namespace_oid(copy, true);
			relname = dot + 1;
		}
		Oid relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
		if (!OidIsValid(relid))
			return InPubSubRole();
		HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		if (!HeapTupleIsValid(tuple))
			return InPubSubRole();
		bool is_kv = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relam == kv_am;
		ReleaseSysCache(tuple);
		// A collection's change channel: SELECT decides; any other name is a plain channel.
		return is_kv ? pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK : InPubSubRole();
	}
	// A pattern: every kv collection whose channel it matches must be readable.
	bool allowed = true;
	Relation pg_class = table_open(RelationRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(pg_class, 0, nullptr);
	HeapTuple tuple;
	while (allowed && (tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		auto *form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
		if (form->relam != kv_am || form->relkind != RELKIND_RELATION)
			continue;
		char *channel = CollectionChannel(form->oid);
		if (channel != nullptr &&
		    (GlobMatch(name, len, channel, strlen(channel)) || MayMatchKeyspace(name, len, form->oid)) &&
		    pg_class_aclcheck(form->oid, user, ACL_SELECT) != ACLCHECK_OK)
			allowed = false;
	}
	table_endscan(scan);
	table_close(pg_class, AccessShareLock);
	return allowed;
}

void
RegisterChangeEvents()
{
	capture::RegisterConsumer({"pubsub", nullptr, PreCommit, Commit, Abort});
}

} // namespace nodedb_kv::pubsub
