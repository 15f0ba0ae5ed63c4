#include "coordseg/torch/predictor.h"

#include <chrono>
#include <filesystem>

#include "coordseg/torch/compat.h"
#include "coordseg/core/components.h"
#include "coordseg/torch/device.h"
#include "coordseg/core/error.h"
#include "coordseg/core/names.h"
#include "coordseg/core/nifti.h"
#include "coordseg/core/orientation.h"
#include "coordseg/torch/preprocess.h"
#include "coordseg/torch/sliding_window.h"
#include "coordseg/torch/tensor.h"

namespace coordseg {
namespace fs = std::filesystem;
namespace F = torch::nn::functional;


Predictor::Predictor(const std::string& model, const PredictOptions& options) : options_(options) {
  // The options first: a bad one should not wait for the checkpoint to load.
  device_ = resolve_device(options_.device);
  check_amp(options_.amp, device_);
  if (options_.overlap >= 1) throw usage_error("--overlap", "must be in [0, 1)");
  if (options_.batch < 1) throw usage_error("--batch", "must be at least 1");
  use_threads(options_.threads);
  const std::string path = fs::is_directory(model) ? (fs::path(model) / "best.pt").string() : model;
  model_ = load_unet(path, state_);
  map_ = state_.config.label_map();
  model_->to(device_);
  model_->eval();
}

Prediction Predictor::predict(const Volume& image, const std::function<void(int64_t, int64_t)>& progress) const {
  const auto t0 = std::chrono::steady_clock::now();
  const TrainConfig& c = state_.config;
  Preprocessing p = Preprocessing::from_config(c);
  p.stats = state_.stats;
  const Reorientation r = canonical_reorientation(image.grid);
  Volume canonical = reorient(image, r);
  const Grid grid = resampled_grid(canonical.grid, p);
  const std::array<int64_t, 3> zyx = {grid.dims[2], grid.dims[1], grid.dims[0]};
  const torch::Tensor x = normalise(resample_image(view_tensor(canonical), zyx), p).unsqueeze(0).to(device_);

  SlidingWindowOptions sw;
  sw.patch = c.patch;
  sw.overlap = options_.overlap >= 0 ? options_.overlap : c.overlap;
  sw.batch = options_.batch;
  sw.progress = progress;
  const bool coords = c.coord == "global" || c.coord == "all";
  const bool amp = options_.amp != "none";
  const auto half = amp_dtype(options_.amp);
  int64_t windows = 0;
  const WindowFn net = [&](const torch::Tensor& w, const torch::Tensor& co) {
    windows += w.size(0);
    torch::NoGradGuard no_grad;
    compat::AutocastGuard autocast(device_.is_cuda(), amp, half);
    return model_->forward(w, coords ? co : torch::Tensor()).to(torch::kFloat32);
  };
  torch::Tensor logits = sliding_window(x, c.classes, net, sw);
  if (options_.tta) {
    // Mirror the volume over every combination of axes, predict, mirror back, average.
    int n = 1;
    for (int mask = 1; mask < 8; ++mask) {
      std::vector<int64_t> dims;
      for (int a = 0; a < 3; ++a)
        if (mask & (1 << a)) dims.push_back(a + 1);
      logits += mirrored_sliding_window(x, c.classes, net, sw, dims);
      ++n;
    }
    logits /= n;
  }
  logits = logits.to(torch::kCPU);

  // Back to the canonical grid in slabs of output z: sample the logits at each output
  // voxel centre (align_corners = false), then argmax.
  const Grid& cg = canonical.grid;
  const int64_t D = cg.dims[2], H = cg.dims[1], W = cg.dims[0];
  LabelVolume classes = LabelVolume::filled(cg, 0, &canonical.header);
  std::vector<Volume> probs;
  if (options_.probabilities)
    for (int64_t k = 0; k < c.classes; ++k) probs.push_back(Volume::filled(cg, 0.0f, &canonical.header));
  const bool same = logits.size(1) == D && logits.size(2) == H && logits.size(3) == W;
  auto axis = [](int64_t n) { return (torch::arange(n, torch::kFloat32) + 0.5) * (2.0 / n) - 1.0; };
  const auto gy = axis(H).view({1, H, 1}), gx = axis(W).view({1, 1, W});
  const int64_t slab = std::max<int64_t>(1, (int64_t{1} << 22) / (H * W));
  for (int64_t z0 = 0; z0 < D; z0 += slab) {
    const int64_t z1 = std::min(D, z0 + slab), t = z1 - z0;
    torch::Tensor part;
    if (same) {
      part = logits.slice(1, z0, z1);
    } else {
      const auto gz = ((torch::arange(z0, z1, torch::kFloat32) + 0.5) * (2.0 / D) - 1.0).view({t, 1, 1});
      const auto grid_xyz = torch::stack({gx.expand({t, H, W}), gy.expand({t, H, W}), gz.expand({t, H, W})}, -1).unsqueeze(0);
      part = F::grid_sample(logits.unsqueeze(0), grid_xyz,
                            F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false))[0];
    }
    const auto labels = part.argmax(0).to(torch::kInt32).contiguous();
    std::memcpy(classes.voxels.data() + z0 * H * W, labels.data_ptr<int32_t>(), static_cast<size_t>(t * H * W) * sizeof(int32_t));
    if (options_.probabilities) {
      const auto pr = torch::softmax(part, 0).contiguous();
      for (int64_t k = 0; k < c.classes; ++k)
        std::memcpy(probs[static_cast<size_t>(k)].voxels.data() + z0 * H * W, pr[k].data_ptr<float>(),
                    static_cast<size_t>(t * H * W) * sizeof(float));
    }
  }
  if (options_.keep_largest) keep_largest_components(classes, static_cast<int>(c.classes));

