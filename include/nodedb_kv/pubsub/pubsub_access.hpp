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

// Whether role (0: the current user) may receive a message that carries relid's data (a change event or
// keyspace notification of the collection): SELECT on it now, whatever the client subscribed to and
// when (a pattern may match a collection created later; a REVOKE stops delivery).  Answers are cached
// per (role, relid) until pg_class, pg_authid or pg_auth_members change (GRANT, REVOKE, DDL, role
// membership): call it inside a transaction, whose start processes those invalidations.  A collection
// that no longer exists answers false.
bool MayReceive(unsigned int role, unsigned int relid);

// Registers the invalidation callbacks of MayReceive's cache.  Once per process that delivers messages.
void InstallReceiveCache();

} // namespace nodedb_kv::pubsub
