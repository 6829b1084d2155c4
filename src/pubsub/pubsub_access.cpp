// nodedb_kv.pubsub_role (pubsub_access.hpp): membership in the role, checked as pg_hba.conf's +role does
// (is_member_of_role: any path of grants, INHERIT or not; superusers are members of every role).  And who
// may receive the messages that carry a collection's data, checked at delivery (MayReceive), cached.
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/pubsub/pubsub_access.hpp"

namespace nodedb_kv::pubsub {
namespace {

// MayReceive's answers: (role << 32 | relid) -> allowed.  Dropped whole when stale.
struct ReceiveEntry {
	uint64 key;
	bool allowed;
};
HTAB *receive_cache = nullptr;
bool receive_cache_stale = false;

// Syscache callback (pg_class, pg_authid, pg_auth_members): every cached answer may be wrong now.
void
ReceiveCacheInvalidate(Datum, int, uint32)
{
	receive_cache_stale = true;
}

} // namespace

bool
MayReceive(unsigned int role, unsigned int relid)
{
	if (receive_cache_stale && receive_cache != nullptr) {
		hash_destroy(receive_cache);
		receive_cache = nullptr;
	}
	receive_cache_stale = false;
	if (receive_cache == nullptr) {
		HASHCTL ctl = {};
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(ReceiveEntry);
		ctl.hcxt = TopMemoryContext;
		receive_cache = hash_create("nodedb_kv pub/sub receivers", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	Oid user = OidIsValid(role) ? role : GetUserId();
	uint64 key = static_cast<uint64>(user) << 32 | relid;
	bool found = false;
	auto *entry = static_cast<ReceiveEntry *>(hash_search(receive_cache, &key, HASH_ENTER, &found));
	if (!found) {
		entry->allowed = false; // until known (an ERROR below leaves it refusing)
		entry->allowed = SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)) &&
		                 pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK;
	}
	return entry->allowed;
}

void
InstallReceiveCache()
{
	CacheRegisterSyscacheCallback(RELOID, ReceiveCacheInvalidate, 0);
	CacheRegisterSyscacheCallback(AUTHOID, ReceiveCacheInvalidate, 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, ReceiveCacheInvalidate, 0);
}

bool
InPubSubRole()
{
	const char *name = guc::pubsub_role;
	if (name == nullptr || name[0] == '\0')
		return true;
	Oid user = GetUserId();
	if (superuser_arg(user))
		return true;
	Oid role = get_role_oid(name, true);
	return OidIsValid(role) && is_member_of_role(user, role);
}

void
CheckPublish(const char *channel, size_t channel_len)
{
	if (InPubSubRole())
		return;
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
	                errmsg("permission denied to publish to channel \"%.*s\"", static_cast<int>(Min(channel_len, 255)),
	                       channel),
	                errdetail("Only members of role \"%s\" (nodedb_kv.pubsub_role) may publish.", guc::pubsub_role)));
}

} // namespace nodedb_kv::pubsub
