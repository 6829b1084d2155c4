#pragma once
// Redis keyspace notifications (notify-keyspace-events, Redis 7.0 notify.c): for an event of a class the
// flags enable, "__keyspace@<db>__:<key>" gets the event name and "__keyevent@<db>__:<event>" gets the
// key, queued for the bus when the writing transaction commits (never on rollback).  <db> is the index n
// for kv_db<n> and the collection's change channel name otherwise (`sessions`, `schema.table`).
// Two sources: RESP commands report Redis's own event names (set, incrby, hset, zadd, expire, ...); every
// other writer (SQL, KV_* functions, the expiry worker) is reported from change capture at commit:
// insert and update are "set", delete is "del", the expiry worker's delete is "expired", TRUNCATE none.
// The flags: nodedb_kv.notify_keyspace_events, or the value CONFIG SET notify-keyspace-events put in
// shared memory (for every process, until the parameter itself changes).  PG-free declarations.
// Design notes: src/pubsub/README.md.
#ifdef POSTGRES_H
static_assert(false, "pubsub_keyspace.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>

namespace nodedb_kv::pubsub {

// Event classes and the two channel kinds (Redis's NOTIFY_* flags and their letters).
enum KeyspaceClass : uint32_t {
	kNotifyKeyspace = 1u << 0, // K
	kNotifyKeyevent = 1u << 1, // E
	kNotifyGeneric = 1u << 2,  // g: del, expire, rename, persist, ...
	kNotifyString = 1u << 3,   // $
	kNotifyList = 1u << 4,     // l
	kNotifySet = 1u << 5,      // s
	kNotifyHash = 1u << 6,     // h
	kNotifyZset = 1u << 7,     // z
	kNotifyExpired = 1u << 8,  // x
	kNotifyEvicted = 1u << 9,  // e
	kNotifyStream = 1u << 10,  // t
	kNotifyKeyMiss = 1u << 11, // m (not in A)
	kNotifyModule = 1u << 12,  // d
	kNotifyNew = 1u << 13,     // n (not in A)
};
// "A": every class but m and n.
constexpr uint32_t kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet | kNotifyHash | kNotifyZset |
                                kNotifyExpired | kNotifyEvicted | kNotifyStream | kNotifyModule;

// Redis's keyspaceEventsStringToFlags: false on a letter outside "Ag$lshzxeKEtmdn".
bool ParseKeyspaceFlags(const char *text, size_t len, uint32_t *flags);

// Redis's keyspaceEventsFlagsToString (CONFIG GET's form, e.g. "AKE") into buf (at least 32 bytes,
// NUL-terminated); returns its length.
size_t KeyspaceFlagsToString(uint32_t flags, char *buf);

// The flags in force now.  Never errors; a few atomic reads.
uint32_t KeyspaceFlags();

// CONFIG SET notify-keyspace-events: flags for every process, until nodedb_kv.notify_keyspace_events
// changes (or the server restarts).
void SetKeyspaceFlags(uint32_t flags);

// Whether an event of class type is published now (its class and K or E enabled).
bool KeyspaceWanted(uint32_t type);

// Redis's notifyKeyspaceEvent: queues the keyspace and/or keyevent message of one event for commit, if
// the flags want it and someone listens to the channel.  db: "0" or a collection's channel name (see
// KeyspaceDb) of relid, the collection (only its readers receive the messages).  PG-native: call inside a
// transaction; may ERROR (out of memory).
void NotifyKeyspaceEvent(uint32_t type, const char *event, const char *db, size_t db_len, const char *key,
                         size_t key_len, unsigned int relid);

// A RESP command's events (the RESP worker reports its commands' events itself; see
// SetKeyspaceFromCapture).  KeyspaceCommandBegin marks where the command's changes start in change
// capture's log.  NotifyCommandEvent reports one event of the command on key of relid as Redis does:
// first "expired" for every key the command's writes took over from an expired row since the last call
// (Redis's lazy expiry in lookupKeyWrite), then "new" if the command inserted key's row (Redis's dbAdd;
// class n; an event of class n itself replaces that "new"), then the event itself.  KeyspaceCommandEnd reports the
// "expired" events left (rows the command expired without an event of its own).  PG-native: inside the command's
// transaction; may ERROR.
void KeyspaceCommandBegin();
void NotifyCommandEvent(unsigned int relid, uint32_t type, const char *event, const char *key, size_t key_len);
void KeyspaceCommandEnd();

// The <db> of relid's notifications (palloc'd), or nullptr when relid names no relation.
char *KeyspaceDb(unsigned int relid);

// The RESP worker reports its commands' events itself: it turns the capture source off for its process.
void SetKeyspaceFromCapture(bool on);

// Registers the shared flags and the capture consumer.  Called once from _PG_init.
void RegisterKeyspace();

} // namespace nodedb_kv::pubsub
