#include "coordseg/torch/loss_scaler.h"

namespace coordseg {

bool LossScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return true;
  bool finite = true;
  for (const auto& p : parameters)
    if (p.grad().defined()) {
      p.grad().div_(scale_);
      finite = finite && torch::isfinite(p.grad()).all().item<bool>();
    }
  if (!finite) scale_ /= 2;
  else if (++good_steps_ % kGrowthInterval == 0) scale_ *= 2;
  return finite;
}

}  // namespace coordseg
