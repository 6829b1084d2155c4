// The incremental request parser (resp_protocol.hpp): multibulk and inline requests, received in any
// fragments, with Redis 7's limits and protocol-error texts (networking.c processMultibulkBuffer /
// processInlineBuffer).  Pure C++.
#include <cstring>

#include "nodedb_kv/resp/resp_protocol.hpp"

namespace nodedb_kv::resp {
namespace {

constexpr int64_t kUnauthenticatedMaxArgs = 10;
constexpr int64_t kUnauthenticatedMaxBulk = 16384;

bool
IsHexDigit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int
HexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

bool
IsSpace(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

} // namespace

bool
ParseInt64(std::string_view text, int64_t *value)
{
	// Redis's string2ll: "0", or an optional '-' then a non-zero digit and digits; nothing else.
	size_t len = text.size();
	if (len == 0 || len > 20)
		return false;
	if (len == 1 && text[0] == '0') {
		*value = 0;
		return true;
	}
	size_t i = 0;
	bool negative = false;
	if (text[0] == '-') {
		negative = true;
		i = 1;
		if (len == 1)
			return false;
	}
	if (text[i] < '1' || text[i] > '9')
		return false;
	uint64_t v = 0;
	for (; i < len; i++) {
		char c = text[i];
		if (c < '0' || c > '9')
			return false;
		if (v > (UINT64_MAX - static_cast<uint64_t>(c - '0')) / 10)
			return false;
		v = v * 10 + static_cast<uint64_t>(c - '0');
	}
	if (negative) {
		if (v > static_cast<uint64_t>(INT64_MAX) + 1)
			return false;
		*value = v == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(v);
	} else {
		if (v > static_cast<uint64_t>(INT64_MAX))
			return false;
		*value = static_cast<int64_t>(v);
	}
	return true;
}

bool
SplitInline(std::string_view line, Argv *argv)
{
	// A port of Redis's sdssplitargs.
	argv->clear();
	size_t i = 0, n = line.size();
	for (;;) {
		while (i < n && IsSpace(line[i]))
			i++;
		if (i >= n)
			return true;
		bool inq = false, insq = false, done = false;
		std::string current;
		while (!done) {
			if (inq) {
				if (i >= n)
					return false; // unterminated quotes
				if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && IsHexDigit(line[i + 2]) &&
				    IsHexDigit(line[i + 3])) {
					current.push_back(static_cast<char>(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3])));
					i += 3;
				} else if (line[i] == '\\' && i + 1 < n) {
					i++;
					char c;
					switch (line[i]) {
					case 'n':
						c = '\n';
						break;
					case 'r':
						c = '\r';
						break;
					case 't':
						c = '\t';
						break;
					case 'b':
						c = '\b';
						break;
					case 'a':
						c = '\a';
						break;
					default:
						c = line[i];
						break;
					}
					current.push_back(c);
				} else if (line[i] == '"') {
					// A closing quote must be followed by a space or nothing at all.
					if (i + 1 < n && !IsSpace(line[i + 1]))
						return false;
					done = true;
				} else
					current.push_back(line[i]);
			} else if (insq) {
				if (i >= n)
					return false;
				if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
					i++;
					current.push_back('\'');
				} else if (line[i] == '\'') {
					if (i + 1 < n && !IsSpace(line[i + 1]))
						return false;
					done = true;
				} else
					current.push_back(line[i]);
			} else {
				if (i >= n)
					done = true;
				else if (IsSpace(line[i]))
					done = true;
				else if (line[i] == '"')
					inq = true;
				else if (line[i] == '\'')
					insq = true;
				else
					current.push_back(line[i]);
			}
			if (i < n)
				i++;
		}
		argv->push_back(std::move(current));
	}
}

void
Parser::Feed(const char *data, size_t len)
{
	Compact();
	buffer_.append(data, len);
}

void
Parser::Compact()
{
	// Drop consumed bytes once they dominate the buffer (amortised O(1) per byte).
	if (pos_ > 0 && (pos_ == buffer_.size() || pos_ >= 4096)) {
		buffer_.erase(0, pos_);
		pos_ = 0;
	}
}

size_t
Parser::FindCrlf(size_t from) const
{
	// Redis looks for '\r' and then needs one more byte (the '\n' it does not check).
	const char *start = buffer_.data() + from;
	const void *cr = memchr(start, '\r', buffer_.size() - from);
	if (cr == nullptr)
		return std::string::npos;
	size_t at = static_cast<size_t>(static_cast<const char *>(cr) - buffer_.data());
	if (at + 1 >= buffer_.size())
		return std::string::npos;
	return at;
}

