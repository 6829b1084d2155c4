#pragma once
// The client registry: every RESP worker's connections in shared memory, so CLIENT LIST / INFO / KILL
// and CLIENT TRACKING ... REDIRECT see the clients of every worker (Redis has one process; we have
// nodedb_kv.resp_workers).  A fixed area of resp_max_clients slots per worker (sized at server start):
// each worker writes only its own slots (on connect, after each of its loop turns, on close) and reads
// everyone's.  A kill asked by another worker is a flag on the target's slot plus a wake-up: the
// target's own worker closes it.
// Declarations are PG-free; the CLIENT LIST line, the client types and the CLIENT KILL / LIST filters
// are pure C++ (resp_clientlist.cpp, unit-tested), the shared area is PG-native (resp_clients.cpp).
#ifdef POSTGRES_H
static_assert(false, "resp_clients.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nodedb_kv::resp {

struct Session;

// What CLIENT LIST shows of one client: plain data, copied into and out of shared memory.  Strings are
// NUL-terminated and cut to their array (a longer client name shows its first 127 bytes to the clients
// of other workers; its own worker shows it whole).
struct ClientInfo {
	uint64_t id;
	int32_t worker;
	uint32_t role;      // role OID the client runs as (0: none yet)
	int64_t created_ms; // monotonic milliseconds (CLOCK_MONOTONIC: the same clock in every process)
	int64_t last_ms;    // last command
	int64_t db;         // SELECT index (-1: a named collection)
	int32_t fd;
	int32_t sub, psub;
	int32_t multi;  // commands queued by MULTI, -1 outside MULTI
	int64_t redir;  // tracking redirect: -1 tracking off, 0 none
	uint64_t qbuf;  // request bytes buffered
	uint64_t omem;  // reply bytes not sent
	uint8_t resp;   // 2 or 3
	char flags[16]; // Redis's flag letters ("N" when none)
	char addr[64];  // peer "ip:port"
	char laddr[64]; // local "ip:port"
	char name[128]; // CLIENT SETNAME
	char user[64];  // role name ("default" before AUTH)
	char cmd[48];   // last command, "client|list" form
	char lib_name[64];
	char lib_ver[64];
};

// The connection-level facts a Session does not hold.
struct ConnFacts {
	int32_t fd = -1;
	int64_t last_ms = 0;
	uint64_t qbuf = 0;
	uint64_t omem = 0;
	std::string laddr;
};

// Monotonic milliseconds (steady clock: CLOCK_MONOTONIC, the same in every process; Server::NowMs).
int64_t MonotonicMs();

// Fills info from a session and its connection (worker: the slot's worker index).
void DescribeClient(const Session &s, const ConnFacts &conn, int worker, ClientInfo *info);
// One CLIENT LIST line (without the newline) in Redis 7's field order, lib-name/lib-ver last as in 7.2.
std::string FormatClientLine(const ClientInfo &info, int64_t now_ms);
// Copies s into a fixed array, cut to fit (always NUL-terminated).
template <size_t N>
void
CopyField(char (&dst)[N], std::string_view s)
{
	size_t n = s.size() < N - 1 ? s.size() : N - 1;
	s.copy(dst, n);
	dst[n] = '\0';
}

// Redis's client types (getClientTypeByName).  Unknown: -1.
enum class ClientType { Normal, Replica, PubSub, Master };
bool ParseClientType(std::string_view name, ClientType *type);
ClientType TypeOfClient(const ClientInfo &info);

// CLIENT KILL's filters (Redis 7.0's new form; the old form is addr alone with skipme off).
struct ClientFilter {
	bool old_form = false;
	uint64_t id = 0; // 0: any
	bool has_type = false;
	ClientType type = ClientType::Normal;
	std::string addr, laddr, user; // "": any
	bool has_user = false;
	bool skipme = true;
};

// Parses CLIENT KILL's arguments (argv[0] "client", argv[1] "kill").  False with *error (Redis's reply
// text, without the leading '-') when they are invalid.
bool ParseKillFilter(const std::vector<std::string> &argv, ClientFilter *filter, std::string *error);
// Whether info matches the filter; self: the id of the client asking.
bool ClientMatches(const ClientFilter &filter, const ClientInfo &info, uint64_t self);

// ---- The shared area (resp_clients.cpp, PG-native).  None of these errors or allocates. ----

// Registers the area (resp_max_clients x resp_workers slots).  Only from _PG_init.
void RegisterClientRegistry();
// A free slot of worker `worker` for a new connection, or -1 when its share is full (the client is then
// served but not listed by other workers).
int RegistryAcquire(int worker);
// Publishes the client's current facts into its slot.
void RegistryPublish(int slot, const ClientInfo &info);
// The connection closed: the slot is free again (a pending kill flag is dropped).
void RegistryRelease(int slot);
// Every worker's slots on start of worker `worker` (a restarted worker's old clients are gone).
void RegistryResetWorker(int worker);
// Calls fn(arg, info) for every registered client (a copy, taken under the slot's spinlock).
void RegistryForEach(void (*fn)(void *arg, const ClientInfo &info), void *arg);
// Whether a client with this id is registered (any worker).
bool RegistryExists(uint64_t id);
// Asks the worker of client id to close it (true if it was registered).  The caller wakes that worker.
bool RegistryRequestKill(uint64_t id, int worker);
// Calls fn(arg, id) for every client of worker `worker` another worker asked to kill (the flags are
// cleared).  Cheap when there are none (one atomic read).
void RegistryTakeKills(int worker, void (*fn)(void *arg, uint64_t id), void *arg);

} // namespace nodedb_kv::resp
