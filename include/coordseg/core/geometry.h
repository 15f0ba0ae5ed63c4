// Voxel grids in world space. An Affine maps voxel indices (i, j, k) to world coordinates in
// millimetres, RAS+ as in NIfTI: +x toward the patient's Right, +y Anterior, +z Superior.
// i runs along the fastest-varying axis of the voxel array (NIfTI's x), k the slowest.
// A Grid is what two volumes must share to be compared voxel by voxel: dims, spacing, affine.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>

namespace coordseg {

// A 4x4 homogeneous matrix, row-major: world = m * (i, j, k, 1).
struct Affine {
  std::array<std::array<double, 4>, 4> m{};

  static Affine identity();
  // Scaling by spacing, no rotation or offset: NIfTI's "method 1" when no qform/sform is set.
  static Affine from_spacing(const std::array<double, 3>& spacing);

  std::array<double, 3> apply(double i, double j, double k) const;
  Affine operator*(const Affine& other) const;
  Affine inverse() const;  // throws coordseg::Error when singular
  double determinant3() const;  // of the upper-left 3x3 block
  // Length of column c of the 3x3 block: the voxel size along that voxel axis, in mm.
  double column_norm(int c) const;
  // Largest absolute elementwise difference.
  double max_abs_diff(const Affine& other) const;
};

// The axis codes of an affine, nibabel's aff2axcodes convention: letter n names the world
// direction that voxel axis n points toward, e.g. "RAS" for an identity affine and "LPS"
// for DICOM-ordered data. Oblique axes take the closest world axis.
std::string orientation_code(const Affine& affine);

// Per voxel axis: which world axis it is closest to (0 = x, 1 = y, 2 = z) and whether it
// points toward the negative world direction. A permutation of {0, 1, 2}.
struct AxisMapping {
  std::array<int, 3> world_axis{};
  std::array<bool, 3> flipped{};
};
AxisMapping closest_axes(const Affine& affine);

struct Grid {
  std::array<int64_t, 3> dims{1, 1, 1};      // nx, ny, nz (voxels)
  std::array<double, 3> spacing{1, 1, 1};    // mm along i, j, k
  Affine affine = Affine::identity();

  int64_t voxel_count() const { return dims[0] * dims[1] * dims[2]; }
  // Volume of one voxel in millilitres.
  double voxel_ml() const { return spacing[0] * spacing[1] * spacing[2] / 1000.0; }
  // Edge (mm) of the cube of one voxel's volume: the scale of partial volume on this grid.
  double voxel_mm() const { return std::cbrt(spacing[0] * spacing[1] * spacing[2]); }
  // "128 x 128 x 96 voxels, 1.5 x 1.5 x 2 mm, RAS, origin (-90, -120, -60) mm"
  std::string describe() const;
};

// Same dims, and affines equal within `tolerance_mm` (elementwise).
bool same_grid(const Grid& a, const Grid& b, double tolerance_mm = 1e-3);

// Throws coordseg::Error (data) naming both files and printing both geometries when the
// grids differ.
void check_same_grid(const Grid& a, const std::string& a_name, const Grid& b,
                     const std::string& b_name, double tolerance_mm = 1e-3);

}  // namespace coordseg
