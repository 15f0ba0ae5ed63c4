#include "coordseg/core/geometry.h"

#include <gtest/gtest.h>

#include <cmath>

#include "coordseg/core/error.h"

namespace coordseg {
namespace {

Affine make(std::initializer_list<double> rows) {
  Affine a = Affine::identity();
  auto it = rows.begin();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) a.m[r][c] = *it++;
  return a;
}

TEST(Geometry, OrientationCodesOfAxisAlignedAffines) {
  EXPECT_EQ(orientation_code(Affine::identity()), "RAS");
  EXPECT_EQ(orientation_code(make({-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0})), "LPS");
  EXPECT_EQ(orientation_code(make({0, 0, 2, 0, -1, 0, 0, 0, 0, -3, 0, 0})), "PIR");
  EXPECT_EQ(orientation_code(make({0.7, 0, 0, 0, 0, 0, -2.5, 0, 0, 0.7, 0, 0})), "RSP");
}

TEST(Geometry, ObliqueAffinesTakeTheClosestAxes) {
  const double a = 30.0 * M_PI / 180.0;  // 30 degrees about z: still closest to RAS
  const Affine r = make({std::cos(a), -std::sin(a), 0, 0, std::sin(a), std::cos(a), 0, 0, 0, 0, 1, 0});
  EXPECT_EQ(orientation_code(r), "RAS");
  const double b = 60.0 * M_PI / 180.0;  // 60 degrees: i is now closest to A, j to L
  const Affine s = make({std::cos(b), -std::sin(b), 0, 0, std::sin(b), std::cos(b), 0, 0, 0, 0, 1, 0});
  EXPECT_EQ(orientation_code(s), "ALS");
  const AxisMapping m = closest_axes(s);
  EXPECT_EQ(m.world_axis[0], 1);
  EXPECT_EQ(m.world_axis[1], 0);
  EXPECT_TRUE(m.flipped[1]);
  EXPECT_FALSE(m.flipped[0]);
}

TEST(Geometry, InverseAndApply) {
  const Affine a = make({0, -0.5, 0, 10, 0, 0, 2, -20, 1.5, 0, 0, 30});
  const Affine p = a.inverse() * a;
  EXPECT_LT(p.max_abs_diff(Affine::identity()), 1e-12);
  const auto w = a.apply(1, 2, 3);
  EXPECT_DOUBLE_EQ(w[0], 9.0);
  EXPECT_DOUBLE_EQ(w[1], -14.0);
  EXPECT_DOUBLE_EQ(w[2], 31.5);
  EXPECT_DOUBLE_EQ(a.determinant3(), -1.5);
  EXPECT_DOUBLE_EQ(a.column_norm(0), 1.5);
  EXPECT_DOUBLE_EQ(a.column_norm(1), 0.5);
  EXPECT_THROW(make({1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}).inverse(), Error);
}

TEST(Geometry, GridComparisonPrintsBothGeometries) {
  Grid a;
  a.dims = {4, 5, 6};
  a.spacing = {1, 1, 2};
  a.affine = Affine::from_spacing(a.spacing);
  Grid b = a;
  b.affine.m[0][3] += 5e-4;  // within the 1e-3 mm tolerance
  EXPECT_TRUE(same_grid(a, b));
  b.affine.m[0][3] += 1e-2;
  EXPECT_FALSE(same_grid(a, b));
  try {
    check_same_grid(a, "img.nii.gz", b, "lbl.nii.gz");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("lbl.nii.gz: grid differs from img.nii.gz", 0), 0u) << msg;
    EXPECT_NE(msg.find("4 x 5 x 6 voxels, 1 x 1 x 2 mm, RAS, affine [1 0 0 0;"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0.0105"), std::string::npos) << msg;
    EXPECT_EQ(e.exit_code(), 1);
  }
  b = a;
  b.dims[2] = 7;
  EXPECT_FALSE(same_grid(a, b));
}

TEST(Geometry, VoxelVolumeInMillilitres) {
  Grid g;
  g.dims = {10, 10, 10};
  g.spacing = {2, 2, 2.5};
  EXPECT_DOUBLE_EQ(g.voxel_ml(), 0.01);
  EXPECT_EQ(g.voxel_count(), 1000);
}

}  // namespace
}  // namespace coordseg
