// Checkpoints (RUN/best.pt, RUN/last.pt): the model's weights and buffers, the optimiser's
// state, the epoch and step reached, the best validation loss, the intensity statistics and
// the resolved configuration, so that a checkpoint alone is enough to resume training or to
// predict. Written to a temporary file and renamed, so a checkpoint is never half-written.
#pragma once

#include <torch/torch.h>

#include <string>

#include "coordseg/core/config.h"
#include "coordseg/torch/preprocess.h"
#include "coordseg/torch/unet3d.h"

namespace coordseg {

struct CheckpointState {
  TrainConfig config;
  IntensityStats stats;
  int64_t epoch = 0;          // epochs completed
  int64_t step = 0;           // optimiser steps completed
  double best_val_loss = 1e30;
  int64_t best_epoch = 0;
};

void save_checkpoint(const std::string& path, UNet3d& model, torch::optim::Optimizer* optimizer,
                     const CheckpointState& state);

// Reads the state; loads weights into `model` (and the optimiser's state when given).
CheckpointState load_checkpoint(const std::string& path, UNet3d* model, torch::optim::Optimizer* optimizer);

// A checkpoint's bytes, and the state (weights, optimiser) loaded from them as from the file
// `path` (named in errors): how rank 0 hands last.pt to the other ranks of a resumed run.
std::string read_checkpoint_bytes(const std::string& path);
CheckpointState load_checkpoint_bytes(const std::string& bytes, const std::string& path, UNet3d* model,
                                      torch::optim::Optimizer* optimizer);
// The network a configuration describes.
UNet3d make_unet(const TrainConfig& c);

// Reads a checkpoint once: its state, and the network its configuration describes with the
// saved weights.
UNet3d load_unet(const std::string& path, CheckpointState& state);

}  // namespace coordseg
