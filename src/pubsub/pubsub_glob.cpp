// Redis's stringmatchlen (util.c, Redis 7.0), transcribed with explicit lengths instead of reads of the
// terminating NUL.  Behaviour kept on purpose: a `[` without `]` matches up to the end of the pattern,
// range ends compare as C's signed char, a trailing backslash matches itself, and once the rest of a
// pattern after `*` fails at every position, earlier `*`s do not retry (skip_longer), with recursion
// nesting capped at 1000, which bounds the time of hostile patterns.
#include <cctype>

#include "nodedb_kv/pubsub/pubsub_glob.hpp"

namespace nodedb_kv::pubsub {
namespace {

int
Fold(int c, bool nocase)
{
	return nocase ? tolower(c) : c;
}

bool
Match(const char *pattern, size_t plen, const char *text, size_t slen, bool nocase, bool *skip_longer, int nesting)
{
	if (nesting > 1000)
		return false;
	while (plen > 0 && slen > 0) {
		switch (pattern[0]) {
		case '*':
			while (plen > 1 && pattern[1] == '*') {
				pattern++;
				plen--;
			}
			if (plen == 1)
				return true;
			while (slen > 0) {
				if (Match(pattern + 1, plen - 1, text, slen, nocase, skip_longer, nesting + 1))
					return true;
				if (*skip_longer)
					return false;
				text++;
				slen--;
			}
			*skip_longer = true;
			return false;
		case '?':
			text++;
			slen--;
			break;
		case '[': {
			pattern++;
			plen--;
			bool negate = plen > 0 && pattern[0] == '^';
			if (negate) {
				pattern++;
				plen--;
			}
			bool match = false;
			for (;;) {
				if (plen >= 2 && pattern[0] == '\\') {
					pattern++;
					plen--;
					if (pattern[0] == text[0])
						match = true;
				} else if (plen > 0 && pattern[0] == ']') {
					break;
				} else if (plen == 0) {
					// No closing bracket: Redis steps back so the outer step lands on the end.
					pattern--;
					plen++;
					break;
				} else if (plen >= 3 && pattern[1] == '-') {
					int start = static_cast<signed char>(pattern[0]);
					int end = static_cast<signed char>(pattern[2]);
					int c = static_cast<signed char>(text[0]);
					if (start > end) {
						int t = start;
						start = end;
						end = t;
					}
					if (nocase) {
						start = tolower(start);
						end = tolower(end);
						c = tolower(c);
					}
					pattern += 2;
					plen -= 2;
					if (c >= start && c <= end)
						match = true;
				} else if (Fold(static_cast<signed char>(pattern[0]), nocase) ==
				           Fold(static_cast<signed char>(text[0]), nocase)) {
					match = true;
				}
				pattern++;
				plen--;
			}
			if (negate)
				match = !match;
			if (!match)
				return false;
			text++;
			slen--;
			break;
		}
		case '\\':
			if (plen >= 2) {
				pattern++;
				plen--;
			}
			[[fallthrough]];
		default:
			if (Fold(static_cast<signed char>(pattern[0]), nocase) != Fold(static_cast<signed char>(text[0]), nocase))
				return false;
			text++;
			slen--;
			break;
		}
		pattern++;
		plen--;
		if (slen == 0) {
			while (plen > 0 && pattern[0] == '*') {
				pattern++;
				plen--;
			}
			break;
		}
	}
	return plen == 0 && slen == 0;
}

// Over-approximates Match for "prefix + any suffix": a pattern left over when the prefix is used up
// can match something (or is counted so), a class is any byte.  *budget bounds the work of `*`s.
bool
MayMatchPrefix(const char *pattern, size_t plen, const char *text, size_t tlen, long *budget)
{
	for (;;) {
		if (tlen == 0 || --*budget < 0)
			return true;
		if (plen == 0)
			return false;
		switch (pattern[0]) {
		case '*':
			for (size_t k = 0; k <= tlen; k++)
				if (MayMatchPrefix(pattern + 1, plen - 1, text + k, tlen - k, budget))
					return true;
			return false;
		case '?':
			break;
		case '[': {
			// Skip to the closing bracket (backslash escapes one byte); none: the class runs to the end.
			size_t i = 1;
			if (i < plen && pattern[i] == '^')
				i++;
			while (i < plen && pattern[i] != ']')
				i += (pattern[i] == '\\' && i + 1 < plen) ? 2 : 1;
			pattern += i < plen ? i : plen - 1;
			plen -= i < plen ? i : plen - 1;
			break;
		}
		case '\\':
			if (plen >= 2) {
				pattern++;
				plen--;
			}
			[[fallthrough]];
		default:
			if (pattern[0] != text[0])
				return false;
			break;
		}
		pattern++;
		plen--;
		text++;
		tlen--;
	}
}

} // namespace

bool
GlobMayMatchPrefix(const char *pattern, size_t pattern_len, const char *prefix, size_t prefix_len)
{
	long budget = 100000;
	return MayMatchPrefix(pattern, pattern_len, prefix, prefix_len, &budget);
}

bool
GlobMatch(const char *pattern, size_t pattern_len, const char *text, size_t text_len, bool nocase)
{
	bool skip_longer = false;
	return Match(pattern, pattern_len, text, text_len, nocase, &skip_longer, 0);
}

} // namespace nodedb_kv::pubsub
