#include "coordseg/core/error.h"

#include <cstring>

namespace coordseg {

std::string system_reason(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace coordseg
