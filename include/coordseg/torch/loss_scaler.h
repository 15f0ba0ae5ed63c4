// Dynamic loss scaling for fp16 training (CUDA): the loss is multiplied by a scale before
// backward so small gradients survive in half precision; the gradients are divided by it
// again before the optimiser steps. A step whose gradients overflow (inf or NaN) is skipped
// and the scale halves; after every kGrowthInterval good steps it doubles. Disabled (bf16,
// fp32), it scales by 1 and never skips a step.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace coordseg {

class LossScaler {
 public:
  static constexpr double kInitialScale = 65536.0;  // 2^16, as torch.cuda.amp.GradScaler
  static constexpr int64_t kGrowthInterval = 1000;  // good steps between doublings

  explicit LossScaler(bool enabled) : enabled_(enabled), scale_(enabled ? kInitialScale : 1.0) {}

  torch::Tensor scale(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  // Divides the parameters' gradients by the scale. False when one is not finite: skip the
  // optimiser step (the scale has been halved).
  bool unscale(const std::vector<torch::Tensor>& parameters);
  double current() const { return scale_; }

 private:
  bool enabled_;
  double scale_;
  int64_t good_steps_ = 0;
};

}  // namespace coordseg
