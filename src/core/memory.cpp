#include "coordseg/core/memory.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>

namespace coordseg {

uint64_t available_memory_bytes() {
  uint64_t available = std::numeric_limits<uint64_t>::max() / 4;
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  uint64_t kb = 0;
  while (meminfo >> key >> kb >> unit)
    if (key == "MemAvailable:") {
      available = kb * 1024;
      break;
    }
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    available = std::min<uint64_t>(available, static_cast<uint64_t>(limit.rlim_cur));
  return available;
}

namespace {
// "3.25 GiB"
std::string gib(double bytes) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}
}  // namespace

void check_memory(double bytes, ErrorKind kind, const std::string& subject, const std::string& what) {
  const double available = static_cast<double>(available_memory_bytes());
  if (bytes <= available) return;
  throw Error(kind, subject, what + " needs " + gib(bytes) + ", more than the " + gib(available) + " of available memory");
}

}  // namespace coordseg
