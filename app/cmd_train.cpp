#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "coordseg/core/config.h"
#include "coordseg/core/error.h"
#include "coordseg/core/launch_env.h"
#include "coordseg/core/launcher.h"
#include "coordseg/torch/device.h"
#include "coordseg/torch/trainer.h"

namespace coordseg::app {

namespace {
struct TrainArgs {
  std::string params, data, out, resume;
  ConfigOverrides overrides;
  bool force = false;
  std::vector<std::string> gpus;
  int nproc = 0;
  std::string backend = "auto";
  double dist_timeout = 300;
};

std::string format_duration(double s) {
  const int64_t t = static_cast<int64_t>(std::llround(s));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  return buf;
}

// A one-line progress bar on a terminal, cleared at the end of each epoch (before its log line).
void draw_progress(const StepProgress& p) {
  const double rate = p.step / std::max(p.seconds, 1e-9);
  // The loss is NaN until the trainer has read one back (on CUDA, every few steps).
  char loss[32] = "-";
  if (std::isfinite(p.mean_loss)) std::snprintf(loss, sizeof loss, "%.4f", p.mean_loss);
  std::printf("\repoch %lld/%lld  step %lld/%lld  loss %s  %.2f it/s  ETA %s   ", static_cast<long long>(p.epoch),
              static_cast<long long>(p.epochs), static_cast<long long>(p.step), static_cast<long long>(p.steps), loss,
              rate, format_duration((p.steps - p.step) / rate).c_str());
  if (p.step == p.steps) std::printf("\r%100s\r", "");
  std::fflush(stdout);
}
}  // namespace

Runner add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  ConfigOverrides& o = a->overrides;
  CLI::App* cmd = app.add_subcommand("train", "Train a 3D U-Net (+CoordConv) on an MM-WHS or nnU-Net style dataset");
  cmd->add_option("--params", a->params, "Parameter file of a new run (the reference's JSON keys; see docs/params.md)");
  cmd->add_option("--data", a->data, "Dataset folder")->required();
  cmd->add_option("--out", a->out, "Run folder to create");
  cmd->add_option("--resume", a->resume, "Run folder to continue from its last.pt");
  cmd->add_option("--epochs", o.epochs, "Override EPOCHS");
  cmd->add_option("--steps", o.steps, "Override STEPS (total optimiser steps; 0 = use EPOCHS)");
  cmd->add_option("--batch-size", o.batch, "Override BATCH_SIZE");
  cmd->add_option("--lr", o.lr, "Override LEARNINGRATE");
  cmd->add_option("--patch", o.patch, "Override PATCH_DIM (cube side)");
  cmd->add_option("--seed", o.seed, "Override SEED");
  cmd->add_option("--device", o.device, "Override DEVICE: auto, cpu, cuda, cuda:N");
  cmd->add_option("--threads", o.threads, "Override THREADS (0 = all cores; at most 4 per core)");
  cmd->add_option("--amp", o.amp, "Override AMP: none, bf16 (CPU or CUDA), fp16 (CUDA)");
  cmd->add_flag("--force", a->force, "Write into a run folder that already holds files");
  cmd->add_option("--gpus", a->gpus, "GPUs to train on, one rank each (overrides MULTI_GPU), e.g. --gpus 0,1")
      ->delimiter(',');
  cmd->add_option("--nproc", a->nproc, "Ranks to start on this machine (CPU ranks on a CPU; default: one per GPU)");
  cmd->add_option("--backend", a->backend, "Data-parallel backend: auto (NCCL on CUDA, else Gloo), gloo, nccl");
  cmd->add_option("--dist-timeout", a->dist_timeout,
                  "Seconds to wait for the other ranks (rendezvous and each collective) before failing");
  return [a, cmd]() {
    if (!*cmd) return -1;
    if (a->resume.empty() == a->out.empty())
      throw usage_error("--out", "give either --out RUN (a new run) or --resume RUN (continue one)");
    if (!a->resume.empty() && !a->params.empty())
      throw usage_error("--params", "a resumed run uses its own config.json; leave --params out");
    if (a->resume.empty() && a->params.empty())
      throw usage_error("--params", "a new run needs a parameter file (configs/phantom_quick.json for the phantom, "
                                    "configs/ct_train.json for the reference network)");
    TrainConfig c;
    if (!a->resume.empty()) {
      check_resume_overrides(a->overrides);
      c = TrainConfig::from_file(a->resume + "/config.json");
    } else {
      c = TrainConfig::from_file(a->params);
    }
    apply_overrides(c, a->overrides);
    const std::string gpus_option = a->gpus.empty() ? "MULTI_GPU" : "--gpus";
    if (!a->gpus.empty()) c.gpus = a->gpus;
    TrainRequest r;
    r.config = c;
    r.data_dir = a->data;
    r.run_dir = a->resume.empty() ? a->out : a->resume;
    r.resume = !a->resume.empty();
    r.force = a->force;
    r.out = &std::cout;
    r.launch = launch_env();
    r.backend = a->backend;
    r.dist_timeout = a->dist_timeout;
    if (!r.launch.distributed() && !is_launched_worker()) {
      // Several ranks wanted here: start them (this same command, as workers) and wait.
      const int ranks = ranks_to_start(c.device, c.gpus, a->nproc, gpus_option);
      if (ranks > 1) {
        check_train_request(r);
        LaunchPlan plan;
        plan.argv = self_arguments();
        plan.argv.at(0) = self_executable();
        plan.nproc_per_node = ranks;
        plan.grace_seconds = 5;
        return run_workers(plan, std::cerr);
      }
    } else if (a->nproc > 0 && !is_launched_worker()) {
      throw usage_error("--nproc", "this process is already rank " + std::to_string(r.launch.rank) + " of " +
                                       std::to_string(r.launch.world_size) + " (started by " + r.launch.launcher +
                                       "); leave --nproc out");
    }
    if (::isatty(STDOUT_FILENO) && r.launch.rank == 0) r.on_step = draw_progress;
    const TrainSummary s = train(r);
    if (r.launch.rank != 0) return 0;
    std::cout << "trained " << s.epochs_done << " epochs; best validation loss " << s.best_val_loss << " at epoch "
              << s.best_epoch << "; run folder " << r.run_dir << "\n";
    return 0;
  };
}

}  // namespace coordseg::app
