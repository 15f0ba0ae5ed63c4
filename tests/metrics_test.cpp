#include "coordseg/core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "coordseg/core/error.h"

namespace coordseg {
namespace {

LabelVolume empty(std::array<double, 3> spacing = {1, 1, 1}, std::array<int64_t, 3> dims = {30, 30, 30}) {
  Grid g;
  g.dims = dims;
  g.spacing = spacing;
  g.affine = Affine::from_spacing(spacing);
  return LabelVolume::filled(g, 0);
}

void box(LabelVolume& v, int32_t c, std::array<int64_t, 3> lo, std::array<int64_t, 3> hi) {
  for (int64_t k = lo[2]; k < hi[2]; ++k)
    for (int64_t j = lo[1]; j < hi[1]; ++j)
      for (int64_t i = lo[0]; i < hi[0]; ++i) v.at(i, j, k) = c;
}

TEST(Metrics, TwoBoxesWithAKnownOverlap) {
  LabelVolume a = empty(), b = empty();
  box(a, 1, {5, 5, 5}, {15, 15, 15});   // 1000 voxels
  box(b, 1, {10, 5, 5}, {20, 15, 15});  // 1000 voxels, 500 shared
  const auto m = class_metrics(a, b, 2);
  EXPECT_DOUBLE_EQ(m[1].dice, 0.5);
  EXPECT_DOUBLE_EQ(m[1].jaccard, 500.0 / 1500.0);
  EXPECT_EQ(m[1].truth_voxels, 1000);
  EXPECT_EQ(m[1].pred_voxels, 1000);
  // Both argument orders agree.
  const auto r = class_metrics(b, a, 2);
  EXPECT_DOUBLE_EQ(r[1].dice, m[1].dice);
  EXPECT_DOUBLE_EQ(r[1].hd95, m[1].hd95);
  EXPECT_DOUBLE_EQ(r[1].assd, m[1].assd);
  // No surface voxel is farther than the 5-voxel shift; some are.
  EXPECT_LE(m[1].hd95, 5.0);
  EXPECT_GT(m[1].hd95, 0.0);
}

// A one-voxel slab and the same slab shifted along its normal: every surface voxel of each is
// exactly the shift (in mm) from the other, so HD95 = ASSD = shift.
TEST(Metrics, ShiftedSlabHasTheShiftAsHausdorffDistance) {
  for (const std::array<double, 3> spacing : {std::array<double, 3>{1, 1, 1}, std::array<double, 3>{0.7, 1.3, 2.5}})
    for (int axis = 0; axis < 3; ++axis) {
      LabelVolume a = empty(spacing, {12, 14, 16}), b = empty(spacing, {12, 14, 16});
      std::array<int64_t, 3> lo{0, 0, 0}, hi{12, 14, 16};
      lo[static_cast<size_t>(axis)] = 4;
      hi[static_cast<size_t>(axis)] = 5;
      box(a, 3, lo, hi);
      lo[static_cast<size_t>(axis)] += 3;
      hi[static_cast<size_t>(axis)] += 3;
      box(b, 3, lo, hi);
      const auto m = class_metrics(a, b, 4);
      const double shift = 3 * spacing[static_cast<size_t>(axis)];
      EXPECT_NEAR(m[3].hd95, shift, 1e-9) << axis;
      EXPECT_NEAR(m[3].assd, shift, 1e-9) << axis;
      EXPECT_DOUBLE_EQ(m[3].dice, 0.0);
    }
}

TEST(Metrics, DistanceTransformKnownAnswer) {
  std::vector<uint8_t> mask(5 * 4 * 3, 0);
  mask[static_cast<size_t>(1 + 5 * (2 + 4 * 1))] = 1;  // the point (1, 2, 1)
  const auto d = squared_distance_transform(mask, {5, 4, 3}, {0.5, 2.0, 3.0});
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t i = 0; i < 5; ++i) {
        const double want = std::pow((i - 1) * 0.5, 2) + std::pow((j - 2) * 2.0, 2) + std::pow((k - 1) * 3.0, 2);
        EXPECT_DOUBLE_EQ(d[static_cast<size_t>(i + 5 * (j + 4 * k))], want);
      }
  const auto none = squared_distance_transform(std::vector<uint8_t>(60, 0), {5, 4, 3}, {1, 1, 1});
  EXPECT_TRUE(std::isinf(none[0]));
}

// Scattered points over an anisotropic grid: every voxel's distance by brute force; the
// same with 1 and 3 threads; a cut-off keeps every distance up to it and no other.
TEST(Metrics, DistanceTransformMatchesBruteForceForAnyThreadsAndCutOff) {
  const std::array<int64_t, 3> dims{11, 7, 9};
  const std::array<double, 3> spacing{0.6, 1.3, 2.5};
  std::vector<uint8_t> mask(static_cast<size_t>(dims[0] * dims[1] * dims[2]), 0);
  const std::vector<std::array<int64_t, 3>> points{{0, 0, 0}, {10, 3, 4}, {5, 6, 8}, {2, 2, 5}};
  for (const auto& p : points) mask[static_cast<size_t>(p[0] + dims[0] * (p[1] + dims[1] * p[2]))] = 1;
  DistanceOptions one, three, cut;
  one.threads = 1;
  three.threads = 3;
  cut.threads = 2;
  cut.max_mm = 4.0;
  const auto d1 = squared_distance_transform(mask, dims, spacing, one);
  const auto d3 = squared_distance_transform(mask, dims, spacing, three);
  const auto dc = squared_distance_transform(mask, dims, spacing, cut);
  EXPECT_EQ(d1, d3);
  int64_t beyond = 0;
  for (int64_t k = 0; k < dims[2]; ++k)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t i = 0; i < dims[0]; ++i) {
        double want = 1e300;
        for (const auto& p : points)
          want = std::min(want, std::pow((i - p[0]) * spacing[0], 2) + std::pow((j - p[1]) * spacing[1], 2) +
                                    std::pow((k - p[2]) * spacing[2], 2));
        const auto at = static_cast<size_t>(i + dims[0] * (j + dims[1] * k));
        EXPECT_NEAR(d1[at], want, 1e-9);
        if (want <= 16.0 - 1e-9) {
          EXPECT_NEAR(dc[at], want, 1e-9);
        } else if (want > 16.0 + 1e-9) {
          EXPECT_TRUE(std::isinf(dc[at])) << i << " " << j << " " << k;
          ++beyond;
        }
      }
  EXPECT_GT(beyond, 100);
}

TEST(Metrics, EmptyStructuresFollowTheStatedConvention) {
  LabelVolume a = empty(), b = empty();
  box(a, 1, {2, 2, 2}, {6, 6, 6});
  const auto m = class_metrics(a, b, 3);
  // Class 1 only in the prediction: Dice 0, distances missing.
  EXPECT_DOUBLE_EQ(m[1].dice, 0.0);
  EXPECT_DOUBLE_EQ(m[1].jaccard, 0.0);
  EXPECT_TRUE(std::isnan(m[1].hd95));
  EXPECT_TRUE(std::isnan(m[1].assd));
  // Class 2 in neither: everything missing.
  EXPECT_TRUE(std::isnan(m[2].dice));
  EXPECT_TRUE(std::isnan(m[2].hd95));
  // Identical structures: Dice 1, distance 0.
  const auto same = class_metrics(a, a, 2);
  EXPECT_DOUBLE_EQ(same[1].dice, 1.0);
  EXPECT_DOUBLE_EQ(same[1].hd95, 0.0);
}

TEST(Metrics, GridsMustMatch) {
  LabelVolume a = empty(), b = empty({1, 1, 2});
  EXPECT_THROW(class_metrics(a, b, 2), Error);
}

}  // namespace
}  // namespace coordseg
