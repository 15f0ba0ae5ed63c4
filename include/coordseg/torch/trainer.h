// Training a UNet3d on a dataset folder, into a run folder:
//   RUN/config.json  the resolved parameters;   RUN/history.csv  one row per epoch;
//   RUN/best.pt      lowest validation loss;     RUN/last.pt      the latest epoch;
//   RUN/train.log    what was printed;           RUN/info.json    times, sizes, versions.
// An epoch is TRAIN_PATCH_NUM batches per training case (the reference's count), then
// VALID_PATCH_NUM patches per validation case, the same patches every epoch. Each batch is a
// pure function of (SEED, epoch, step), so a run resumed from last.pt continues exactly as
// an uninterrupted run would (CPU, same thread count).
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "coordseg/core/config.h"
#include "coordseg/core/launch_env.h"

namespace coordseg {

// Where a run stands after each optimiser step, for a progress display.
struct StepProgress {
  int64_t epoch = 0, epochs = 0;  // this epoch, of the run's total
  int64_t step = 0, steps = 0;    // steps done in this epoch, of its total
  double mean_loss = 0;           // over this epoch's steps read so far (NaN: none read yet)
  double seconds = 0;             // since the epoch began
};

struct TrainRequest {
  TrainConfig config;
  std::string data_dir;
  std::string run_dir;
  bool resume = false;      // continue RUN/last.pt (config from RUN/config.json, EPOCHS may grow)
  bool force = false;       // write into a run folder that already holds files
  int64_t stop_after_epochs = 0;  // stop (as if interrupted) after this many epochs of this call; 0 = off
  std::ostream* out = nullptr;    // the log's lines as they are written; nullptr = quiet
  std::function<void(const StepProgress&)> on_step;  // after every optimiser step; may be empty

  // When the host reads each step's loss. Every step: before backward, so a non-finite loss
  // stops the run before it reaches the weights. Deferred: the losses stay on the device and
  // are read at the end of the epoch (every kProgressSteps steps with on_step), so the host
  // never waits for the device in between; a non-finite loss stops the run there with the
  // same error (its step named), before anything is written. Auto: deferred on CUDA, every
  // step on the CPU (where reading costs nothing). Data-parallel runs always read every step.
  enum class LossReads { kAuto, kEveryStep, kDeferred };
  LossReads loss_reads = LossReads::kAuto;
  static constexpr int64_t kProgressSteps = 10;

  // Data-parallel training (world_size > 1): every rank calls train() with its own `launch`.
  // Each rank draws its own patches (BATCH_SIZE per rank: N ranks of batch B see the patches
  // one process of batch N*B would), gradients are averaged after backward, validation is
  // split over the ranks, and rank 0 alone logs and writes the run folder.
  LaunchEnv launch;
  std::string backend = "auto";  // auto (NCCL on CUDA where built, else Gloo), gloo, nccl
  double dist_timeout = 300;     // seconds to wait for the other ranks, at the rendezvous and in each collective
};

// What can be checked before any rank starts: the configuration, and that the run folder can
// be created (or resumed). train() checks the same; a launcher calls this first so that a bad
// request is reported once, not by every rank.
void check_train_request(const TrainRequest& request);

struct EpochRecord {
  int64_t epoch = 0;
  double train_loss = 0, val_loss = 0, lr = 0, seconds = 0, wait_seconds = 0;
  std::vector<double> val_dice;  // per class, validation patches
  double val_mean_dice = 0;      // over the foreground classes present
  std::vector<bool> val_present; // per class: present in the validation labels
};

struct TrainSummary {
  std::vector<EpochRecord> history;  // epochs run by this call
  int64_t epochs_done = 0;           // in the run, all calls together
  double best_val_loss = 0;
  int64_t best_epoch = 0;
  int64_t parameters = 0;
  int world_size = 1;              // ranks that trained
  uint64_t parameter_digest = 0;   // tensor_digest of the final weights and buffers (equal on every rank)
};

TrainSummary train(const TrainRequest& request);

}  // namespace coordseg
