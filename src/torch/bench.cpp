#include "coordseg/torch/bench.h"

#include <cmath>
#include <cstdio>

#include "coordseg/core/error.h"
#include "coordseg/core/stopwatch.h"
#include "coordseg/torch/checkpoint.h"
#include "coordseg/torch/compat.h"
#include "coordseg/torch/conv3d.h"
#include "coordseg/torch/device.h"
#include "coordseg/torch/predictor.h"
#include "coordseg/torch/sampler.h"
#include "coordseg/torch/tensor.h"
#include "coordseg/torch/train_step.h"
#include "coordseg/torch/unet3d.h"

namespace coordseg {

namespace {

std::string format(const char* fmt, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d);
  return buf;
}

// GFLOP/s, or TFLOP/s from 1000 GFLOP/s on.
std::string rate(double gflop_per_s) {
  return gflop_per_s >= 1000 ? format("%.1f TFLOP/s", gflop_per_s / 1000) : format("%.1f GFLOP/s", gflop_per_s);
}

void check_request(const BenchRequest& r) {
  if (r.steps < 1) throw usage_error("--steps", "must be at least 1");
  if (r.warmup < 0) throw usage_error("--warmup", "must not be negative");
  r.config.validate();
}

// What every result records: the setting it was measured in.
nlohmann::ordered_json setting(const std::string& mode, const TrainConfig& c, const torch::Device& device) {
  nlohmann::ordered_json j;
  j["project"] = "coordseg";
  j["mode"] = mode;
  j["base"] = c.base;
  j["patch"] = c.patch[0];
  j["patch_dhw"] = c.patch;
  j["batch"] = c.batch;
  j["coord"] = to_string(c.coord);
  j["norm"] = to_string(c.norm);
  j["amp"] = to_string(c.amp);
  j["bf16"] = c.amp == Amp::kBf16;
  j["device"] = device.str();
  j["threads"] = at::get_num_threads();
  j["torch"] = compat::torch_version();
  // Where CPU training takes the 3x3x3 weight gradients from (torch/conv3d.h).
  j["weight_grad"] = to_string(weight_grad_path());
  return j;
}

std::string describe(const TrainConfig& c, const torch::Device& device) {
  return "UNet3d base " + std::to_string(c.base) + ", depth " + std::to_string(c.depth) + ", norm " + to_string(c.norm) +
         ", coord " + to_string(c.coord) + ", patch " + std::to_string(c.patch[0]) + "x" + std::to_string(c.patch[1]) + "x" +
         std::to_string(c.patch[2]) + ", " + (c.amp == Amp::kNone ? std::string("fp32") : to_string(c.amp)) + ", " +
         device.str() + ", " + std::to_string(at::get_num_threads()) + " threads, weight gradient " +
         to_string(weight_grad_path());
}

// Waits for the device: a scalar read back from the last result.
void synchronise(const torch::Tensor& t) {
  if (t.is_cuda()) (void)t.flatten()[0].item<float>();
}
}  // namespace

