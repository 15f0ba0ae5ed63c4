// A Volume is voxels with their geometry: a Grid (dims, spacing in mm, voxel-to-world affine)
// and the NIfTI header of the file they came from. Voxels are stored x-fastest, as in NIfTI:
// index = i + nx * (j + ny * k). As a tensor this is shape (Z, Y, X) = (D, H, W).
// Volume holds image intensities (float32, scaling applied); LabelVolume holds integer
// label values (e.g. MM-WHS 205..850) or classes (0..7).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coordseg/core/geometry.h"
#include "coordseg/core/nifti_header.h"

namespace coordseg {

template <class T>
struct VolumeOf {
  using value_type = T;

  Grid grid;
  NiftiHeader header;     // of the source file; outputs on this grid keep its qform/sform
  std::vector<T> voxels;  // grid.voxel_count() values, x fastest
  std::string source;     // the file it was read from, for messages; empty if made in memory

  // A volume of `fill` on `grid`, with `header` (make_header(grid) when omitted).
  static VolumeOf filled(const Grid& grid, T fill, const NiftiHeader* header = nullptr) {
    VolumeOf v;
    v.grid = grid;
    v.header = header ? *header : make_header(grid);
    v.voxels.assign(static_cast<size_t>(grid.voxel_count()), fill);
    return v;
  }

  int64_t index(int64_t i, int64_t j, int64_t k) const {
    return i + grid.dims[0] * (j + grid.dims[1] * k);
  }
  T& at(int64_t i, int64_t j, int64_t k) { return voxels[static_cast<size_t>(index(i, j, k))]; }
  const T& at(int64_t i, int64_t j, int64_t k) const {
    return voxels[static_cast<size_t>(index(i, j, k))];
  }
  // The name to use in messages: the source file, or "<name>" when made in memory.
  std::string name(const std::string& fallback = "volume") const {
    return source.empty() ? fallback : source;
  }
};

using Volume = VolumeOf<float>;
using LabelVolume = VolumeOf<int32_t>;

}  // namespace coordseg
