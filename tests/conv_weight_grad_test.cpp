// The 3x3x3 weight-gradient kernel against plain double-precision loops.
#include "coordseg/core/conv_weight_grad.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace coordseg {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

size_t voxels(const Conv3dShape& s) { return static_cast<size_t>(s.d * s.h * s.w); }

TEST(ConvWeightGrad, FitsOnlyWidthsOfEightAndChannelsOfFour) {
  EXPECT_TRUE(conv_weight_grad_kernel_fits({2, 3, 4, 5, 6, 8}));
  EXPECT_TRUE(conv_weight_grad_kernel_fits({1, 1, 16, 1, 1, 48}));
  EXPECT_FALSE(conv_weight_grad_kernel_fits({1, 1, 4, 4, 4, 12}));  // width 12
  EXPECT_FALSE(conv_weight_grad_kernel_fits({1, 1, 6, 4, 4, 8}));   // 6 output channels
  EXPECT_FALSE(conv_weight_grad_kernel_fits({0, 1, 4, 4, 4, 8}));   // empty batch
}

TEST(ConvWeightGrad, ReferenceOnOneVoxelOfOnes) {
  // A 1 x 1 x 8 row of ones against a gradient of ones: the centre offset sums 8 products,
  // the x offsets 7 (one neighbour is padding), every offset along d or h none.
  const Conv3dShape s{1, 1, 4, 1, 1, 8};
  const std::vector<float> x(8, 1.0f), dy(4 * 8, 1.0f);
  const auto dw = conv_weight_grad_reference(x.data(), dy.data(), s);
  ASSERT_EQ(dw.size(), 4u * 27);
  for (int co = 0; co < 4; ++co)
    for (int k = 0; k < 27; ++k) {
      const int kd = k / 9, kh = k / 3 % 3, kw = k % 3;
      const float expected = (kd != 1 || kh != 1) ? 0.0f : (kw == 1 ? 8.0f : 7.0f);
      EXPECT_EQ(dw[static_cast<size_t>(co * 27 + k)], expected) << co << " " << k;
    }
}

TEST(ConvWeightGrad, KernelEqualsReferenceOnOddShapes) {
  if (!conv_weight_grad_kernel_available()) GTEST_SKIP() << "no AVX2 + FMA on this processor";
  // Heights around the kernel's 8-row blocks, widths of one and several vectors, depths of 1.
  const Conv3dShape shapes[] = {{1, 1, 4, 1, 1, 8},  {2, 3, 4, 3, 5, 8},   {1, 2, 8, 4, 9, 16},
                                {2, 5, 4, 2, 17, 24}, {1, 4, 12, 3, 8, 32}, {1, 1, 4, 6, 16, 8}};
  uint32_t seed = 1;
  for (const auto& s : shapes) {
    const auto x = random_values(static_cast<size_t>(s.batch * s.in_channels) * voxels(s), seed++);
    const auto dy = random_values(static_cast<size_t>(s.batch * s.out_channels) * voxels(s), seed++);
    const auto expected = conv_weight_grad_reference(x.data(), dy.data(), s);
    std::vector<float> dw(expected.size(), -7.0f);
    conv_weight_grad(x.data(), dy.data(), dw.data(), s, 0, s.out_channels);
    for (size_t i = 0; i < dw.size(); ++i)
      ASSERT_NEAR(dw[i], expected[i], 1e-4 * (1 + std::abs(expected[i])))
          << "weight " << i << " of shape " << s.batch << "x" << s.in_channels << "->" << s.out_channels << " " << s.d
          << "x" << s.h << "x" << s.w;
  }
}

TEST(ConvWeightGrad, ChannelRangesGiveTheSameBitsAsOneCall) {
  if (!conv_weight_grad_kernel_available()) GTEST_SKIP() << "no AVX2 + FMA on this processor";
  const Conv3dShape s{2, 3, 12, 4, 10, 16};
  const auto x = random_values(static_cast<size_t>(s.batch * s.in_channels) * voxels(s), 11);
  const auto dy = random_values(static_cast<size_t>(s.batch * s.out_channels) * voxels(s), 12);
  std::vector<float> whole(static_cast<size_t>(s.out_channels * s.in_channels * 27)), parts(whole.size(), -1.0f);
  conv_weight_grad(x.data(), dy.data(), whole.data(), s, 0, 12);
  conv_weight_grad(x.data(), dy.data(), parts.data(), s, 8, 12);  // in any order
  conv_weight_grad(x.data(), dy.data(), parts.data(), s, 0, 4);
  conv_weight_grad(x.data(), dy.data(), parts.data(), s, 4, 8);
  EXPECT_EQ(parts, whole);
}

}  // namespace
}  // namespace coordseg
