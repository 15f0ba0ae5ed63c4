#include "coordseg/torch/loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "coordseg/torch/loss_scaler.h"

namespace coordseg {
namespace {

TEST(Loss, DiceOnAHandComputedExample) {
  // One sample, two classes, two voxels. Logits make p = softmax: voxel 0 -> (0.5, 0.5),
  // voxel 1 -> (1/(1+e), e/(1+e)). Target: voxel 0 class 0, voxel 1 class 1.
  const auto logits = torch::tensor({0.0, 0.0, 0.0, 1.0}, torch::kFloat64).view({1, 2, 2, 1, 1});
  // logits[0][c][v]: class 0: (0, 0); class 1: (0, 1)
  const auto target = torch::tensor({0, 1}, torch::kInt64).view({1, 2, 1, 1});
  const double e = std::exp(1.0);
  const double p0[2] = {0.5, 1 / (1 + e)}, p1[2] = {0.5, e / (1 + e)};
  const double s = 1e-5;
  const double d0 = (2 * p0[0] + s / 2) / (1 + (p0[0] + p0[1]) + s);
  const double d1 = (2 * p1[1] + s / 2) / (1 + (p1[0] + p1[1]) + s);
  EXPECT_NEAR(dice_loss(logits, target).item<double>(), 1 - (d0 + d1) / 2, 1e-6);
}

TEST(Loss, DiceGradientMatchesFiniteDifferences) {
  torch::manual_seed(0);
  const auto target = torch::randint(0, 3, {2, 3, 2, 2}, torch::kInt64);
  auto logits = torch::randn({2, 3, 3, 2, 2}, torch::kFloat64).requires_grad_(true);
  // dice_loss computes in float32; compare the gradient in float64 through a double copy.
  auto loss_of = [&](const torch::Tensor& l) {
    const auto p = torch::softmax(l, 1);
    const auto y = torch::one_hot(target, 3).permute({0, 4, 1, 2, 3}).to(p.dtype());
    const auto inter = (p * y).sum({2, 3, 4}), den = y.sum({2, 3, 4}) + p.sum({2, 3, 4});
    return 1.0 - ((2.0 * inter + kDiceSmooth / 2) / (den + kDiceSmooth)).mean();
  };
  EXPECT_NEAR(loss_of(logits).item<double>(), dice_loss(logits, target).item<double>(), 1e-6);
  loss_of(logits).backward();
  const auto grad = logits.grad().clone();
  const auto flat = logits.detach().flatten();
  for (int64_t i = 0; i < flat.numel(); i += 5) {
    const double h = 1e-6;
    auto plus = flat.clone(), minus = flat.clone();
    plus[i] += h;
    minus[i] -= h;
    const double numeric = (loss_of(plus.view_as(logits)).item<double>() - loss_of(minus.view_as(logits)).item<double>()) / (2 * h);
    EXPECT_NEAR(grad.flatten()[i].item<double>(), numeric, 1e-6) << i;
  }
  // And the float32 implementation's gradient agrees with it.
  auto l32 = logits.detach().clone().requires_grad_(true);
  dice_loss(l32, target).backward();
  EXPECT_TRUE(torch::allclose(l32.grad(), grad, 1e-4, 1e-5));
}

TEST(Loss, PerfectPredictionsGiveZeroLoss) {
  const auto target = torch::tensor({0, 1, 2, 1}, torch::kInt64).view({1, 4, 1, 1});
  const auto logits = torch::one_hot(target, 3).permute({0, 4, 1, 2, 3}).to(torch::kFloat32) * 50.0;
  EXPECT_NEAR(dice_loss(logits, target).item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(ce_loss(logits, target).item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(segmentation_loss(LossKind::kDiceCrossEntropy, logits, target).item<double>(), 0.0, 1e-5);
}

TEST(Loss, DiceCountsPerClass) {
  DiceCounts d(3);
  d.add(torch::tensor({0, 1, 1, 2}), torch::tensor({0, 1, 2, 2}));
  const auto dice = d.dice();
  EXPECT_DOUBLE_EQ(dice[0], 1.0);
  EXPECT_DOUBLE_EQ(dice[1], 2.0 / 3.0);  // TP 1, FP 1
  EXPECT_DOUBLE_EQ(dice[2], 2.0 / 3.0);  // TP 1, FN 1
  EXPECT_DOUBLE_EQ(d.mean_foreground(), 2.0 / 3.0);
  DiceCounts empty(3);
  empty.add(torch::tensor({0, 0}), torch::tensor({0, 0}));
  EXPECT_TRUE(std::isnan(empty.dice()[1]));
}

}  // namespace
}  // namespace coordseg

namespace coordseg {
namespace {

TEST(LossScaler, ScalesUnscalesAndSkipsOverflowingSteps) {
  auto param = torch::zeros({3}, torch::requires_grad());
  LossScaler off(false);
  EXPECT_EQ(off.current(), 1.0);
  (param.sum() * 2).backward();
  EXPECT_TRUE(off.unscale({param}));
  EXPECT_TRUE(torch::equal(param.grad(), torch::full({3}, 2.0)));

  LossScaler on(true);
  EXPECT_EQ(on.current(), LossScaler::kInitialScale);
  param.mutable_grad().zero_();
  on.scale(param.sum() * 2).backward();
  EXPECT_FLOAT_EQ(param.grad()[0].item<float>(), 2.0f * 65536);
  EXPECT_TRUE(on.unscale({param}));
  EXPECT_TRUE(torch::allclose(param.grad(), torch::full({3}, 2.0)));
  EXPECT_EQ(on.current(), 65536.0);

  param.mutable_grad().fill_(std::numeric_limits<float>::infinity());
  EXPECT_FALSE(on.unscale({param}));
  EXPECT_EQ(on.current(), 32768.0);
  // After kGrowthInterval good steps the scale doubles.
  for (int64_t i = 0; i < LossScaler::kGrowthInterval; ++i) {
    param.mutable_grad().fill_(1.0);
    EXPECT_TRUE(on.unscale({param}));
  }
  EXPECT_EQ(on.current(), 65536.0);
}

}  // namespace
}  // namespace coordseg
