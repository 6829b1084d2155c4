// The RESP workers: background workers that run the resp/net loop and execute its turns inside
// PostgreSQL (PG15-PITFALLS §3-§6, §9).  This file registers them, is their entry point (signals, the
// database connection, a short lock_timeout), starts the loop and serves its tick (interrupts, the bus,
// CLIENT KILL/UNBLOCK of other workers, reloads, statistics).  The loop's executor, `Worker`, is
// declared in resp_worker_loop.hpp and defined by concern in resp_worker_*.cpp; a turn is
// resp_worker_turn.cpp.
#include <malloc.h>

#include <string>

#include "nodedb_kv/blocking/blocking.hpp"
#include "nodedb_kv/kv/kv_api.hpp"
#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_clients.hpp"
#include "nodedb_kv/resp/resp_flush.hpp"
#include "nodedb_kv/tracking/tracking_filter.hpp"

#include "nodedb_kv/resp/resp_worker_loop.hpp"

#include "nodedb_kv/pg/pg_worker.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/pubsub/pubsub_access.hpp"
#include "nodedb_kv/resp/resp_worker.hpp"

namespace nodedb_kv::resp {
namespace {

constexpr int kRestartSeconds = 1;
int self_pipe_fd = -1;                       // read end of the worker kit's signal self-pipe
constexpr const char *kLockTimeout = "25ms"; // one attempt at a busy lock; the command is retried later

} // namespace

namespace loop {

int worker_index = 0;
int bcast_clients = 0;
int remote_redirects = 0;
resp::Tracker *worker_tracker = nullptr;

Worker::Worker()
    : command_context_(AllocSetContextCreate(TopMemoryContext, "nodedb_kv RESP command", ALLOCSET_DEFAULT_SIZES)),
      tracker_(MyDatabaseId, tracking::FilterAdd),
      blocker_(worker_index, MyDatabaseId, {blocking::Park, blocking::Unpark, blocking::IsFirst, blocking::Wake})
{
}

void
Worker::InstallHooks()
{
	engine.begin_queued = [this](Session &s) { return BeginQueued(s); };
	engine.end_queued = [this](Session &) { return EndQueued(); };
	engine.block_on = [this](const Session &s, const std::vector<std::string> &keys) { return BlockOn(s, keys); };
	engine.unblock_local = [this](uint64_t id, bool error) { return UnblockLocal(id, error); };
	worker_tracker = &tracker_;
}

void
Worker::Tick(Server &server)
{
	engine.server = &server;
	pg::ServiceInterrupts();
	DrainBus(server);
	TakeKills(server);
	TakeUnblocks(server);
	if (pg::TerminationRequested()) {
		server.Stop();
		return;
	}
	if (pg::ReloadConfigIfRequested())
		server.UpdateConfig(CurrentNetConfig());
	FlushStats();
}

// This worker's table and WAL statistics reach pg_stat_* within about a second of the command
// that made them.  pgstat_report_stat(false) measures "now" by the last transaction's stop time,
// which stands still while the worker runs no transaction, so a worker that went idle within a
// second of its last flush would keep its counts forever: a backend's main loop forces the flush
// on a timer; so does this worker, on its own clock, once its counts have waited a second.
void
Worker::FlushStats()
{
	int64_t now = Server::NowMs();
	bool force = stats_force_at_ != 0 && now >= stats_force_at_;
	long retry = 0;
	pg::ErrorInfo error;
	(void)pg::Guarded([&] { retry = pgstat_report_stat(force); }, &error);
	if (retry <= 0)
		stats_force_at_ = 0;
	else if (stats_force_at_ == 0 || force)
		stats_force_at_ = now + kStatsFlushMs;
}

NetConfig
Worker::CurrentNetConfig(int index)
{
	NetConfig config;
	config.first_id = static_cast<uint64_t>(index) + 1;
	config.id_step = static_cast<uint64_t>(guc::resp_workers);
	config.port = guc::resp_port;
	std::string list = guc::resp_listen_addresses ? guc::resp_listen_addresses : "localhost";
	size_t start = 0;
	while (start <= list.size()) {
		size_t comma = list.find(',', start);
		std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
		item.erase(0, item.find_first_not_of(" \t"));
		item.erase(item.find_last_not_of(" \t") + 1);
		if (!item.empty())
			config.addresses.push_back(item);
		if (comma == std::string::npos)
			break;
		start = comma + 1;
	}
	config.max_clients = static_cast<size_t>(guc::resp_max_clients);
	config.max_bulk_len = guc::resp_max_bulk_len;
	config.timeout_s = guc::resp_timeout_s;
	config.self_pipe_fd = self_pipe_fd;
	config.auth_required = guc::resp_anonymous_role == nullptr || guc::resp_anonymous_role[0] == '\0';
	return config;
}

} // namespace loop

namespace {

using loop::bcast_clients;
using loop::remote_redirects;
using loop::Worker;
using loop::worker_index;
using loop::worker_tracker;

void
DetachFromBus(int, Datum)
{
	pubsub::DetachWorker(worker_index);
	blocking::ResetWorker(worker_index); // its blocked clients are gone with it
	// The shared BCAST count must not keep counting this worker's clients (writers would publish every
	// change for nobody).  Its tracked keys stay counted in the filter: they only cost spare records.
	for (; bcast_clients > 0; bcast_clients--)
		tracking::BcastAdd(-1);
	for (; remote_redirects > 0; remote_redirects--)
		tracking::RemoteRedirectAdd(-1);
	// Nor its tracked keys (the filter would keep them, and their slots, forever).
	if (worker_tracker != nullptr)
		worker_tracker->Clear();
}

// Subscribers' output (a backlog of messages a slow reader has not taken yet), bus reads and turn
// buffers come and go in large blocks.  glibc's defaults hand freed blocks of 128 kB and more back to the
// kernel (munmap, or trimming the heap's top), so the next burst faults in zeroed pages again: a page
// fault and a page clear per 4 kB, a fifth of the worker's CPU in a 100-subscriber fan-out.  The worker
// keeps up to 64 MB of freed heap for reuse instead (blocks up to 32 MB come from the heap), as Redis's
// allocator keeps its free pages.
void
KeepFreedMemory()
{
	(void)mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

// Runs the loop until SIGTERM.  False with *message set when it could not serve.
bool
RunWorker(int index, char *message, size_t size)
{
	std::string error;
	kv::SetHandleCache(true); // a turn's commands share their collections' open state
	kv::SetNoWait(true);      // a lock held elsewhere: 55P03 at once, the command is retried later
	worker_index = index;     // before the Worker: its Blocker registers waits under it
	KeepFreedMemory();
	Worker worker;
	worker.InstallHooks();
	Server server(Worker::CurrentNetConfig(index), &worker);
	worker_index = index;
	worker.engine.worker_index = index;
	RegistryResetWorker(index);   // a restarted worker's former clients are gone
	blocking::ResetWorker(index); // and their waits
	pubsub::AttachWorker(index, MyProcPid);
	pubsub::SetKeyspaceFromCapture(false); // commands report their own Redis event names
	pubsub::InstallReceiveCache();
	before_shmem_exit(DetachFromBus, 0);
	worker.engine.server = &server;
	ereport(LOG, (errmsg("nodedb_kv RESP worker %d listening on port %d", index, guc::resp_port)));
	if (server.Run(&error) || pg::TerminationRequested())
		return true;
	strlcpy(message, error.c_str(), size);
	return false;
}

} // namespace

void
RegisterWorkers()
{
	const char *env = getenv("NODEDB_PORT_RESP");
	if (env != nullptr && env[0] != '\0')
		SetConfigOption("nodedb_kv.resp_port", env, PGC_POSTMASTER, PGC_S_ARGV);
	if (guc::resp_port <= 0)
		return;
	RegisterFlusher();
	RegisterClientRegistry();
	for (int i = 0; i < guc::resp_workers; i++) {
		BackgroundWorker worker;
		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_ConsistentState; // a standby serves reads
		worker.bgw_restart_time = kRestartSeconds;
		strlcpy(worker.bgw_library_name, "nodedb_kv", BGW_MAXLEN);
		strlcpy(worker.bgw_function_name, "nodedb_kv_resp_worker_main", BGW_MAXLEN);
		snprintf(worker.bgw_name, BGW_MAXLEN, "nodedb_kv RESP worker %d", i);
		strlcpy(worker.bgw_type, "nodedb_kv RESP worker", BGW_MAXLEN);
		worker.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&worker);
	}
}

} // namespace nodedb_kv::resp

