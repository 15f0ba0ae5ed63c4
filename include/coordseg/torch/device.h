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

// "auto" (CUDA when available), "cpu", "cuda" or "cuda:N". `gpus` are MULTI_GPU's (or --gpus')
// ids, each checked against the GPUs present. A rank of a data-parallel run (`local_rank` >= 0)
// takes "cuda" to be gpus[local_rank % size] (or GPU local_rank without a list); a lone process
// uses its one listed GPU and refuses several (the command starts a rank per GPU).
torch::Device resolve_device(const std::string& name, const std::vector<std::string>& gpus = {}, int local_rank = -1);
// Every id in `gpus` is a GPU of this machine (0 .. present-1), or a usage error naming
// `option`, the GPUs present and --gpus.
void check_gpus(const std::vector<std::string>& gpus, int present, const std::string& option);

// Whether the device setting means CUDA ("auto" on a machine with CUDA, "cuda", "cuda:N").
bool uses_cuda(const std::string& device);
// How many ranks `coordseg train` starts on this machine: on CPU `nproc` (MULTI_GPU ignored);
// on CUDA one per listed GPU (checked against the GPUs present; errors name `gpus_option`,
// MULTI_GPU or --gpus), or `nproc` when given (several ranks may share a GPU with Gloo).
int ranks_to_start(const std::string& device, const std::vector<std::string>& gpus, int nproc,
                   const std::string& gpus_option);
// fp16 needs CUDA.
void check_amp(Amp amp, const torch::Device& device);
at::ScalarType amp_dtype(Amp amp);

// Waits until `device` has finished the work queued so far (CUDA); nothing on a CPU.
void synchronize(const torch::Device& device);
// cuDNN's autotuner on for a CUDA device (the network's shapes repeat); nothing elsewhere.
void tune_convolutions(const torch::Device& device);

// LibTorch's intra-op threads: n when positive, else every core (its own default is one).
void use_threads(int64_t n);

// model(x, coords) under autocast at `amp` on x's device; `coords` (global coordinates) are
// passed only to a network that takes them. The logits keep autocast's dtype.
torch::Tensor forward_with_amp(UNet3d& model, const torch::Tensor& x, const torch::Tensor& coords, Amp amp);

}  // namespace coordseg
