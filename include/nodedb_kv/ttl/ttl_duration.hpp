#pragma once
// Pure C++ conversions between time-to-live amounts and microseconds, with overflow checks.  Shared
// by kv_ttl() and, later, the RESP EX/PX/EXPIRE arguments.  No PostgreSQL headers here.
#ifdef POSTGRES_H
static_assert(false, "ttl_duration.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cmath>
#include <cstdint>
#include <limits>

namespace nodedb_kv::ttl {

// Microseconds in `seconds` (rounded to nearest), or false if not finite or beyond +-kMaxTtlMicros.
constexpr int64_t kMaxTtlMicros = INT64_C(9000000000000000000) / 2; // ~71,000 years: room to add to "now"

inline bool
SecondsToMicros(double seconds, int64_t *micros)
{
	if (!std::isfinite(seconds))
		return false;
	double scaled = std::nearbyint(seconds * 1e6);
	if (scaled > static_cast<double>(kMaxTtlMicros) || scaled < -static_cast<double>(kMaxTtlMicros))
		return false;
	*micros = static_cast<int64_t>(scaled);
	return true;
}

// base + delta, or false on int64 overflow.
inline bool
AddMicros(int64_t base, int64_t delta, int64_t *sum)
{
	return !__builtin_add_overflow(base, delta, sum);
}

} // namespace nodedb_kv::ttl
