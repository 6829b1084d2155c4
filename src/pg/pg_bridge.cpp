// The C++ <-> PostgreSQL error bridge: the only place where PG's sigsetjmp-based errors meet C++
// exceptions.  See include/nodedb_kv/pg/pg_bridge.hpp for the contract of each entry.
#include <exception>

#include "nodedb_kv/pg/pg_bridge.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "utils/elog.h"
#include "utils/memutils.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::pg {

bool
RunGuarded(void (*fn)(void *arg), void *arg, ErrorInfo *error) noexcept
{
	MemoryContext volatile caller_context = CurrentMemoryContext;
	volatile bool finished = false;

	PG_TRY();
	{
		fn(arg);
		finished = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_context);
		ErrorData *data = CopyErrorData();
		FlushErrorState();
		error->sqlerrcode = data->sqlerrcode;
		strlcpy(error->message, data->message ? data->message : "unknown error", sizeof(error->message));
		strlcpy(error->detail, data->detail ? data->detail : "", sizeof(error->detail));
		FreeErrorData(data);
	}
	PG_END_TRY();
	return finished;
}

Datum
InvokeGuarded(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo) noexcept
{
	char message[256];
	try {
		return impl(fcinfo);
	} catch (const std::exception &e) {
		strlcpy(message, e.what(), sizeof(message));
	} catch (...) {
		strlcpy(message, "unknown C++ exception", sizeof(message));
	}
	// Outside the catch block: ereport longjmps, which must not cross an active C++ exception.
	ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("nodedb_kv internal error: %s", message)));
	pg_unreachable();
}

} // namespace nodedb_kv::pg
