// The RESP worker: a background worker that runs the resp/net loop and executes its turns inside
// PostgreSQL (PG15-PITFALLS §3-§6, §9).  One loop turn = every complete command of every ready client
// in one transaction: per command a fresh statement time and snapshot (read-your-writes within a
// pipeline), the client's role (SetUserIdAndSecContext), one guarded engine call at a time.  A
// PostgreSQL error in a command aborts the batch, which is then replayed one transaction per command so
// only the culprit fails (no subtransactions: no subxid-cache overflow).  A command that finds a lock
// busy (short lock_timeout) is parked and retried on later turns until nodedb_kv.resp_lock_wait, so other
// clients keep being served.  Replies are released only after the commit returned (synchronous_commit
// is honoured: a write reply under "on" means its WAL is flushed).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <string>
#include <vector>

#include "nodedb_kv/kv/kv_api.hpp"
#include "nodedb_kv/kv/kv_fields.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"
#include "nodedb_kv/resp/resp_net.hpp"
#include "nodedb_kv/resp/resp_protocol.hpp"
#include "nodedb_kv/sortedindex/sortedindex_zset.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "libpq/crypt.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/resp/resp_worker.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::resp {
namespace {

constexpr int kRestartSeconds = 1;
constexpr const char *kLockTimeout = "25ms"; // one attempt at a busy lock; the command is retried later
constexpr int64_t kRetryMs = 25;             // pause before a parked command runs again
constexpr int kAuthFailuresBeforeDelay = 3;
constexpr size_t kMaxTurnOutput = 1 << 20; // reply bytes of one client per turn (fairness, memory)
constexpr size_t kMaxTurnCommands = 256;   // commands of one client per turn
constexpr int64_t kUnixEpochOffsetMs =
    static_cast<int64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;

volatile sig_atomic_t got_sigterm = false;
int self_pipe[2] = {-1, -1};

void
WakeSelfPipe()
{
	if (self_pipe[1] >= 0) {
		char byte = 0;
		ssize_t ignored = write(self_pipe[1], &byte, 1);
		(void)ignored;
	}
}

void
RespSigterm(SIGNAL_ARGS)
{
	int save_errno = errno;
	got_sigterm = true;
	SetLatch(MyLatch);
	WakeSelfPipe();
	errno = save_errno;
}

void
RespSighup(SIGNAL_ARGS)
{
	int save_errno = errno;
	ConfigReloadPending = true;
	SetLatch(MyLatch);
	WakeSelfPipe();
	errno = save_errno;
}

// A PostgreSQL error as an engine status.
kv::Status
StatusFromError(const pg::ErrorInfo &error)
{
	kv::Status status;
	switch (error.sqlerrcode) {
	case ERRCODE_LOCK_NOT_AVAILABLE:
		status.code = kv::Code::WouldBlock;
		break;
	case ERRCODE_INSUFFICIENT_PRIVILEGE:
		status.code = kv::Code::PermissionDenied;
		break;
	case ERRCODE_READ_ONLY_SQL_TRANSACTION:
		status.code = kv::Code::ReadOnly;
		break;
	default:
		status.code = kv::Code::Internal;
		break;
	}
	strlcpy(status.message, error.message, sizeof(status.message));
	strlcpy(status.detail, error.detail, sizeof(status.detail));
	return status;
}

kv::Status
OkStatus()
{
	kv::Status status;
	status.code = kv::Code::Ok;
	status.message[0] = status.detail[0] = '\0';
	return status;
}

kv::Bytes
BytesOf(std::string_view text)
{
	return {text.data(), text.size()};
}

// The engine over kv_api.hpp.  Each call runs guarded; the first PostgreSQL error of a command marks the
// command failed (the transaction must then be aborted) and later calls of that command return it.
class PgEngine final : public Engine {
public:
	Server *server = nullptr;
	Client *client = nullptr; // the client whose command runs
	bool failed = false;
	kv::Status failure{};
	std::map<std::string, std::pair<int, int64_t>> auth_failures; // client IP -> (failures, last ms)

