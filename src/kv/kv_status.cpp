// The one table from engine status codes to SQLSTATEs and Redis error prefixes (pure C++), so SQL
// functions and RESP commands report a failure the same way.
#include "nodedb_kv/kv/kv_api.hpp"

namespace nodedb_kv::kv {

const CodeInfo &
DescribeCode(Code code)
{
	static const CodeInfo kOk = {"00000", ""};
	static const CodeInfo kTypeMismatch = {"42846", "ERR"};
	static const CodeInfo kOverflow = {"22003", "ERR"};
	static const CodeInfo kUnknownField = {"42703", "ERR"};
	static const CodeInfo kNotKvTable = {"42809", "ERR"};
	static const CodeInfo kNoSuchCollection = {"42P01", "ERR"};
	static const CodeInfo kPermissionDenied = {"42501", "NOPERM"};
	static const CodeInfo kReadOnly = {"25006", "READONLY"};
	static const CodeInfo kInvalidArgument = {"22023", "ERR"};
	static const CodeInfo kUnsupported = {"0A000", "ERR"};
	static const CodeInfo kWouldBlock = {"55P03", "ERR"};
	static const CodeInfo kRateLimited = {"54001", "ERR"};
	static const CodeInfo kWrongType = {"42809", "WRONGTYPE"};
	static const CodeInfo kInternal = {"XX000", "ERR"};
	switch (code) {
	case Code::Ok:
		return kOk;
	case Code::TypeMismatch:
		return kTypeMismatch;
	case Code::Overflow:
		return kOverflow;
	case Code::UnknownField:
		return kUnknownField;
	case Code::NotKvTable:
		return kNotKvTable;
	case Code::NoSuchCollection:
		return kNoSuchCollection;
	case Code::PermissionDenied:
		return kPermissionDenied;
	case Code::ReadOnly:
		return kReadOnly;
	case Code::InvalidArgument:
		return kInvalidArgument;
	case Code::Unsupported:
		return kUnsupported;
	case Code::WouldBlock:
		return kWouldBlock;
	case Code::RateLimited:
		return kRateLimited;
	case Code::WrongType:
		return kWrongType;
	case Code::Internal:
		return kInternal;
	}
	return kInvalidArgument;
}

} // namespace nodedb_kv::kv