BenchResult bench_train(const BenchRequest& r) {
  check_request(r);
  const TrainConfig& c = r.config;
  use_threads(c.threads);
  const torch::Device device = resolve_device(c.device);
  check_amp(c.amp, device);
  torch::manual_seed(0);
  UNet3d model = make_unet(c);
  model->to(device);
  model->train();
  TrainStep step(c, model, device);
  // A fixed batch on the device, as the peer's: the step alone is timed, not the loader.
  const auto fopts = torch::TensorOptions().device(device);
  Batch b;
  b.image = torch::randn({c.batch, 1, c.patch[0], c.patch[1], c.patch[2]}, fopts);
  b.coords = coordinate_channels(c.batch, c.patch[0], c.patch[1], c.patch[2], fopts).contiguous();
  b.labels = torch::randint(0, c.classes, {c.batch, c.patch[0], c.patch[1], c.patch[2]}, fopts.dtype(torch::kInt64));
  // As the trainer steps: on CUDA the losses are not read step by step (the host runs ahead
  // of the device), and the last one is read at the end, which waits for all the work.
  const bool deferred = device.is_cuda();
  torch::Tensor last;
  double loss = 0;
  const auto run = [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      if (deferred) last = step.step_unchecked(b, c.lr);
      else loss = step(b, c.lr);
    }
    if (deferred && last.defined()) loss = last.item<double>();
  };
  run(r.warmup);
  const auto t0 = Clock::now();
  run(r.steps);
  const double sec = seconds_since(t0) / static_cast<double>(r.steps);

  const double voxels = static_cast<double>(c.patch[0] * c.patch[1] * c.patch[2]);
  const double gflop = 3.0 * model->forward_flops(c.patch, c.batch) / 1e9;
  BenchResult out;
  out.json = setting("train", c, device);
  out.json["loss_kind"] = to_string(c.loss);
  out.json["steps"] = r.steps;
  out.json["sec_per_step"] = sec;
  out.json["patches_per_s"] = static_cast<double>(c.batch) / sec;
  out.json["voxels_per_s"] = static_cast<double>(c.batch) * voxels / sec;
  out.json["loss"] = loss;
  out.json["parameters"] = model->parameter_count();
  out.json["gflop"] = gflop;
  out.json["gflop_per_s"] = gflop / sec;
  out.lines.push_back("bench train: " + describe(c, device) + ", batch " + std::to_string(c.batch) + ", loss " +
                      to_string(c.loss) + ", " + std::to_string(model->parameter_count()) + " parameters");
  out.lines.push_back(format("  %.4f s/step (mean of %.0f after %.0f warm-up), %.2f patches/s, ", sec,
                             static_cast<double>(r.steps), static_cast<double>(r.warmup),
                             static_cast<double>(c.batch) / sec) +
                      format("%.3g voxels/s", static_cast<double>(c.batch) * voxels / sec));
  out.lines.push_back(format("  %.1f GFLOP per step (forward + backward, 3 x %.1f), ", gflop, gflop / 3) + rate(gflop / sec));
  return out;
}

BenchResult bench_infer(const BenchRequest& r) {
  check_request(r);
  for (const int64_t v : r.volume)
    if (v < 1) throw usage_error("--vol", "every side must be at least 1 voxel");
  TrainConfig c = r.config;
  use_threads(c.threads);
  torch::manual_seed(0);
  CheckpointState state;
  state.config = c;
  // CT statistics as a trained run would hold (foreground -200..600 HU).
  state.stats = {-200, 600, 150, 200};
  PredictOptions o;
  o.overlap = r.overlap;
  o.batch = r.window_batch;
  o.tile = r.tile;
  o.device = c.device;
  o.amp = c.amp;
  o.threads = c.threads;
  UNet3d model = make_unet(c);
  const Predictor predictor(model, state, o);
  const torch::Device& device = predictor.device();

  // A CT-like volume already on the network's grid (RAS, the target spacing): nothing is
  // resampled or reordered, as in the peer, which works on the tensor as given.
  Grid grid;
  grid.dims = {r.volume[2], r.volume[1], r.volume[0]};
  const bool by_spacing = c.spacing[0] > 0;
  grid.spacing = by_spacing ? c.spacing : std::array<double, 3>{1, 1, 1};
  grid.affine = Affine::from_spacing(grid.spacing);
  if (!by_spacing && c.resize != 1.0)
    throw usage_error("RESIZE_R", "bench infer needs RESIZE_R 1 or a TARGET_SPACING (the volume is on the network's grid)");
  Volume image = Volume::filled(grid, 0.0f);
  view_tensor(image).normal_(100, 300);

  for (int64_t i = 0; i < r.warmup; ++i) predictor.predict(image);
  PredictionTimes sum;
  int64_t windows = 0;
  std::array<int64_t, 3> window{0, 0, 0};
  double seconds = 0;
  for (int64_t i = 0; i < r.steps; ++i) {
    const Prediction p = predictor.predict(image);
    windows = p.windows;
    window = p.window;
    seconds += p.seconds;
    sum.preprocess += p.times.preprocess;
    sum.windows += p.times.windows;
    sum.restore += p.times.restore;
    sum.postprocess += p.times.postprocess;
  }
  const double n = static_cast<double>(r.steps), sec = seconds / n, net = sum.windows / n;
  const double voxels = static_cast<double>(r.volume[0] * r.volume[1] * r.volume[2]);
  const double gflop = static_cast<double>(windows) * model->forward_flops(window) / 1e9;
  BenchResult out;
  out.json = setting("infer", c, device);
  out.json["vol"] = r.volume;
  out.json["overlap"] = r.overlap;
  out.json["window"] = window;
  out.json["window_batch"] = r.window_batch;
  out.json["sec"] = sec;
  out.json["windows"] = windows;
  out.json["voxels_per_s"] = voxels / sec;
  out.json["sec_preprocess"] = sum.preprocess / n;
  out.json["sec_windows"] = net;
  out.json["sec_restore"] = sum.restore / n;
  out.json["sec_postprocess"] = sum.postprocess / n;
  out.json["gflop"] = gflop;
  out.json["gflop_per_s"] = gflop / net;
  out.lines.push_back("bench infer: " + describe(c, device) + ", volume " + std::to_string(r.volume[0]) + "x" +
                      std::to_string(r.volume[1]) + "x" + std::to_string(r.volume[2]) + " (z y x), overlap " +
                      format("%g", r.overlap) + ", windows of " + std::to_string(window[0]) + "x" +
                      std::to_string(window[1]) + "x" + std::to_string(window[2]));
  out.lines.push_back(format("  %.3f s per volume (mean of %.0f), ", sec, n) + std::to_string(windows) + " windows, " +
                      format("%.3g voxels/s", voxels / sec));
  out.lines.push_back(format("  phases: preprocess %.3f s, windows %.3f s, restore %.3f s, postprocess %.3f s",
                             sum.preprocess / n, net, sum.restore / n, sum.postprocess / n));
  out.lines.push_back(format("  %.1f GFLOP in the windows, ", gflop) + rate(gflop / net));
  return out;
}