	void
	BeginCommand(Client *c)
	{
		client = c;
		failed = false;
	}

	// Runs fn (returning a kv::Status) guarded.
	template <typename Fn>
	kv::Status
	Call(Fn &&fn)
	{
		if (failed)
			return failure;
		kv::Status status = OkStatus();
		pg::ErrorInfo error;
		if (!pg::Guarded([&] { status = fn(); }, &error)) {
			failed = true;
			failure = StatusFromError(error);
			return failure;
		}
		return status;
	}

	kv::Target
	TargetOf(const Session &s) const
	{
		return {s.relid, s.field.empty() ? nullptr : s.field.c_str(), "RESP", false};
	}

	kv::Status
	NoCollection() const
	{
		kv::Status status = OkStatus();
		status.code = kv::Code::NoSuchCollection;
		snprintf(status.message, sizeof(status.message),
		         "no kv collection selected: kv_db0 does not exist in database \"%s\" (CREATE EXTENSION nodedb_kv)",
		         guc::resp_database);
		return status;
	}

	kv::Status
	Get(const Session &s, std::string_view key, kv::Value *value) override
	{
		*value = {false, true, {nullptr, 0}, -1};
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		if (!s.typed_keyspace) // a named collection: a typed row reads as JSON
			return Call([&] { return kv::GetRowOrValue(target, BytesOf(key), value); });
		return Call([&] { return kv::Get(target, BytesOf(key), value); });
	}

	kv::Status
	Set(const Session &s, std::string_view key, std::string_view value, kv::SetOptions options, bool *written,
	    kv::Value *before) override
	{
		*written = false;
		if (before != nullptr)
			*before = {false, true, {nullptr, 0}, -1};
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		if (!s.typed_keyspace) // a named collection: a typed row is written from a JSON object
			return Call(
			    [&] { return kv::SetRowOrValue(target, BytesOf(key), BytesOf(value), options, written, before); });
		return Call([&] { return kv::Set(target, BytesOf(key), BytesOf(value), options, written, before); });
	}

	kv::Status
	Delete(const Session &s, std::string_view key, bool *deleted) override
	{
		*deleted = false;
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		return Call([&] { return kv::Delete(target, BytesOf(key), deleted); });
	}

	kv::Status
	Exists(const Session &s, std::string_view key, bool *exists) override
	{
		*exists = false;
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		return Call([&] { return kv::Exists(target, BytesOf(key), exists); });
	}

	kv::Status
	Incr(const Session &s, std::string_view key, int64_t delta, int64_t *result) override
	{
		*result = 0;
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		return Call([&] {
			return kv::Incr(target, BytesOf(key), delta, {kv::TtlMode::Keep, 0}, result, nullptr, nullptr);
		});
	}

	kv::Status
	CompareAndSwap(const Session &s, std::string_view key, std::string_view expected, std::string_view value,
	               bool *success, kv::Value *before) override
	{
		*success = false;
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		return Call([&] {
			return kv::CompareAndSwap(target, BytesOf(key), BytesOf(expected), BytesOf(value), success, before);
		});
	}

	kv::Status
	Expire(const Session &s, std::string_view key, kv::Ttl ttl, bool *applied) override
	{
		*applied = false;
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		return Call([&] { return kv::Expire(target, BytesOf(key), ttl, applied); });
	}

	kv::Status
	Scan(const Session &s, std::string_view after, bool from_start, size_t count, ScanPage *page) override
	{
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		kv::Bytes *keys = nullptr;
		size_t nkeys = 0;
		bool done = true;
		kv::Status status =
		    Call([&] { return kv::ScanKeys(target, BytesOf(after), from_start, count, &keys, &nkeys, &done); });
		if (!status.ok())
			return status;
		page->keys.clear();
		page->keys.reserve(nkeys);
		for (size_t i = 0; i < nkeys; i++)
			page->keys.emplace_back(keys[i].data, keys[i].len);
		page->done = done;
		return status;
	}

