#include "coordseg/core/components.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "coordseg/core/error.h"

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

// The heart: class 1 (4x4x4) and class 2 (4x4x4) side by side at i = 2..9.
LabelVolume heart_volume(std::array<double, 3> spacing = {1, 1, 1}) {
  Grid g;
  g.dims = {40, 10, 10};
  g.spacing = spacing;
  LabelVolume v = LabelVolume::filled(g, 0);
  box(v, 1, 2, 3, 3, 4, 4, 4);
  box(v, 2, 6, 3, 3, 4, 4, 4);
  return v;
}

TEST(Components, HeartRuleDropsALargerComponentFarFromTheHeart) {
  LabelVolume v = heart_volume();
  box(v, 1, 30, 2, 2, 5, 5, 5);  // class 1 again, 125 voxels, 20 mm away: larger, but alone
  box(v, 2, 12, 3, 3, 1, 1, 1);  // class 2 speck 3 mm from the heart (gap of 2 voxels)
  LabelVolume largest = v;
  keep_largest_components(largest, 3);
  EXPECT_EQ(largest.at(30, 2, 2), 1);  // the plain rule keeps the far blob
  EXPECT_EQ(count(largest, 1), 125);

  keep_largest_heart_components(v, 3, 5.0);
  EXPECT_EQ(count(v, 1), 64);
  EXPECT_EQ(v.at(2, 3, 3), 1);
  EXPECT_EQ(v.at(30, 2, 2), 0);
  EXPECT_EQ(count(v, 2), 64);  // the speck is near, but smaller than class 2's own block
  EXPECT_EQ(v.at(12, 3, 3), 0);
  EXPECT_EQ(count(v, 0), v.grid.voxel_count() - 128);
}

TEST(Components, HeartRegionIsTheNearBlobHoldingMostStructure) {
  // A gap of 4 voxels (5 mm between centres) joins the blobs at a margin of 2 mm (each side
  // grows 2 mm) and separates them at 1.9 mm.
  for (const double margin : {2.0, 1.9}) {
    LabelVolume v = heart_volume();
    box(v, 3, 14, 3, 3, 2, 2, 2);  // class 3 only here: 8 voxels, i = 14..15, gap i = 10..13
    keep_largest_heart_components(v, 4, margin);
    EXPECT_EQ(count(v, 3), margin >= 2.0 ? 8 : 0) << margin;
    EXPECT_EQ(count(v, 1) + count(v, 2), 128) << margin;
  }
  // The region follows the structure voxels, not one class: a big lone class-3 block beats
  // the two smaller classes only when it holds more voxels than they do together.
  LabelVolume v = heart_volume();
  box(v, 3, 25, 0, 0, 6, 6, 6);  // 216 voxels > 128
  keep_largest_heart_components(v, 4, 3.0);
  EXPECT_EQ(count(v, 3), 216);
  EXPECT_EQ(count(v, 1), 0);
  EXPECT_EQ(count(v, 2), 0);
}

TEST(Components, HeartMarginIsInMillimetresAlongEachAxis) {
  // Spacing 1 x 1 x 3 mm: a block 2 slices above the heart (a gap of one slice, 6 mm between
  // facing voxel centres) joins at a margin of 3 mm, not at 2.9 mm; along i the same
  // margin would bridge a gap of 5 voxels.
  for (const double margin : {3.0, 2.9}) {
    LabelVolume v = heart_volume({1, 1, 3});
    box(v, 3, 4, 3, 8, 2, 2, 2);  // k = 8..9; the heart ends at k = 6
    keep_largest_heart_components(v, 4, margin);
    EXPECT_EQ(count(v, 3), margin >= 3.0 ? 8 : 0) << margin;
  }
}

TEST(Components, HeartMarginZeroIsTheLargestTouchingGroupAndBadMarginsAreRefused) {
  LabelVolume v = heart_volume();
  box(v, 1, 12, 3, 3, 1, 1, 1);  // touches nothing: dropped at margin 0 although class 1
  keep_largest_heart_components(v, 3, 0.0);
  EXPECT_EQ(count(v, 1), 64);
  EXPECT_EQ(count(v, 2), 64);
  LabelVolume empty = empty_volume();
  keep_largest_heart_components(empty, 3, 5.0);
  EXPECT_EQ(count(empty, 0), empty.grid.voxel_count());
  for (const double bad : {-1.0, std::nan("")}) {
    try {
      keep_largest_heart_components(v, 3, bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("heart margin"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace coordseg
