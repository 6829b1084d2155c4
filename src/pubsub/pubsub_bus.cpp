// The pub/sub bus in fixed shared memory (pubsub_bus.hpp; design notes in src/pubsub/README.md).
// Layout: a header (ring positions, counters, worker slots), the subscription table (open addressing
// with tombstones, names inline, counts per worker slot) with a compact list of its pattern entries,
// then the ring.  Lock order: the table lock (1) is never held while taking the ring lock (0) and the
// reverse; Append takes the ring lock only.  Nothing here allocates or raises an error after start-up,
// so publishing from a COMMIT callback is safe (PG15-PITFALLS §7).
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/pubsub/pubsub_glob.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/shmem/shmem.hpp"

namespace nodedb_kv::pubsub {
namespace {

constexpr int kRingLock = 0;
constexpr int kTableLock = 1;
constexpr uint32 kTableSize = 4096;   // channels + patterns with subscribers at once
constexpr uint32 kMaxPatterns = 1024; // distinct patterns with subscribers at once
constexpr uint32 kSkip = 0xFFFFFFFFu; // channel_len of the filler record at the ring's end
constexpr size_t kAlign = 16;

enum EntryState : uint8 { kEmpty = 0, kUsed = 1, kTombstone = 2 };

struct Slot {
	pg_atomic_uint32 pid;   // 0: free
	pg_atomic_uint32 woken; // a publisher signalled since the worker last cleared it
	pg_atomic_uint32 subs;  // subscriptions (channel or pattern, per client) held by the worker
};

struct Entry {
	uint8 state;
	bool pattern;
	uint16 len;
	uint32 hash;
	int32 total;
	int32 counts[kMaxWorkers];
	char name[kMaxNameLen + 1];
};

struct Header {
	// Ring, under the ring lock.  Positions grow forever; the byte is at position % capacity.
	uint64 head;
	uint64 tail;
	uint64 seq_head; // sequence number of the next message
	uint64 seq_tail; // sequence number of the oldest message still in the ring
	uint64 capacity;
	pg_atomic_uint64 published;
	pg_atomic_uint64 dropped_clients;
	pg_atomic_uint64 lost;
	pg_atomic_uint64 wake_signals; // SIGUSR2 sent to workers (kv_pubsub_stats: tests count wake-ups)
	pg_atomic_uint32 total_subs;   // every subscription of every worker: 0 = nobody listens at all
	uint32 pattern_count;          // under the table lock
	uint32 patterns[kMaxPatterns];
	Slot slots[kMaxWorkers];
};

// What precedes a message's bytes in the ring; the bytes are the collection's relid (4 bytes, 0 for a
// message that carries no collection's data), the channel and the payload.
struct RecordHeader {
	uint64 seq;
	uint32 channel_len; // kSkip: filler up to the ring's end
	uint32 payload_len;
};
static_assert(sizeof(RecordHeader) == 16, "record header layout");
constexpr size_t kRelidBytes = sizeof(uint32);

shmem::AreaId area = -1;
Header *header = nullptr;
Entry *table = nullptr;
char *ring = nullptr;

size_t
AlignUp(size_t n)
{
	return (n + kAlign - 1) & ~(kAlign - 1);
}

size_t
RingBytes()
{
	return static_cast<size_t>(guc::pubsub_memory_kb) * 1024 & ~(kAlign - 1);
}

size_t
BusSize()
{
	return AlignUp(sizeof(Header)) + AlignUp(sizeof(Entry) * kTableSize) + RingBytes();
}

void
BusInit(void *base, bool found)
{
	char *p = static_cast<char *>(base);
	header = reinterpret_cast<Header *>(p);
	table = reinterpret_cast<Entry *>(p + AlignUp(sizeof(Header)));
	ring = p + AlignUp(sizeof(Header)) + AlignUp(sizeof(Entry) * kTableSize);
	if (found)
		return;
	header->capacity = RingBytes();
	pg_atomic_init_u64(&header->published, 0);
	pg_atomic_init_u64(&header->dropped_clients, 0);
	pg_atomic_init_u64(&header->lost, 0);
	pg_atomic_init_u64(&header->wake_signals, 0);
	pg_atomic_init_u32(&header->total_subs, 0);
	for (Slot &slot : header->slots) {
		pg_atomic_init_u32(&slot.pid, 0);
		pg_atomic_init_u32(&slot.woken, 0);
		pg_atomic_init_u32(&slot.subs, 0);
	}
}

LWLock *
Lock(int which)
{
	return shmem::Lock(area, which);
}

RecordHeader *
RecordAt(uint64 position)
{
	return reinterpret_cast<RecordHeader *>(ring + position % header->capacity);
}

size_t
RecordSize(const RecordHeader *record)
{
	return record->channel_len == kSkip
	           ? sizeof(RecordHeader) + record->payload_len
	           : AlignUp(sizeof(RecordHeader) + kRelidBytes + record->channel_len + record->payload_len);
}

// Drops the oldest records until need more bytes fit.  Ring lock held exclusively.
void
MakeRoom(size_t need)
{
	while (header->head + need - header->tail > header->capacity) {
		RecordHeader *oldest = RecordAt(header->tail);
		if (oldest->channel_len != kSkip)
			header->seq_tail = oldest->seq + 1;
		header->tail += RecordSize(oldest);
	}
}

uint32
HashName(bool pattern, const char *name, size_t len)
{
	return hash_bytes(reinterpret_cast<const unsigned char *>(name), static_cast<int>(len)) ^
	       (pattern ? 0x9e3779b9u : 0);
}

// The used entry for (pattern, name), or -1.  Table lock held.
int
FindEntry(bool pattern, const char *name, size_t len, uint32 hash)
{
	for (uint32 i = 0; i < kTableSize; i++) {
		uint32 at = (hash + i) % kTableSize;
		const Entry &e = table[at];
		if (e.state == kEmpty)
			return -1;
		if (e.state == kUsed && e.hash == hash && e.pattern == pattern && e.len == len &&
		    memcmp(e.name, name, len) == 0)
			return static_cast<int>(at);
	}
	return -1;
}

// Makes a used entry free again: a tombstone, or empty when the probe chain ends behind it.  Table lock
// held exclusively.
void
FreeEntry(uint32 at)
{
	Entry &e = table[at];
	if (e.pattern) {
		for (uint32 i = 0; i < header->pattern_count; i++) {
			if (header->patterns[i] == at) {
				header->patterns[i] = header->patterns[--header->pattern_count];
				break;
			}
		}
	}
	e.state = kTombstone;
	if (table[(at + 1) % kTableSize].state != kEmpty)
		return;
	// Nothing probes past an empty slot: trailing tombstones can become empty.
	uint32 i = at;
	while (table[i].state == kTombstone) {
		table[i].state = kEmpty;
		i = (i + kTableSize - 1) % kTableSize;
	}
}

// Sum of the subscribers that a message on channel reaches.  Table lock held (shared is enough).
int64
CountReceivers(const char *channel, size_t len)
{
	int64 count = 0;
	int at = FindEntry(false, channel, len, HashName(false, channel, len));
	if (at >= 0)
		count += table[at].total;
	for (uint32 i = 0; i < header->pattern_count; i++) {
		const Entry &e = table[header->patterns[i]];
		if (GlobMatch(e.name, e.len, channel, len))
			count += e.total;
	}
	return count;
}

// HoldWakes/ReleaseWakes (this process): appends while held wake the readers once, at the release.
int hold_wakes = 0;
bool wake_pending = false;

// The worker slot this process reads (AttachWorker), -1 in other processes.  A RESP worker reads the bus
// after every loop turn, so what its own turns publish needs no signal to itself (a kill, the handler's
// pipe write, a loop wake-up and an extra tick per turn).
int own_slot = -1;

// Signals the worker of slot i unless it is this process or was signalled since it last read.
void
Signal(int i)
{
	Slot &slot = header->slots[i];
	uint32 pid = pg_atomic_read_u32(&slot.pid);
	if (pid == 0 || i == own_slot || pg_atomic_exchange_u32(&slot.woken, 1) != 0)
		return;
	pg_atomic_fetch_add_u64(&header->wake_signals, 1);
	(void)kill(static_cast<pid_t>(pid), SIGUSR2);
}

// Wakes the workers that serve subscribers; one signal until the worker has read.
void
WakeReaders()
{
	for (int i = 0; i < kMaxWorkers; i++)
		if (pg_atomic_read_u32(&header->slots[i].subs) > 0)
			Signal(i);
}

// Maps the whole ring into this process's page tables at once (the first caller also allocates its
// pages).  Otherwise, until the ring has wrapped once, every 4 kB of messages costs the publishing
// process and each reader a page fault (and the first one a page clear): a tenth of a worker's CPU in a
// one-subscriber fan-out on a fresh server.  Best effort: without MADV_POPULATE_WRITE (Linux < 5.14) the
// pages fault in as they are used.
void
PrefaultRing()
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
	uintptr_t start = reinterpret_cast<uintptr_t>(ring) & ~(page - 1);
	uintptr_t end = (reinterpret_cast<uintptr_t>(ring) + header->capacity + page - 1) & ~(page - 1);
	(void)madvise(reinterpret_cast<void *>(start), end - start, MADV_POPULATE_WRITE);
#endif
}

} // namespace

