// Number encoding of kv values held as text (pure C++; unit-tested in test/unit/unit_rtypes_number.cpp).
// Integers follow Redis's string2ll (canonical form only); floats follow strtod on the whole string
// with Redis's refusals (spaces, NaN, out of range) and its acceptance of "inf"; formatting follows Redis's ld2string
// "human" mode.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <strings.h>

#include "nodedb_kv/rtypes/rtypes_number.hpp"

namespace nodedb_kv::rtypes {

bool
ParseInt64(const char *data, size_t len, int64_t *value)
{
	if (len == 0 || len > 20)
		return false;
	size_t i = 0;
	bool negative = false;
	if (data[0] == '-') {
		negative = true;
		i = 1;
		if (len == 1)
			return false;
	}
	if (data[i] == '0')
		return len == i + 1 && !negative ? (*value = 0, true) : false;
	uint64_t magnitude = 0;
	for (; i < len; i++) {
		char c = data[i];
		if (c < '0' || c > '9')
			return false;
		if (magnitude > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10)
			return false;
		magnitude = magnitude * 10 + static_cast<uint64_t>(c - '0');
	}
	if (negative) {
		if (magnitude > static_cast<uint64_t>(INT64_MAX) + 1)
			return false;
		*value = magnitude == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(magnitude);
	} else {
		if (magnitude > static_cast<uint64_t>(INT64_MAX))
			return false;
		*value = static_cast<int64_t>(magnitude);
	}
	return true;
}

bool
ParseDouble(const char *data, size_t len, double *value)
{
	// FormatDouble writes large magnitudes in full (DBL_MAX has 309 digits), and what it writes must
	// parse back; Redis's string2ld accepts up to MAX_LONG_DOUBLE_CHARS (5 KiB) the same way.
	char buffer[kMaxDoubleChars + 1];
	if (len == 0 || len > kMaxDoubleChars)
		return false;
	memcpy(buffer, data, len);
	buffer[len] = '\0';
	if (strlen(buffer) != len) // embedded NUL
		return false;
	// Redis's string2ld (strtold) reads "inf" and "infinity" (any case, optional sign) as a number, so
	// INCRBYFLOAT over them answers "increment would produce NaN or Infinity", not "not a valid float".
	size_t sign = buffer[0] == '-' || buffer[0] == '+' ? 1 : 0;
	if (strcasecmp(buffer + sign, "inf") == 0 || strcasecmp(buffer + sign, "infinity") == 0) {
		*value = buffer[0] == '-' ? -HUGE_VAL : HUGE_VAL;
		return true;
	}
	for (size_t i = 0; i < len; i++) {
		char c = buffer[i];
		bool allowed = (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
		if (!allowed) // refuses spaces, hex floats, inf and nan spelled out
			return false;
	}
	errno = 0;
	char *end = nullptr;
	double parsed = strtod(buffer, &end);
	if (end != buffer + len || errno == ERANGE || !std::isfinite(parsed))
		return false;
	*value = parsed;
	return true;
}

size_t
FormatDouble(double value, char *buffer, size_t size)
{
	if (!std::isfinite(value) || size < 2)
		return 0;
	int written = snprintf(buffer, size, "%.17Lf", static_cast<long double>(value));
	if (written < 0 || static_cast<size_t>(written) >= size)
		return 0;
	size_t len = static_cast<size_t>(written);
	if (memchr(buffer, '.', len) != nullptr) {
		while (len > 0 && buffer[len - 1] == '0')
			len--;
		if (len > 0 && buffer[len - 1] == '.')
			len--;
	}
	buffer[len] = '\0';
	if (len == 2 && buffer[0] == '-' && buffer[1] == '0') {
		buffer[0] = '0';
		buffer[1] = '\0';
		len = 1;
	}
	return len;
}

size_t
FormatInt64(int64_t value, char *buffer)
{
	return static_cast<size_t>(snprintf(buffer, 21, "%lld", static_cast<long long>(value)));
}

} // namespace nodedb_kv::rtypes
