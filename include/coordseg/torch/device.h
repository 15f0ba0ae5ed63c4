// Devices, intra-op threads and mixed precision as the settings name them (DEVICE/--device,
// THREADS/--threads, AMP/--amp), one interpretation for training and prediction, and the
// network's forward pass under that precision.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "coordseg/core/settings.h"
#include "coordseg/torch/unet3d.h"

namespace coordseg {

// "auto" (CUDA when available), "cpu", "cuda" or "cuda:N". `gpus` are MULTI_GPU's ids: one
// selects the GPU for "cuda"; more than one is refused on CUDA (no data parallelism yet).
torch::Device resolve_device(const std::string& name, const std::vector<std::string>& gpus = {});

// fp16 needs CUDA.
void check_amp(Amp amp, const torch::Device& device);
at::ScalarType amp_dtype(Amp amp);

// LibTorch's intra-op threads: n when positive, else every core (its own default is one).
void use_threads(int64_t n);

// model(x, coords) under autocast at `amp` on x's device; `coords` (global coordinates) are
// passed only to a network that takes them. The logits keep autocast's dtype.
torch::Tensor forward_with_amp(UNet3d& model, const torch::Tensor& x, const torch::Tensor& coords, Amp amp);

}  // namespace coordseg
