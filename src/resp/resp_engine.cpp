// The RESP engine (resp_engine.hpp): the command layer's Engine over the kv API (kv_api.hpp), as the
// RESP worker runs it.  Every kv call runs under pg::Guarded; the first PostgreSQL error of a command
// marks the command failed and is returned as a status (the worker then aborts and replays).  Also AUTH
// against pg_authid, the anonymous role, SELECT's collection lookup, INFO and the clock.
#include <algorithm>
#include <map>
#include <string>

#include "nodedb_kv/blocking/blocking.hpp"
#include "nodedb_kv/kv/kv_api.hpp"
#include "nodedb_kv/kv/kv_fields.hpp"
#include "nodedb_kv/kv/kv_typed.hpp"
#include "nodedb_kv/pubsub/pubsub_bus.hpp"
#include "nodedb_kv/pubsub/pubsub_keyspace.hpp"
#include "nodedb_kv/resp/resp_engine.hpp"
#include "nodedb_kv/rtypes/rtypes_number.hpp"
#include "nodedb_kv/sortedindex/sortedindex_zset.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

#include "nodedb_kv/pg/pg_bridge.hpp"
#include "nodedb_kv/pg/pg_catalog.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "libpq/crypt.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/pubsub/pubsub_access.hpp"
#include "nodedb_kv/pubsub/pubsub_changes.hpp"
#include "nodedb_kv/pubsub/pubsub_pending.hpp"
#include "nodedb_kv/ttl/ttl_clock.hpp"

namespace nodedb_kv::resp {
namespace {

constexpr int kAuthFailuresBeforeDelay = 3;
constexpr int64_t kUnixEpochOffsetMs =
    static_cast<int64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;

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

kv::Status
WrongTypeStatus()
{
	kv::Status status = OkStatus();
	status.code = kv::Code::WrongType;
	strlcpy(status.message, "Operation against a key holding the wrong kind of value", sizeof(status.message));
	return status;
}

// One ModifyTyped call: the command's edit and what it last returned.
struct EditCall {
	const TypedEdit *edit;
	TypedWrite write;
	bool threw;
};

// kv::ModifyTyped's edit: runs the command's (pure C++) edit.  Called inside the kv engine's loop, so
// nothing may escape it: an exception stops the operation (reported as out of memory).
bool
RunEdit(const kv::TypedRow *row, void *arg, kv::TypedWrite *out) noexcept
{
	auto *call = static_cast<EditCall *>(arg);
	try {
		TypedValue current;
		current.found = row->found;
		current.type = row->type;
		current.value = std::string_view(row->value.data, row->value.len);
		current.ttl_ms = row->ttl_ms;
		call->write = TypedWrite{};
		(*call->edit)(current, &call->write);
		out->action = call->write.action;
		out->type = call->write.type;
		out->value = {call->write.value.data(), call->write.value.size()};
		out->ttl = call->write.ttl;
		return true;
	} catch (...) {
		call->threw = true;
		return false;
	}
}

// The engine over kv_api.hpp.  Each call runs guarded; the first PostgreSQL error of a command marks the
// command failed (the transaction must then be aborted) and later calls of that command return it.
class PgEngine final : public WorkerEngine {
public:
	std::map<std::string, std::pair<int, int64_t>> auth_failures; // client IP -> (failures, last ms)

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
		kv::TypedRow row;
		kv::Status status = Call([&] { return kv::GetTyped(target, BytesOf(key), &row); });
		if (!status.ok() || !row.found)
			return status;
		if (row.type != rtypes::Type::String)
			return WrongTypeStatus();
		*value = {true, false, row.value, row.ttl_ms};
		return status;
	}

	kv::Status
	GetTyped(const Session &s, std::string_view key, TypedValue *out) override
	{
		if (!s.typed_keyspace)
			return Engine::GetTyped(s, key, out);
		*out = TypedValue{};
		kv::Target target = TargetOf(s);
		kv::TypedRow row;
		kv::Status status = Call([&] { return kv::GetTyped(target, BytesOf(key), &row); });
		if (!status.ok() || !row.found)
			return status;
		out->found = true;
		out->type = row.type;
		out->value = std::string_view(row.value.data, row.value.len);
		out->ttl_ms = row.ttl_ms;
		return status;
	}

