// The few LibTorch APIs that differ between the versions we build against -- Debian's 1.13
// (CPU) and PyTorch 2.x with CUDA -- behind one small header. Include it instead of testing
// TORCH_VERSION_* elsewhere.
#pragma once

#include <ATen/autocast_mode.h>
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

// Whether autocast is on for CPU operations in this thread.
inline bool cpu_autocast_enabled() {
#if COORDSEG_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(at::kCPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
}

// Mixed precision for the forward passes inside its scope (autocast), on CPU or CUDA.
// Torch 2.4 replaced the per-device setters with ones taking the device type.
class AutocastGuard {
 public:
  AutocastGuard(bool cuda, bool enabled, at::ScalarType dtype) : cuda_(cuda), enabled_(enabled) {
    if (!enabled_) return;
#if COORDSEG_TORCH_AT_LEAST(2, 4)
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_dtype(type, dtype);
    at::autocast::set_autocast_enabled(type, true);
#else
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(dtype);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(dtype);
      at::autocast::set_cpu_enabled(true);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if COORDSEG_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(cuda_ ? at::kCUDA : at::kCPU, false);
#else
    if (cuda_)
      at::autocast::set_enabled(false);
    else
      at::autocast::set_cpu_enabled(false);
#endif
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool cuda_, enabled_;
};

}  // namespace coordseg::compat
