// Global coordinates: the position of a voxel in [-1, 1] over its axis of the whole
// preprocessed volume, c(i) = 2 i / (n - 1) - 1 for voxel index i of n (0 when n = 1).
// Indices may be fractional (an augmented sampling grid) or lie outside [0, n - 1] (the
// padding of a small volume), and then so do the coordinates. This is the one formula the
// training sampler, sliding-window inference and the network's local CoordConv share, so
// training and inference agree exactly (align_corners = true in grid_sample's terms).
#pragma once

#include <torch/torch.h>

namespace coordseg {

torch::Tensor global_coordinate(const torch::Tensor& index, int64_t n);

// (3, d, h, w): z, y, x coordinates of the voxels starting at `start` (z, y, x) of a volume of
// `dims`, for a window of `size`.
torch::Tensor window_coordinates(const std::array<int64_t, 3>& start, const std::array<int64_t, 3>& size,
                                 const std::array<int64_t, 3>& dims, const torch::TensorOptions& options);

}  // namespace coordseg
