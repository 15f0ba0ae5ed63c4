#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "coordseg/core/config.h"
#include "coordseg/core/error.h"
#include "coordseg/torch/trainer.h"

namespace coordseg::app {

namespace {
struct TrainArgs {
  std::string params, data, out, resume, device, amp;
  int64_t epochs = 0, steps = -1, batch = 0, patch = 0, threads = -1;
  double lr = 0;
  int64_t seed = -1;
  bool force = false;
};
}  // namespace

Runner add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a 3D U-Net (+CoordConv) on an MM-WHS or nnU-Net style dataset");
  cmd->add_option("--params", a->params, "Parameter file (the reference's JSON keys; see docs/params.md)");
  cmd->add_option("--data", a->data, "Dataset folder")->required();
  cmd->add_option("--out", a->out, "Run folder to create");
  cmd->add_option("--resume", a->resume, "Run folder to continue from its last.pt");
  cmd->add_option("--epochs", a->epochs, "Override EPOCHS");
  cmd->add_option("--steps", a->steps, "Override STEPS (total optimiser steps; 0 = use EPOCHS)");
  cmd->add_option("--batch-size", a->batch, "Override BATCH_SIZE");
  cmd->add_option("--lr", a->lr, "Override LEARNINGRATE");
  cmd->add_option("--patch", a->patch, "Override PATCH_DIM (cube side)");
  cmd->add_option("--seed", a->seed, "Override SEED");
  cmd->add_option("--device", a->device, "Override DEVICE: auto, cpu, cuda, cuda:N");
  cmd->add_option("--threads", a->threads, "Override THREADS (0 = all cores)");
  cmd->add_option("--amp", a->amp, "Override AMP: none, bf16 (CPU or CUDA), fp16 (CUDA)");
  cmd->add_flag("--force", a->force, "Write into a run folder that already holds files");
  return [a, cmd]() {
    if (!*cmd) return -1;
    if (a->resume.empty() == a->out.empty())
      throw usage_error("--out", "give either --out RUN (a new run) or --resume RUN (continue one)");
    if (!a->resume.empty() && !a->params.empty())
      throw usage_error("--params", "a resumed run uses its own config.json; leave --params out");
    TrainConfig c;
    if (!a->resume.empty()) c = TrainConfig::from_file(a->resume + "/config.json");
    else if (!a->params.empty()) c = TrainConfig::from_file(a->params);
    if (a->epochs) c.epochs = a->epochs;
    if (a->steps >= 0) c.steps = a->steps;
    if (a->batch) c.batch = a->batch;
    if (a->lr > 0) c.lr = a->lr;
    if (a->patch) c.patch.fill(a->patch);
    if (a->seed >= 0) c.seed = static_cast<uint64_t>(a->seed);
    if (!a->device.empty()) c.device = a->device;
    if (a->threads >= 0) c.threads = a->threads;
    if (!a->amp.empty()) c.amp = a->amp;
    c.validate();
    TrainRequest r;
    r.config = c;
    r.data_dir = a->data;
    r.run_dir = a->resume.empty() ? a->out : a->resume;
    r.resume = !a->resume.empty();
    r.force = a->force;
    r.out = &std::cout;
    const TrainSummary s = train(r);
    std::cout << "trained " << s.epochs_done << " epochs; best validation loss " << s.best_val_loss << " at epoch "
              << s.best_epoch << "; run folder " << r.run_dir << "\n";
    return 0;
  };
}

}  // namespace coordseg::app
