#include "coordseg/torch/loss_scaler.h"

namespace coordseg {

bool LossScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return true;
  // One read from the device for all parameters, not one per parameter.
  std::vector<torch::Tensor> all_finite;
  for (const auto& p : parameters)
    if (p.grad().defined()) {
      p.grad().div_(scale_);
      all_finite.push_back(torch::isfinite(p.grad()).all());
    }
  const bool finite = all_finite.empty() || torch::stack(all_finite).all().item<bool>();
  if (!finite) scale_ /= 2;
  else if (++good_steps_ % kGrowthInterval == 0) scale_ *= 2;
  return finite;
}

}  // namespace coordseg