	kv::Status
	ModifyTyped(const Session &s, std::string_view key, const TypedEdit &edit, bool *applied) override
	{
		*applied = false;
		if (s.relid == 0)
			return NoCollection();
		if (!s.typed_keyspace)
			return WrongTypeStatus();
		kv::Target target = TargetOf(s);
		EditCall call{&edit, TypedWrite{}, false};
		kv::Status status = Call([&] { return kv::ModifyTyped(target, BytesOf(key), RunEdit, &call, applied); });
		if (status.ok() && call.threw) {
			status.code = kv::Code::Internal;
			strlcpy(status.message, "out of memory", sizeof(status.message));
		}
		return status;
	}

	// A blocking pop is refused before it waits when its role may not write the keyspace: the write
	// privileges of a pop (ModifyTyped's: SELECT, INSERT, UPDATE; a no-op edit writes nothing), as
	// Redis's ACL refuses the command at once rather than when a push wakes it.
	kv::Status
	BlockOn(const Session &s, const std::vector<std::string> &keys) override
	{
		if (s.relid != 0 && s.typed_keyspace && !keys.empty()) {
			kv::Target target = TargetOf(s);
			bool applied = false;
			kv::TypedEditFn no_edit = [](const kv::TypedRow *, void *, kv::TypedWrite *) { return false; };
			kv::Status status =
			    Call([&] { return kv::ModifyTyped(target, BytesOf(keys[0]), no_edit, nullptr, &applied); });
			if (!status.ok())
				return status;
		}
		return WorkerEngine::BlockOn(s, keys);
	}

	// kv_members (kept across commands; looked up again when the OID no longer names it).
	Oid members_relid = InvalidOid;

	kv::Target
	MembersTarget()
	{
		if (!OidIsValid(members_relid) || get_rel_name(members_relid) == nullptr ||
		    strcmp(get_rel_name(members_relid), "kv_members") != 0)
			members_relid = pg::ExtensionRelation("kv_members");
		return {members_relid, "value", "RESP", true};
	}

	kv::Status
	KeyspaceName(const Session &s, std::string *name) override
	{
		name->clear();
		if (s.relid == 0)
			return NoCollection();
		const char *rel = nullptr, *nsp = nullptr;
		kv::Status status = Call([&] {
			rel = get_rel_name(s.relid);
			nsp = get_namespace_name(get_rel_namespace(s.relid));
			return OkStatus();
		});
		if (status.ok() && rel != nullptr && nsp != nullptr)
			*name = std::string(nsp) + "." + rel;
		return status;
	}

	// MembersLatest: member reads with a snapshot of their own (resp_commands.hpp).
	bool members_latest = false;

	void
	MembersLatest(bool on) override
	{
		members_latest = on;
	}

	// Runs the member read fn guarded; with members_latest, under a snapshot taken now (READ COMMITTED:
	// a transaction-snapshot isolation level keeps its snapshot, and its header update would have
	// raised 40001 on a concurrent change anyway).
	template <typename Fn>
	kv::Status
	MemberRead(Fn fn)
	{
		if (!members_latest || IsolationUsesXactSnapshot())
			return Call(fn);
		return Call([&] {
			CommandCounterIncrement(); // this command's writes so far are seen too
			PushActiveSnapshot(GetLatestSnapshot());
			kv::Status status = fn();
			PopActiveSnapshot();
			return status;
		});
	}

	kv::Status
	MemberGet(const Session &, std::string_view mkey, std::string *value, bool *found) override
	{
		*found = false;
		kv::Value stored{};
		kv::Status status = MemberRead([&] { return kv::Get(MembersTarget(), BytesOf(mkey), &stored); });
		if (status.ok() && stored.found) {
			*found = true;
			value->assign(stored.isnull ? "" : std::string(stored.bytes.data, stored.bytes.len));
		}
		return status;
	}

	kv::Status
	MemberPut(const Session &, std::string_view mkey, std::string_view value, bool *existed) override
	{
		*existed = false;
		kv::Value before{};
		bool written = false;
		kv::Status status = Call([&] {
			return kv::Set(MembersTarget(), BytesOf(mkey), BytesOf(value), {false, false, {kv::TtlMode::Keep, 0}},
			               &written, &before);
		});
		*existed = status.ok() && before.found;
		return status;
	}

	kv::Status
	MemberDelete(const Session &, std::string_view mkey, bool *deleted) override
	{
		*deleted = false;
		return Call([&] { return kv::Delete(MembersTarget(), BytesOf(mkey), deleted); });
	}