	kv::Status
	Count(const Session &s, int64_t *count) override
	{
		*count = 0;
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		return Call([&] { return kv::CountKeys(target, count); });
	}

	kv::Status
	Flush(const Session &s) override
	{
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		return Call([&] { return kv::Truncate(target); });
	}

	// ---- Typed collections (hash commands). ----

	// Hashes of kv_db<n> keyspaces are the next issue's: refused clearly until then.
	kv::Status
	NoKeyspaceHashes() const
	{
		kv::Status status = OkStatus();
		status.code = kv::Code::Unsupported;
		snprintf(status.message, sizeof(status.message),
		         "hash commands need a typed collection (SELECT <table>); kv_db<n> hashes are not supported yet");
		return status;
	}

	kv::Status
	GetFields(const Session &s, std::string_view key, const std::vector<std::string> *names,
	          std::vector<HashField> *fields, bool *found, bool *typed) override
	{
		*found = false;
		*typed = true;
		fields->clear();
		if (s.relid == 0)
			return NoCollection();
		if (s.typed_keyspace)
			return NoKeyspaceHashes();
		kv::Target target = TargetOf(s);
		std::vector<kv::Bytes> bytes;
		if (names != nullptr) {
			for (const std::string &name : *names)
				bytes.push_back(BytesOf(name));
		}
		kv::Field *out = nullptr;
		size_t n = 0;
		kv::Status status = Call([&] {
			return kv::GetFields(target, BytesOf(key), names ? bytes.data() : nullptr, bytes.size(), &out, &n, found,
			                     typed);
		});
		if (!status.ok())
			return status;
		for (size_t i = 0; i < n; i++) {
			HashField field;
			field.name.assign(out[i].name.data, out[i].name.len);
			field.exists = !out[i].isnull;
			if (field.exists && out[i].value.len > 0)
				field.value.assign(out[i].value.data, out[i].value.len);
			field.kind = out[i].kind;
			fields->push_back(std::move(field));
		}
		return status;
	}

	kv::Status
	WriteFields(const Session &s, std::string_view key, const std::vector<std::pair<std::string, std::string>> &pairs,
	            kv::FieldWrite mode, int64_t *changed, bool *typed) override
	{
		*changed = 0;
		*typed = true;
		if (s.relid == 0)
			return NoCollection();
		if (s.typed_keyspace)
			return NoKeyspaceHashes();
		kv::Target target = TargetOf(s);
		std::vector<kv::FieldAssign> assigns;
		for (const auto &pair : pairs)
			assigns.push_back({BytesOf(pair.first), BytesOf(pair.second), false});
		kv::SetOptions options = {false, false, {kv::TtlMode::Keep, 0}};
		return Call([&] {
			return kv::WriteFields(target, BytesOf(key), assigns.data(), assigns.size(), mode, options, changed, typed,
			                       nullptr);
		});
	}

	kv::Status
	IncrField(const Session &s, std::string_view key, std::string_view field, int64_t delta, int64_t *result,
	          bool *typed) override
	{
		*result = 0;
		*typed = true;
		if (s.relid != 0 && s.typed_keyspace)
			return NoKeyspaceHashes();
		kv::Status status = IsTyped(s, typed);
		if (!status.ok() || !*typed)
			return status;
		std::string name(field);
		kv::Target target = {s.relid, name.c_str(), "HINCRBY", false};
		return Call([&] {
			return kv::Incr(target, BytesOf(key), delta, {kv::TtlMode::Keep, 0}, result, nullptr, nullptr);
		});
	}

	kv::Status
	IncrFloatField(const Session &s, std::string_view key, std::string_view field, double delta, double *result,
	               bool *typed) override
	{
		*result = 0;
		*typed = true;
		if (s.relid != 0 && s.typed_keyspace)
			return NoKeyspaceHashes();
		kv::Status status = IsTyped(s, typed);
		if (!status.ok() || !*typed)
			return status;
		std::string name(field);
		kv::Target target = {s.relid, name.c_str(), "HINCRBYFLOAT", false};
		return Call([&] { return kv::IncrFloat(target, BytesOf(key), delta, result, nullptr); });
	}

