// Wake-ups from every writer (blocking.hpp): a change-capture consumer, so a push by a RESP command of
// any worker, an SQL INSERT or UPDATE of the key's row, a KV function or COPY all wake the clients
// blocked on that key, at commit.  Everything happens in the COMMIT callback, after the transaction
// became visible (no allocation, never errors): when some client waits at all (one atomic read), the
// key of every inserted or updated row (bytea and text keys: the bytes a RESP client names) is hashed
// as the waiters hashed it, and the hashes the shared filter knows are appended to the bus.  Checking
// only after the commit is visible closes the race with a client that blocks meanwhile: it registers
// before its command's snapshot, so either that snapshot sees the push or this check sees the waiter.
#include <string_view>

#include "nodedb_kv/blocking/blocking.hpp"
#include "nodedb_kv/tracking/tracking_key.hpp"

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "catalog/pg_type_d.h"
#include "miscadmin.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/capture/capture.hpp"

namespace nodedb_kv::blocking {
namespace {

constexpr size_t kBatch = 512; // hashes per wake-up call

void
Commit(const capture::Change *changes, int count, const capture::CommitInfo &)
{
	if (count == 0 || !AnyWaiters())
		return;
	static uint64_t hashes[kBatch];
	size_t n = 0;
	for (int i = 0; i < count; i++) {
		const capture::Change &change = changes[i];
		if ((change.op != capture::ChangeOp::Insert && change.op != capture::ChangeOp::Update) || change.key_isnull)
			continue;
		Oid type = change.key_type.type;
		if (type != BYTEAOID && type != TEXTOID && type != VARCHAROID && type != BPCHAROID)
			continue;
		auto *key = reinterpret_cast<varlena *>(DatumGetPointer(change.key));
		// A key stored compressed or out of line would need memory to read: keys are index entries, so
		// short and plain (a RESP key never is either).
		if (VARATT_IS_EXTERNAL(key) || VARATT_IS_COMPRESSED(key))
			continue;
		uint64_t hash =
		    tracking::KeyHash(MyDatabaseId, change.relid, std::string_view(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)));
		if (!FilterHas(hash))
			continue;
		hashes[n++] = hash;
		if (n == kBatch) {
			Wake(hashes, n);
			n = 0;
		}
	}
	Wake(hashes, n);
}

} // namespace

void
RegisterBlockingConsumer()
{
	capture::RegisterConsumer({"blocking", nullptr, nullptr, Commit, nullptr});
}

} // namespace nodedb_kv::blocking
