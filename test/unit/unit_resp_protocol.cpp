// The RESP parser and writer: every split point of a frame, pipelines, inline commands, Redis's
// protocol-error texts, limits checked before buffering, and each reply shape in RESP2 and RESP3.
#include <cstdint>
#include <gtest/gtest.h>

#include "nodedb_kv/resp/resp_protocol.hpp"

using nodedb_kv::resp::Argv;
using nodedb_kv::resp::Parser;
using nodedb_kv::resp::ParserLimits;
using nodedb_kv::resp::Protocol;
using nodedb_kv::resp::Writer;

using namespace std::string_literals;

namespace {

// Feeds input in pieces split at the given points; returns every command, or the error text.
std::vector<Argv>
ParseAll(const std::string &input, std::vector<size_t> splits, std::string *error, ParserLimits limits = {})
{
	Parser parser(limits);
	std::vector<Argv> commands;
	size_t at = 0;
	splits.push_back(input.size());
	for (size_t split : splits) {
		parser.Feed(input.data() + at, split - at);
		at = split;
		for (;;) {
			Argv argv;
			auto result = parser.Next(&argv, error);
			if (result == Parser::Result::Incomplete)
				break;
			if (result == Parser::Result::Error)
				return commands;
			commands.push_back(argv);
		}
	}
	return commands;
}

std::string
ParseError(const std::string &input, ParserLimits limits = {})
{
	std::string error;
	ParseAll(input, {}, &error, limits);
	return error;
}

} // namespace

TEST(RespParser, EverySplitPointOfAPipeline)
{
	const std::string input = "*3\r\n$3\r\nSET\r\n$5\r\nk\0\r\ny\r\n$0\r\n\r\nPING\r\n*1\r\n$4\r\nPING\r\n"s;
	for (size_t i = 0; i <= input.size(); i++) {
		for (size_t j = i; j <= input.size(); j += 7) {
			std::string error;
			auto commands = ParseAll(input, {i, j}, &error);
			ASSERT_EQ(error, "") << i << "," << j;
			ASSERT_EQ(commands.size(), 3u) << i << "," << j;
			EXPECT_EQ(commands[0], (Argv{"SET", std::string("k\0\r\ny", 5), ""}));
			EXPECT_EQ(commands[1], (Argv{"PING"}));
			EXPECT_EQ(commands[2], (Argv{"PING"}));
		}
	}
}

TEST(RespParser, ByteAtATime)
{
	std::string input = "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n";
	std::vector<size_t> splits;
	for (size_t i = 1; i < input.size(); i++)
		splits.push_back(i);
	std::string error;
	auto commands = ParseAll(input, splits, &error);
	ASSERT_EQ(commands.size(), 1u);
	EXPECT_EQ(commands[0], (Argv{"ECHO", "hello world"}));
}

TEST(RespParser, InlineCommands)
{
	std::string error;
	auto commands = ParseAll("SET a \"b c\\x41\\n\" 'd''\r\n\r\nGET   a\nPING\r\n", {}, &error);
	// 'd'' is unbalanced: the first line is an error.
	EXPECT_EQ(error, "ERR Protocol error: unbalanced quotes in request");
	commands = ParseAll("SET a \"b c\\x41\\n\" 'it\\'s'\r\n\r\nGET   a\nPING\r\n", {3, 20}, &error);
	ASSERT_EQ(commands.size(), 3u);
	EXPECT_EQ(commands[0], (Argv{"SET", "a", "b cA\n", "it's"}));
	EXPECT_EQ(commands[1], (Argv{"GET", "a"}));
	EXPECT_EQ(commands[2], (Argv{"PING"}));
	EXPECT_EQ(ParseError("GET \"a\r\n"), "ERR Protocol error: unbalanced quotes in request");
	EXPECT_EQ(ParseError("GET \"a\"b\r\n"), "ERR Protocol error: unbalanced quotes in request");
}

TEST(RespParser, EmptyRequestsAreSkipped)
{
	std::string error;
	auto commands = ParseAll("*0\r\n*-1\r\n\r\n*1\r\n$4\r\nPING\r\n", {}, &error);
	EXPECT_EQ(error, "");
	ASSERT_EQ(commands.size(), 1u);
}

TEST(RespParser, ProtocolErrors)
{
	EXPECT_EQ(ParseError("*x\r\n"), "ERR Protocol error: invalid multibulk length");
	EXPECT_EQ(ParseError("*+1\r\n"), "ERR Protocol error: invalid multibulk length");
	EXPECT_EQ(ParseError("*1\r\n+PING\r\n"), "ERR Protocol error: expected '$', got '+'");
	EXPECT_EQ(ParseError("*1\r\n$-1\r\n"), "ERR Protocol error: invalid bulk length");
	EXPECT_EQ(ParseError("*1\r\n$01\r\nx\r\n"), "ERR Protocol error: invalid bulk length");
	EXPECT_EQ(ParseError("*1\r\n$abc\r\n"), "ERR Protocol error: invalid bulk length");
	EXPECT_EQ(ParseError("*2000000\r\n"), "ERR Protocol error: invalid multibulk length");
	EXPECT_EQ(ParseError("*99999999999999999999999\r\n"), "ERR Protocol error: invalid multibulk length");
	EXPECT_EQ(ParseError("*" + std::string(70000, '1')), "ERR Protocol error: too big mbulk count string");
	EXPECT_EQ(ParseError("*1\r\n$" + std::string(70000, '1')), "ERR Protocol error: too big bulk count string");
	EXPECT_EQ(ParseError(std::string(70000, 'a')), "ERR Protocol error: too big inline request");
}

