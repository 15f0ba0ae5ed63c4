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
  const double d0 = (2 * p0[0] + s) / (1 + (p0[0] + p0[1]) + s);
  const double d1 = (2 * p1[1] + s) / (1 + (p1[0] + p1[1]) + s);
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
    return 1.0 - (2.0 * (inter + kDiceSmooth / 2) / (den + kDiceSmooth)).mean();
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

TEST(Loss, AClassAbsentAndPredictedNowhereScoresOneAsInKeras) {
  // Three classes, class 2 absent from the target and (to float precision) from the
  // prediction: its term is 2 * (0 + s/2) / (0 + sum(p) + s) = 1 when sum(p) << s, so a
  // perfect prediction has loss 0 (the reference's formula, not (2I + s/2) / (D + s), which
  // would cap an absent class at 0.5 and give this prediction a loss of 1/6).
  const auto target = torch::tensor({0, 1, 1, 0}, torch::kInt64).view({1, 4, 1, 1});
  const auto logits = torch::one_hot(target, 3).permute({0, 4, 1, 2, 3}).to(torch::kFloat32) * 50.0;
  EXPECT_NEAR(dice_loss(logits, target).item<double>(), 0.0, 1e-5);
  // With sum(p) = s for the absent class, its term is exactly 1/2: loss 1/6 for one sample.
  // Class 2's logit at each of the 4 voxels is set so that p2 = s/4 there.
  const double s = kDiceSmooth, q = s / 4;
  auto l = torch::zeros({1, 3, 4, 1, 1}, torch::kFloat64);
  // Voxels of class c: p_c = 1 - q, p_other = 0 (logit -inf), p2 = q.
  for (int v = 0; v < 4; ++v) {
    const int c = target.flatten()[v].item<int>();
    l[0][c][v][0][0] = std::log(1 - q);
    l[0][1 - c][v][0][0] = -std::numeric_limits<double>::infinity();
    l[0][2][v][0][0] = std::log(q);
  }
  // Present classes: Dice = 2 (2(1-q) + s/2) / (2 + 2(1-q) + s) per class.
  const double present = 2 * (2 * (1 - q) + s / 2) / (2 + 2 * (1 - q) + s);
  const double expected = 1 - (2 * present + 0.5) / 3;
  EXPECT_NEAR(dice_loss(l, target).item<double>(), expected, 1e-6);
}

TEST(Loss, WeightedCrossEntropyOnAHandComputedExample) {
  // One sample, two classes, four voxels; target 0, 1, 1, 1, so the batch weights are
  // w0 = 1 - 1/4 and w1 = 1 - 3/4. Class 0's logit is 0 everywhere; class 1's logits give
  // p1 = sigmoid(a): voxel 0 -> p0 = 1/2, voxels 1, 2 -> p1 = sigmoid(1), sigmoid(-1), and
  // voxel 3 -> p1 = 0.001, under the 0.005 clip: it counts as log(0.005) and passes no gradient.
  const double a3 = std::log(0.001 / 0.999);
  auto logits = torch::tensor({0.0, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0, a3}, torch::kFloat64).view({1, 2, 4, 1, 1});
  logits.requires_grad_(true);
  const auto target = torch::tensor({0, 1, 1, 1}, torch::kInt64).view({1, 4, 1, 1});
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  const double w0 = 0.75, w1 = 0.25;
  const double expected =
      -(w0 * std::log(0.5) + w1 * (std::log(sigmoid(1)) + std::log(sigmoid(-1)) + std::log(0.005))) / 4;
  const auto loss = weighted_ce_loss(logits, target);
  EXPECT_NEAR(loss.item<double>(), expected, 1e-6);
  EXPECT_NEAR(segmentation_loss(LossKind::kWeightedCrossEntropy, logits, target).item<double>(), expected, 1e-6);
  loss.backward();
  const auto g = logits.grad();
  // d/da1 of -w1/4 * log(sigmoid(a1)) = -w1/4 * (1 - sigmoid(a1)); the softmax couples the
  // two logits of a voxel, so class 0's gradient is its negative.
  EXPECT_NEAR(g[0][1][1][0][0].item<double>(), -w1 / 4 * (1 - sigmoid(1)), 1e-7);
  EXPECT_NEAR(g[0][0][1][0][0].item<double>(), w1 / 4 * (1 - sigmoid(1)), 1e-7);
  EXPECT_NEAR(g[0][0][0][0][0].item<double>(), -w0 / 4 * 0.5, 1e-7);
  // (The loss is computed in float32, hence the tolerances.)
  // The clipped voxel learns nothing, as with Keras's K.clip.
  EXPECT_EQ(g[0][1][3][0][0].item<double>(), 0.0);
  EXPECT_EQ(g[0][0][3][0][0].item<double>(), 0.0);
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