void
RegisterBus()
{
	area = shmem::Register({"nodedb_kv pubsub", BusSize, BusInit, 2, false});
}

size_t
MaxMessageBytes()
{
	// (A record also holds its header and relid: at most 4 + 16 + 15 bytes more, which Read's buffer allows.)
	return header == nullptr ? 0 : header->capacity / 4 - sizeof(RecordHeader);
}

bool
Append(const char *channel, size_t channel_len, const char *payload, size_t payload_len, uint32_t relid)
{
	if (channel_len + payload_len > MaxMessageBytes())
		return false;
	size_t need = AlignUp(sizeof(RecordHeader) + kRelidBytes + channel_len + payload_len);
	LWLockAcquire(Lock(kRingLock), LW_EXCLUSIVE);
	size_t room = header->capacity - header->head % header->capacity;
	if (room < need) {
		MakeRoom(room);
		RecordHeader *filler = RecordAt(header->head);
		filler->seq = 0;
		filler->channel_len = kSkip;
		filler->payload_len = static_cast<uint32>(room - sizeof(RecordHeader));
		header->head += room;
	}
	MakeRoom(need);
	RecordHeader *record = RecordAt(header->head);
	record->seq = header->seq_head++;
	record->channel_len = static_cast<uint32>(channel_len);
	record->payload_len = static_cast<uint32>(payload_len);
	char *bytes = reinterpret_cast<char *>(record + 1);
	memcpy(bytes, &relid, kRelidBytes);
	bytes += kRelidBytes;
	memcpy(bytes, channel, channel_len);
	memcpy(bytes + channel_len, payload, payload_len);
	header->head += need;
	LWLockRelease(Lock(kRingLock));
	pg_atomic_fetch_add_u64(&header->published, 1);
	if (hold_wakes > 0)
		wake_pending = true;
	else
		WakeReaders();
	return true;
}

