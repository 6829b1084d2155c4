#pragma once
// Redis's glob matcher (util.c stringmatchlen, Redis 7.0): `*`, `?`, `[...]`, `[^...]`, ranges `[a-z]`
// (reversed ranges allowed), backslash escapes, byte-wise with C's signed char ordering for ranges, and
// Redis's protection against exponential patterns.  PG-free and allocation-free, so both zones use it:
// PSUBSCRIBE/PUBLISH, PUBSUB CHANNELS, KEYS and SCAN MATCH.
#ifdef POSTGRES_H
static_assert(false, "pubsub_glob.hpp is PG-free: include it before any PostgreSQL header");
#endif
#include <cstddef>

namespace nodedb_kv::pubsub {

// Whether text matches pattern (both binary-safe), as Redis's stringmatchlen(pattern, text, nocase).
bool GlobMatch(const char *pattern, size_t pattern_len, const char *text, size_t text_len, bool nocase = false);

// Whether pattern may match some text that starts with prefix (case-sensitive).  Conservative for
// privilege checks: it answers true whenever such a text can exist, and also when unsure (a `[...]`
// class counts as any byte; past a step budget the answer is true).
bool GlobMayMatchPrefix(const char *pattern, size_t pattern_len, const char *prefix, size_t prefix_len);

} // namespace nodedb_kv::pubsub
