// The client registry in a RESP worker (resp_worker_loop.hpp, resp_clients.hpp): each client mirrored
// into a shared slot (CLIENT LIST of other workers), and the CLIENT KILL requests of other workers.
#include <vector>

#include "nodedb_kv/resp/resp_clients.hpp"

#include "nodedb_kv/resp/resp_worker_loop.hpp"

namespace nodedb_kv::resp::loop {

void
Worker::Opened(Client &client)
{
	client.registry_slot = RegistryAcquire(worker_index);
	Publish(*engine.server, client);
}

void
Worker::Closed(Client &client)
{
	SyncSubscriptions(client.session, Session());
	SyncTracking(client.session, Session());
	RegistryRelease(client.registry_slot);
	client.registry_slot = -1;
	blocker_.Forget(client.session.id); // a client that disconnects while blocked is forgotten
}

// Mirrors a client into its registry slot (CLIENT LIST of other workers).
void
Worker::Publish(Server &server, Client &client)
{
	if (client.registry_slot < 0)
		return;
	ConnFacts facts;
	if (!server.Facts(client.session.id, &facts))
		return;
	ClientInfo info;
	DescribeClient(client.session, facts, worker_index, &info);
	RegistryPublish(client.registry_slot, info);
}

// Closes the clients other workers asked to kill (CLIENT KILL).
void
Worker::TakeKills(Server &server)
{
	RegistryTakeKills(
	    worker_index, [](void *arg, uint64_t id) { (void)static_cast<Server *>(arg)->Kill("", id); }, &server);
}

} // namespace nodedb_kv::resp::loop