BenchResult bench_conv(const BenchRequest& r) {
  check_request(r);
  const TrainConfig& c = r.config;
  use_threads(c.threads);
  const torch::Device device = resolve_device(c.device);
  const int64_t ch = r.conv_channels > 0 ? r.conv_channels : (device.is_cuda() ? 64 : 32);
  const int64_t side = r.conv_side > 0 ? r.conv_side : (device.is_cuda() ? 128 : 64);
  const int64_t n = c.batch;
  torch::manual_seed(0);
  const double gflop = 2.0 * 27.0 * static_cast<double>(ch * ch) * static_cast<double>(n * side * side * side) / 1e9;
  BenchResult out;
  out.json = setting("conv", c, device);
  out.json["channels"] = ch;
  out.json["side"] = side;
  out.json["gflop"] = gflop;
  out.lines.push_back("bench conv: 3x3x3 convolution, " + std::to_string(n) + " x " + std::to_string(ch) + " channels x " +
                      std::to_string(side) + "^3 -> " + std::to_string(ch) + " channels, " + device.str() + ", " +
                      std::to_string(at::get_num_threads()) + " threads; " + format("%.1f GFLOP per call", gflop));
  torch::NoGradGuard no_grad;
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    const auto opts = torch::TensorOptions().device(device).dtype(dtype);
    const auto x = torch::randn({n, ch, side, side, side}, opts);
    const auto w = torch::randn({ch, ch, 3, 3, 3}, opts) * 0.05;
    const auto call = [&] { return torch::conv3d(x, w, {}, 1, 1); };
    for (int64_t i = 0; i < std::max<int64_t>(r.warmup, 1); ++i) synchronise(call());
    const auto t0 = Clock::now();
    torch::Tensor y;
    for (int64_t i = 0; i < r.steps; ++i) y = call();
    synchronise(y);
    const double sec = seconds_since(t0) / static_cast<double>(r.steps);
    const std::string name = dtype == torch::kFloat32 ? "fp32" : "bf16";
    out.json["sec_" + name] = sec;
    out.json["gflop_per_s_" + name] = gflop / sec;
    out.lines.push_back("  " + name + format(": %.4f s per call, ", sec) + rate(gflop / sec));
  }
  out.json["sec"] = out.json["sec_fp32"];
  out.json["gflop_per_s"] = out.json["gflop_per_s_fp32"];
  return out;
}

}  // namespace coordseg
