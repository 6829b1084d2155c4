// nodedb_kv.pubsub_role (pubsub_access.hpp): membership in the role, checked as pg_hba.conf's +role does
// (is_member_of_role: any path of grants, INHERIT or not; superusers are members of every role).
#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
NODEDB_KV_PG_INCLUDE_END

#include "nodedb_kv/guc.hpp"
#include "nodedb_kv/pubsub/pubsub_access.hpp"

namespace nodedb_kv::pubsub {

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
