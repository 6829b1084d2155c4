// Prefault (shmem_prefault.hpp): one madvise(MADV_POPULATE_READ / MADV_POPULATE_WRITE) call over the
// whole pages of a range.  Kept apart from the registry: it serves private memory as well (a kv_sorted
// build's arrays).
#include "nodedb_kv/shmem/shmem_prefault.hpp"

#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 // Linux 5.14
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace nodedb_kv::shmem {

void
Prefault(const void *p, size_t len, bool write)
{
	static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
	uintptr_t start = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
	uintptr_t end = (reinterpret_cast<uintptr_t>(p) + len) & ~(page - 1);
	if (end <= start)
		return;
	// EINVAL (an older kernel), EFAULT/ENOMEM: the pages simply fault in later, as without this call.
	(void)madvise(reinterpret_cast<void *>(start), end - start, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

} // namespace nodedb_kv::shmem
