// Benchmarks of the network: a training step (forward + Dice/CE loss + backward + Adam) and a
// forward pass, fp32 and bf16 autocast, contiguous and channels-last 3D memory. Compare with
// the PyTorch-eager peer: /usr/bin/python3 ../shared/bench/peer_unet3d.py train --base 8 --patch 48 --batch 2
// Run: build/bench/torch_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <thread>

#include "coordseg/core/allocator.h"
#include "coordseg/torch/compat.h"
#include "coordseg/torch/loss.h"
#include "coordseg/torch/unet3d.h"

using namespace coordseg;

namespace {

struct Setup {
  int64_t base, patch, batch;
  bool bf16, channels_last, coord;
};

Setup setup_of(const benchmark::State& s) {
  return {s.range(0), s.range(1), s.range(2), s.range(3) != 0, s.range(4) != 0, s.range(5) != 0};
}

void prepare_threads() { at::set_num_threads(static_cast<int>(std::thread::hardware_concurrency())); }

void BM_TrainStep(benchmark::State& state) {
  prepare_threads();
  const Setup s = setup_of(state);
  torch::manual_seed(0);
  UNet3d net(UNet3dOptions().base(s.base).coord(s.coord ? CoordMode::kLocal : CoordMode::kNone));
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-4));
  auto x = torch::randn({s.batch, 1, s.patch, s.patch, s.patch});
  const auto y = torch::randint(0, 8, {s.batch, s.patch, s.patch, s.patch}, torch::kInt64);
  if (s.channels_last) {
    net->to(torch::kCPU, torch::kFloat32);
    for (auto& p : net->parameters())
      if (p.dim() == 5) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast3d));
    x = x.contiguous(torch::MemoryFormat::ChannelsLast3d);
  }
  auto step = [&] {
    opt.zero_grad();
    torch::Tensor logits;
    {
      compat::AutocastGuard autocast(false, s.bf16, at::kBFloat16);
      logits = net->forward(x);
    }
    auto loss = dice_loss(logits, y);
    loss.backward();
    opt.step();
    return loss.item<double>();
  };
  step();  // warm-up
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.counters["patches/s"] = benchmark::Counter(static_cast<double>(s.batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = at::get_num_threads();
}

void BM_Forward(benchmark::State& state) {
  prepare_threads();
  const Setup s = setup_of(state);
  torch::manual_seed(0);
  UNet3d net(UNet3dOptions().base(s.base));
  net->eval();
  auto x = torch::randn({s.batch, 1, s.patch, s.patch, s.patch});
  if (s.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast3d);
  torch::NoGradGuard no_grad;
  auto fwd = [&] {
    compat::AutocastGuard autocast(false, s.bf16, at::kBFloat16);
    return net->forward(x).sum().item<float>();
  };
  fwd();
  for (auto _ : state) benchmark::DoNotOptimize(fwd());
  state.counters["voxels/s"] =
      benchmark::Counter(static_cast<double>(s.batch * s.patch * s.patch * s.patch), benchmark::Counter::kIsIterationInvariantRate);
}

// Args: base, patch, batch, bf16, channels_last, coord
BENCHMARK(BM_TrainStep)
    ->ArgNames({"base", "patch", "batch", "bf16", "cl", "coord"})
    ->Args({8, 48, 2, 0, 0, 0})
    ->Args({8, 48, 2, 1, 0, 0})
    ->Args({8, 48, 2, 0, 1, 0})
    ->Args({8, 48, 2, 0, 0, 1})
    ->Args({8, 64, 2, 0, 0, 0})
    ->Args({8, 64, 2, 1, 0, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);
BENCHMARK(BM_Forward)
    ->ArgNames({"base", "patch", "batch", "bf16", "cl", "coord"})
    ->Args({8, 48, 4, 0, 0, 0})
    ->Args({8, 48, 4, 1, 0, 0})
    ->Args({32, 96, 1, 0, 0, 0})
    ->Args({32, 96, 1, 1, 0, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();  // as the coordseg program does
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
