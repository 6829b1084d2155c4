#pragma once
// The one place for PostgreSQL version conditionals, and the way PG-native files include postgres.h.
// C++ and Boost headers must be included before this header (port.h redefines printf and friends).

extern "C" {
#include "postgres.h"
}

#if PG_VERSION_NUM < 150013 || PG_VERSION_NUM >= 160000
// 15.0-15.12 can return expired rows from bitmap heap scans on all-visible pages (PG15-PITFALLS §1.4);
// 16 adds table-AM checks that need a new audit (§1.11).
#error "nodedb_kv supports PostgreSQL 15.13 or a later 15.x minor release"
#endif

// Also relied on: ForEachLWLockHeldByMe() (storage/lwlock.h), back-patched into 15.9, so present in
// every supported minor; tableam_scan.cpp uses it to recognise btree's unique check.

// PostgreSQL's own headers, wrapped for C linkage.  Usage: NODEDB_KV_PG_INCLUDE_BEGIN ... END.
#define NODEDB_KV_PG_INCLUDE_BEGIN extern "C" {
#define NODEDB_KV_PG_INCLUDE_END }

// We build with -fvisibility=hidden; PG15's PGDLLEXPORT is empty on Linux.  Symbols PG looks up by
// name (PG_MODULE_MAGIC, _PG_init, V1 functions, bgworker mains) use this.
#define NODEDB_KV_VISIBLE __attribute__((visibility("default")))