	kv::Status
	IsTyped(const Session &s, bool *typed) override
	{
		*typed = false;
		if (s.relid == 0)
			return NoCollection();
		if (s.typed_keyspace)
			return OkStatus(); // keys of kv_db<n> are strings for now
		kv::Target target = TargetOf(s);
		return Call([&] { return kv::IsTypedCollection(target, typed); });
	}

	// ---- Sorted sets = kv_sorted indexes. ----

	kv::Status
	ZsetDescribe(const Session &, std::string_view index, sortedindex::ZsetInfo *info) override
	{
		std::string name(index);
		return Call([&] { return sortedindex::ZsetDescribe(name.c_str(), info); });
	}

	kv::Status
	ZsetCount(const Session &, std::string_view index, int64_t *count) override
	{
		std::string name(index);
		return Call([&] { return sortedindex::ZsetCount(name.c_str(), count); });
	}

	kv::Status
	ZsetRank(const Session &, std::string_view index, std::string_view member, bool *found, int64_t *rank) override
	{
		std::string name(index), text(member);
		*found = false;
		if (text.find('\0') != std::string::npos)
			return OkStatus(); // no text key holds a NUL
		return Call([&] { return sortedindex::ZsetRank(name.c_str(), text.c_str(), found, rank); });
	}

	static void
	ToZMembers(const sortedindex::ZsetMember *members, size_t n, std::vector<ZMember> *out)
	{
		out->clear();
		for (size_t i = 0; i < n; i++)
			out->push_back({std::string(members[i].member.data, members[i].member.len), members[i].score});
	}

	kv::Status
	ZsetSlice(const Session &, std::string_view index, int64_t first, int64_t limit, std::vector<ZMember> *out) override
	{
		std::string name(index);
		sortedindex::ZsetMember *members = nullptr;
		size_t n = 0;
		kv::Status status = Call([&] { return sortedindex::ZsetSlice(name.c_str(), first, limit, &members, &n); });
		if (status.ok())
			ToZMembers(members, n, out);
		return status;
	}

	kv::Status
	ZsetRangeByScore(const Session &, std::string_view index, double lo, double hi, std::vector<ZMember> *out) override
	{
		std::string name(index);
		sortedindex::ZsetMember *members = nullptr;
		size_t n = 0;
		kv::Status status = Call([&] { return sortedindex::ZsetRangeByScore(name.c_str(), lo, hi, &members, &n); });
		if (status.ok())
			ToZMembers(members, n, out);
		return status;
	}

	kv::Status
	ZsetGetScore(const Session &, const sortedindex::ZsetInfo &info, std::string_view member, bool *found,
	             double *score) override
	{
		*found = false;
		kv::Target target = {info.table, info.score_column, "ZSCORE", false};
		kv::Value value;
		kv::Status status = Call([&] { return kv::Get(target, BytesOf(member), &value); });
		if (!status.ok() || !value.found || value.isnull)
			return status;
		std::string text(value.bytes.data, value.bytes.len);
		*found = true;
		*score = strtod(text.c_str(), nullptr);
		return status;
	}

	kv::Status
	ZsetSetScore(const Session &, const sortedindex::ZsetInfo &info, std::string_view member, std::string_view text,
	             bool only_if_absent, bool only_if_present, bool *written) override
	{
		*written = false;
		kv::Target target = {info.table, info.score_column, "ZADD", false};
		kv::SetOptions options = {only_if_absent, only_if_present, {kv::TtlMode::Keep, 0}};
		return Call([&] { return kv::Set(target, BytesOf(member), BytesOf(text), options, written, nullptr); });
	}

