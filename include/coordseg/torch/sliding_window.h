// Sliding-window inference over a whole preprocessed volume. Windows of the patch size are
// placed with the given overlap (the last window of each axis ends at the volume's end);
// several windows go through the network per call; each window's outputs are weighted by
// a Gaussian importance map (sigma = patch / 8 per axis, centred) and the weighted sums are
// divided by the summed weights. Volumes smaller than a patch are padded with zeros.
//
// Windows carry their global coordinates -- positions in [-1, 1] over the whole volume,
// extending past it into the padding -- exactly as the training sampler computes them.
#pragma once

#include <torch/torch.h>

#include <array>
#include <functional>

namespace coordseg {

struct SlidingWindowOptions {
  std::array<int64_t, 3> patch{96, 96, 96};  // (d, h, w)
  double overlap = 0.5;                      // fraction of a patch shared by neighbours
  int64_t batch = 1;                         // windows per call
  bool gaussian = true;                      // false: plain averaging
  std::function<void(int64_t done, int64_t total)> progress;  // after each call of the network
};

// fn(windows (n, C, d, h, w), coords (n, 3, d, h, w)) -> (n, K, d, h, w).
using WindowFn = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

// volume: (C, D, H, W). Returns (K, D, H, W) float32 on the volume's device.
torch::Tensor sliding_window(const torch::Tensor& volume, int64_t out_channels, const WindowFn& fn,
                             const SlidingWindowOptions& options);

// sliding_window on the volume mirrored over `dims` (1 = D, 2 = H, 3 = W), the result
// mirrored back (test-time augmentation). Each window is told the true global coordinates
// of its voxels: index i of a mirrored axis is index n-1-i of the volume.
torch::Tensor mirrored_sliding_window(const torch::Tensor& volume, int64_t out_channels, const WindowFn& fn,
                                      const SlidingWindowOptions& options, const std::vector<int64_t>& dims);

// Window start positions along an axis of length n (n >= patch), for tests and progress.
std::vector<int64_t> window_starts(int64_t n, int64_t patch, double overlap);

// The Gaussian importance map (d, h, w), maximum 1.
torch::Tensor gaussian_importance(const std::array<int64_t, 3>& patch);

}  // namespace coordseg
