// Cursors of the SCAN family (resp_cursor.hpp): parsed as Redis does, remembered per connection.
// Pure C++.
#include "nodedb_kv/resp/resp_cursor.hpp"

namespace nodedb_kv::resp {

// As Redis 7.0's strtoul(text, 10) with its checks: no leading space, nothing after the digits, no
// overflow.  So "" is 0 and "-1" is 2^64 - 1, as there.
bool
ParseCursor(CommandContext &ctx, const std::string &text, uint64_t *cursor)
{
	*cursor = 0;
	size_t at = 0;
	bool negative = false;
	if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
		negative = text[0] == '-';
		at = 1;
	}
	bool valid = text.empty() || at < text.size();
	for (; valid && at < text.size(); at++) {
		char c = text[at];
		if (c < '0' || c > '9' || *cursor > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10)
			valid = false;
		else
			*cursor = *cursor * 10 + static_cast<uint64_t>(c - '0');
	}
	if (!valid) {
		ctx.out.Error("ERR invalid cursor");
		return false;
	}
	if (negative)
		*cursor = 0 - *cursor;
	return true;
}

bool
FindCursor(CommandContext &ctx, uint64_t cursor, CursorKind kind, std::string *position)
{
	for (const ScanCursor &entry : ctx.session.cursors) {
		if (entry.id == cursor && entry.kind == kind) {
			*position = entry.position;
			return true;
		}
	}
	ctx.out.Error("ERR invalid cursor");
	return false;
}

uint64_t
SaveCursor(Session *session, CursorKind kind, std::string position)
{
	uint64_t id = session->next_cursor++;
	if (id == 0) // (after 2^64 cursors)
		id = session->next_cursor++;
	session->cursors.push_back({id, kind, std::move(position)});
	if (session->cursors.size() > kMaxCursors)
		session->cursors.pop_front();
	return id;
}

} // namespace nodedb_kv::resp