TEST(RespParser, BulkLimitCheckedBeforeBuffering)
{
	// A 600 MB bulk header is refused at once, with no byte of its body received.
	EXPECT_EQ(ParseError("*2\r\n$3\r\nSET\r\n$629145600\r\n"), "ERR Protocol error: invalid bulk length");
	ParserLimits limits;
	limits.max_bulk_len = 10;
	EXPECT_EQ(ParseError("*1\r\n$11\r\n", limits), "ERR Protocol error: invalid bulk length");
	std::string error;
	EXPECT_EQ(ParseAll("*1\r\n$10\r\n0123456789\r\n", {}, &error, limits).size(), 1u);
	limits.max_args = 3;
	EXPECT_EQ(ParseError("*4\r\n", limits), "ERR Protocol error: invalid multibulk length");
}

TEST(RespParser, UnauthenticatedLimits)
{
	Parser parser;
	parser.SetUnauthenticated(true);
	std::string input = "*11\r\n";
	parser.Feed(input.data(), input.size());
	Argv argv;
	std::string error;
	EXPECT_EQ(parser.Next(&argv, &error), Parser::Result::Error);
	EXPECT_EQ(error, "ERR Protocol error: unauthenticated multibulk length");
	Parser other;
	other.SetUnauthenticated(true);
	input = "*1\r\n$16385\r\n";
	other.Feed(input.data(), input.size());
	EXPECT_EQ(other.Next(&argv, &error), Parser::Result::Error);
	EXPECT_EQ(error, "ERR Protocol error: unauthenticated bulk length");
}

TEST(RespParser, ManyArgumentsAndLargeBulks)
{
	std::string input = "*10000\r\n";
	for (int i = 0; i < 10000; i++)
		input += "$1\r\nx\r\n";
	std::string big(1 << 20, 'v');
	input += "*2\r\n$3\r\nSET\r\n$" + std::to_string(big.size()) + "\r\n" + big + "\r\n";
	std::string error;
	auto commands = ParseAll(input, {5, 70000, 80050}, &error);
	ASSERT_EQ(commands.size(), 2u);
	EXPECT_EQ(commands[0].size(), 10000u);
	EXPECT_EQ(commands[1][1], big);
}

TEST(RespNumbers, ParseInt64LikeRedis)
{
	int64_t v;
	EXPECT_TRUE(nodedb_kv::resp::ParseInt64("0", &v));
	EXPECT_TRUE(nodedb_kv::resp::ParseInt64("-9223372036854775808", &v));
	EXPECT_EQ(v, INT64_MIN);
	EXPECT_TRUE(nodedb_kv::resp::ParseInt64("9223372036854775807", &v));
	EXPECT_FALSE(nodedb_kv::resp::ParseInt64("9223372036854775808", &v));
	EXPECT_FALSE(nodedb_kv::resp::ParseInt64("+1", &v));
	EXPECT_FALSE(nodedb_kv::resp::ParseInt64("01", &v));
	EXPECT_FALSE(nodedb_kv::resp::ParseInt64(" 1", &v));
	EXPECT_FALSE(nodedb_kv::resp::ParseInt64("-0", &v));
	EXPECT_FALSE(nodedb_kv::resp::ParseInt64("", &v));
}

TEST(RespNumbers, LongDoubleLikeRedis)
{
	long double a, b;
	ASSERT_TRUE(nodedb_kv::resp::ParseLongDouble("10.5", &a));
	ASSERT_TRUE(nodedb_kv::resp::ParseLongDouble("0.1", &b));
	EXPECT_EQ(nodedb_kv::resp::FormatLongDouble(a + b), "10.6");
	EXPECT_EQ(nodedb_kv::resp::FormatLongDouble(3.0e3L), "3000");
	EXPECT_EQ(nodedb_kv::resp::FormatLongDouble(-0.0L), "0");
	EXPECT_FALSE(nodedb_kv::resp::ParseLongDouble(" 1", &a));
	EXPECT_FALSE(nodedb_kv::resp::ParseLongDouble("nan", &a));
	EXPECT_FALSE(nodedb_kv::resp::ParseLongDouble("1x", &a));
}

TEST(RespWriter, ShapesInBothProtocols)
{
	std::string out2, out3;
	Writer w2(&out2, Protocol::Resp2), w3(&out3, Protocol::Resp3);
	for (Writer *w : {&w2, &w3}) {
		w->Simple("OK");
		w->Error("ERR a\r\nb");
		w->Integer(-5);
		w->Bulk(std::string("a\0b", 3));
		w->Null();
		w->NullArray();
		w->Map(1);
		w->Set(2);
		w->Push(3);
		w->Double(1.5);
		w->Boolean(true);
		w->Verbatim("hi");
	}
	EXPECT_EQ(out2, "+OK\r\n-ERR a  b\r\n:-5\r\n$3\r\na\0b\r\n$-1\r\n*-1\r\n*2\r\n*2\r\n*3\r\n$3\r\n1.5\r\n:1\r\n"
	                "$2\r\nhi\r\n"s);
	EXPECT_EQ(out3, "+OK\r\n-ERR a  b\r\n:-5\r\n$3\r\na\0b\r\n_\r\n_\r\n%1\r\n~2\r\n>3\r\n,1.5\r\n#t\r\n"
	                "=6\r\ntxt:hi\r\n"s);
}

TEST(RespWriter, IntegerHeadersAtTheLimits)
{
	std::string out;
	Writer w(&out, Protocol::Resp2);
	w.Integer(0);
	w.Integer(INT64_MIN);
	w.Integer(INT64_MAX);
	w.Array(1234567);
	w.Bulk("");
	EXPECT_EQ(out, ":0\r\n:-9223372036854775808\r\n:9223372036854775807\r\n*1234567\r\n$0\r\n\r\n");
}