	kv::Status
	ZsetIncrScore(const Session &, const sortedindex::ZsetInfo &info, std::string_view member, double delta,
	              double *result) override
	{
		*result = 0;
		kv::Target target = {info.table, info.score_column, "ZINCRBY", false};
		if (info.integer_score) {
			int64_t sum = 0;
			kv::Status status = Call([&] {
				return kv::Incr(target, BytesOf(member), static_cast<int64_t>(delta), {kv::TtlMode::Keep, 0}, &sum,
				                nullptr, nullptr);
			});
			*result = static_cast<double>(sum);
			return status;
		}
		return Call([&] { return kv::IncrFloat(target, BytesOf(member), delta, result, nullptr); });
	}

	kv::Status
	ZsetRemove(const Session &, const sortedindex::ZsetInfo &info, std::string_view member, bool *removed) override
	{
		*removed = false;
		kv::Target target = {info.table, nullptr, "ZREM", false};
		return Call([&] { return kv::Delete(target, BytesOf(member), removed); });
	}

	kv::Status
	SelectDb(Session *s, int64_t index, std::string_view name, bool *found) override
	{
		*found = false;
		char relname[NAMEDATALEN * 2 + 2];
		if (index >= 0)
			snprintf(relname, sizeof(relname), "kv_db%lld", static_cast<long long>(index));
		else if (name.size() >= sizeof(relname) || name.find('\0') != std::string_view::npos)
			return OkStatus();
		else {
			memcpy(relname, name.data(), name.size());
			relname[name.size()] = '\0';
		}
		uint32_t relid = 0;
		bool keyspace = false;
		kv::Status status = Call([&] { return kv::FindCollection(relname, &relid, found, &keyspace); });
		if (!status.ok() || !*found)
			return status;
		s->relid = relid;
		s->field = keyspace ? "value" : "";
		s->typed_keyspace = keyspace;
		s->db_index = index;
		s->db_name = relname;
		return status;
	}

