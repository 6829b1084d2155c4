// Redis keyspace notifications (pubsub_keyspace.hpp; design notes in src/pubsub/README.md).
// The flags in force: each process parses nodedb_kv.notify_keyspace_events (cached by its text); CONFIG
// SET stores one 64-bit word in shared memory: (set, flags of the parameter when it was set, new flags).
// A process uses the new flags while its own parameter still parses to the stored ones, so a later change
// of the parameter (reload) wins again, and reading costs two atomic-free compares and one atomic read.
// Messages are queued with PublishAtCommit (delivered at commit, dropped on rollback) and only when the
// channel has a listener, so enabled notifications cost a shared-table lookup per event when nobody
// listens.  The capture consumer reports every write of processes other than RESP workers.
#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include <utility>

#include "nodedb_kv/pubsub/pubsub_bus.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "port/atomics.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"
#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/pubsub/pubsub_changes.hpp"
#include "nodedb_kv/pubsub/pubsub_pending.hpp"
#include "nodedb_kv/shmem/shmem.hpp"

namespace nodedb_kv::pubsub {
namespace {

constexpr uint64 kOverrideSet = UINT64CONST(1) << 63;

struct State {
	pg_atomic_uint64 word; // kOverrideSet | parameter flags << 16 | CONFIG SET flags
};

State *state = nullptr;
bool from_capture = true;

// The parameter's flags, re-parsed only when its text changes.
char cached_text[64] = "";
uint32_t cached_flags = 0;

uint32_t
ParameterFlags()
{
	const char *text = guc::notify_keyspace_events ? guc::notify_keyspace_events : "";
	if (strncmp(text, cached_text, sizeof(cached_text)) == 0)
		return cached_flags;
	uint32_t flags = 0;
	(void)ParseKeyspaceFlags(text, strlen(text), &flags); // the check hook refused anything else
	if (strlen(text) < sizeof(cached_text)) {
		strlcpy(cached_text, text, sizeof(cached_text));
		cached_flags = flags;
	}
	return flags;
}

size_t
StateSize()
{
	return sizeof(State);
}

void
StateInit(void *base, bool found)
{
	state = static_cast<State *>(base);
	if (!found)
		pg_atomic_init_u64(&state->word, 0);
}

// Queues message (channel = prefix + db + "__:" + name) if anyone listens to it.
void
Queue(const char *prefix, const char *db, size_t db_len, const char *name, size_t name_len, const char *payload,
      size_t payload_len, Oid relid)
{
	StringInfoData channel;
	initStringInfo(&channel);
	appendStringInfoString(&channel, prefix);
	appendBinaryStringInfo(&channel, db, static_cast<int>(db_len));
	appendStringInfoString(&channel, "__:");
	appendBinaryStringInfo(&channel, name, static_cast<int>(name_len));
	size_t channel_len = static_cast<size_t>(channel.len);
	// A key too large for the bus has no notification (Redis has no such limit; a write never fails
	// for its notification).
	if (channel_len + payload_len <= MaxMessageBytes() && HasListeners(channel.data, channel_len))
		PublishAtCommit(channel.data, channel_len, payload, payload_len, relid);
	pfree(channel.data);
}

// The bytes of change's key as a notification carries them: bytea and text keys as they are, other
// types their text output (palloc'd).  change.key must not be null.
void
KeyBytes(const capture::Change &change, const char **key, size_t *key_len)
{
	Oid key_type = change.key_type.type;
	if (key_type == BYTEAOID || key_type == TEXTOID || key_type == VARCHAROID || key_type == BPCHAROID) {
		struct varlena *value = PG_DETOAST_DATUM_PACKED(change.key);
		*key = VARDATA_ANY(value);
		*key_len = VARSIZE_ANY_EXHDR(value);
	} else {
		Oid output;
		bool varlena;
		getTypeOutputInfo(key_type, &output, &varlena);
		*key = OidOutputFunctionCall(output, change.key);
		*key_len = strlen(*key);
	}
}

// ---- the current RESP command's changes ----
// Where its changes start in the capture log, how far they were looked at, and the log positions of
// the rows it inserted that no event reported as "new" yet (in TopMemoryContext, reused).
int command_first = 0;
int command_scanned = 0;
int *created = nullptr;
int created_count = 0;
int created_capacity = 0;

// Looks at the command's changes recorded since the last look: an expired row taken over (or expired)
// is reported at once ("expired"), an inserted row remembered for its "new".  A rolled-back
// subtransaction may have cut the log's tail: what it recorded is forgotten.
void
ScanCommandChanges()
{
	int count = 0;
	const capture::Change *changes = capture::PendingChanges(&count);
	if (command_scanned > count) {
		command_scanned = Max(count, command_first);
		int kept = 0;
		for (int i = 0; i < created_count; i++)
			if (created[i] < count)
				created[kept++] = created[i];
		created_count = kept;
	}
	for (; command_scanned < count; command_scanned++) {
		const capture::Change &change = changes[command_scanned];
		if (change.key_isnull)
			continue;
		if (change.op == capture::ChangeOp::Expire) {
			char *db = KeyspaceDb(change.relid);
			const char *key;
			size_t key_len;
			if (db == nullptr)
				continue;
			KeyBytes(change, &key, &key_len);
			NotifyKeyspaceEvent(kNotifyExpired, "expired", db, strlen(db), key, key_len, change.relid);
		} else if (change.op == capture::ChangeOp::Insert) {
			if (created_count == created_capacity) {
				created_capacity = created_capacity == 0 ? 16 : created_capacity * 2;
				created = static_cast<int *>(created == nullptr
				                                 ? MemoryContextAlloc(TopMemoryContext, sizeof(int) * created_capacity)
				                                 : repalloc(created, sizeof(int) * created_capacity));
			}
			created[created_count++] = command_scanned;
		}
	}
}

// Removes and returns whether the command inserted key's row in relid (and no event reported it yet).
bool
TakeCreated(Oid relid, const char *key, size_t key_len)
{
	int count = 0;
	const capture::Change *changes = capture::PendingChanges(&count);
	for (int i = 0; i < created_count; i++) {
		const capture::Change &change = changes[created[i]];
		if (change.relid != relid)
			continue;
		const char *bytes;
		size_t len;
		KeyBytes(change, &bytes, &len);
		if (len == key_len && memcmp(bytes, key, len) == 0) {
			created[i] = created[--created_count];
			return true;
		}
	}
	return false;
}

// Capture consumer, PRE_COMMIT: SQL writers' changes as set / del / expired (queued for commit).
void
CapturePreCommit(const capture::Change *changes, int count)
{
	if (count == 0 || !from_capture)
		return;
	uint32_t flags = KeyspaceFlags();
	if ((flags & (kNotifyKeyspace | kNotifyKeyevent)) == 0 ||
	    (flags & (kNotifyString | kNotifyGeneric | kNotifyExpired | kNotifyNew)) == 0 || !AnyListeners())
		return;
	Oid last_relid = InvalidOid;
	char *db = nullptr;
	for (int i = 0; i < count; i++) {
		const capture::Change &change = changes[i];
		uint32_t type;
		const char *event;
		switch (change.op) {
		case capture::ChangeOp::Insert:
		case capture::ChangeOp::Update:
			type = kNotifyString;
			event = "set";
			break;
		case capture::ChangeOp::Delete:
			type = kNotifyGeneric;
			event = "del";
			break;
		case capture::ChangeOp::Expire:
			type = kNotifyExpired;
			event = "expired";
			break;
		default:
			continue; // TRUNCATE: no key (Redis's FLUSHDB has no notification either)
		}
		bool created = change.op == capture::ChangeOp::Insert && (flags & kNotifyNew) != 0;
		if (((flags & type) == 0 && !created) || change.key_isnull)
			continue;
		if (change.relid != last_relid) {
			last_relid = change.relid;
			db = KeyspaceDb(change.relid);
		}
		if (db == nullptr)
			continue;
		const char *key;
		size_t key_len;
		KeyBytes(change, &key, &key_len);
		if (created) // Redis's dbAdd reports "new" before the command's own event
			NotifyKeyspaceEvent(kNotifyNew, "new", db, strlen(db), key, key_len, change.relid);
		NotifyKeyspaceEvent(type, event, db, strlen(db), key, key_len, change.relid);
	}
}

} // namespace

bool
ParseKeyspaceFlags(const char *text, size_t len, uint32_t *flags)
{
	uint32_t result = 0;
	for (size_t i = 0; i < len; i++) {
		switch (text[i]) {
		case 'A':
			result |= kNotifyAll;
			break;
		case 'g':
			result |= kNotifyGeneric;
			break;
		case '$':
			result |= kNotifyString;
			break;
		case 'l':
			result |= kNotifyList;
			break;
		case 's':
			result |= kNotifySet;
			break;
		case 'h':
			result |= kNotifyHash;
			break;
		case 'z':
			result |= kNotifyZset;
			break;
		case 'x':
			result |= kNotifyExpired;
			break;
		case 'e':
			result |= kNotifyEvicted;
			break;
		case 'K':
			result |= kNotifyKeyspace;
			break;
		case 'E':
			result |= kNotifyKeyevent;
			break;
		case 't':
			result |= kNotifyStream;
			break;
		case 'm':
			result |= kNotifyKeyMiss;
			break;
		case 'd':
			result |= kNotifyModule;
			break;
		case 'n':
			result |= kNotifyNew;
			break;
		default:
			return false;
		}
	}
	*flags = result;
	return true;
}

size_t
KeyspaceFlagsToString(uint32_t flags, char *buf)
{
	size_t n = 0;
	// Redis 7.0's order; "n" only shows without "A".
	if ((flags & kNotifyAll) == kNotifyAll)
		buf[n++] = 'A';
	else {
		static const std::pair<uint32_t, char> kLetters[] = {
		    {kNotifyGeneric, 'g'}, {kNotifyString, '$'}, {kNotifyList, 'l'},    {kNotifySet, 's'},
		    {kNotifyHash, 'h'},    {kNotifyZset, 'z'},   {kNotifyExpired, 'x'}, {kNotifyEvicted, 'e'},
		    {kNotifyStream, 't'},  {kNotifyModule, 'd'}, {kNotifyNew, 'n'}};
		for (const auto &letter : kLetters)
			if (flags & letter.first)
				buf[n++] = letter.second;
	}
	if (flags & kNotifyKeyspace)
		buf[n++] = 'K';
	if (flags & kNotifyKeyevent)
		buf[n++] = 'E';
	if (flags & kNotifyKeyMiss)
		buf[n++] = 'm';
	buf[n] = '\0';
	return n;
}

uint32_t
KeyspaceFlags()
{
	uint32_t parameter = ParameterFlags();
	if (state == nullptr)
		return parameter;
	uint64 word = pg_atomic_read_u64(&state->word);
	if ((word & kOverrideSet) && ((word >> 16) & 0xFFFF) == parameter)
		return static_cast<uint32_t>(word & 0xFFFF);
	return parameter;
}

void
SetKeyspaceFlags(uint32_t flags)
{
	if (state == nullptr)
		return;
	pg_atomic_write_u64(&state->word, kOverrideSet | static_cast<uint64>(ParameterFlags()) << 16 | (flags & 0xFFFF));
}

bool
KeyspaceWanted(uint32_t type)
{
	uint32_t flags = KeyspaceFlags();
	return (flags & type) != 0 && (flags & (kNotifyKeyspace | kNotifyKeyevent)) != 0;
}

void
NotifyKeyspaceEvent(uint32_t type, const char *event, const char *db, size_t db_len, const char *key, size_t key_len,
                    unsigned int relid)
{
	uint32_t flags = KeyspaceFlags();
	if ((flags & type) == 0 || !AnyListeners())
		return;
	size_t event_len = strlen(event);
	if (flags & kNotifyKeyspace)
		Queue("__keyspace@", db, db_len, key, key_len, event, event_len, relid);
	if (flags & kNotifyKeyevent)
		Queue("__keyevent@", db, db_len, event, event_len, key, key_len, relid);
}

void
KeyspaceCommandBegin()
{
	command_first = command_scanned = capture::PendingChangeCount();
	created_count = 0;
}

void
NotifyCommandEvent(unsigned int relid, uint32_t type, const char *event, const char *key, size_t key_len)
{
	ScanCommandChanges();
	char *db = KeyspaceDb(relid);
	if (db == nullptr)
		return;
	size_t db_len = strlen(db);
	// A command that reports "new" itself (RENAME, COPY: Redis adds the destination anew even over an
	// existing key) takes the place of the inserted row's.
	if (TakeCreated(relid, key, key_len) && type != kNotifyNew)
		NotifyKeyspaceEvent(kNotifyNew, "new", db, db_len, key, key_len, relid);
	NotifyKeyspaceEvent(type, event, db, db_len, key, key_len, relid);
}

void
KeyspaceCommandEnd()
{
	if (capture::PendingChangeCount() > command_scanned &&
	    (KeyspaceFlags() & (kNotifyKeyspace | kNotifyKeyevent)) != 0 && AnyListeners())
		ScanCommandChanges();
	created_count = 0;
}

char *
KeyspaceDb(unsigned int relid)
{
	char *name = get_rel_name(relid);
	if (name == nullptr)
		return nullptr;
	// kv_db<n> (RESP's SELECT n): the index, as Redis's database number.
	const char *digits = name + 5;
	if (strncmp(name, "kv_db", 5) == 0 && digits[0] != '\0' && strspn(digits, "0123456789") == strlen(digits) &&
	    (digits[0] != '0' || digits[1] == '\0'))
		return pstrdup(digits);
	return CollectionChannel(relid);
}

void
SetKeyspaceFromCapture(bool on)
{
	from_capture = on;
}

void
RegisterKeyspace()
{
	(void)shmem::Register({"nodedb_kv keyspace", StateSize, StateInit, 0, false});
	capture::RegisterConsumer({"keyspace", nullptr, CapturePreCommit, nullptr, nullptr});
}

} // namespace nodedb_kv::pubsub