void
nodedb_kv_resp_worker_main(Datum arg) noexcept
{
	using namespace nodedb_kv;
	int index = DatumGetInt32(arg);
	resp::self_pipe_fd = pg::InstallWorkerSignals();
	pg::WakeOnSignal(SIGUSR2); // pub/sub publishers: new messages on the bus
	BackgroundWorkerInitializeConnection(guc::resp_database, nullptr, 0);
	// One short attempt at a busy lock; the worker retries the command on a later turn.
	SetConfigOption("lock_timeout", resp::kLockTimeout, PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("application_name", "nodedb_kv RESP", PGC_USERSET, PGC_S_OVERRIDE);
	char message[512] = "";
	try {
		if (!resp::RunWorker(index, message, sizeof(message)) && message[0] == '\0')
			strlcpy(message, "no address could be bound", sizeof(message));
	} catch (const std::exception &e) {
		strlcpy(message, e.what(), sizeof(message));
	} catch (...) {
		strlcpy(message, "unknown C++ exception", sizeof(message));
	}
	if (message[0] != '\0')
		ereport(ERROR, (errmsg("nodedb_kv RESP worker could not serve port %d: %s", guc::resp_port, message)));
	// Exit code 1: the postmaster restarts the worker (0 would unregister it); at shutdown it does not.
	proc_exit(1);
}
