// Benchmarks of the torch-free core: the phantom's speed targets (20 quick cases in under a
// minute, one full case in under 20 s on 2 cores), NIfTI read/write throughput and the
// clean-up of a full-size label map (predict --keep-largest / --keep-heart).
// Run: build/bench/core_bench   (figures are printed; nothing here is a pass/fail test)
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "coordseg/core/components.h"
#include "coordseg/core/labels.h"
#include "coordseg/core/nifti.h"
#include "coordseg/core/phantom.h"

namespace fs = std::filesystem;
using namespace coordseg;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("coordseg-bench-" + std::to_string(std::random_device{}()) + name);
  fs::remove_all(p);
  return p;
}

void BM_PhantomQuickDataset20(benchmark::State& state) {
  PhantomOptions o;
  o.cases = 20;
  o.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const fs::path dir = scratch("quick");
    write_phantom_dataset(dir.string(), o, false);
    fs::remove_all(dir);
  }
  state.counters["cases"] = o.cases;
}
BENCHMARK(BM_PhantomQuickDataset20)->Arg(2)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

void BM_PhantomFullCase(benchmark::State& state) {
  PhantomOptions o;
  o.cases = 1;
  o.preset = PhantomPreset::kFull;
  o.threads = static_cast<int>(state.range(0));
  int64_t voxels = 0;
  for (auto _ : state) {
    const fs::path dir = scratch("full");
    write_phantom_dataset(dir.string(), o, false);
    voxels = phantom_grid(o, 0).voxel_count();
    fs::remove_all(dir);
  }
  state.counters["voxels"] = static_cast<double>(voxels);
  state.counters["voxels/s"] = benchmark::Counter(static_cast<double>(voxels), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PhantomFullCase)->Arg(2)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

// Generation alone (no gzip), quick preset.
void BM_PhantomQuickCaseInMemory(benchmark::State& state) {
  PhantomOptions o;
  o.threads = static_cast<int>(state.range(0));
  int index = 0;
  for (auto _ : state) benchmark::DoNotOptimize(make_phantom_case(o, index++ % 20));
}
BENCHMARK(BM_PhantomQuickCaseInMemory)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_NiftiWriteReadInt16Gz(benchmark::State& state) {
  Grid g;
  g.dims = {256, 256, 200};
  Volume v = Volume::filled(g, 0.0f);
  for (size_t i = 0; i < v.voxels.size(); ++i) v.voxels[i] = static_cast<float>((i * 2654435761u) % 2000) - 1000.0f;
  const fs::path dir = scratch("nifti");
  fs::create_directories(dir);
  const std::string path = (dir / "v.nii.gz").string();
  for (auto _ : state) {
    write_image(path, v, ImageType::kInt16);
    benchmark::DoNotOptimize(read_image(path));
  }
  state.SetBytesProcessed(state.iterations() * g.voxel_count() * 2 * 2);
  fs::remove_all(dir);
}
BENCHMARK(BM_NiftiWriteReadInt16Gz)->Unit(benchmark::kMillisecond)->UseRealTime();

// The clean-up phase of predicting a full-size CT (512 x 512 x 283): the phantom's label map
// as classes, with 40 false blobs (cubes of 3-8 voxels of any class, anywhere) standing in
// for a network's stray voxels. Arg: 0 = keep_largest_components, 1 = keep_largest_heart_components
// with predict's 5 mm margin. One copy per iteration, outside the timing.
void BM_CleanUpFullCase(benchmark::State& state) {
  static const LabelVolume noisy = [] {
    PhantomOptions o;
    o.preset = PhantomPreset::kFull;
    o.seed = 5;
    LabelVolume classes = to_classes(make_phantom_case(o, 0).labels, LabelMap::mmwhs());
    std::mt19937 rng(7);
    const auto& d = classes.grid.dims;
    for (int blob = 0; blob < 40; ++blob) {
      const int64_t side = 3 + static_cast<int64_t>(rng() % 6);
      const int32_t c = 1 + static_cast<int32_t>(rng() % 7);
      const int64_t x0 = static_cast<int64_t>(rng() % static_cast<uint32_t>(d[0] - side)),
                    y0 = static_cast<int64_t>(rng() % static_cast<uint32_t>(d[1] - side)),
                    z0 = static_cast<int64_t>(rng() % static_cast<uint32_t>(d[2] - side));
      for (int64_t k = z0; k < z0 + side; ++k)
        for (int64_t j = y0; j < y0 + side; ++j)
          for (int64_t i = x0; i < x0 + side; ++i) classes.voxels[static_cast<size_t>(i + d[0] * (j + d[1] * k))] = c;
    }
    return classes;
  }();
  const bool heart = state.range(0) == 1;
  for (auto _ : state) {
    state.PauseTiming();
    LabelVolume v = noisy;
    state.ResumeTiming();
    if (heart) keep_largest_heart_components(v, 8, 5.0);
    else keep_largest_components(v, 8);
    benchmark::DoNotOptimize(v.voxels.data());
  }
  state.counters["voxels"] = static_cast<double>(noisy.grid.voxel_count());
}
BENCHMARK(BM_CleanUpFullCase)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
