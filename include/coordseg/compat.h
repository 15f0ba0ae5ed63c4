// The few LibTorch APIs that differ between the versions we build against -- Debian's 1.13
// (CPU) and PyTorch 2.x with CUDA -- behind one small header. Include it instead of testing
// TORCH_VERSION_* elsewhere.
#pragma once

#include <torch/version.h>

#include <string>

#define COORDSEG_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace coordseg::compat {

// "1.13.0"
inline std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace coordseg::compat
