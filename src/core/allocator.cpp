#include "coordseg/core/allocator.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace coordseg {

std::string keep_freed_memory() {
  static const std::string outcome = [] {
    const char* env = std::getenv("COORDSEG_MALLOC");
    if (env && std::strcmp(env, "system") == 0) return std::string("COORDSEG_MALLOC=system");
#if defined(__GLIBC__)
    // No block from mmap (so none is unmapped on free), and no trimming of the heap's top.
    const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
    return std::string(ok ? "kept" : "mallopt refused");
#else
    return std::string("not glibc");
#endif
  }();
  return outcome;
}

}  // namespace coordseg
