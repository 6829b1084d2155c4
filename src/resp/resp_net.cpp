// The RESP network loop (resp_net.hpp): Boost.Asio on one thread, no PostgreSQL.  Reading parses
// complete commands into each client's queue; a loop turn is posted behind the reads that are ready,
// so one turn collects the commands of every readable client (group commit); replies are written after
// the executor has finished the turn.  A client is not read while its unsent output is above the limit
// or its queue is full (backpressure), so a slow reader costs only its own buffers.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <map>

#include <boost/asio.hpp>

#include "nodedb_kv/resp/resp_net.hpp"

namespace nodedb_kv::resp {

namespace asio = boost::asio;
using asio::ip::tcp;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

namespace {

struct Conn : std::enable_shared_from_this<Conn> {
	explicit Conn(tcp::socket s) : socket(std::move(s))
	{
	}
	tcp::socket socket;
	Client client;
	Parser parser;
	std::array<char, 16384> buffer;
	std::string out;     // replies ready to send
	std::string sending; // the bytes of the write in flight
	bool reading = false;
	bool writing = false;
	bool closing = false;      // close once everything is sent
	bool write_posted = false; // a StartWrite is queued on the loop (WriteSoon)
	int64_t last_activity_ms = 0;
	uint64_t id = 0;
	int64_t soft_since_ms = -1; // pub/sub output past the soft limit since then (-1: not past it)
};

using ConnPtr = std::shared_ptr<Conn>;

} // namespace

struct Server::Impl {
	Impl(Server *server, NetConfig cfg, Executor *exec)
	    : self(server), config(std::move(cfg)), executor(exec), io(1), tick_timer(io), wake_timer(io), release_timer(io)
	{
	}

	Server *self;
	NetConfig config;
	Executor *executor;
	asio::io_context io;
	std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
	std::map<uint64_t, ConnPtr> conns;
	asio::steady_timer tick_timer;
	asio::steady_timer wake_timer;
	asio::steady_timer release_timer;
	bool release_armed = false;
	int64_t wake_at_ms = 0;
	std::unique_ptr<asio::posix::stream_descriptor> pipe;
	std::array<char, 64> pipe_buffer;
	bool turn_scheduled = false;
	bool stopping = false;
	uint64_t next_id = 1;

	bool
	Bind(std::string *error)
	{
		next_id = config.first_id;
		tcp::resolver resolver(io);
		for (const std::string &host : config.addresses) {
			boost::system::error_code ec;
			std::string name = host == "*" ? "" : host;
			auto results =
			    name.empty() ? resolver.resolve(tcp::v4(), "", std::to_string(config.port),
			                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec)
			                 : resolver.resolve(name, std::to_string(config.port), tcp::resolver::numeric_service, ec);
			if (ec) {
				*error += "could not resolve \"" + host + "\": " + ec.message() + "; ";
				continue;
			}
			for (const auto &entry : results) {
				tcp::endpoint endpoint = entry.endpoint();
				auto acceptor = std::make_unique<tcp::acceptor>(io);
				acceptor->open(endpoint.protocol(), ec);
				if (!ec && endpoint.address().is_v6())
					acceptor->set_option(asio::ip::v6_only(true), ec);
				if (!ec)
					acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
				if (!ec)
					acceptor->set_option(ReusePort(true), ec);
				if (!ec)
					acceptor->bind(endpoint, ec);
				if (!ec)
					acceptor->listen(511, ec);
				if (ec) {
					*error += "could not listen on " + endpoint.address().to_string() + ": " + ec.message() + "; ";
					continue;
				}
				acceptors.push_back(std::move(acceptor));
			}
		}
		return !acceptors.empty();
	}

	void
	Accept(tcp::acceptor *acceptor)
	{
		acceptor->async_accept([this, acceptor](boost::system::error_code ec, tcp::socket socket) {
			if (stopping)
				return;
			if (!ec)
				OnAccept(std::move(socket));
			else if (ec == asio::error::operation_aborted)
				return;
			if (ec && ec != asio::error::connection_aborted) {
				// Out of descriptors or similar: try again a little later instead of spinning.
				auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
				timer->async_wait([this, acceptor, timer](boost::system::error_code) {
					if (!stopping)
						Accept(acceptor);
				});
				return;
			}
			Accept(acceptor);
		});
	}