void
HoldWakes()
{
	hold_wakes++;
}

void
ReleaseWakes()
{
	if (hold_wakes > 0 && --hold_wakes == 0 && wake_pending) {
		wake_pending = false;
		WakeReaders();
	}
}

int64_t
Receivers(const char *channel, size_t channel_len)
{
	if (pg_atomic_read_u32(&header->total_subs) == 0)
		return 0;
	LWLockAcquire(Lock(kTableLock), LW_SHARED);
	int64 count = CountReceivers(channel, channel_len);
	LWLockRelease(Lock(kTableLock));
	return count;
}

bool
AnyListeners()
{
	return pg_atomic_read_u32(&header->total_subs) > 0;
}

bool
HasListeners(const char *channel, size_t channel_len)
{
	return Receivers(channel, channel_len) > 0;
}

bool
AddSubscription(int worker, bool pattern, const char *name, size_t name_len, int delta)
{
	if (name_len > kMaxNameLen || worker < 0 || worker >= kMaxWorkers || delta == 0)
		return false;
	uint32 hash = HashName(pattern, name, name_len);
	bool done = false;
	LWLockAcquire(Lock(kTableLock), LW_EXCLUSIVE);
	int at = FindEntry(pattern, name, name_len, hash);
	if (at < 0 && delta > 0 && (!pattern || header->pattern_count < kMaxPatterns)) {
		for (uint32 i = 0; i < kTableSize; i++) {
			uint32 probe = (hash + i) % kTableSize;
			if (table[probe].state != kUsed) {
				Entry &e = table[probe];
				e.state = kUsed;
				e.pattern = pattern;
				e.len = static_cast<uint16>(name_len);
				e.hash = hash;
				e.total = 0;
				memset(e.counts, 0, sizeof(e.counts));
				memcpy(e.name, name, name_len);
				e.name[name_len] = '\0';
				if (pattern)
					header->patterns[header->pattern_count++] = probe;
				at = static_cast<int>(probe);
				break;
			}
		}
	}
	if (at >= 0) {
		Entry &e = table[at];
		int applied = delta < 0 && -delta > e.counts[worker] ? -e.counts[worker] : delta;
		e.counts[worker] += applied;
		e.total += applied;
		pg_atomic_fetch_add_u32(&header->slots[worker].subs, applied);
		pg_atomic_fetch_add_u32(&header->total_subs, applied);
		if (e.total <= 0)
			FreeEntry(static_cast<uint32>(at));
		done = true;
	}
	LWLockRelease(Lock(kTableLock));
	return done;
}

int64_t
NumSub(const char *name, size_t name_len)
{
	LWLockAcquire(Lock(kTableLock), LW_SHARED);
	int at = FindEntry(false, name, name_len, HashName(false, name, name_len));
	int64 count = at >= 0 ? table[at].total : 0;
	LWLockRelease(Lock(kTableLock));
	return count;
}

