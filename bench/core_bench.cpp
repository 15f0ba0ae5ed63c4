// Benchmarks of the torch-free core: the phantom's speed targets (20 quick cases in under a
// minute, one full case in under 20 s on 2 cores) and NIfTI read/write throughput.
// Run: build/bench/core_bench   (figures are printed; nothing here is a pass/fail test)
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

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

}  // namespace

BENCHMARK_MAIN();
