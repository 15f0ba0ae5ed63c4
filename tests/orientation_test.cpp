#include "coordseg/core/orientation.h"

#include <gtest/gtest.h>

#include <cmath>

namespace coordseg {
namespace {

LabelVolume numbered(const Affine& a, std::array<int64_t, 3> dims) {
  Grid g;
  g.dims = dims;
  g.affine = a;
  for (int c = 0; c < 3; ++c) g.spacing[static_cast<size_t>(c)] = a.column_norm(c);
  LabelVolume v = LabelVolume::filled(g, 0);
  for (size_t i = 0; i < v.voxels.size(); ++i) v.voxels[i] = static_cast<int32_t>(i);
  return v;
}

// Axes permuted and flipped: i points posterior (-y), j superior (+z), k left (-x).
Affine psl_affine() {
  Affine a = Affine::identity();
  a.m[0][0] = 0, a.m[1][1] = 0, a.m[2][2] = 0;
  a.m[1][0] = -0.7;  // i along -y
  a.m[2][1] = 2.0;   // j along +z
  a.m[0][2] = -1.5;  // k along -x
  a.m[0][3] = 10, a.m[1][3] = -20, a.m[2][3] = 5;
  return a;
}

TEST(Orientation, CanonicalOrderIsRasAndKeepsWorldPositions) {
  const Affine a = psl_affine();
  const LabelVolume v = numbered(a, {5, 4, 3});
  EXPECT_EQ(orientation_code(a), "PSL");
  const Reorientation r = canonical_reorientation(v.grid);
  const LabelVolume c = reorient(v, r);
  EXPECT_EQ(orientation_code(c.grid.affine), "RAS");
  EXPECT_EQ(c.grid.dims, (std::array<int64_t, 3>{3, 5, 4}));
  EXPECT_DOUBLE_EQ(c.grid.spacing[0], 1.5);
  // Every voxel keeps its world position.
  for (int64_t k = 0; k < 4; ++k)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t i = 0; i < 3; ++i) {
        const auto w = c.grid.affine.apply(i, j, k);
        const Affine inv = v.grid.affine.inverse();
        const auto s = inv.apply(w[0], w[1], w[2]);
        const int64_t si = std::llround(s[0]), sj = std::llround(s[1]), sk = std::llround(s[2]);
        EXPECT_EQ(c.at(i, j, k), v.at(si, sj, sk));
      }
  const LabelVolume back = undo_reorient(c, r, v.grid, v.header);
  EXPECT_EQ(back.voxels, v.voxels);
  EXPECT_EQ(back.grid.affine.max_abs_diff(v.grid.affine), 0.0);
}

// Above 1 M voxels the planes are split over the cores: the same voxels as a direct walk.
TEST(Orientation, LargeVolumesSplitOverCoresKeepEveryVoxel) {
  const LabelVolume v = numbered(psl_affine(), {131, 97, 89});  // 1.13 M voxels
  const Reorientation r = canonical_reorientation(v.grid);
  const LabelVolume c = reorient(v, r);
  ASSERT_EQ(c.grid.dims, (std::array<int64_t, 3>{89, 131, 97}));
  // Canonical (i, j, k) is source (j, k, n - 1 - i): x <- -k, y <- -i, z <- j.
  size_t wrong = 0;
  for (int64_t k = 0; k < 97; ++k)
    for (int64_t j = 0; j < 131; ++j)
      for (int64_t i = 0; i < 89; ++i)
        wrong += c.at(i, j, k) != v.at(130 - j, k, 88 - i) ? 1 : 0;
  EXPECT_EQ(wrong, 0u);
  const LabelVolume back = undo_reorient(c, r, v.grid, v.header);
  EXPECT_EQ(back.voxels, v.voxels);
}

TEST(Orientation, RasIsUnchanged) {
  const LabelVolume v = numbered(Affine::from_spacing({1, 2, 3}), {3, 3, 3});
  const Reorientation r = canonical_reorientation(v.grid);
  EXPECT_TRUE(r.is_identity());
  EXPECT_EQ(reorient(v, r).voxels, v.voxels);
  EXPECT_EQ(undo_reorient(v, r, v.grid, v.header).voxels, v.voxels);
}

}  // namespace
}  // namespace coordseg
