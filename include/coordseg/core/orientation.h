// Canonical voxel order: the axis permutation and flips (no interpolation) that make a
// volume's affine closest to RAS, so that cases stored LPS, RAS or permuted look the same
// to the network. The affine is updated so every voxel keeps its world position, and the
// inverse maps predictions back to the file's own voxel order exactly.
#pragma once

#include <array>

#include "coordseg/core/volume.h"

namespace coordseg {

struct Reorientation {
  std::array<int, 3> source_axis{0, 1, 2};  // canonical axis a reads source voxel axis source_axis[a]
  std::array<bool, 3> flip{};               // ... walked from its far end
  bool is_identity() const { return source_axis == std::array<int, 3>{0, 1, 2} && !flip[0] && !flip[1] && !flip[2]; }
};

Reorientation canonical_reorientation(const Grid& grid);

// The grid after reorientation (dims permuted, affine adjusted; same world positions).
Grid reorient_grid(const Grid& grid, const Reorientation& r);

template <class T>
VolumeOf<T> reorient(const VolumeOf<T>& v, const Reorientation& r);

// The inverse: a canonical-order volume back to the voxel order of `original`, whose grid
// and header the result takes.
template <class T>
VolumeOf<T> undo_reorient(const VolumeOf<T>& canonical, const Reorientation& r, const Grid& original,
                          const NiftiHeader& header);

}  // namespace coordseg