  Prediction out;
  out.labels = to_values(undo_reorient(classes, r, image.grid, image.header), map_);
  out.labels.source.clear();
  for (auto& pv : probs) out.probabilities.push_back(undo_reorient(pv, r, image.grid, image.header));
  out.windows = windows;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

std::vector<std::string> prediction_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    const std::string resolved = resolve_nifti_path(in);
    if (fs::is_directory(resolved)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(resolved)) {
        const std::string n = e.path().filename().string();
        const bool nifti = is_nifti_name(n);
        const bool label = n.find("_label") != std::string::npos;
        if (nifti && !label) found.push_back(resolve_nifti_path(e.path().string()));
      }
      if (found.empty()) throw data_error(in, "folder holds no NIfTI images");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (!fs::exists(resolved)) {
      throw data_error(in, "no such file or folder");
    } else {
      files.push_back(resolved);
    }
  }
  return files;
}

void predict_files(const Predictor& predictor, const std::vector<std::string>& inputs, const std::string& out_dir,
                   const std::function<void(const PredictedFile&)>& done,
                   const std::function<void(const std::string&, int64_t, int64_t)>& progress) {
  const auto files = prediction_inputs(inputs);
  // Check every output before writing any: never an input, never an existing file unless forced.
  std::error_code ec;
  std::vector<std::string> outputs;
  for (const auto& f : files) {
    const std::string out = (fs::path(out_dir) / (case_name(f) + "_label.nii.gz")).string();
    for (const auto& g : files)
      if (fs::exists(out) && fs::equivalent(out, g, ec)) throw usage_error(out, "would overwrite an input image");
    if (fs::exists(out) && !predictor.options().force)
      throw usage_error(out, "already exists; pass --force to overwrite");
    if (std::find(outputs.begin(), outputs.end(), out) != outputs.end())
      throw usage_error(out, "two inputs would write the same output (case " + case_name(f) + ")");
    outputs.push_back(out);
  }
  fs::create_directories(out_dir, ec);
  if (ec) throw data_error(out_dir, "cannot create the output folder: " + ec.message());
  for (size_t i = 0; i < files.size(); ++i) {
    PredictedFile pf;
    pf.input = files[i];
    pf.output = outputs[i];
    pf.prediction = predictor.predict(read_image(files[i]), [&](int64_t d, int64_t t) {
      if (progress) progress(files[i], d, t);
    });
    write_labels(pf.output, pf.prediction.labels, LabelType::kAuto);
    for (size_t k = 0; k < pf.prediction.probabilities.size(); ++k)
      write_image((fs::path(out_dir) / (case_name(files[i]) + "_prob" + std::to_string(k) + ".nii.gz")).string(),
                  pf.prediction.probabilities[k]);
    pf.prediction.probabilities.clear();
    if (done) done(pf);
  }
}

}  // namespace coordseg
