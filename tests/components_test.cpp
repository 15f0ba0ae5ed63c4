#include "coordseg/core/components.h"

#include <gtest/gtest.h>

namespace coordseg {
namespace {

LabelVolume empty_volume() {
  Grid g;
  g.dims = {12, 10, 8};
  return LabelVolume::filled(g, 0);
}

void box(LabelVolume& v, int value, int i0, int j0, int k0, int ni, int nj, int nk) {
  for (int k = k0; k < k0 + nk; ++k)
    for (int j = j0; j < j0 + nj; ++j)
      for (int i = i0; i < i0 + ni; ++i) v.at(i, j, k) = value;
}

int64_t count(const LabelVolume& v, int value) {
  return std::count(v.voxels.begin(), v.voxels.end(), value);
}

TEST(Components, KeepsTheLargestSixConnectedComponentOfEachClass) {
  LabelVolume v = empty_volume();
  box(v, 1, 0, 0, 0, 3, 3, 3);  // 27 voxels: class 1's largest
  box(v, 1, 6, 0, 0, 2, 1, 1);  // 2 voxels, apart
  v.at(3, 3, 3) = 1;            // touches the cube's corner (2, 2, 2) only diagonally: its own component
  box(v, 2, 6, 5, 2, 4, 4, 4);  // class 2: one component of 64
  box(v, 3, 0, 6, 5, 2, 2, 2);  // class 3: 8 and 6 voxels
  box(v, 3, 5, 0, 5, 1, 2, 3);
  keep_largest_components(v, 4);
  EXPECT_EQ(count(v, 1), 27);
  EXPECT_EQ(v.at(0, 0, 0), 1);
  EXPECT_EQ(v.at(2, 2, 2), 1);
  EXPECT_EQ(v.at(6, 0, 0), 0);
  EXPECT_EQ(v.at(3, 3, 3), 0);
  EXPECT_EQ(count(v, 2), 64);
  EXPECT_EQ(count(v, 3), 8);
  EXPECT_EQ(v.at(5, 0, 5), 0);
  EXPECT_EQ(count(v, 0), v.grid.voxel_count() - 27 - 64 - 8);
}

TEST(Components, FaceNeighboursAcrossEveryAxisJoin) {
  LabelVolume v = empty_volume();
  // An L-shaped chain along x, then y, then z: one component of 3 + 2 + 2 voxels.
  box(v, 1, 0, 0, 0, 3, 1, 1);
  box(v, 1, 2, 1, 0, 1, 2, 1);
  box(v, 1, 2, 2, 1, 1, 1, 2);
  box(v, 1, 8, 8, 6, 2, 2, 1);  // 4 voxels elsewhere
  keep_largest_components(v, 2);
  EXPECT_EQ(count(v, 1), 7);
  EXPECT_EQ(v.at(8, 8, 6), 0);
}

}  // namespace
}  // namespace coordseg