int64_t
NumPat()
{
	LWLockAcquire(Lock(kTableLock), LW_SHARED);
	int64 count = header->pattern_count;
	LWLockRelease(Lock(kTableLock));
	return count;
}

void
ForEachChannel(const char *pattern, size_t pattern_len, void (*fn)(void *arg, const char *name, size_t len), void *arg)
{
	LWLockAcquire(Lock(kTableLock), LW_SHARED);
	for (uint32 i = 0; i < kTableSize; i++) {
		const Entry &e = table[i];
		if (e.state == kUsed && !e.pattern && (pattern == nullptr || GlobMatch(pattern, pattern_len, e.name, e.len)))
			fn(arg, e.name, e.len);
	}
	LWLockRelease(Lock(kTableLock));
}

void
AttachWorker(int worker, int pid)
{
	DetachWorker(worker);
	pg_atomic_write_u32(&header->slots[worker].woken, 0);
	pg_atomic_write_u32(&header->slots[worker].pid, static_cast<uint32>(pid));
	if (pid == MyProcPid) {
		own_slot = worker;
		PrefaultRing();
	}
}

void
DetachWorker(int worker)
{
	LWLockAcquire(Lock(kTableLock), LW_EXCLUSIVE);
	for (uint32 i = 0; i < kTableSize; i++) {
		Entry &e = table[i];
		if (e.state != kUsed || e.counts[worker] == 0)
			continue;
		pg_atomic_fetch_sub_u32(&header->total_subs, e.counts[worker]);
		e.total -= e.counts[worker];
		e.counts[worker] = 0;
		if (e.total <= 0)
			FreeEntry(i);
	}
	pg_atomic_write_u32(&header->slots[worker].subs, 0);
	pg_atomic_write_u32(&header->slots[worker].pid, 0);
	LWLockRelease(Lock(kTableLock));
	if (own_slot == worker)
		own_slot = -1;
}

Cursor
Head()
{
	LWLockAcquire(Lock(kRingLock), LW_SHARED);
	Cursor cursor = {header->head, header->seq_head};
	LWLockRelease(Lock(kRingLock));
	return cursor;
}

void
WakeWorker(int worker)
{
	if (worker >= 0 && worker < kMaxWorkers)
		Signal(worker);
}

void
ClearWake(int worker)
{
	pg_atomic_write_u32(&header->slots[worker].woken, 0);
	pg_memory_barrier();
}

size_t
Read(Cursor *cursor, char *buf, size_t buf_len, uint64_t *lost)
{
	size_t copied = 0;
	LWLockAcquire(Lock(kRingLock), LW_SHARED);
	if (cursor->position < header->tail) {
		*lost += header->seq_tail - cursor->seq;
		cursor->position = header->tail;
		cursor->seq = header->seq_tail;
	}
	while (cursor->position < header->head) {
		const RecordHeader *record = RecordAt(cursor->position);
		size_t size = RecordSize(record);
		if (record->channel_len == kSkip) {
			cursor->position += size;
			continue;
		}
		if (copied + size > buf_len)
			break;
		memcpy(buf + copied, record, size);
		copied += size;
		cursor->position += size;
		cursor->seq = record->seq + 1;
	}
	LWLockRelease(Lock(kRingLock));
	return copied;
}

bool
NextRecord(const char *buf, size_t len, size_t *offset, const char **channel, size_t *channel_len, const char **payload,
           size_t *payload_len, uint32_t *relid)
{
	if (*offset + sizeof(RecordHeader) > len)
		return false;
	RecordHeader record;
	memcpy(&record, buf + *offset, sizeof(record));
	memcpy(relid, buf + *offset + sizeof(RecordHeader), kRelidBytes);
	*channel = buf + *offset + sizeof(RecordHeader) + kRelidBytes;
	*channel_len = record.channel_len;
	*payload = *channel + record.channel_len;
	*payload_len = record.payload_len;
	*offset += AlignUp(sizeof(RecordHeader) + kRelidBytes + record.channel_len + record.payload_len);
	return true;
}

BusStats
Stats()
{
	BusStats stats = {};
	if (header == nullptr)
		return stats;
	stats.published = pg_atomic_read_u64(&header->published);
	stats.bytes_capacity = header->capacity;
	stats.dropped_clients = pg_atomic_read_u64(&header->dropped_clients);
	stats.lost_messages = pg_atomic_read_u64(&header->lost);
	stats.subscriptions = pg_atomic_read_u32(&header->total_subs);
	stats.wake_signals = pg_atomic_read_u64(&header->wake_signals);
	return stats;
}

void
CountDroppedClient()
{
	pg_atomic_fetch_add_u64(&header->dropped_clients, 1);
}

void
CountLost(uint64_t n)
{
	pg_atomic_fetch_add_u64(&header->lost, n);
}

} // namespace nodedb_kv::pubsub
