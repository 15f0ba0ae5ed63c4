// One optimiser step, as the trainer takes it and `coordseg bench train` times it: the
// learning rate set, gradients zeroed, the forward pass under the configured autocast, the
// configured loss, backward (through the fp16 loss scaler; in a data-parallel run the
// gradients are all-reduced bucket by bucket during backward and waited for after it),
// gradient clipping, and the optimiser's step.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "coordseg/core/config.h"
#include "coordseg/torch/loss_scaler.h"
#include "coordseg/torch/sampler.h"
#include "coordseg/torch/unet3d.h"

namespace coordseg {

class DataParallel;

// The optimiser OPTIMIZER names, over the model's parameters, at LEARNINGRATE.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& config, UNet3d& model);

// The learning rate's factor at fraction t in [0, 1] of the run (SCHEDULE).
double schedule_factor(Schedule schedule, double t);

class TrainStep {
 public:
  // `model` is already on `device`.
  TrainStep(const TrainConfig& config, UNet3d model, torch::Device device);

  // Gradients averaged over the ranks of `dp`, which must already be attached to the
  // model's parameters (DataParallel::attach). nullptr: training alone.
  void set_data_parallel(DataParallel* dp) { dp_ = dp; }

  // One step on `batch` (host or device tensors) at learning rate `lr`. Returns the loss
  // (in a data-parallel run its mean over the ranks, equal on every rank). A loss that is not
  // finite is returned before backward: the weights and the optimiser are left as they were.
  double operator()(const Batch& batch, double lr);

  // The same step without waiting for the device: the loss comes back as a detached 0-dim
  // tensor on the device, to be read later (on a GPU, reading each step's loss would stall
  // the host until the device catches up). A non-finite loss is not caught here: its step
  // goes ahead and spoils the weights, so the caller reads the losses before it keeps any
  // weights. Training alone only (not data-parallel).
  torch::Tensor step_unchecked(const Batch& batch, double lr);

  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  const LossScaler& scaler() const { return scaler_; }

 private:
  torch::Tensor forward_loss(const Batch& batch, double lr);
  void backward_and_update(const torch::Tensor& loss);

  const TrainConfig& config_;
  UNet3d model_;
  torch::Device device_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<torch::Tensor> parameters_;
  LossScaler scaler_;
  DataParallel* dp_ = nullptr;
};

}  // namespace coordseg