	kv::Status
	Authenticate(Session *s, std::string_view user, std::string_view password, bool *ok) override
	{
		*ok = false;
		if (user.empty()) {
			kv::Status status = OkStatus();
			status.code = kv::Code::InvalidArgument;
			strlcpy(status.message,
			        "AUTH <password> called without any password configured for the default user. Are you sure "
			        "your configuration is correct?",
			        sizeof(status.message));
			return status;
		}
		if (user.find('\0') != std::string_view::npos || password.find('\0') != std::string_view::npos ||
		    user.size() >= NAMEDATALEN)
			return RecordAuthFailure(OkStatus());
		std::string user_c(user), password_c(password), address = client ? client->session.address : "";
		Oid role = InvalidOid;
		kv::Status status = Call([&] {
			const char *logdetail = nullptr;
			HeapTuple tuple = SearchSysCache1(AUTHNAME, PointerGetDatum(user_c.c_str()));
			bool can_login = false;
			if (HeapTupleIsValid(tuple)) {
				Form_pg_authid form = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tuple));
				can_login = form->rolcanlogin;
				role = form->oid;
				ReleaseSysCache(tuple);
			} else
				logdetail = "Role does not exist.";
			bool verified = false;
			if (can_login) {
				// get_role_password refuses an expired password (rolvaliduntil); SCRAM and MD5 both verify here.
				char *shadow = get_role_password(user_c.c_str(), &logdetail);
				verified = shadow != nullptr &&
				           plain_crypt_verify(user_c.c_str(), shadow, password_c.c_str(), &logdetail) == STATUS_OK;
			} else if (HeapTupleIsValid(tuple))
				logdetail = "Role is not permitted to log in.";
			if (!verified)
				ereport(LOG, (errmsg("nodedb_kv RESP: password authentication failed for user \"%s\" from %s",
				                     user_c.c_str(), address.c_str()),
				              logdetail ? errdetail_log("%s", logdetail) : 0));
			*ok = verified;
			return OkStatus();
		});
		if (!status.ok())
			return status;
		if (!*ok)
			return RecordAuthFailure(status);
		s->role = role;
		s->user = user_c;
		s->authenticated = true;
		if (client != nullptr)
			auth_failures.erase(IpOf(client->session.address));
		return status;
	}

	static std::string
	IpOf(const std::string &address)
	{
		size_t colon = address.rfind(':');
		return colon == std::string::npos ? address : address.substr(0, colon);
	}

	// Repeated failures from one address: the reply (and that client's next commands) are held back.
	kv::Status
	RecordAuthFailure(kv::Status status)
	{
		if (client == nullptr)
			return status;
		int64_t now = Server::NowMs();
		auto &entry = auth_failures[IpOf(client->session.address)];
		if (now - entry.second > 60000)
			entry.first = 0;
		entry.first++;
		entry.second = now;
		if (entry.first > kAuthFailuresBeforeDelay)
			client->not_before_ms = now + std::min<int64_t>(250LL * (entry.first - kAuthFailuresBeforeDelay), 5000);
		if (auth_failures.size() > 10000)
			auth_failures.clear();
		return status;
	}

	bool
	Anonymous(Session *s) override
	{
		if (guc::resp_anonymous_role == nullptr || guc::resp_anonymous_role[0] == '\0')
			return false;
		Oid role = InvalidOid;
		pg::ErrorInfo error;
		if (!pg::Guarded([&] { role = get_role_oid(guc::resp_anonymous_role, true); }, &error)) {
			failed = true;
			failure = StatusFromError(error);
			return false;
		}
		if (!OidIsValid(role))
			return false;
		s->role = role;
		s->user = guc::resp_anonymous_role;
		s->authenticated = true;
		return true;
	}

	int64_t
	NowMillis() override
	{
		return ttl::Now() / 1000 + kUnixEpochOffsetMs;
	}

	int64_t
	WallMicros() override
	{
		return GetCurrentTimestamp() + kUnixEpochOffsetMs * 1000;
	}

	std::string
	DefaultUser() override
	{
		return guc::resp_default_user ? guc::resp_default_user : "";
	}

	std::string
	Info(const Session &s, std::string_view section) override
	{
		bool standby = RecoveryInProgress();
		if (section == "role")
			return standby ? "replica" : "master";
		bool all = section == "default" || section == "all" || section == "everything";
		std::string text;
		if (all || section == "server")
			text += "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nnodedb_kv:1\r\nprocess_id:" +
			        std::to_string(MyProcPid) + "\r\ntcp_port:" + std::to_string(guc::resp_port) + "\r\n\r\n";
		if (all || section == "clients")
			text += "# Clients\r\nconnected_clients:" + std::to_string(server->ClientCount()) + "\r\n\r\n";
		if (all || section == "stats")
			text += "# Stats\r\ntotal_connections_received:" + std::to_string(server->TotalConnections()) +
			        "\r\ntotal_commands_processed:" + std::to_string(server->TotalCommands()) + "\r\n\r\n";
		if (all || section == "replication")
			text += std::string("# Replication\r\nrole:") + (standby ? "slave" : "master") + "\r\n\r\n";
		if (all || section == "keyspace") {
			text += "# Keyspace\r\n";
			int64_t count = 0;
			if (s.relid != 0 && Count(s, &count).ok() && count > 0)
				text += (s.db_index >= 0 ? "db" + std::to_string(s.db_index) : s.db_name) +
				        ":keys=" + std::to_string(count) + ",expires=0,avg_ttl=0\r\n";
		}
		return text;
	}

	std::string
	ClientList() override
	{
		return server->ClientList();
	}

	bool
	KillClient(std::string_view address, uint64_t id) override
	{
		return server->Kill(std::string(address), id);
	}
};

// One client's share of a turn.
struct Item {
	Client *client;
	size_t count;  // commands taken from the head of its queue
	Session saved; // the session before the turn (restored for a replay)
	std::string out;
};

class Worker final : public Executor {
public:
	Worker()
	    : command_context_(AllocSetContextCreate(TopMemoryContext, "nodedb_kv RESP command", ALLOCSET_DEFAULT_SIZES))
	{
	}