	kv::Status
	Retry(const char *message) override
	{
		if (failed)
			return failure;
		failed = true;
		failure = OkStatus();
		failure.code = kv::Code::WouldBlock;
		strlcpy(failure.message, message, sizeof(failure.message));
		return failure;
	}

	kv::Status
	MemberScan(const Session &, std::string_view from, std::string_view end, size_t count,
	           std::vector<std::pair<std::string, std::string>> *out, bool *done) override
	{
		out->clear();
		*done = true;
		kv::Bytes *keys = nullptr, *values = nullptr;
		size_t n = 0;
		kv::Status status = MemberRead([&] {
			return kv::ScanEntries(MembersTarget(), BytesOf(from), BytesOf(end), count, &keys, &values, &n, done);
		});
		if (!status.ok())
			return status;
		out->reserve(n);
		for (size_t i = 0; i < n; i++) // (the arrays go with the command's memory)
			out->emplace_back(std::string(keys[i].data, keys[i].len), std::string(values[i].data, values[i].len));
		return status;
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
		// SET replaces a key of any type; with GET (before) the old value must be a string.
		bool wrong = false, will_write = false;
		TypedEdit edit = [&](const TypedValue &current, TypedWrite *write) {
			wrong = will_write = false;
			if (before != nullptr)
				*before = current.found ? kv::Value{true, false, BytesOf(current.value), current.ttl_ms}
				                        : kv::Value{false, true, {nullptr, 0}, -1};
			if (before != nullptr && current.found && current.type != rtypes::Type::String) {
				wrong = true;
				return;
			}
			if ((options.only_if_absent && current.found) || (options.only_if_present && !current.found))
				return;
			write->action = kv::TypedAction::Write;
			write->type = rtypes::Type::String;
			write->value.assign(value.data(), value.size());
			write->ttl = options.ttl;
			will_write = true;
		};
		bool applied = false;
		kv::Status status = ModifyTyped(s, key, edit, &applied);
		if (status.ok() && wrong)
			return WrongTypeStatus();
		*written = status.ok() && will_write && applied;
		return status;
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
	KeyVersion(uint32_t relid, std::string_view key, bool lock, kv::RowVersion *version) override
	{
		*version = {false, 0, 0, 0, 0, 0, false, 0};
		if (relid == 0)
			return OkStatus(); // no kv_db0: no key exists
		kv::Target target = {relid, nullptr, "WATCH", false};
		return Call([&] { return kv::Version(target, BytesOf(key), lock, version); });
	}

	kv::Status
	Incr(const Session &s, std::string_view key, int64_t delta, int64_t *result) override
	{
		*result = 0;
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		if (!s.typed_keyspace)
			return Call([&] {
				return kv::Incr(target, BytesOf(key), delta, {kv::TtlMode::Keep, 0}, result, nullptr, nullptr);
			});
		kv::Code refusal = kv::Code::Ok;
		TypedEdit edit = [&](const TypedValue &current, TypedWrite *write) {
			refusal = kv::Code::Ok;
			int64_t value = 0;
			if (current.found && current.type != rtypes::Type::String)
				refusal = kv::Code::WrongType;
			else if (current.found && !rtypes::ParseInt64(current.value.data(), current.value.size(), &value))
				refusal = kv::Code::TypeMismatch;
			else if (__builtin_add_overflow(value, delta, result))
				refusal = kv::Code::Overflow;
			if (refusal != kv::Code::Ok)
				return;
			char buffer[24];
			write->action = kv::TypedAction::Write;
			write->value.assign(buffer, rtypes::FormatInt64(*result, buffer));
		};
		bool applied = false;
		kv::Status status = ModifyTyped(s, key, edit, &applied);
		if (status.ok() && refusal != kv::Code::Ok) {
			if (refusal == kv::Code::WrongType)
				return WrongTypeStatus();
			status.code = refusal;
			strlcpy(status.message,
			        refusal == kv::Code::Overflow ? "increment or decrement would overflow"
			                                      : "value is not an integer or out of range",
			        sizeof(status.message));
		}
		return status;
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
	RandomKey(const Session &s, std::string *key, bool *found) override
	{
		*found = false;
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		kv::Bytes bytes = {nullptr, 0};
		kv::Status status = Call([&] { return kv::RandomKey(target, &bytes, found); });
		if (status.ok() && *found)
			key->assign(bytes.data, bytes.len);
		return status;
	}

	kv::Status
	Flush(const Session &s) override
	{
		if (s.relid == 0)
			return NoCollection();
		kv::Target target = TargetOf(s);
		return Call([&] { return kv::Truncate(target); });
	}

	kv::Status
	FlushAll(const Session &) override
	{
		int64_t flushed = 0;
		return Call([&] { return kv::TruncateKeyspaces("FLUSHALL", &flushed); });
	}

	// ---- Typed collections (hash commands). ----

	// kv_db<n> hashes have their own handlers (resp_cmd_rhash.cpp): these typed-collection calls never
	// reach a keyspace.
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

	// INFO's keyspace section: a line per kv_db<n> the role may read that holds keys, in the order of
	// n, and the session's named collection (under its name) if it is one; figures from kv::KeyspaceStats
	// (exact for small collections, estimated from random pages for large ones), never a scan.
	std::string
	KeyspaceSection(const Session &s)
	{
		struct Line {
			int64_t db; // -1: the session's named collection
			kv::KeyspaceFigures figures;
		};
		Line *lines = nullptr;
		size_t nlines = 0;
		// A collection the role may not read (or with row-level security) is left out, as from SCAN, and so
		// is one locked elsewhere right now (ALTER TABLE, LOCK TABLE, REINDEX): INFO never waits for a lock.
		(void)Call([&] {
			kv::Keyspace *keyspaces = nullptr;
			size_t count = 0;
			kv::Status status = kv::ListKeyspaces(&keyspaces, &count, true);
			if (!status.ok())
				return status;
			lines = static_cast<Line *>(palloc(sizeof(Line) * (count + 1)));
			bool current_listed = false;
			for (size_t i = 0; i < count; i++) {
				kv::Target target = {keyspaces[i].relid, nullptr, "INFO", false};
				if (kv::KeyspaceStats(target, &lines[nlines].figures).ok()) {
					lines[nlines].db = keyspaces[i].db;
					nlines++;
				}
				current_listed |= keyspaces[i].relid == s.relid;
			}
			if (s.relid != 0 && !current_listed && s.db_index < 0 &&
			    kv::KeyspaceStats(TargetOf(s), &lines[nlines].figures).ok()) {
				lines[nlines].db = -1;
				nlines++;
			}
			return status;
		});
		std::string text = "# Keyspace\r\n";
		for (size_t i = 0; i < nlines; i++) {
			const kv::KeyspaceFigures &figures = lines[i].figures;
			if (figures.keys > 0)
				text += (lines[i].db >= 0 ? "db" + std::to_string(lines[i].db) : s.db_name) +
				        ":keys=" + std::to_string(figures.keys) + ",expires=" + std::to_string(figures.expires) +
				        ",avg_ttl=" + std::to_string(figures.avg_ttl_ms) + "\r\n";
		}
		return text;
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
			text += "# Clients\r\nconnected_clients:" + std::to_string(server->ClientCount()) +
			        "\r\nblocked_clients:" + std::to_string(blocking::BlockedClients()) + "\r\n\r\n";
		if (all || section == "stats") {
			pubsub::BusStats bus = pubsub::Stats();
			text += "# Stats\r\ntotal_connections_received:" + std::to_string(server->TotalConnections()) +
			        "\r\ntotal_commands_processed:" + std::to_string(server->TotalCommands()) +
			        "\r\npubsub_channels:" + std::to_string(Channels(nullptr).size()) +
			        "\r\npubsub_patterns:" + std::to_string(NumPat()) +
			        "\r\npubsub_messages_published:" + std::to_string(bus.published) +
			        "\r\npubsub_clients_dropped:" + std::to_string(bus.dropped_clients) +
			        "\r\npubsub_messages_lost:" + std::to_string(bus.lost_messages) + "\r\n\r\n";
		}
		if (all || section == "replication")
			text += std::string("# Replication\r\nrole:") + (standby ? "slave" : "master") + "\r\n\r\n";
		if (all || section == "keyspace")
			text += KeyspaceSection(s);
		return text;
	}

	// Whether role `viewer` may see (kill: signal) a client running as `role`: PostgreSQL's rules for
	// pg_stat_activity's details (pg_read_all_stats) and pg_signal_backend (pg_signal_backend; a
	// superuser's client, or one with no role yet, only for a superuser).  Inside Call (may ERROR).
	static bool
	MayAccess(Oid viewer, Oid role, bool kill)
	{
		if (!OidIsValid(viewer))
			return false;
		if (superuser_arg(viewer))
			return true;
		if (kill && (!OidIsValid(role) || superuser_arg(role)))
			return false;
		if (OidIsValid(role) && has_privs_of_role(viewer, role))
			return true;
		return has_privs_of_role(viewer, kill ? ROLE_PG_SIGNAL_BACKEND : ROLE_PG_READ_ALL_STATS);
	}

	// Every worker's clients: this worker's as they are now, the others' from the registry; in id order.
	std::vector<ClientInfo>
	AllClients()
	{
		std::vector<ClientInfo> all;
		int64_t now = Server::NowMs();
		for (uint64_t id : server->ClientIds()) {
			Client *c = server->Find(id);
			ConnFacts facts;
			if (c == nullptr || !server->Facts(id, &facts))
				continue;
			// The command running now is its latest activity (Redis: idle=0 for the caller).
			if (client != nullptr && c == client)
				facts.last_ms = now;
			all.emplace_back();
			DescribeClient(c->session, facts, worker_index, &all.back());
		}
		struct Collect {
			std::vector<ClientInfo> *all;
			int self;
		} collect{&all, worker_index};
		RegistryForEach(
		    [](void *arg, const ClientInfo &info) {
			    auto *c = static_cast<Collect *>(arg);
			    if (info.worker != c->self)
				    c->all->push_back(info);
		    },
		    &collect);
		std::sort(all.begin(), all.end(), [](const ClientInfo &a, const ClientInfo &b) { return a.id < b.id; });
		return all;
	}

	std::vector<ClientInfo>
	Clients(const Session &s) override
	{
		std::vector<ClientInfo> all = AllClients();
		std::vector<ClientInfo> visible;
		std::map<Oid, bool> may;
		kv::Status status = Call([&] {
			for (const ClientInfo &info : all) {
				auto it = may.find(info.role);
				if (it == may.end())
					it = may.emplace(info.role, MayAccess(s.role, info.role, false)).first;
				if (it->second || info.id == s.id)
					visible.push_back(info);
			}
			return OkStatus();
		});
		if (!status.ok()) {
			// A catalog error: the caller's own line only (the command itself still answers).
			failed = false;
			visible.clear();
			for (const ClientInfo &info : all)
				if (info.id == s.id)
					visible.push_back(info);
		}
		return visible;
	}

	kv::Status
	KillClients(const Session &s, const ClientFilter &filter, int64_t *killed, bool *self) override
	{
		*killed = 0;
		*self = false;
		std::vector<ClientInfo> all = AllClients();
		std::vector<const ClientInfo *> victims;
		int64_t refused = 0;
		kv::Status status = Call([&] {
			// Redis checks the ACL user exists; here the role (the name clients show before AUTH too).
			if (filter.has_user && filter.user != "default" && !OidIsValid(get_role_oid(filter.user.c_str(), true))) {
				kv::Status unknown = OkStatus();
				unknown.code = kv::Code::InvalidArgument;
				snprintf(unknown.message, sizeof(unknown.message), "No such user '%s'", filter.user.c_str());
				return unknown;
			}
			for (const ClientInfo &info : all) {
				if (!ClientMatches(filter, info, s.id))
					continue;
				if (info.id == s.id || MayAccess(s.role, info.role, true))
					victims.push_back(&info);
				else
					refused++;
			}
			return OkStatus();
		});
		if (!status.ok())
			return status;
		for (const ClientInfo *info : victims) {
			if (info->id == s.id) {
				*self = true;
			} else if (info->worker == worker_index) {
				if (!server->Kill("", info->id))
					continue;
			} else {
				// Its own worker closes it (on its next tick: woken now).
				if (!RegistryRequestKill(info->id, info->worker))
					continue;
				pubsub::WakeWorker(info->worker);
			}
			(*killed)++;
		}
		if (filter.old_form && *killed == 0 && refused > 0) {
			kv::Status denied = OkStatus();
			denied.code = kv::Code::PermissionDenied;
			strlcpy(denied.message, "permission denied to kill that client (pg_signal_backend's rule)",
			        sizeof(denied.message));
			return denied;
		}
		return OkStatus();
	}

	kv::Status
	UnblockClient(const Session &s, uint64_t id, bool error, bool *unblocked) override
	{
		*unblocked = false;
		const ClientInfo *target = nullptr;
		std::vector<ClientInfo> all = AllClients();
		for (const ClientInfo &info : all)
			if (info.id == id)
				target = &info;
		if (target == nullptr || target->id == s.id)
			return OkStatus();
		bool may = false;
		kv::Status status = Call([&] {
			may = MayAccess(s.role, target->role, true);
			return OkStatus();
		});
		if (!status.ok())
			return status;
		if (!may) {
			kv::Status denied = OkStatus();
			denied.code = kv::Code::PermissionDenied;
			strlcpy(denied.message, "permission denied to unblock that client (pg_signal_backend's rule)",
			        sizeof(denied.message));
			return denied;
		}
		if (target->worker == worker_index) {
			*unblocked = unblock_local && unblock_local(id, error);
			return OkStatus();
		}
		int worker = 0;
		*unblocked =
		    blocking::RequestUnblock(id, error ? blocking::Unblock::Error : blocking::Unblock::Timeout, &worker);
		return OkStatus();
	}

	// Any worker's client (the shared registry), or one of this worker's not in it (registry share full).
	bool
	ClientExists(uint64_t id) override
	{
		return server->Find(id) != nullptr || RegistryExists(id);
	}

	kv::Status
	Publish(const Session &, std::string_view channel, std::string_view message, int64_t *receivers) override
	{
		*receivers = 0;
		return Call([&] {
			if (!pubsub::InPubSubRole()) {
				kv::Status denied = OkStatus();
				denied.code = kv::Code::PermissionDenied;
				strlcpy(denied.message, "this user has no permissions to access one of the channels used as arguments",
				        sizeof(denied.message));
				return denied;
			}
			pubsub::PublishAtCommit(channel.data(), channel.size(), message.data(), message.size());
			*receivers = pubsub::Receivers(channel.data(), channel.size());
			return OkStatus();
		});
	}

	kv::Status
	CheckSubscribe(const Session &, const std::string &name, bool pattern) override
	{
		return Call([&] {
			kv::Status status = OkStatus();
			if (!pubsub::MayListen(name.data(), name.size(), pattern)) {
				status.code = kv::Code::PermissionDenied;
				strlcpy(status.message, "permission denied", sizeof(status.message));
			}
			return status;
		});
	}

	int64_t
	NumSub(std::string_view channel) override
	{
		return pubsub::NumSub(channel.data(), channel.size());
	}

	int64_t
	NumPat() override
	{
		return pubsub::NumPat();
	}

	void
	Notify(const Session &s, uint32_t type, const char *event, std::string_view key) override
	{
		// "new" and "expired" go with the event (Redis's dbAdd and lazy expiry), whatever its own class.
		if (!pubsub::KeyspaceWanted(type | pubsub::kNotifyNew | pubsub::kNotifyExpired) || !pubsub::AnyListeners() ||
		    s.relid == 0)
			return;
		// An error (out of memory) fails the command like any other PostgreSQL error of it.
		(void)Call([&] {
			pubsub::NotifyCommandEvent(s.relid, type, event, key.data(), key.size());
			return OkStatus();
		});
	}

	std::string
	KeyspaceEvents() override
	{
		char buf[32];
		pubsub::KeyspaceFlagsToString(pubsub::KeyspaceFlags(), buf);
		return buf;
	}

	kv::Status
	SetKeyspaceEvents(const Session &s, std::string_view letters) override
	{
		// Server-wide, and it decides which keys go out on channels: superusers only, as ALTER SYSTEM.
		return Call([&] {
			kv::Status status = OkStatus();
			uint32_t flags = 0;
			if (!superuser_arg(s.role)) {
				status.code = kv::Code::PermissionDenied;
				strlcpy(status.message, "this user has no permissions to run the 'config|set' command",
				        sizeof(status.message));
			} else if (!pubsub::ParseKeyspaceFlags(letters.data(), letters.size(), &flags))
				status.code = kv::Code::InvalidArgument;
			else
				pubsub::SetKeyspaceFlags(flags);
			return status;
		});
	}

	std::vector<std::string>
	Channels(const std::string *pattern) override
	{
		std::vector<std::string> names;
		pubsub::ForEachChannel(
		    pattern ? pattern->data() : nullptr, pattern ? pattern->size() : 0,
		    [](void *arg, const char *name, size_t len) {
			    // The internal channel of client-side caching is not a client's channel.
			    if (std::string_view(name, len) != tracking::kChannel &&
			        std::string_view(name, len) != blocking::kChannel)
				    static_cast<std::vector<std::string> *>(arg)->emplace_back(name, len);
		    },
		    &names);
		return names;
	}
};

} // namespace

std::unique_ptr<WorkerEngine>
MakeEngine()
{
	return std::make_unique<PgEngine>();
}

} // namespace nodedb_kv::resp
