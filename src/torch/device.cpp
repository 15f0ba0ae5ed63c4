#include "coordseg/torch/device.h"

#include <algorithm>
#include <thread>

#include "coordseg/core/error.h"
#include "coordseg/torch/compat.h"

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

void check_amp(Amp amp, const torch::Device& device) {
  if (amp == Amp::kFp16 && !device.is_cuda()) throw usage_error("--amp", "fp16 needs CUDA; use bf16 on CPU");
}

at::ScalarType amp_dtype(Amp amp) { return amp == Amp::kFp16 ? at::kHalf : at::kBFloat16; }

void use_threads(int64_t n) {
  const int64_t threads = n > 0 ? n : static_cast<int64_t>(std::thread::hardware_concurrency());
  at::set_num_threads(static_cast<int>(std::max<int64_t>(1, threads)));
}

torch::Tensor forward_with_amp(UNet3d& model, const torch::Tensor& x, const torch::Tensor& coords, Amp amp) {
  compat::AutocastGuard autocast(x.is_cuda(), amp != Amp::kNone, amp_dtype(amp));
  return model->forward(x, needs_global_coords(model->options().coord()) ? coords : torch::Tensor());
}

}  // namespace coordseg
