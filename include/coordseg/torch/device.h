// Devices, intra-op threads and mixed precision as the settings name them (DEVICE/--device,
// THREADS/--threads, AMP/--amp), one interpretation for training and prediction.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace coordseg {

// "auto" (CUDA when available), "cpu", "cuda" or "cuda:N". `gpus` are MULTI_GPU's ids: one
// selects the GPU for "cuda"; more than one is refused on CUDA (no data parallelism yet).
torch::Device resolve_device(const std::string& name, const std::vector<std::string>& gpus = {});

// "none", "bf16" or "fp16"; fp16 needs CUDA.
void check_amp(const std::string& amp, const torch::Device& device);
at::ScalarType amp_dtype(const std::string& amp);

// LibTorch's intra-op threads: n when positive, else every core (its own default is one).
void use_threads(int64_t n);

}  // namespace coordseg
