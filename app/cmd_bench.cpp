#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "coordseg/core/config.h"
#include "coordseg/core/error.h"
#include "coordseg/core/settings.h"
#include "coordseg/torch/bench.h"

namespace coordseg::app {

Runner add_bench_command(CLI::App& app) {
  struct Args {
    std::string mode, params, amp = "none", device = "auto", coord = "none", norm, activation, loss = "dice";
    int64_t base = 8, patch = 48, batch = 2, threads = 0;
    std::vector<int64_t> vol{128, 128, 96}, tile;
    bool json = false;
    BenchRequest r;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Time the project's training step, prediction or one convolution on synthetic tensors");
  cmd->add_option("mode", a->mode, "train, infer or conv")->required()->check(CLI::IsMember({"train", "infer", "conv"}));
  cmd->add_option("--params", a->params, "Start from a parameter file (else the peer's reference network)");
  cmd->add_option("--base", a->base, "BASE_FILTERS")->capture_default_str();
  cmd->add_option("--patch", a->patch, "PATCH_DIM (one side)")->capture_default_str();
  cmd->add_option("--batch", a->batch, "BATCH_SIZE (conv: the convolution's batch)")->capture_default_str();
  cmd->add_option("--coord", a->coord, "CoordConv: none, local, global, all")->capture_default_str();
  cmd->add_option("--norm", a->norm, "NORMALIZATION: none, batch, group, instance (default none, or the file's)");
  cmd->add_option("--activation", a->activation, "ACTIVATION: relu, leakyrelu (default relu, or the file's)");
  cmd->add_option("--loss", a->loss, "LOSS of the training step")->capture_default_str();
  cmd->add_option("--vol", a->vol, "infer: volume Z Y X voxels")->expected(3)->capture_default_str();
  cmd->add_option("--overlap", a->r.overlap, "infer: sliding-window overlap")->capture_default_str();
  cmd->add_option("--window-batch", a->r.window_batch, "infer: windows per forward pass")->capture_default_str();
  cmd->add_option("--tile", a->tile, "infer: window size, one side or D H W (default: the patch)")->expected(1, 3);
  cmd->add_option("--channels", a->r.conv_channels, "conv: channels in and out (default 32 on CPU, 64 on CUDA)");
  cmd->add_option("--side", a->r.conv_side, "conv: voxels per side (default 64 on CPU, 128 on CUDA)");
  cmd->add_option("--steps", a->r.steps, "Timed steps, volumes or calls")->capture_default_str();
  cmd->add_option("--warmup", a->r.warmup, "Untimed first ones")->capture_default_str();
  cmd->add_option("--amp", a->amp, "none, bf16, fp16 (CUDA)")->capture_default_str();
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--device", a->device, "auto, cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_flag("--json", a->json, "End with one JSON line (the peer's keys, gflop, gflop_per_s)");
  return [a, cmd]() {
    if (!*cmd) return -1;
    TrainConfig& c = a->r.config;
    if (!a->params.empty()) {
      // The file's network, with the options given on the command line over it.
      c = TrainConfig::from_file(a->params);
      if (cmd->count("--base")) c.base = a->base;
      if (cmd->count("--patch")) c.patch = {a->patch, a->patch, a->patch};
      if (cmd->count("--batch")) c.batch = a->batch;
      if (cmd->count("--loss")) c.loss = parse_setting<LossKind>(a->loss, "--loss");
      if (cmd->count("--coord")) c.coord = parse_setting<CoordMode>(a->coord, "--coord");
    } else {
      // The peer's network: the reference U-Net, ReLU, no normalisation, Dice loss, Adam 1e-4.
      c.base = a->base;
      c.patch = {a->patch, a->patch, a->patch};
      c.batch = a->batch;
      c.loss = parse_setting<LossKind>(a->loss, "--loss");
      c.coord = parse_setting<CoordMode>(a->coord, "--coord");
      c.spacing = {0, 0, 0};
      c.resize = 1.0;
    }
    if (!a->norm.empty()) c.norm = parse_setting<Norm>(a->norm, "--norm");
    if (!a->activation.empty()) c.activation = parse_setting<Activation>(a->activation, "--activation");
    if (cmd->count("--amp") || a->params.empty()) c.amp = parse_setting<Amp>(a->amp, "--amp");
    if (cmd->count("--device") || a->params.empty()) c.device = a->device;
    if (cmd->count("--threads") || a->params.empty()) c.threads = a->threads;
    check_threads(c.threads, "--threads");
    for (size_t i = 0; i < 3; ++i) a->r.volume[i] = a->vol[i];
    a->r.tile = one_or_three_sides(a->tile, "--tile");
    const BenchResult result =
        a->mode == "train" ? bench_train(a->r) : a->mode == "infer" ? bench_infer(a->r) : bench_conv(a->r);
    for (const auto& line : result.lines) std::cout << line << "\n";
    if (a->json) std::cout << result.json.dump() << "\n";
    std::cout.flush();
    return 0;
  };
}

}  // namespace coordseg::app