	PgEngine engine;

	void
	RunTurn(Server &server, const std::vector<Client *> &clients) override
	{
		engine.server = &server;
		std::vector<Item> items;
		items.reserve(clients.size());
		size_t total = 0;
		for (Client *client : clients) {
			size_t count = std::min(client->queued.size(), kMaxTurnCommands);
			items.push_back({client, count, client->session, std::string()});
			total += count;
		}
		pgstat_report_activity(STATE_RUNNING, "nodedb_kv RESP batch");
		if (!RunBatch(items)) {
			for (Item &item : items) {
				item.client->session = item.saved;
				item.out.clear();
			}
			Replay(items);
		} else {
			for (Item &item : items) {
				item.client->pending += item.out;
				for (size_t i = 0; i < item.count; i++)
					item.client->queued.pop_front();
				item.client->first_blocked_ms = 0;
			}
		}
		server.CountCommands(total);
		pgstat_report_activity(STATE_IDLE, nullptr);
	}

	void
	Tick(Server &server) override
	{
		engine.server = &server;
		ResetLatch(MyLatch);
		pg::ErrorInfo error;
		if (InterruptPending && !pg::Guarded([] { CHECK_FOR_INTERRUPTS(); }, &error))
			ereport(LOG, (errmsg("nodedb_kv RESP worker: %s", error.message)));
		if (!PostmasterIsAlive())
			proc_exit(1);
		if (got_sigterm) {
			server.Stop();
			return;
		}
		if (ConfigReloadPending) {
			ConfigReloadPending = false;
			if (!pg::Guarded([] { ProcessConfigFile(PGC_SIGHUP); }, &error))
				ereport(LOG, (errmsg("nodedb_kv RESP worker: reloading the configuration failed: %s", error.message)));
			server.UpdateConfig(CurrentNetConfig());
		}
		(void)pg::Guarded([] { pgstat_report_stat(false); }, &error);
	}

	static NetConfig
	CurrentNetConfig(int index = 0)
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
		config.self_pipe_fd = self_pipe[0];
		return config;
	}

