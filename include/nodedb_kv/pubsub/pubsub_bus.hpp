#pragma once
// The pub/sub bus: fixed shared memory (nodedb_kv.pubsub_memory) shared by every RESP worker and every
// backend.  A byte ring of messages (channel, payload) appended under one LWLock, so messages of one
// publisher stay in publish order; each RESP worker reads the ring from its own position, and a reader
// that falls a whole ring behind loses the overwritten messages (at most once, as Redis).  A table of
// subscribed channels and patterns with per-worker counts answers PUBLISH's receiver count, PUBSUB and
// "does anyone listen to this channel?" (cheap, for change events).  Publishers wake the workers that
// have subscribers with SIGUSR2 (their handler writes the worker's self-pipe).
// PG-free declarations: the RESP worker and the SQL functions both include it.
// Design notes: src/pubsub/README.md.
#ifdef POSTGRES_H
static_assert(false, "pubsub_bus.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>

namespace nodedb_kv::pubsub {

// Longest channel or pattern name a client may subscribe to (the shared table keeps names inline).
constexpr size_t kMaxNameLen = 255;
// RESP worker slots (nodedb_kv.resp_workers is at most 64).
constexpr int kMaxWorkers = 64;

// Registers the shared-memory area.  Only from _PG_init, before shmem::InstallHooks().
void RegisterBus();

// Largest channel + payload one message may carry (a quarter of the ring).
size_t MaxMessageBytes();

// Appends one message and wakes the workers that have subscribers.  False (nothing published) when it
// is larger than MaxMessageBytes().  relid: the kv collection whose data the message carries (its change
// events and keyspace notifications; 0 for any other message): workers deliver it only to clients that
// may SELECT from it now.  Takes an LWLock, allocates nothing, never errors: safe in a COMMIT callback.
bool Append(const char *channel, size_t channel_len, const char *payload, size_t payload_len, uint32_t relid = 0);

// A transaction's messages are appended one by one; the readers are woken once, after the last
// (HoldWakes before, ReleaseWakes after; nestable, never errors).  Otherwise a reader on another core
// wakes, reads one message and sleeps again for each of them: a signal, a pipe write and a loop turn
// per message.
void HoldWakes();
void ReleaseWakes();

// Clients that would receive a message on channel now: subscribers of the channel plus, per pattern
// that matches it, that pattern's subscribers (Redis's PUBLISH count).  Never errors.
int64_t Receivers(const char *channel, size_t channel_len);

// Whether any client subscribes to anything at all (one atomic read).
bool AnyListeners();

// Whether any client subscribes to channel or to a pattern matching it.  Lock-free fast path when
// nobody subscribes to anything.
bool HasListeners(const char *channel, size_t channel_len);

// Subscription counts of worker slot `worker` change by delta for a channel (pattern false) or a pattern.
// False when the table is full or the name too long (nothing changed).
bool AddSubscription(int worker, bool pattern, const char *name, size_t name_len, int delta);

// PUBSUB NUMSUB of one channel; PUBSUB NUMPAT (distinct patterns with subscribers).
int64_t NumSub(const char *name, size_t name_len);
int64_t NumPat();

// PUBSUB CHANNELS: calls fn(arg, name, len) for every channel with subscribers that matches pattern (all
// channels when pattern is null).  fn runs under the table's lock: it must only copy.
void ForEachChannel(const char *pattern, size_t pattern_len, void (*fn)(void *arg, const char *name, size_t len),
                    void *arg);

// ---- The RESP worker side. ----

// A reader's place in the ring: byte position and the sequence number of the next message.
struct Cursor {
	uint64_t position;
	uint64_t seq;
};

// Claims worker slot `worker` for the calling process (pid) and drops the counts a previous holder of
// the slot left behind.  The worker must read the bus (Read) after each of its own transactions that
// publish: the messages this process appends signal every other reader but never itself.
void AttachWorker(int worker, int pid);

// The end of the ring: a cursor from which only messages published from now on are read.
Cursor Head();

// Releases the slot (worker exit): its counts go away.
void DetachWorker(int worker);

// Wakes the worker of slot `worker` (SIGUSR2) even if it has no subscribers (a record for one of its
// clients was appended); not the calling worker itself (see AttachWorker).  Never errors.
void WakeWorker(int worker);

// Clears the slot's "woken" flag: call before reading, so a publisher after the read signals again.
void ClearWake(int worker);

// Copies whole records from *cursor on into buf (at most buf_len bytes, which must be at least
// MaxMessageBytes() + 64) and advances *cursor past them.  *lost grows by the messages a too slow reader
// lost (overwritten before it read them).  Returns the bytes copied (0: nothing new).  Parse the bytes
// with NextRecord.
size_t Read(Cursor *cursor, char *buf, size_t buf_len, uint64_t *lost);

// The next message in bytes returned by Read, starting at *offset (advanced), with the collection it
// carries the data of (*relid, 0 for none).  False at the end.
bool NextRecord(const char *buf, size_t len, size_t *offset, const char **channel, size_t *channel_len,
                const char **payload, size_t *payload_len, uint32_t *relid);

// Counters for INFO and the kv view.
struct BusStats {
	uint64_t published;       // messages appended
	uint64_t bytes_capacity;  // ring size
	uint64_t dropped_clients; // slow subscribers disconnected (all workers)
	uint64_t lost_messages;   // messages a worker lost by falling a whole ring behind
	uint64_t subscriptions;   // subscriptions (channel or pattern, per client) of all workers now
	uint64_t wake_signals;    // SIGUSR2 wake-ups sent to workers
};
BusStats Stats();
void CountDroppedClient();
void CountLost(uint64_t n);

} // namespace nodedb_kv::pubsub
