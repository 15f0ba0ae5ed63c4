#include "coordseg/torch/device.h"

#include <algorithm>
#include <thread>

#include "coordseg/core/error.h"

namespace coordseg {

torch::Device resolve_device(const std::string& name, const std::vector<std::string>& gpus) {
  std::string d = name;
  if (d == "auto") d = torch::cuda::is_available() ? "cuda" : "cpu";
  if (d.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) throw usage_error("--device", "CUDA is not available in this build or machine");
    if (gpus.size() > 1)
      throw usage_error("MULTI_GPU", "lists " + std::to_string(gpus.size()) +
                                         " GPUs; data-parallel training is not built yet: list one GPU");
    if (d == "cuda" && gpus.size() == 1) d = "cuda:" + gpus[0];
  }
  try {
    return torch::Device(d);
  } catch (const c10::Error&) {
    throw usage_error("--device", "cannot use device '" + d + "'");
  }
}

void check_amp(const std::string& amp, const torch::Device& device) {
  if (amp != "none" && amp != "bf16" && amp != "fp16")
    throw usage_error("--amp", "unknown value '" + amp + "' (expected none, bf16 or fp16)");
  if (amp == "fp16" && !device.is_cuda()) throw usage_error("--amp", "fp16 needs CUDA; use bf16 on CPU");
}

at::ScalarType amp_dtype(const std::string& amp) { return amp == "fp16" ? at::kHalf : at::kBFloat16; }

void use_threads(int64_t n) {
  const int64_t threads = n > 0 ? n : static_cast<int64_t>(std::thread::hardware_concurrency());
  at::set_num_threads(static_cast<int>(std::max<int64_t>(1, threads)));
}

}  // namespace coordseg
