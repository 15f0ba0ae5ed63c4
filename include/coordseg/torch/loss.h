// Segmentation losses on logits (N, C, D, H, W) and integer targets (N, D, H, W) of classes.
//
// Dice (the reference's weighted_dice_coefficient_loss): 1 - mean over samples n and classes c of
//     2 * (sum(y * p) + s / 2) / (sum(y) + sum(p) + s),  s = 1e-5,
// with p = softmax(logits) and y the one-hot target, sums over voxels. A class absent from a
// sample and predicted nowhere scores 1, as in Keras (the smoothing term is doubled with the
// intersection, so a perfect prediction has loss 0 whichever classes a patch holds). Cross-entropy is the
// mean over voxels. "dice_ce" is their sum.
//
// Weighted cross-entropy (the reference code's softmax_weighted_loss, the loss its main.py
// compiles the model with):
//     sum over classes c of  -w_c * mean over samples and voxels of y_c * log(clip(p_c, 0.005, 1)),
//     w_c = 1 - (voxels of class c in the batch) / (voxels in the batch),
// so a class's weight grows as it gets rarer in the batch.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "coordseg/core/settings.h"

namespace coordseg {

constexpr double kDiceSmooth = 1e-5;
constexpr double kWeightedCeClip = 0.005;

torch::Tensor dice_loss(const torch::Tensor& logits, const torch::Tensor& target);
torch::Tensor ce_loss(const torch::Tensor& logits, const torch::Tensor& target);
torch::Tensor weighted_ce_loss(const torch::Tensor& logits, const torch::Tensor& target);
torch::Tensor segmentation_loss(LossKind kind, const torch::Tensor& logits, const torch::Tensor& target);

// Per-class counts of a hard prediction against the target, accumulated over batches to
// give Dice = 2 TP / (2 TP + FP + FN) per class (NaN when a class is absent from both).
struct DiceCounts {
  std::vector<double> tp, fp, fn;
  explicit DiceCounts(int64_t classes = 0) : tp(classes, 0), fp(classes, 0), fn(classes, 0) {}
  void add(const torch::Tensor& prediction, const torch::Tensor& target);  // both (N, D, H, W) classes
  std::vector<double> dice() const;
  double mean_foreground() const;  // mean over classes 1.. that are defined
};

}  // namespace coordseg
