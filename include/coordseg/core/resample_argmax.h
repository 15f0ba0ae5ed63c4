// The last step of prediction on a CPU: per-class scores (logits) on the network's grid,
// resampled trilinearly to the input's (canonical) grid over the same extent, and reduced to
// the best class per voxel -- without ever holding the resampled scores. Torch-free.
//
// Both grids cover the same field of view; voxel i of an output axis of n voxels sits at
// u = (i + 0.5) * m / n - 0.5 on the input axis of m voxels, clamped to [0, m - 1] (the
// sampling of grid_sample with align_corners = false and border padding). Trilinear
// interpolation is separable, so each output z plane interpolates the two input planes
// once, each output row two rows of that, and each voxel two values per class: a few
// operations per class and voxel, where sampling each voxel's eight corners for every class
// (LibTorch's grid_sample) cost about 19 s for a 512 x 512 x 283 CT on two cores.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace coordseg {

struct ResampleArgmaxOptions {
  // Per class, where to write the softmax over the classes of the resampled scores (each of
  // the output's voxel count), or empty for labels alone.
  std::vector<float*> probabilities;
  int threads = 0;  // 0: all hardware threads
};

// scores: (classes, d, h, w) contiguous float32 on the input grid `in` (d, h, w); labels:
// the output grid `out` (d, h, w), x fastest, receives the class with the highest
// resampled score (ties: the lower class, as argmax). Results do not depend on the number
// of threads.
void resample_argmax(const float* scores, int64_t classes, const std::array<int64_t, 3>& in, const std::array<int64_t, 3>& out,
                     int32_t* labels, const ResampleArgmaxOptions& options = {});

}  // namespace coordseg
