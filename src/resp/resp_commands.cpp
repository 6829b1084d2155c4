// The command table and the dispatcher: lookup, Redis's unknown-command / arity / NOAUTH replies, the
// one mapping from engine status codes to Redis error replies, and small helpers the handlers share
// (case folding, Redis's glob matcher).  Pure C++.
#include <algorithm>
#include <cctype>

#include "nodedb_kv/resp/resp_commands.hpp"

namespace nodedb_kv::resp {

std::string
Lower(std::string_view text)
{
	std::string lower(text);
	for (char &c : lower)
		c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
	return lower;
}

bool
EqualsIgnoreCase(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); i++) {
		if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i])))
			return false;
	}
	return true;
}

void
CommandTable::Add(const CommandSpec &spec)
{
	index_[spec.name] = commands_.size();
	commands_.push_back(spec);
}

const CommandSpec *
CommandTable::Find(std::string_view name) const
{
	if (name.size() > 64)
		return nullptr;
	auto it = index_.find(Lower(name));
	return it == index_.end() ? nullptr : &commands_[it->second];
}

const CommandTable &
Commands()
{
	// Built on first use, explicitly (no static registrars spread over files).
	static const CommandTable table = [] {
		CommandTable t;
		RegisterStringCommands(&t);
		RegisterKeyCommands(&t);
		RegisterServerCommands(&t);
		RegisterHashCommands(&t);
		RegisterZsetCommands(&t);
		return t;
	}();
	return table;
}

const CommandSpec *
Lookup(const Argv &argv)
{
	return argv.empty() ? nullptr : Commands().Find(argv[0]);
}

Needs
WhatItNeeds(const CommandSpec *spec)
{
	return spec == nullptr || (spec->flags & kNoTxn) ? Needs::Nothing : Needs::Transaction;
}

void
ReplySyntaxError(CommandContext &ctx)
{
	ctx.out.Error("ERR syntax error");
}

void
ReplyNotInteger(CommandContext &ctx)
{
	ctx.out.Error("ERR value is not an integer or out of range");
}

void
ReplyStatus(CommandContext &ctx, const kv::Status &status)
{
	switch (status.code) {
	case kv::Code::TypeMismatch:
		ReplyNotInteger(ctx);
		return;
	case kv::Code::Overflow:
		ctx.out.Error("ERR increment or decrement would overflow");
		return;
	case kv::Code::UnknownField:
	case kv::Code::NotKvTable:
		// The collection's shape does not hold Redis strings (a typed collection, or no longer a kv table).
		ctx.out.Error("WRONGTYPE Operation against a key holding the wrong kind of value");
		return;
	case kv::Code::ReadOnly:
		ctx.out.Error("READONLY You can't write against a read only replica.");
		return;
	case kv::Code::PermissionDenied:
		ctx.out.Error(std::string("NOPERM ") + status.message);
		return;
	default:
		ctx.out.Error(std::string(kv::DescribeCode(status.code).redis_prefix) + " " + status.message);
		return;
	}
}

void
Execute(Session &session, Engine &engine, Writer &out, const Argv &argv)
{
	const CommandSpec *spec = Lookup(argv);
	if (spec == nullptr) {
		// Redis 7: the name and up to 128 characters of arguments, each quoted and followed by a space.
		std::string args;
		for (size_t i = 1; i < argv.size() && args.size() < 128; i++) {
			size_t room = 128 - args.size();
			args += "'" + argv[i].substr(0, room) + "' ";
		}
		out.Error("ERR unknown command '" + argv[0].substr(0, 128) + "', with args beginning with: " + args);
		return;
	}
	int argc = static_cast<int>(argv.size());
	if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
		out.Error(std::string("ERR wrong number of arguments for '") + spec->name + "' command");
		return;
	}
	if (!session.authenticated && !(spec->flags & kNoAuth) && !engine.Anonymous(&session)) {
		out.Error("NOAUTH Authentication required.");
		return;
	}
	session.last_command = spec->name;
	CommandContext ctx{session, engine, out, argv, *spec};
	spec->handler(ctx);
}

bool
GlobMatch(std::string_view pattern, std::string_view text, bool nocase)
{
	// Redis's stringmatchlen, iterative over the pattern with recursion for '*'.
	size_t p = 0, s = 0;
	while (p < pattern.size() && s < text.size()) {
		switch (pattern[p]) {
		case '*':
			while (p + 1 < pattern.size() && pattern[p + 1] == '*')
				p++;
			if (p + 1 == pattern.size())
				return true;
			for (size_t i = s; i <= text.size(); i++) {
				if (GlobMatch(pattern.substr(p + 1), text.substr(i), nocase))
					return true;
			}
			return false;
		case '?':
			s++;
			break;
		case '[': {
			p++;
			bool negate = p < pattern.size() && pattern[p] == '^';
			if (negate)
				p++;
			bool match = false;
			for (;;) {
				if (p >= pattern.size()) {
					p--;
					break;
				}
				if (pattern[p] == '\\' && p + 1 < pattern.size()) {
					p++;
					if (pattern[p] == text[s])
						match = true;
				} else if (pattern[p] == ']')
					break;
				else if (p + 2 < pattern.size() && pattern[p + 1] == '-') {
					int start = static_cast<unsigned char>(pattern[p]),
					    end = static_cast<unsigned char>(pattern[p + 2]);
					int c = static_cast<unsigned char>(text[s]);
					if (start > end)
						std::swap(start, end);
					if (nocase) {
						start = tolower(start);
						end = tolower(end);
						c = tolower(c);
					}
					p += 2;
					if (c >= start && c <= end)
						match = true;
				} else if (nocase ? tolower(static_cast<unsigned char>(pattern[p])) ==
				                        tolower(static_cast<unsigned char>(text[s]))
				                  : pattern[p] == text[s])
					match = true;
				p++;
			}
			if (negate)
				match = !match;
			if (!match)
				return false;
			s++;
			break;
		}
		case '\\':
			if (p + 1 < pattern.size())
				p++;
			[[fallthrough]];
		default:
			if (nocase ? tolower(static_cast<unsigned char>(pattern[p])) != tolower(static_cast<unsigned char>(text[s]))
			           : pattern[p] != text[s])
				return false;
			s++;
			break;
		}
		p++;
	}
	if (s == text.size()) {
		while (p < pattern.size() && pattern[p] == '*')
			p++;
	}
	return p == pattern.size() && s == text.size();
}

} // namespace nodedb_kv::resp
