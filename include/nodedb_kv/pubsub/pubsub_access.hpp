#pragma once
// Who may use plain pub/sub channels (nodedb_kv.pubsub_role).  A collection's change channel is governed
// by SELECT on the collection instead (pubsub_changes.hpp, MayListen).  PG-native.

namespace nodedb_kv::pubsub {

// Whether the current user may PUBLISH to, SUBSCRIBE to or PSUBSCRIBE plain channels: true when
// nodedb_kv.pubsub_role is empty, else when the user is a member of that role (directly or through
// other roles, with or without INHERIT, as pg_hba.conf's +role; superusers always are).  A role that
// does not exist admits only superusers.  Needs catalog access; never ERRORs.
bool InPubSubRole();

// ERROR 42501 unless InPubSubRole() (kv_publish from SQL).
void CheckPublish(const char *channel, size_t channel_len);

} // namespace nodedb_kv::pubsub