Parser::Result
Parser::Next(Argv *argv, std::string *error)
{
	for (;;) {
		if (pos_ >= buffer_.size() && args_left_ < 0)
			return Result::Incomplete;
		Result result;
		if (args_left_ >= 0 || buffer_[pos_] == '*')
			result = ParseMultibulk(argv, error);
		else
			result = ParseInline(argv, error);
		if (result == Result::Command && argv->empty())
			continue; // an empty request ("*0" or a blank line) is skipped, as Redis does
		return result;
	}
}

Parser::Result
Parser::ParseMultibulk(Argv *argv, std::string *error)
{
	if (args_left_ < 0) {
		size_t cr = FindCrlf(pos_);
		if (cr == std::string::npos) {
			if (Buffered() > limits_.max_inline_len) {
				*error = "ERR Protocol error: too big mbulk count string";
				return Result::Error;
			}
			return Result::Incomplete;
		}
		int64_t count;
		if (!ParseInt64(std::string_view(buffer_).substr(pos_ + 1, cr - pos_ - 1), &count) ||
		    count > limits_.max_args) {
			*error = "ERR Protocol error: invalid multibulk length";
			return Result::Error;
		}
		if (count > kUnauthenticatedMaxArgs && unauthenticated_) {
			*error = "ERR Protocol error: unauthenticated multibulk length";
			return Result::Error;
		}
		pos_ = cr + 2;
		argv->clear();
		if (count <= 0)
			return Result::Command; // empty: skipped by Next
		args_left_ = count;
		bulk_len_ = -1;
		partial_.clear();
		partial_.reserve(static_cast<size_t>(count < 1024 ? count : 1024));
	}
	while (args_left_ > 0) {
		if (bulk_len_ < 0) {
			if (pos_ >= buffer_.size())
				return Result::Incomplete;
			size_t cr = FindCrlf(pos_);
			if (cr == std::string::npos) {
				if (Buffered() > limits_.max_inline_len) {
					*error = "ERR Protocol error: too big bulk count string";
					return Result::Error;
				}
				return Result::Incomplete;
			}
			if (buffer_[pos_] != '$') {
				*error = "ERR Protocol error: expected '$', got '";
				error->push_back(buffer_[pos_]);
				error->push_back('\'');
				return Result::Error;
			}
			int64_t len;
			if (!ParseInt64(std::string_view(buffer_).substr(pos_ + 1, cr - pos_ - 1), &len) || len < 0 ||
			    len > limits_.max_bulk_len) {
				*error = "ERR Protocol error: invalid bulk length";
				return Result::Error;
			}
			if (len > kUnauthenticatedMaxBulk && unauthenticated_) {
				*error = "ERR Protocol error: unauthenticated bulk length";
				return Result::Error;
			}
			pos_ = cr + 2;
			bulk_len_ = len;
			// Make room once for a big bulk (its length passed the limit check above).
			if (static_cast<size_t>(len) > buffer_.capacity() - buffer_.size()) {
				Compact();
				buffer_.reserve(buffer_.size() + static_cast<size_t>(len) + 2);
			}
		}
		size_t need = static_cast<size_t>(bulk_len_) + 2;
		if (Buffered() < need)
			return Result::Incomplete;
		// Like Redis, the two bytes after the bulk are skipped without looking at them.
		partial_.emplace_back(buffer_.data() + pos_, static_cast<size_t>(bulk_len_));
		pos_ += need;
		bulk_len_ = -1;
		args_left_--;
	}
	args_left_ = -1;
	argv->swap(partial_);
	partial_.clear();
	return Result::Command;
}

Parser::Result
Parser::ParseInline(Argv *argv, std::string *error)
{
	const char *start = buffer_.data() + pos_;
	const void *nl = memchr(start, '\n', Buffered());
	if (nl == nullptr) {
		if (Buffered() > limits_.max_inline_len) {
			*error = "ERR Protocol error: too big inline request";
			return Result::Error;
		}
		return Result::Incomplete;
	}
	size_t line_len = static_cast<size_t>(static_cast<const char *>(nl) - start);
	size_t consumed = line_len + 1;
	if (line_len > 0 && start[line_len - 1] == '\r')
		line_len--;
	if (!SplitInline(std::string_view(start, line_len), argv)) {
		*error = "ERR Protocol error: unbalanced quotes in request";
		return Result::Error;
	}
	pos_ += consumed;
	return Result::Command;
}

} // namespace nodedb_kv::resp
