// The reply writer (resp_protocol.hpp): one method per reply shape, spelled for the connection's
// protocol (RESP2 folds maps, sets, doubles, booleans and pushes into its five types, as Redis 7 does).
// Also Redis's number formatting.  Pure C++.
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "nodedb_kv/resp/resp_protocol.hpp"

namespace nodedb_kv::resp {

void
Writer::Header(char type, int64_t value)
{
	// Every reply and pushed message starts with one or more of these: no printf (it was most of a
	// pub/sub delivery's cost).
	char buf[32];
	buf[0] = type;
	char *end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, value).ptr;
	*end++ = '\r';
	*end++ = '\n';
	out_->append(buf, static_cast<size_t>(end - buf));
}

void
Writer::Simple(std::string_view text)
{
	out_->push_back('+');
	out_->append(text);
	out_->append("\r\n", 2);
}

void
Writer::Raw(std::string_view bytes)
{
	out_->append(bytes);
}

void
Writer::Error(std::string_view text)
{
	// An error reply is one line: Redis replaces CR and LF by spaces too.
	out_->push_back('-');
	size_t start = out_->size();
	out_->append(text);
	for (size_t i = start; i < out_->size(); i++) {
		if ((*out_)[i] == '\r' || (*out_)[i] == '\n')
			(*out_)[i] = ' ';
	}
	out_->append("\r\n", 2);
}

void
Writer::Integer(int64_t value)
{
	Header(':', value);
}

void
Writer::Bulk(std::string_view bytes)
{
	Header('$', static_cast<int64_t>(bytes.size()));
	out_->append(bytes);
	out_->append("\r\n", 2);
}

void
Writer::Null()
{
	if (protocol_ == Protocol::Resp3)
		out_->append("_\r\n", 3);
	else
		out_->append("$-1\r\n", 5);
}

void
Writer::NullArray()
{
	if (protocol_ == Protocol::Resp3)
		out_->append("_\r\n", 3);
	else
		out_->append("*-1\r\n", 5);
}

void
Writer::Array(size_t count)
{
	Header('*', static_cast<int64_t>(count));
}

void
Writer::Map(size_t pairs)
{
	if (protocol_ == Protocol::Resp3)
		Header('%', static_cast<int64_t>(pairs));
	else
		Header('*', static_cast<int64_t>(pairs * 2));
}

void
Writer::Set(size_t count)
{
	Header(protocol_ == Protocol::Resp3 ? '~' : '*', static_cast<int64_t>(count));
}

void
Writer::Push(size_t count)
{
	Header(protocol_ == Protocol::Resp3 ? '>' : '*', static_cast<int64_t>(count));
}

void
Writer::Double(double value)
{
	// Redis 7.0 addReplyDouble: "inf"/"-inf", else %.17g.
	char buf[64];
	int len;
	if (std::isinf(value))
		len = snprintf(buf, sizeof(buf), "%s", value > 0 ? "inf" : "-inf");
	else
		len = snprintf(buf, sizeof(buf), "%.17g", value);
	if (protocol_ == Protocol::Resp3) {
		out_->push_back(',');
		out_->append(buf, static_cast<size_t>(len));
		out_->append("\r\n", 2);
	} else
		Bulk(std::string_view(buf, static_cast<size_t>(len)));
}

void
Writer::Boolean(bool value)
{
	if (protocol_ == Protocol::Resp3)
		out_->append(value ? "#t\r\n" : "#f\r\n", 4);
	else
		Integer(value ? 1 : 0);
}

void
Writer::Verbatim(std::string_view text)
{
	if (protocol_ == Protocol::Resp3) {
		Header('=', static_cast<int64_t>(text.size() + 4));
		out_->append("txt:", 4);
		out_->append(text);
		out_->append("\r\n", 2);
	} else
		Bulk(text);
}

std::string
FormatLongDouble(long double value)
{
	// Redis's ld2string(LD_STR_HUMAN).
	if (std::isinf(value))
		return value > 0 ? "inf" : "-inf";
	char buf[5 * 1024];
	int len = snprintf(buf, sizeof(buf), "%.17Lf", value);
	if (len <= 0 || static_cast<size_t>(len) >= sizeof(buf))
		return "0";
	if (strchr(buf, '.') != nullptr) {
		while (len > 0 && buf[len - 1] == '0')
			len--;
		if (len > 0 && buf[len - 1] == '.')
			len--;
	}
	if (len == 2 && buf[0] == '-' && buf[1] == '0')
		return "0";
	return std::string(buf, static_cast<size_t>(len));
}

bool
ParseLongDouble(std::string_view text, long double *value)
{
	// Redis's string2ld: at most 5 KiB, no leading space, all of it used, not NaN.
	if (text.empty() || text.size() >= 5 * 1024)
		return false;
	std::string copy(text);
	if (isspace(static_cast<unsigned char>(copy[0])))
		return false;
	char *end = nullptr;
	errno = 0;
	long double v = strtold(copy.c_str(), &end);
	if (end != copy.c_str() + copy.size() || std::isnan(v))
		return false;
	if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0))
		return false;
	*value = v;
	return true;
}

} // namespace nodedb_kv::resp
