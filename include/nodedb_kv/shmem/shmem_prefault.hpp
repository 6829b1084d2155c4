#pragma once
// Mapping memory into this process's page tables ahead of use.  On this kind of machine a page fault
// costs tens of microseconds (measured: 35 us to fault in a fresh 4 kB page of shared memory, about
// 30 us to map an existing one into a new backend, against 0.3-3.5 us per page for one
// MADV_POPULATE_* call over the range), and every backend faults on its own: a fork does not copy the
// page tables of shared mappings.  Linux 5.14 or later; elsewhere these do nothing.
#include <cstddef>

namespace nodedb_kv::shmem {

// Maps the whole pages inside [p, p + len) that this process can read (write = false: existing pages
// of shared memory are mapped, holes of shared memory get fresh zeroed pages) or write (write = true:
// every page is allocated).  Best effort: never fails, never errors; a range the kernel refuses
// (too old, or memory short) is left to ordinary page faults.
void Prefault(const void *p, size_t len, bool write);

} // namespace nodedb_kv::shmem
