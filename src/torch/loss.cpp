#include "coordseg/torch/loss.h"

#include <cmath>
#include <limits>
#include <utility>

#include "coordseg/core/error.h"

namespace coordseg {
namespace {

// p = softmax(logits) in float32 and y = the one-hot target, both (N, C, D, H, W).
std::pair<torch::Tensor, torch::Tensor> probabilities_and_one_hot(const torch::Tensor& logits,
                                                                  const torch::Tensor& target) {
  auto p = torch::softmax(logits.to(torch::kFloat32), 1);
  auto y = torch::one_hot(target, logits.size(1)).permute({0, 4, 1, 2, 3}).to(p.dtype());
  return {p, y};
}

}  // namespace

torch::Tensor dice_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  const auto [p, y] = probabilities_and_one_hot(logits, target);
  const std::vector<int64_t> voxels = {2, 3, 4};
  const auto intersection = (p * y).sum(voxels);
  const auto denominator = y.sum(voxels) + p.sum(voxels);
  return 1.0 - (2.0 * (intersection + kDiceSmooth / 2) / (denominator + kDiceSmooth)).mean();
}

torch::Tensor ce_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  return torch::nn::functional::cross_entropy(logits.to(torch::kFloat32), target);
}

torch::Tensor weighted_ce_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  const auto [p, y] = probabilities_and_one_hot(logits, target);
  const std::vector<int64_t> all_but_class = {0, 2, 3, 4};
  const double elements = static_cast<double>(target.numel());
  const auto weight = 1.0 - y.sum(all_but_class) / elements;
  // clamp passes no gradient below the bound, as Keras's K.clip: a class predicted with
  // probability under kWeightedCeClip at its own voxels learns nothing there.
  const auto log_p = torch::log(p.clamp(kWeightedCeClip, 1.0));
  return -(weight * (y * log_p).sum(all_but_class)).sum() / elements;
}

torch::Tensor segmentation_loss(LossKind kind, const torch::Tensor& logits, const torch::Tensor& target) {
  switch (kind) {
    case LossKind::kCrossEntropy: return ce_loss(logits, target);
    case LossKind::kDiceCrossEntropy: return dice_loss(logits, target) + ce_loss(logits, target);
    case LossKind::kWeightedCrossEntropy: return weighted_ce_loss(logits, target);
    default: return dice_loss(logits, target);
  }
}

void DiceCounts::add(const torch::Tensor& prediction, const torch::Tensor& target) {
  const auto pred = prediction.to(torch::kCPU, torch::kInt64).flatten();
  const auto truth = target.to(torch::kCPU, torch::kInt64).flatten();
  const int64_t c = static_cast<int64_t>(tp.size());
  // A joint histogram of (truth, prediction) pairs gives all counts in one pass.
  const auto joint = torch::bincount(truth * c + pred, {}, c * c).view({c, c});
  const auto j = joint.accessor<int64_t, 2>();
  for (int64_t k = 0; k < c; ++k) {
    int64_t row = 0, col = 0;
    for (int64_t m = 0; m < c; ++m) {
      row += j[k][m];
      col += j[m][k];
    }
    tp[static_cast<size_t>(k)] += static_cast<double>(j[k][k]);
    fn[static_cast<size_t>(k)] += static_cast<double>(row - j[k][k]);
    fp[static_cast<size_t>(k)] += static_cast<double>(col - j[k][k]);
  }
}

std::vector<double> DiceCounts::dice() const {
  std::vector<double> d(tp.size());
  for (size_t k = 0; k < tp.size(); ++k) {
    const double denom = 2 * tp[k] + fp[k] + fn[k];
    d[k] = denom > 0 ? 2 * tp[k] / denom : std::numeric_limits<double>::quiet_NaN();
  }
  return d;
}

double DiceCounts::mean_foreground() const {
  const auto d = dice();
  double sum = 0;
  int n = 0;
  for (size_t k = 1; k < d.size(); ++k)
    if (!std::isnan(d[k])) sum += d[k], ++n;
  return n ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace coordseg
