#pragma once
// Mapping memory into this process's page tables ahead of use.  Measured on the project's machine (a
// virtual machine, 4 kB pages): writing each page of 128 MB of fresh memory took 2.7 s through page
// faults, 0.26 s for one MADV_POPULATE_WRITE call plus 1.2 s for the writes after it.  (For reading
// memory that already exists, as a new backend reads shared memory, MADV_POPULATE_READ gained nothing
// there: the hypervisor's own first-touch cost per page and process remains; huge pages remove it, see
// src/sortedindex/README.md.)  Linux 5.14 or later; elsewhere these do nothing.
#include <cstddef>

namespace nodedb_kv::shmem {

// Maps the whole pages inside [p, p + len) for reading (write = false: existing pages are mapped,
// holes of shared memory get fresh zeroed pages) or writing (write = true: every page is allocated).  Best effort:
// never fails, never errors; a range the kernel refuses (too old, or memory short) is left to ordinary page faults.
void Prefault(const void *p, size_t len, bool write);

} // namespace nodedb_kv::shmem
