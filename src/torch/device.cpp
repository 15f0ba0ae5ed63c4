#include "coordseg/torch/device.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "coordseg/core/error.h"
#include "coordseg/torch/compat.h"

namespace coordseg {

void check_gpus(const std::vector<std::string>& gpus, int present, const std::string& option) {
  std::vector<std::string> missing;
  for (const auto& g : gpus) {
    char* end = nullptr;
    const long id = std::strtol(g.c_str(), &end, 10);
    if (g.empty() || *end != '\0' || id < 0 || id >= present) missing.push_back(g);
  }
  if (missing.empty()) return;
  std::string have;
  for (int i = 0; i < present; ++i) have += (i ? ", " : "") + std::to_string(i);
  std::string listed;
  for (size_t i = 0; i < missing.size(); ++i) listed += (i ? ", " : "") + missing[i];
  throw usage_error(option, std::string(missing.size() > 1 ? "lists GPUs " : "lists GPU ") + listed +
                                ", which this machine does not have (" +
                                (present > 1 ? "it has GPUs " + have : present ? "it has GPU 0" : std::string("it has no GPU")) +
                                "); choose with --gpus, e.g. --gpus " + (present ? have.substr(0, have.find(',')) : "0"));
}

torch::Device resolve_device(const std::string& name, const std::vector<std::string>& gpus, int local_rank) {
  std::string d = name;
  if (d == "auto") d = torch::cuda::is_available() ? "cuda" : "cpu";
  if (d.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) throw usage_error("--device", "CUDA is not available in this build or machine");
    const int present = static_cast<int>(torch::cuda::device_count());
    check_gpus(gpus, present, "MULTI_GPU");
    if (local_rank < 0 && gpus.size() > 1)
      throw usage_error("MULTI_GPU", "lists " + std::to_string(gpus.size()) +
                                         " GPUs: one process trains on one; `coordseg train` starts a rank per GPU");
    if (d == "cuda" && !gpus.empty()) d = "cuda:" + gpus[static_cast<size_t>(std::max(local_rank, 0)) % gpus.size()];
    else if (d == "cuda" && local_rank >= 0) d = "cuda:" + std::to_string(local_rank % std::max(present, 1));
  }
  try {
    return torch::Device(d);
  } catch (const c10::Error&) {
    throw usage_error("--device", "cannot use device '" + d + "'");
  }
}

bool uses_cuda(const std::string& device) {
  return device == "auto" ? torch::cuda::is_available() : device.rfind("cuda", 0) == 0;
}

int ranks_to_start(const std::string& device, const std::vector<std::string>& gpus, int nproc,
                   const std::string& gpus_option) {
  if (nproc < 0) throw usage_error("--nproc", "expected a number of ranks >= 1, got " + std::to_string(nproc));
  if (!uses_cuda(device)) {
    if (gpus_option == "--gpus")
      throw usage_error("--gpus", "this run is on the CPU (no CUDA GPU in this build or machine); use --nproc N for N CPU ranks");
    return std::max(nproc, 1);
  }
  if (!torch::cuda::is_available()) throw usage_error("--device", "CUDA is not available in this build or machine");
  check_gpus(gpus, static_cast<int>(torch::cuda::device_count()), gpus_option);
  if (nproc > 0) return nproc;
  return device == "auto" || device == "cuda" ? std::max<int>(1, static_cast<int>(gpus.size())) : 1;
}

void check_amp(Amp amp, const torch::Device& device) {
  if (amp == Amp::kFp16 && !device.is_cuda()) throw usage_error("--amp", "fp16 needs CUDA; use bf16 on CPU");
}

at::ScalarType amp_dtype(Amp amp) { return amp == Amp::kFp16 ? at::kHalf : at::kBFloat16; }

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

void tune_convolutions(const torch::Device& device) {
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
}

void use_threads(int64_t n) {
  const int64_t threads = n > 0 ? n : static_cast<int64_t>(std::thread::hardware_concurrency());
  at::set_num_threads(static_cast<int>(std::max<int64_t>(1, threads)));
}

torch::Tensor forward_with_amp(UNet3d& model, const torch::Tensor& x, const torch::Tensor& coords, Amp amp) {
  compat::AutocastGuard autocast(x.is_cuda(), amp != Amp::kNone, amp_dtype(amp));
  return model->forward(x, needs_global_coords(model->options().coord()) ? coords : torch::Tensor());
}

}  // namespace coordseg
