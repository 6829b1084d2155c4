#pragma once
// DDL rules of kv tables: one single-column primary key, at most one kv_expiry column, and an index
// on the expiry column created with the table.  Enforced by a ProcessUtility hook after CREATE TABLE,
// CREATE TABLE AS and ALTER TABLE; index-only scans are turned off by a planner hook.

namespace nodedb_kv::tableam {

// Installs the ProcessUtility and get_relation_info hooks.  Called from _PG_init.
void InstallDdlHooks();

// Registers fn to be called after CREATE EXTENSION nodedb_kv or DROP EXTENSION ran in this backend
// (the statement's transaction has not committed yet; fn must not error).  Layers above the table
// AM (the TTL launcher) subscribe here, so the AM never includes them.  Only from _PG_init.
void OnExtensionChanged(void (*fn)());

} // namespace nodedb_kv::tableam
