#pragma once
// Cursors of SCAN, HSCAN, SSCAN and ZSCAN (resp_cursor.cpp).  A cursor is a decimal number, as Redis's;
// it names a position the connection remembers (the last key or member returned), so an iteration
// over the primary key or over a spilled container's member rows returns every element present for
// the whole iteration at least once, whatever is added or deleted meanwhile.  A connection remembers
// its last kMaxCursors cursors; an unknown one is "invalid cursor".  Pure C++.
#ifdef POSTGRES_H
static_assert(false, "resp_cursor.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstdint>
#include <string>

#include "nodedb_kv/resp/resp_commands.hpp"

namespace nodedb_kv::resp {

constexpr size_t kMaxCursors = 256; // cursors remembered per connection

// Parses a cursor argument as Redis's parseScanCursorOrReply (strtoul: an optional sign, decimal digits
// fitting 64 bits; "" is 0).  Replies "-ERR invalid cursor" and returns false otherwise.
bool ParseCursor(CommandContext &ctx, const std::string &text, uint64_t *cursor);

// The position of cursor (not 0) of kind; replies "-ERR invalid cursor" and returns false when the
// connection does not know it.
bool FindCursor(CommandContext &ctx, uint64_t cursor, CursorKind kind, std::string *position);

// Remembers position under a new cursor id and returns it (never 0).
uint64_t SaveCursor(Session *session, CursorKind kind, std::string position);

} // namespace nodedb_kv::resp
