// CLIENT LIST / INFO / KILL, the pure C++ part (resp_clients.hpp): a client's CLIENT LIST line in Redis
// 7's field order and flag letters (networking.c catClientInfoString), Redis's client types and the
// CLIENT KILL filters with Redis 7.0's errors (clientKillCommand, clientMatchesFilter).  The shared
// registry that holds every worker's clients is resp_clients.cpp.
#include <chrono>
#include <cstdio>

#include "nodedb_kv/resp/resp_clients.hpp"
#include "nodedb_kv/resp/resp_commands.hpp"

namespace nodedb_kv::resp {

int64_t
MonotonicMs()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
	    .count();
}

void
DescribeClient(const Session &s, const ConnFacts &conn, int worker, ClientInfo *info)
{
	*info = ClientInfo{};
	info->id = s.id;
	info->worker = worker;
	info->role = s.role;
	info->created_ms = s.created_ms;
	info->last_ms = conn.last_ms;
	info->db = s.db_index;
	info->fd = conn.fd;
	info->sub = static_cast<int32_t>(s.channels.size());
	info->psub = static_cast<int32_t>(s.patterns.size());
	// In a MULTI block (also while EXEC runs it, as Redis): flag x and the number of queued commands.
	bool in_multi = s.multi.active || s.in_exec;
	info->multi = s.multi.active ? static_cast<int32_t>(s.multi.count)
	              : s.in_exec    ? static_cast<int32_t>(s.exec_count)
	                             : -1;
	info->redir = s.tracking.on ? static_cast<int64_t>(s.tracking.redirect) : -1;
	info->qbuf = conn.qbuf;
	info->omem = conn.omem;
	info->resp = static_cast<uint8_t>(s.protocol == Protocol::Resp3 ? 3 : 2);
	// Redis's letters, in its order: P pubsub, x MULTI, b blocked, t tracking, R broken redirect, B BCAST,
	// c close after reply; N when none.
	std::string flags;
	if (s.Subscriptions() > 0)
		flags += 'P';
	if (in_multi)
		flags += 'x';
	if (s.blocked)
		flags += 'b';
	if (s.tracking.on)
		flags += 't';
	if (s.tracking.on && s.tracking.broken)
		flags += 'R';
	if (s.tracking.on && s.tracking.bcast)
		flags += 'B';
	if (s.close_after_reply)
		flags += 'c';
	if (flags.empty())
		flags = "N";
	CopyField(info->flags, flags);
	CopyField(info->addr, s.address);
	CopyField(info->laddr, conn.laddr);
	CopyField(info->name, s.name);
	CopyField(info->user, s.user.empty() ? std::string_view("default") : std::string_view(s.user));
	CopyField(info->cmd, s.last_command.empty() ? std::string_view("NULL") : std::string_view(s.last_command));
	CopyField(info->lib_name, s.lib_name);
	CopyField(info->lib_ver, s.lib_ver);
}

std::string
FormatClientLine(const ClientInfo &c, int64_t now_ms)
{
	auto secs = [now_ms](int64_t since) {
		return std::to_string(since > 0 && now_ms > since ? (now_ms - since) / 1000 : 0);
	};
	std::string line;
	line.reserve(320);
	line += "id=" + std::to_string(c.id);
	line += std::string(" addr=") + c.addr;
	line += std::string(" laddr=") + c.laddr;
	line += " fd=" + std::to_string(c.fd);
	line += std::string(" name=") + c.name;
	line += " age=" + secs(c.created_ms);
	line += " idle=" + secs(c.last_ms);
	line += std::string(" flags=") + c.flags;
	line += " db=" + std::to_string(c.db);
	line += " sub=" + std::to_string(c.sub);
	line += " psub=" + std::to_string(c.psub);
	line += " ssub=0";
	line += " multi=" + std::to_string(c.multi);
	line += " qbuf=" + std::to_string(c.qbuf);
	line += " qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0";
	line += " omem=" + std::to_string(c.omem);
	line += " tot-mem=" + std::to_string(c.qbuf + c.omem);
	line += " events=r";
	line += std::string(" cmd=") + c.cmd;
	line += std::string(" user=") + c.user;
	line += " redir=" + std::to_string(c.redir);
	line += " resp=" + std::to_string(static_cast<int>(c.resp));
	line += std::string(" lib-name=") + c.lib_name;
	line += std::string(" lib-ver=") + c.lib_ver;
	return line;
}

bool
ParseClientType(std::string_view name, ClientType *type)
{
	if (EqualsIgnoreCase(name, "normal"))
		*type = ClientType::Normal;
	else if (EqualsIgnoreCase(name, "slave") || EqualsIgnoreCase(name, "replica"))
		*type = ClientType::Replica;
	else if (EqualsIgnoreCase(name, "pubsub"))
		*type = ClientType::PubSub;
	else if (EqualsIgnoreCase(name, "master"))
		*type = ClientType::Master;
	else
		return false;
	return true;
}

ClientType
TypeOfClient(const ClientInfo &info)
{
	return info.sub + info.psub > 0 ? ClientType::PubSub : ClientType::Normal;
}

bool
ParseKillFilter(const std::vector<std::string> &argv, ClientFilter *filter, std::string *error)
{
	*filter = ClientFilter{};
	if (argv.size() == 3) {
		// The old form: CLIENT KILL addr (may kill the caller itself).
		filter->old_form = true;
		filter->addr = argv[2];
		filter->skipme = false;
		return true;
	}
	for (size_t i = 2; i < argv.size(); i += 2) {
		bool more = i + 1 < argv.size();
		const std::string &opt = argv[i];
		if (!more) {
			*error = "ERR syntax error";
			return false;
		}
		const std::string &value = argv[i + 1];
		if (EqualsIgnoreCase(opt, "id")) {
			int64_t id;
			if (!ParseInt64(value, &id) || id <= 0) {
				*error = "ERR client-id should be greater than 0";
				return false;
			}
			filter->id = static_cast<uint64_t>(id);
		} else if (EqualsIgnoreCase(opt, "type")) {
			if (!ParseClientType(value, &filter->type)) {
				*error = "ERR Unknown client type '" + value + "'";
				return false;
			}
			filter->has_type = true;
		} else if (EqualsIgnoreCase(opt, "addr")) {
			filter->addr = value;
		} else if (EqualsIgnoreCase(opt, "laddr")) {
			filter->laddr = value;
		} else if (EqualsIgnoreCase(opt, "user")) {
			filter->user = value;
			filter->has_user = true;
		} else if (EqualsIgnoreCase(opt, "skipme")) {
			if (EqualsIgnoreCase(value, "yes")) {
				filter->skipme = true;
			} else if (EqualsIgnoreCase(value, "no")) {
				filter->skipme = false;
			} else {
				*error = "ERR syntax error";
				return false;
			}
		} else {
			*error = "ERR syntax error";
			return false;
		}
	}
	return true;
}

bool
ClientMatches(const ClientFilter &f, const ClientInfo &info, uint64_t self)
{
	if (!f.addr.empty() && f.addr != info.addr)
		return false;
	if (!f.laddr.empty() && f.laddr != info.laddr)
		return false;
	if (f.has_type && f.type != TypeOfClient(info))
		return false;
	if (f.id != 0 && f.id != info.id)
		return false;
	if (f.has_user && f.user != info.user)
		return false;
	if (f.skipme && info.id == self)
		return false;
	return true;
}

} // namespace nodedb_kv::resp
