// `coordseg bench`: the project's own code paths timed on synthetic tensors, with FLOPs
// counted from the layers, so figures can be set beside the PyTorch-eager peer
// (../shared/bench/peer_unet3d.py, whose keys the results reuse).
//   train - the trainer's step (TrainStep: forward under AMP, loss, backward, optimiser) on a
//           fixed random batch, as the peer times its step;
//   infer - the predictor (Predictor::predict: preprocessing, sliding windows with Gaussian
//           stitching, the return to the input grid, argmax) on a random CT-like volume
//           whose grid is already the network's, so nothing is resampled;
//   conv  - the machine's ceiling: one large 3x3x3 convolution, fp32 and bf16.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "coordseg/core/config.h"

namespace coordseg {

struct BenchRequest {
  TrainConfig config;                        // network, PATCH_DIM, BATCH_SIZE, LOSS, AMP, DEVICE, THREADS
  int64_t steps = 5;                         // timed steps (train), passes (infer), calls (conv)
  int64_t warmup = 1;                        // untimed first ones
  std::array<int64_t, 3> volume{128, 128, 96};  // infer: z, y, x voxels, as the peer's --vol
  double overlap = 0.5;                      // infer
  int64_t window_batch = 2;                  // infer: windows per forward pass (as predict --batch)
  std::array<int64_t, 3> tile{0, 0, 0};      // infer: PredictOptions::tile (0: the patch)
  int64_t conv_channels = 0;                 // conv: in = out channels (0: 32 on CPU, 64 on CUDA)
  int64_t conv_side = 0;                     // conv: voxels per side (0: 64 on CPU, 128 on CUDA)
};

struct BenchResult {
  std::vector<std::string> lines;  // what a person reads
  nlohmann::ordered_json json;     // one object, the peer's keys plus gflop and gflop_per_s
};

// The mode's checks are usage errors naming the option (--steps, --vol, ...).
BenchResult bench_train(const BenchRequest& request);
BenchResult bench_infer(const BenchRequest& request);
BenchResult bench_conv(const BenchRequest& request);

}  // namespace coordseg
