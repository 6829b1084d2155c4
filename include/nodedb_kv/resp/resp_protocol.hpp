#pragma once
// The Redis protocol, pure C++ (no PostgreSQL headers): an incremental request parser (multibulk and
// inline commands, any fragmentation, Redis's limits and exact protocol-error texts) and a reply
// writer that renders abstract reply shapes for the connection's protocol (RESP2 and RESP3).
// Neither does I/O; resp/net feeds bytes in and sends what the writer produced.
#ifdef POSTGRES_H
static_assert(false, "resp_protocol.hpp is pure C++: include it before any PostgreSQL header");
#endif
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nodedb_kv::resp {

// Limits of one request (Redis: proto-max-bulk-len, 1M arguments, 64 KiB inline/header lines).
struct ParserLimits {
	int64_t max_bulk_len = 512LL * 1024 * 1024;
	int64_t max_args = 1024 * 1024;
	size_t max_inline_len = 64 * 1024;
};

// One command: its arguments, binary-safe.
using Argv = std::vector<std::string>;

// Incremental parser of client requests.  Feed() appends received bytes; Next() takes the next complete
// command.  Only the bytes of the command being received are kept; a bulk's declared length is checked
// against the limit before any of its bytes are buffered.
class Parser {
public:
	enum class Result { Incomplete, Command, Error };

	explicit Parser(ParserLimits limits = {}) : limits_(limits)
	{
	}

	void
	SetLimits(ParserLimits limits)
	{
		limits_ = limits;
	}

	// Before AUTH, Redis accepts at most 10 arguments and 16 KiB bulks per command.
	void
	SetUnauthenticated(bool unauthenticated)
	{
		unauthenticated_ = unauthenticated;
	}

	// Appends bytes received from the client.
	void Feed(const char *data, size_t len);

	// Command: *argv holds the next command (never empty).  Incomplete: more bytes are needed.
	// Error: *error holds the reply text without the leading '-' (e.g. "ERR Protocol error: invalid
	// bulk length"); the connection must be closed after replying, as Redis does.
	Result Next(Argv *argv, std::string *error);

	// Bytes received and not yet consumed by a returned command.
	size_t
	Buffered() const
	{
		return buffer_.size() - pos_;
	}

private:
	Result ParseMultibulk(Argv *argv, std::string *error);
	Result ParseInline(Argv *argv, std::string *error);
	// Position of the next "\r\n" at or after from, or npos.
	size_t FindCrlf(size_t from) const;
	void Compact();

	ParserLimits limits_;
	bool unauthenticated_ = false;
	std::string buffer_;
	size_t pos_ = 0; // start of the unparsed data in buffer_
	// State of a multibulk request being received (so fragments are not parsed twice).
	int64_t args_left_ = -1; // -1: no multibulk in progress
	int64_t bulk_len_ = -1;  // -1: the next bulk's header has not been read
	Argv partial_;
};

// Splits an inline command line like Redis's sdssplitargs (quotes, \xHH escapes).  False on unbalanced
// quotes.
bool SplitInline(std::string_view line, Argv *argv);

// The protocol of one connection (HELLO 2 / HELLO 3).
enum class Protocol : uint8_t { Resp2 = 2, Resp3 = 3 };

// Renders reply shapes into a byte buffer.  The command layer says what a reply is (a map, a set, a
// double, null...) and the writer decides how the connection's protocol spells it.
class Writer {
public:
	explicit Writer(std::string *out, Protocol protocol = Protocol::Resp2) : out_(out), protocol_(protocol)
	{
	}

	Protocol
	protocol() const
	{
		return protocol_;
	}
	void
	SetProtocol(Protocol protocol)
	{
		protocol_ = protocol;
	}
	void
	SetOutput(std::string *out)
	{
		out_ = out;
	}

	void Simple(std::string_view text);   // +OK
	void Error(std::string_view text);    // -ERR ... (CR/LF in text become spaces)
	void Integer(int64_t value);          // :1
	void Bulk(std::string_view bytes);    // $3 foo
	void Null();                          // RESP2 $-1, RESP3 _
	void NullArray();                     // RESP2 *-1, RESP3 _
	void Array(size_t count);             // *n, followed by n replies
	void Map(size_t pairs);               // RESP2 *2n, RESP3 %n, followed by 2n replies
	void Set(size_t count);               // RESP2 *n, RESP3 ~n
	void Push(size_t count);              // RESP2 *n, RESP3 >n
	void Double(double value);            // RESP2 bulk, RESP3 ,value (Redis 7.0's %.17g)
	void Boolean(bool value);             // RESP2 :1/:0, RESP3 #t/#f
	void Verbatim(std::string_view text); // RESP2 bulk, RESP3 =n txt:...
	void Raw(std::string_view bytes);     // replies already encoded (EXEC's array elements)

private:
	void Header(char type, int64_t value);
	std::string *out_;
	Protocol protocol_;
};

// Redis's human-friendly long double (ld2string LD_STR_HUMAN: %.17Lf, trailing zeros trimmed), as
// INCRBYFLOAT replies and stores (10.5 + 0.1 = "10.6").
std::string FormatLongDouble(long double value);

// Parses a Redis integer argument (string2ll rules: optional '-', no '+', no leading zeros or spaces).
bool ParseInt64(std::string_view text, int64_t *value);

// Parses a Redis float argument (strtold; no spaces, not NaN).
bool ParseLongDouble(std::string_view text, long double *value);

} // namespace nodedb_kv::resp