private:
	MemoryContext command_context_;
	Oid saved_user_ = InvalidOid;
	int saved_sec_context_ = 0;

	// Starts the turn's transaction (PG15-PITFALLS §3).
	bool
	Begin()
	{
		pg::ErrorInfo error;
		if (pg::Guarded(
		        [] {
			        SetCurrentStatementStartTimestamp();
			        StartTransactionCommand();
			        PushActiveSnapshot(GetTransactionSnapshot());
		        },
		        &error))
			return true;
		Abort();
		return false;
	}

	bool
	Commit(pg::ErrorInfo *error)
	{
		if (pg::Guarded(
		        [] {
			        PopActiveSnapshot();
			        CommitTransactionCommand();
		        },
		        error))
			return true;
		Abort();
		return false;
	}

	void
	Abort()
	{
		pg::ErrorInfo error;
		if (!pg::Guarded([] { AbortCurrentTransaction(); }, &error))
			proc_exit(1); // cannot clean up: restart the worker rather than serve from a broken state
	}

	// Runs one command inside the current transaction, writing its reply with writer.  Returns false if it
	// raised a PostgreSQL error (engine.failure), after which the transaction must be aborted.
	bool
	RunOne(Client *client, const Argv &argv, Writer &writer)
	{
		engine.BeginCommand(client);
		Session &session = client->session;
		Oid role = session.role;
		pg::ErrorInfo error;
		MemoryContext old = MemoryContextSwitchTo(command_context_);
		// The command's "now", a snapshot that sees the earlier commands of this turn, and its role.
		bool ready = pg::Guarded(
		    [&] {
			    SetCurrentStatementStartTimestamp();
			    CommandCounterIncrement();
			    PopActiveSnapshot();
			    PushActiveSnapshot(GetTransactionSnapshot());
			    GetUserIdAndSecContext(&saved_user_, &saved_sec_context_);
			    if (OidIsValid(role))
				    SetUserIdAndSecContext(role, saved_sec_context_ | SECURITY_LOCAL_USERID_CHANGE);
		    },
		    &error);
		if (!ready) {
			engine.failed = true;
			engine.failure = StatusFromError(error);
		} else {
			writer.SetProtocol(session.protocol);
			if (session.relid == 0 && session.db_index == 0) {
				// A new connection starts on kv_db0 (looked up once it exists).
				bool found = false;
				(void)engine.SelectDb(&session, 0, "", &found);
			}
			try {
				Execute(session, engine, writer, argv);
			} catch (const std::exception &e) {
				writer.Error(std::string("ERR ") + e.what());
			}
			SetUserIdAndSecContext(saved_user_, saved_sec_context_);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(command_context_);
		return !engine.failed;
	}

	// Every item's commands in one transaction.  False if any raised a PostgreSQL error or the commit
	// failed: nothing of the batch happened and the caller replays it.
	bool
	RunBatch(std::vector<Item> &items)
	{
		if (!Begin())
			return false;
		for (Item &item : items) {
			Writer writer(&item.out, item.client->session.protocol);
			for (size_t i = 0; i < item.count; i++) {
				if (!RunOne(item.client, item.client->queued[i], writer)) {
					Abort();
					return false;
				}
				// QUIT, a delayed AUTH failure, or a turn's worth of output: the rest waits for a later turn.
				if (item.client->session.close_after_reply || item.client->not_before_ms > Server::NowMs() ||
				    item.out.size() > kMaxTurnOutput) {
					item.count = i + 1;
					break;
				}
			}
		}
		pg::ErrorInfo error;
		return Commit(&error);
	}

	// One transaction per command, so only a failing command fails.  A command that found a lock busy
	// stays queued (with the client's later commands) and the client is retried after kRetryMs, until
	// nodedb_kv.resp_lock_wait has passed.
	void
	Replay(std::vector<Item> &items)
	{
		for (Item &item : items) {
			Client *client = item.client;
			Writer writer(&item.out, client->session.protocol);
			for (size_t i = 0; i < item.count; i++) {
				size_t mark = item.out.size();
				bool ran = Begin() && RunOne(client, client->queued.front(), writer);
				pg::ErrorInfo error;
				if (!ran) {
					Abort();
					if (engine.failed && engine.failure.code == kv::Code::WouldBlock) {
						int64_t now = Server::NowMs();
						if (client->first_blocked_ms == 0)
							client->first_blocked_ms = now;
						if (now - client->first_blocked_ms < guc::resp_lock_wait_ms) {
							item.out.resize(mark);
							client->not_before_ms = now + kRetryMs;
							break;
						}
						item.out.resize(mark);
						writer.Error("ERR could not obtain a lock within nodedb_kv.resp_lock_wait: " +
						             std::string(engine.failure.message));
					}
				} else if (!Commit(&error)) {
					item.out.resize(mark);
					writer.Error(std::string("ERR ") + error.message);
				}
				client->first_blocked_ms = 0;
				client->queued.pop_front();
				if (client->session.close_after_reply)
					break;
			}
			client->pending += item.out;
		}
	}
};

// Runs the loop until SIGTERM.  False with *message set when it could not serve.
bool
RunWorker(int index, char *message, size_t size)
{
	std::string error;
	Worker worker;
	Server server(Worker::CurrentNetConfig(index), &worker);
	worker.engine.server = &server;
	ereport(LOG, (errmsg("nodedb_kv RESP worker %d listening on port %d", index, guc::resp_port)));
	if (server.Run(&error) || got_sigterm)
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
	if (pipe2(resp::self_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		resp::self_pipe[0] = resp::self_pipe[1] = -1;
	pqsignal(SIGTERM, resp::RespSigterm);
	pqsignal(SIGHUP, resp::RespSighup);
	BackgroundWorkerUnblockSignals();
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
