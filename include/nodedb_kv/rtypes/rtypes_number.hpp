#pragma once
// Redis's text rules for numbers, shared by kv values held as text, rate gates, containers and RESP:
// strict parsing of decimal integers and floats the way Redis accepts them, and Redis-style "human"
// float formatting.  Pure C++ (no PG headers), below kv.
#ifdef POSTGRES_H
static_assert(false, "rtypes_number.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>

namespace nodedb_kv::rtypes {

// Parses a canonical decimal int64: optional '-', digits, no leading zeros (except "0"), no spaces,
// no '+'.  Returns false for anything else or on overflow.
bool ParseInt64(const char *data, size_t len, int64_t *value);

// Longest text ParseDouble accepts (Redis's MAX_LONG_DOUBLE_CHARS); anything FormatDouble writes fits.
constexpr size_t kMaxDoubleChars = 5 * 1024;

// Parses a float as Redis's string2ld does: decimal or exponent notation, optional sign, at most
// kMaxDoubleChars characters, or "inf"/"infinity" in any case with an optional sign (gives +-inf, which
// Redis counts as a number: adding to it is then "NaN or Infinity", not "not a float").  No spaces,
// no hex, no "nan", nothing out of range ("1e999").  Returns false otherwise.
bool ParseDouble(const char *data, size_t len, double *value);

// Formats value as Redis does for INCRBYFLOAT: fixed notation with up to 17 decimals, trailing zeros
// (and a trailing point) removed; "-0" becomes "0".  Returns the length written (< size), or 0 if
// the buffer is too small or the value is not finite.
size_t FormatDouble(double value, char *buffer, size_t size);

// Formats an int64 in decimal; returns the length.  buffer needs 21 bytes.
size_t FormatInt64(int64_t value, char *buffer);

} // namespace nodedb_kv::rtypes
