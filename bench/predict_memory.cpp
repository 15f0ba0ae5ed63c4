// Peak memory of whole-volume prediction: a 512 x 512 x 300 CT-sized volume through the
// reference configuration (base 32, patch 96, RESIZE_R 0.6; untrained weights -- memory does
// not depend on them). The sliding-window overlap only changes the number of windows, not
// the buffers, so it is 0 here to keep the run to minutes. Prints peak RSS.
// Run: build/bench/predict_memory [--amp bf16]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "coordseg/torch/checkpoint.h"
#include "coordseg/torch/predictor.h"

using namespace coordseg;

namespace {
double peak_rss_gib() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);  // ru_maxrss is KiB on Linux
}
}  // namespace

int main(int argc, char** argv) {
  const bool bf16 = argc > 2 && std::strcmp(argv[1], "--amp") == 0 && std::strcmp(argv[2], "bf16") == 0;
  TrainConfig c = TrainConfig::from_json({{"PATCH_DIM", 96}, {"RESIZE_R", 0.6}, {"INTENSITY", "zscore"}}, "reference");
  const auto dir = std::filesystem::temp_directory_path() / "coordseg-predict-memory";
  std::filesystem::create_directories(dir);
  const std::string ckpt = (dir / "reference.pt").string();
  {
    UNet3d net = make_unet(c);
    CheckpointState s;
    s.config = c;
    save_checkpoint(ckpt, net, nullptr, s);
  }
  const double before = peak_rss_gib();
  Grid g;
  g.dims = {512, 512, 300};
  g.spacing = {0.4, 0.4, 0.6};
  g.affine = Affine::from_spacing(g.spacing);
  g.affine.m[0][0] = g.affine.m[1][1] = -0.4;  // LPS, as scanners store CT
  Volume image = Volume::filled(g, 0.0f);
  for (size_t i = 0; i < image.voxels.size(); ++i) image.voxels[i] = static_cast<float>((i * 2654435761u) % 1500) - 500.0f;
  PredictOptions o;
  o.overlap = 0.0;
  o.batch = 1;
  o.amp = bf16 ? Amp::kBf16 : Amp::kNone;
  const Predictor p(ckpt, o);
  const auto t0 = std::chrono::steady_clock::now();
  const Prediction out = p.predict(image);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("predict 512x512x300 (reference config, base 32, patch 96, RESIZE_R 0.6, overlap 0, %s): %lld windows, "
              "%.1f s, peak RSS %.2f GiB (%.2f GiB before the volume; the input volume itself is %.2f GiB)\n",
              bf16 ? "bf16" : "fp32", static_cast<long long>(out.windows), seconds, peak_rss_gib(), before,
              static_cast<double>(image.voxels.size()) * 4 / (1024.0 * 1024.0 * 1024.0));
  std::filesystem::remove_all(dir);
  return 0;
}