	void
	OnAccept(tcp::socket socket)
	{
		boost::system::error_code ec;
		if (conns.size() >= config.max_clients) {
			static const char kFull[] = "-ERR max number of clients reached\r\n";
			socket.non_blocking(true, ec);
			asio::write(socket, asio::buffer(kFull, sizeof(kFull) - 1), ec);
			socket.close(ec);
			return;
		}
		socket.set_option(tcp::no_delay(true), ec);
		auto conn = std::make_shared<Conn>(std::move(socket));
		conn->id = next_id;
		next_id += config.id_step;
		conn->client.session.id = conn->id;
		conn->client.session.created_ms = NowMs();
		tcp::endpoint remote = conn->socket.remote_endpoint(ec);
		if (!ec) {
			std::string ip = remote.address().to_string();
			conn->client.session.address =
			    (remote.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(remote.port());
		}
		conn->parser.SetLimits({config.max_bulk_len, 1024 * 1024, 64 * 1024});
		conn->client.auth_required = config.auth_required;
		conn->last_activity_ms = NowMs();
		tcp::endpoint local = conn->socket.local_endpoint(ec);
		if (!ec) {
			std::string ip = local.address().to_string();
			conn->client.session.local_address =
			    (local.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(local.port());
		}
		conns[conn->id] = conn;
		self->total_connections_++;
		executor->Opened(conn->client);
		StartRead(conn);
	}

	// Parses complete commands into the client's queue, up to the per-turn limit.
	void
	ParseInto(const ConnPtr &conn)
	{
		Client &client = conn->client;
		// Before AUTH, Redis's limits (10 arguments, 16 KiB bulks), one command at a time: a pipelined
		// AUTH must run before the next command is parsed, as Redis does.
		conn->parser.SetUnauthenticated(client.auth_required);
		size_t limit = client.auth_required ? 1 : config.max_commands_per_turn;
		while (client.queued.size() < limit && client.protocol_error.empty() && !conn->closing) {
			Argv argv;
			std::string error;
			Parser::Result result = conn->parser.Next(&argv, &error);
			if (result == Parser::Result::Incomplete)
				break;
			if (result == Parser::Result::Error) {
				client.protocol_error = error;
				break;
			}
			client.queued.push_back(std::move(argv));
		}
	}

	bool
	Backpressured(const ConnPtr &conn) const
	{
		return conn->out.size() + conn->sending.size() + conn->client.pending.size() > config.max_output ||
		       conn->client.queued.size() >= config.max_commands_per_turn || !conn->client.protocol_error.empty() ||
		       conn->parser.Buffered() > static_cast<size_t>(config.max_bulk_len) + 64 * 1024;
	}

	void
	StartRead(const ConnPtr &conn)
	{
		if (conn->reading || conn->client.closed || conn->closing || stopping || Backpressured(conn))
			return;
		conn->reading = true;
		conn->socket.async_read_some(asio::buffer(conn->buffer), [this, conn](boost::system::error_code ec, size_t n) {
			conn->reading = false;
			if (ec) {
				Close(conn);
				return;
			}
			conn->last_activity_ms = NowMs();
			conn->parser.Feed(conn->buffer.data(), n);
			ParseInto(conn);
			if (!conn->client.queued.empty() || !conn->client.protocol_error.empty())
				ScheduleTurn();
			StartRead(conn);
		});
	}

	// Pushed frames (pub/sub messages, invalidations) are sent once the current handler is done, so a
	// bus drain of many messages makes one write per client, as Redis writes each client's buffer once
	// per event loop iteration, rather than one write for the first message and one for the rest.
	void
	WriteSoon(const ConnPtr &conn)
	{
		if (conn->write_posted || conn->writing || conn->client.closed)
			return;
		conn->write_posted = true;
		asio::post(io, [this, conn] {
			conn->write_posted = false;
			StartWrite(conn);
		});
	}

	void
	StartWrite(const ConnPtr &conn)
	{
		if (conn->writing || conn->client.closed)
			return;
		if (conn->out.empty()) {
			if (conn->closing && conn->client.held.empty())
				Close(conn);
			return;
		}
		conn->sending.swap(conn->out);
		conn->out.clear();
		conn->writing = true;
		asio::async_write(conn->socket, asio::buffer(conn->sending),
		                  [this, conn](boost::system::error_code ec, size_t) {
			                  conn->writing = false;
			                  conn->sending.clear();
			                  if (ec) {
				                  Close(conn);
				                  return;
			                  }
			                  conn->last_activity_ms = NowMs();
			                  StartWrite(conn);
			                  // Room again: read more, and run what is already parsed.
			                  ParseInto(conn);
			                  if (!conn->client.queued.empty())
				                  ScheduleTurn();
			                  StartRead(conn);
		                  });
	}

	void
	Close(const ConnPtr &conn)
	{
		if (conn->client.closed)
			return;
		conn->client.closed = true;
		boost::system::error_code ec;
		conn->socket.shutdown(tcp::socket::shutdown_both, ec);
		conn->socket.close(ec);
		conns.erase(conn->id);
		executor->Closed(conn->client);
	}

	void
	ScheduleTurn()
	{
		if (turn_scheduled || stopping)
			return;
		turn_scheduled = true;
		// Posted behind the completions already queued: one turn takes every client that is ready now.
		asio::post(io, [this] { Turn(); });
	}

	void
	Turn()
	{
		turn_scheduled = false;
		if (stopping)
			return;
		int64_t now = NowMs();
		std::vector<ConnPtr> snapshot;
		std::vector<Client *> ready;
		snapshot.reserve(conns.size());
		for (auto &entry : conns) {
			ConnPtr &conn = entry.second;
			snapshot.push_back(conn);
			// A client whose replies are not being read waits until they are (its own backpressure).
			if (conn->client.Runnable(now) && !conn->closing &&
			    conn->out.size() + conn->sending.size() <= config.max_output)
				ready.push_back(&conn->client);
		}
		if (!ready.empty())
			executor->RunTurn(*self, ready);
		now = NowMs();
		uint64_t durable_lsn = executor->DurableLsn();
		for (ConnPtr &conn : snapshot) {
			if (conn->client.closed)
				continue;
			Client &client = conn->client;
			if (client.not_before_ms > now) {
				WakeAtMs(client.not_before_ms);
				continue; // parked: its replies wait too
			}
			if (!client.pending.empty()) {
				// Replies wait for the WAL flush of what they acknowledge (and keep their order).
				if (!client.held.empty() || client.pending_lsn > durable_lsn) {
					client.held.emplace_back(client.pending_lsn, std::move(client.pending));
					ArmRelease();
				} else
					conn->out += client.pending;
				client.pending.clear();
			}
			client.pending_lsn = 0;
			if (client.session.close_after_reply) {
				client.queued.clear();
				conn->closing = true;
			}
			if (client.queued.empty() && !client.protocol_error.empty() && !conn->closing) {
				std::string *target = client.held.empty() ? &conn->out : &client.held.back().second;
				Writer writer(target, client.session.protocol);
				writer.Error(client.protocol_error);
				conn->closing = true;
			}
			StartWrite(conn);
			ParseInto(conn);
			if (client.Runnable(now) && conn->out.size() + conn->sending.size() <= config.max_output)
				ScheduleTurn();
			else if (!client.queued.empty() && client.not_before_ms > now)
				WakeAtMs(client.not_before_ms);
			else if (client.blocked && client.block_deadline_ms != 0)
				WakeAtMs(client.block_deadline_ms); // its timeout
			StartRead(conn);
		}
	}

	void
	WakeAtMs(int64_t when)
	{
		if (wake_at_ms != 0 && wake_at_ms <= when && wake_at_ms > NowMs())
			return;
		wake_at_ms = when;
		wake_timer.expires_after(std::chrono::milliseconds(std::max<int64_t>(when - NowMs(), 0)));
		wake_timer.async_wait([this](boost::system::error_code ec) {
			if (ec)
				return;
			wake_at_ms = 0;
			ScheduleTurn();
		});
	}

	// Sends held replies whose WAL is flushed; polls every half millisecond while any are held.
	void
	ArmRelease()
	{
		if (release_armed || stopping)
			return;
		release_armed = true;
		release_timer.expires_after(std::chrono::microseconds(500));
		release_timer.async_wait([this](boost::system::error_code ec) {
			release_armed = false;
			if (ec || stopping)
				return;
			uint64_t durable = executor->DurableLsn();
			bool more = false;
			std::vector<ConnPtr> ready;
			for (auto &entry : conns) {
				Client &client = entry.second->client;
				bool released = false;
				while (!client.held.empty() && client.held.front().first <= durable) {
					entry.second->out += client.held.front().second;
					client.held.pop_front();
					released = true;
				}
				more = more || !client.held.empty();
				if (released)
					ready.push_back(entry.second);
			}
			for (const ConnPtr &conn : ready)
				StartWrite(conn);
			if (more)
				ArmRelease();
		});
	}

	void
	Tick()
	{
		tick_timer.expires_after(std::chrono::milliseconds(config.tick_ms));
		tick_timer.async_wait([this](boost::system::error_code ec) {
			if (ec || stopping)
				return;
			executor->Tick(*self);
			CloseIdle();
			if (!stopping)
				Tick();
		});
	}

	void
	CloseIdle()
	{
		if (config.timeout_s <= 0)
			return;
		int64_t limit = NowMs() - static_cast<int64_t>(config.timeout_s) * 1000;
		std::vector<ConnPtr> idle;
		for (auto &entry : conns) {
			const ConnPtr &conn = entry.second;
			if (conn->last_activity_ms < limit && conn->client.queued.empty() && !conn->writing)
				idle.push_back(conn);
		}
		for (const ConnPtr &conn : idle)
			Close(conn);
	}

	void
	WatchPipe()
	{
		if (!pipe)
			return;
		pipe->async_read_some(asio::buffer(pipe_buffer), [this](boost::system::error_code ec, size_t) {
			if (ec == asio::error::operation_aborted || stopping)
				return;
			executor->Tick(*self);
			if (!stopping)
				WatchPipe();
		});
	}
};

Server::Server(NetConfig config, Executor *executor) : impl_(std::make_unique<Impl>(this, std::move(config), executor))
{
}

Server::~Server()
{
	if (impl_ && impl_->pipe) {
		boost::system::error_code ec;
		impl_->pipe->release(); // the descriptor belongs to the worker
	}
}

int64_t
Server::NowMs()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
	    .count();
}

bool
Server::Run(std::string *error)
{
	try {
		if (!impl_->Bind(error))
			return false;
		for (auto &acceptor : impl_->acceptors)
			impl_->Accept(acceptor.get());
		if (impl_->config.self_pipe_fd >= 0) {
			impl_->pipe = std::make_unique<asio::posix::stream_descriptor>(impl_->io, impl_->config.self_pipe_fd);
			impl_->WatchPipe();
		}
		impl_->Tick();
		impl_->io.run();
		return true;
	} catch (const std::exception &e) {
		*error = e.what();
		return false;
	}
}

void
Server::Stop()
{
	impl_->stopping = true;
	impl_->io.stop();
}

void
Server::UpdateConfig(const NetConfig &config)
{
	impl_->config.max_clients = config.max_clients;
	impl_->config.max_bulk_len = config.max_bulk_len;
	impl_->config.timeout_s = config.timeout_s;
	impl_->config.auth_required = config.auth_required;
	for (auto &entry : impl_->conns)
		entry.second->parser.SetLimits({config.max_bulk_len, 1024 * 1024, 64 * 1024});
}

size_t
Server::Deliver(std::string_view channel, std::string_view payload, size_t max_output, uint64_t *dropped)
{
	return Deliver(channel, payload, OutputLimit{max_output, 0, 0, 0}, dropped);
}

size_t
Server::Deliver(std::string_view channel, std::string_view payload, const OutputLimit &limit, uint64_t *dropped,
                const std::function<bool(const Session &)> &may_receive)
{
	size_t frames = 0;
	std::vector<ConnPtr> slow;
	for (auto &entry : impl_->conns) {
		const ConnPtr &conn = entry.second;
		if (conn->client.session.Subscriptions() == 0 || conn->client.closed)
			continue;
		// Behind the client's replies not sent yet (this turn's, or held for the WAL flush): a SUBSCRIBE's
		// reply always comes before the messages it lets through.
		Client &client = conn->client;
		if (may_receive && !MatchesSubscription(client.session, channel))
			continue;
		if (may_receive && !may_receive(client.session))
			continue;
		std::string *target = !client.pending.empty() ? &client.pending
		                      : !client.held.empty()  ? &client.held.back().second
		                                              : &conn->out;
		size_t written = WriteMessage(client.session, channel, payload, target);
		if (written == 0)
			continue;
		frames += written;
		size_t unsent = conn->out.size() + conn->sending.size() + (target != &conn->out ? target->size() : 0);
		bool past_soft = limit.soft > 0 && limit.soft_ms > 0 && unsent > limit.soft;
		if (!past_soft)
			conn->soft_since_ms = -1;
		else if (conn->soft_since_ms < 0)
			conn->soft_since_ms = limit.now_ms;
		if (unsent > limit.hard || (past_soft && limit.now_ms - conn->soft_since_ms > limit.soft_ms))
			slow.push_back(conn);
		else
			impl_->WriteSoon(conn);
	}
	for (const ConnPtr &conn : slow) {
		// Redis's client-output-buffer-limit for pubsub: the client goes, nobody else waits for it.
		conn->out.clear();
		impl_->Close(conn);
		++*dropped;
	}
	return frames;
}

bool
Server::HasSubscribers() const
{
	for (const auto &entry : impl_->conns) {
		if (entry.second->client.session.Subscriptions() > 0)
			return true;
	}
	return false;
}

Client *
Server::Find(uint64_t id)
{
	auto it = impl_->conns.find(id);
	return it == impl_->conns.end() || it->second->client.closed ? nullptr : &it->second->client;
}

void
Server::Push(uint64_t id, std::string_view bytes)
{
	auto it = impl_->conns.find(id);
	if (it == impl_->conns.end() || it->second->client.closed)
		return;
	const ConnPtr &conn = it->second;
	// Behind the client's replies not sent yet, as pub/sub messages (Deliver).
	Client &client = conn->client;
	std::string *target = !client.pending.empty() ? &client.pending
	                      : !client.held.empty()  ? &client.held.back().second
	                                              : &conn->out;
	target->append(bytes.data(), bytes.size());
	impl_->WriteSoon(conn);
}

std::vector<uint64_t>
Server::ClientIds() const
{
	std::vector<uint64_t> ids;
	ids.reserve(impl_->conns.size());
	for (const auto &entry : impl_->conns)
		ids.push_back(entry.first);
	return ids;
}

void
Server::WakeAt(int64_t when_ms)
{
	impl_->WakeAtMs(when_ms);
}

size_t
Server::ClientCount() const
{
	return impl_->conns.size();
}

bool
Server::Facts(uint64_t id, ConnFacts *facts)
{
	auto it = impl_->conns.find(id);
	if (it == impl_->conns.end())
		return false;
	Conn &conn = *it->second;
	facts->fd = conn.socket.native_handle();
	facts->last_ms = conn.last_activity_ms;
	facts->qbuf = conn.parser.Buffered();
	facts->omem = conn.out.size() + conn.sending.size() + conn.client.pending.size();
	facts->laddr = conn.client.session.local_address;
	return true;
}

bool
Server::Kill(const std::string &address, uint64_t id)
{
	for (auto &entry : impl_->conns) {
		ConnPtr conn = entry.second;
		if ((id != 0 && conn->id == id) || (!address.empty() && conn->client.session.address == address)) {
			// Closed after the current turn: the executor may be iterating over this client.
			conn->closing = true;
			conn->client.queued.clear();
			asio::post(impl_->io, [this, conn] { impl_->Close(conn); });
			return true;
		}
	}
	return false;
}

} // namespace nodedb_kv::resp
