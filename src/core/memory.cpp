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

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

void check_memory(double bytes, ErrorKind kind, const std::string& subject, const std::string& what) {
  const uint64_t available = available_memory_bytes();
  if (bytes <= static_cast<double>(available)) return;
  char need[48];
  std::snprintf(need, sizeof need, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  throw Error(kind, subject, what + " needs " + need + ", more than the " + gib(available) + " of available memory");
}

}  // namespace coordseg
