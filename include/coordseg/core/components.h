// Connected components of label maps (6-connectivity), torch-free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "coordseg/core/volume.h"

namespace coordseg {

// A box of a grid: its first voxel and its size per axis (x, y, z).
struct VoxelBox {
  std::array<int64_t, 3> lo{}, dims{};
  size_t voxels() const { return static_cast<size_t>(dims[0] * dims[1] * dims[2]); }
};

// The smallest box holding every voxel of values 1..below-1, grown by grow[a] voxels on each
// side within the grid; std::nullopt when there is no such voxel.
std::optional<VoxelBox> structure_box(const LabelVolume& v, int32_t below = std::numeric_limits<int32_t>::max(),
                                      const std::array<int64_t, 3>& grow = {0, 0, 0});

// Calls fn(box index, grid index) for every voxel of box b of a grid of `dims`, in box order.
template <typename Fn>
void for_each_in_box(const VoxelBox& b, const std::array<int64_t, 3>& dims, Fn fn) {
  size_t at = 0;
  for (int64_t k = 0; k < b.dims[2]; ++k)
    for (int64_t j = 0; j < b.dims[1]; ++j) {
      const auto row = static_cast<size_t>(b.lo[0] + dims[0] * (j + b.lo[1] + dims[1] * (k + b.lo[2])));
      for (int64_t i = 0; i < b.dims[0]; ++i) fn(at++, row + static_cast<size_t>(i));
    }
}

// Keeps, for each class 1..num_classes-1, only its largest 6-connected component; the
// other components become background (0). Classes are values 0..num_classes-1.
void keep_largest_components(LabelVolume& classes, int num_classes);

// The voxels of each value 1..below-1 that lie outside that value's largest 6-connected piece
// (on equal sizes, the piece whose first voxel comes first in grid order), as grid indices in
// ascending order. Works on classes and on label values alike (205, 420, ...); `v` is not
// changed. keep_largest_components sets exactly these voxels to 0 (with below = num_classes).
std::vector<size_t> detached_voxels(const LabelVolume& v, int32_t below = std::numeric_limits<int32_t>::max());

// Like keep_largest_components, but a structure's component counts only where it belongs to
// the heart: the heart region is the 6-connected part of "within margin_mm of any structure"
// (distances in mm, with the grid's spacing) that holds the most structure voxels. Each class
// keeps its largest component inside that region; components elsewhere (a false atrium by
// the spine, a vessel in the liver) become background, even when larger, and a class found
// only elsewhere is dropped. margin_mm must be >= 0 (0: the largest 6-connected group of
// structure voxels, whatever their classes).
void keep_largest_heart_components(LabelVolume& classes, int num_classes, double margin_mm);

}  // namespace coordseg
