#include "coordseg/torch/train_step.h"

#include <cmath>
#include <stdexcept>

#include "coordseg/torch/data_parallel.h"
#include "coordseg/torch/device.h"
#include "coordseg/torch/loss.h"

namespace coordseg {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, UNet3d& model) {
  switch (c.optimizer) {
    case OptimizerKind::kAdamW:
      return std::make_unique<torch::optim::AdamW>(
          model->parameters(), torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay).eps(c.adam_epsilon));
    case OptimizerKind::kSgd:
      return std::make_unique<torch::optim::SGD>(
          model->parameters(),
          torch::optim::SGDOptions(c.lr).momentum(c.momentum).nesterov(true).weight_decay(c.weight_decay));
    case OptimizerKind::kAdam: break;
  }
  return std::make_unique<torch::optim::Adam>(model->parameters(),
                                              torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay).eps(c.adam_epsilon));
}

double schedule_factor(Schedule schedule, double t) {
  switch (schedule) {
    case Schedule::kPoly: return std::pow(1.0 - std::min(t, 1.0), 0.9);
    case Schedule::kCosine: return 0.5 * (1.0 + std::cos(M_PI * std::min(t, 1.0)));
    case Schedule::kConstant: break;
  }
  return 1.0;
}

TrainStep::TrainStep(const TrainConfig& config, UNet3d model, torch::Device device)
    : config_(config),
      model_(std::move(model)),
      device_(device),
      optimizer_(make_optimizer(config, model_)),
      parameters_(model_->parameters()),
      scaler_(config.amp == Amp::kFp16) {}

torch::Tensor TrainStep::forward_loss(const Batch& b, double lr) {
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  optimizer_->zero_grad();
  const auto on_device = [&](const torch::Tensor& t) {
    // Pinned host batches are copied without blocking the host.
    return t.to(device_, t.scalar_type(), /*non_blocking=*/device_.is_cuda() && t.is_pinned());
  };
  const torch::Tensor logits = forward_with_amp(model_, on_device(b.image), on_device(b.coords), config_.amp);
  return segmentation_loss(config_.loss, logits, on_device(b.labels));
}

void TrainStep::backward_and_update(const torch::Tensor& loss) {
  scaler_.scale(loss).backward();
  if (dp_) dp_->finish_gradients();
  if (scaler_.unscale(parameters_)) {
    if (config_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(parameters_, config_.grad_clip);
    optimizer_->step();
  }
}

double TrainStep::operator()(const Batch& b, double lr) {
  const torch::Tensor loss = forward_loss(b, lr);
  const double value = dp_ ? dp_->sum({loss.item<double>()})[0] / dp_->world_size() : loss.item<double>();
  if (!std::isfinite(value)) return value;
  backward_and_update(loss);
  return value;
}

torch::Tensor TrainStep::step_unchecked(const Batch& b, double lr) {
  if (dp_) throw std::logic_error("TrainStep::step_unchecked: not in a data-parallel run");
  const torch::Tensor loss = forward_loss(b, lr);
  backward_and_update(loss);
  return loss.detach();
}

}  // namespace coordseg
