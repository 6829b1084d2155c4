#pragma once
// The C++ <-> PostgreSQL error bridge (STYLE.md "Two zones and a bridge").
//  - NODEDB_KV_FUNCTION defines an exported, noexcept V1 SQL function whose body may be C++: a C++
//    exception leaving the body becomes an ereport(ERROR) raised outside any catch block.
//  - RunGuarded runs PG code under a sigsetjmp guard and turns a PG ERROR into an ErrorInfo value,
//    for callers that must survive the error (background workers, per-command isolation).
// This is the only file pair that holds PG_TRY plumbing for C++ callers.

#include <type_traits>

#include "nodedb_kv/pg/pg_compat.hpp"

NODEDB_KV_PG_INCLUDE_BEGIN
#include "fmgr.h"
NODEDB_KV_PG_INCLUDE_END

namespace nodedb_kv::pg {

// A PG error converted to a value: SQLSTATE (as packed by MAKE_SQLSTATE), message and detail.
struct ErrorInfo {
	int sqlerrcode;
	char message[512];
	char detail[512];
};

// Runs fn(arg) under PG_TRY.  Returns true when it finished; on a PG ERROR fills *error, restores the
// caller's memory context, flushes the error state and returns false.  The caller still has to abort
// the (sub)transaction the error happened in.  Never throws.
bool RunGuarded(void (*fn)(void *arg), void *arg, ErrorInfo *error) noexcept;

// Typed form of RunGuarded: runs fn() (a lambda) under PG_TRY.  fn must not throw, and the frames a PG
// error unwinds (fn's own and the PG code it calls) must hold only trivially destructible objects.
template <typename Fn>
bool
Guarded(Fn &&fn, ErrorInfo *error) noexcept
{
	using F = std::remove_reference_t<Fn>;
	return RunGuarded([](void *arg) { (*static_cast<F *>(arg))(); }, const_cast<void *>(static_cast<const void *>(&fn)),
	                  error);
}

// Calls impl(fcinfo); a C++ exception escaping it is reported as ERROR (SQLSTATE XX000) after the
// catch block has been left.  PG errors raised inside impl propagate unchanged.
Datum InvokeGuarded(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo) noexcept;

} // namespace nodedb_kv::pg

// Defines the SQL-callable function `name` (exported, C linkage, V1 calling convention).
#define NODEDB_KV_FUNCTION(name)                                                                                       \
	static Datum name##_impl(PG_FUNCTION_ARGS);                                                                        \
	extern "C" {                                                                                                       \
	NODEDB_KV_VISIBLE Datum name(PG_FUNCTION_ARGS) noexcept;                                                           \
	NODEDB_KV_VISIBLE const Pg_finfo_record *pg_finfo_##name(void);                                                    \
	const Pg_finfo_record *pg_finfo_##name(void)                                                                       \
	{                                                                                                                  \
		static const Pg_finfo_record my_finfo = {1};                                                                   \
		return &my_finfo;                                                                                              \
	}                                                                                                                  \
	Datum                                                                                                              \
	name(PG_FUNCTION_ARGS) noexcept                                                                                    \
	{                                                                                                                  \
		return nodedb_kv::pg::InvokeGuarded(name##_impl, fcinfo);                                                      \
	}                                                                                                                  \
	}                                                                                                                  \
	static Datum name##_impl(PG_FUNCTION_ARGS)

// Entry points PG resolves by name (handlers, _PG_init, bgworker mains).
#define NODEDB_KV_EXPORT extern "C" NODEDB_KV_VISIBLE
