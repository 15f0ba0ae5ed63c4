#include "coordseg/torch/predictor.h"

#include <filesystem>
#include <future>

#include "coordseg/core/atomic_file.h"
#include "coordseg/core/components.h"
#include "coordseg/core/dicom.h"
#include "coordseg/torch/device.h"
#include "coordseg/core/error.h"
#include "coordseg/core/memory.h"
#include "coordseg/core/orientation.h"
#include "coordseg/core/names.h"
#include "coordseg/core/nifti.h"
#include "coordseg/core/outputs.h"
#include "coordseg/core/stopwatch.h"
#include "coordseg/core/viewer_files.h"
#include "coordseg/torch/preprocess.h"
#include "coordseg/torch/restore.h"
#include "coordseg/torch/sliding_window.h"
#include "coordseg/torch/tensor.h"

namespace coordseg {
namespace fs = std::filesystem;

Predictor::Predictor(const std::string& model, const PredictOptions& options) : options_(options) {
  // The options first: a bad one should not wait for the checkpoint to load.
  check_options();
  const std::string path = fs::is_directory(model) ? (fs::path(model) / "best.pt").string() : model;
  model_ = load_unet(path, state_);
  place_model();
}

Predictor::Predictor(UNet3d model, CheckpointState state, const PredictOptions& options)
    : options_(options), state_(std::move(state)), model_(std::move(model)) {
  check_options();
  place_model();
}

void Predictor::check_options() {
  device_ = resolve_device(options_.device);
  check_amp(options_.amp, device_);
  if (options_.overlap >= 0) check_overlap(options_.overlap, "--overlap");  // negative: the run's OVERLAP
  if (options_.batch < 1) throw usage_error("--batch", "must be at least 1");
  check_threads(options_.threads, "--threads");
  use_threads(options_.threads);
}

void Predictor::place_model() {
  tune_convolutions(device_);
  map_ = state_.config.label_map();
  const int64_t m = model_->size_multiple();
  for (size_t a = 0; a < 3; ++a) {
    const int64_t t = options_.tile[a];
    if (t == 0) continue;
    if (t < 0 || t % m != 0)
      throw usage_error("--tile", std::to_string(t) + " is not a positive multiple of " + std::to_string(m) +
                                      " (2^(DEPTH-1) of this model)");
    if (t < state_.config.patch[a])
      throw usage_error("--tile", std::to_string(t) + " is smaller than the model's patch side " +
                                      std::to_string(state_.config.patch[a]));
    if (state_.config.coord == CoordMode::kLocal && t != state_.config.patch[a])
      throw usage_error("--tile", "this model has local CoordConv (coordinates over its " +
                                      std::to_string(state_.config.patch[a]) +
                                      "-voxel patch), so its windows must stay the patch size");
  }
  model_->to(device_);
  model_->eval();
}

std::array<int64_t, 3> Predictor::window(const std::array<int64_t, 3>& dims) const {
  const auto& patch = state_.config.patch;
  const int64_t m = model_->size_multiple();
  std::array<int64_t, 3> w = patch;
  for (size_t a = 0; a < 3; ++a)
    if (options_.tile[a] > 0) w[a] = std::max(patch[a], std::min(options_.tile[a], (dims[a] + m - 1) / m * m));
  return w;
}

Prediction Predictor::predict(const Volume& image, const std::function<void(int64_t, int64_t)>& progress) const {
  const auto t0 = Clock::now();
  auto phase = t0;
  Prediction out;
  const TrainConfig& c = state_.config;
  Preprocessing p = Preprocessing::from_config(c);
  p.stats = state_.stats;
  // The network's grid (prepare_image's), and the windows over it.
  const Grid canonical_grid = reorient_grid(image.grid, canonical_reorientation(image.grid));
  const Grid net_grid = resampled_grid(canonical_grid, p);
  const std::array<int64_t, 3> win = window({net_grid.dims[2], net_grid.dims[1], net_grid.dims[0]});
  {
    // Up front: the network's grid holds the image, the coordinates, the summed logits and
    // weights (and the TTA sum); the input's grid the classes (and probability maps). A
    // forward pass of a batch of windows keeps about three tensors of the first level's
    // filters alive at once.
    const double k = static_cast<double>(c.classes);
    const double window_voxels = static_cast<double>(win[0] * win[1] * win[2] * options_.batch);
    const double bytes = 4.0 * static_cast<double>(net_grid.voxel_count()) * (5 + k * (options_.tta ? 2 : 1)) +
                         4.0 * static_cast<double>(canonical_grid.voxel_count()) * (2 + (options_.probabilities ? k : 0)) +
                         4.0 * window_voxels * (6.0 * static_cast<double>(c.base) + k);
    check_memory(bytes, ErrorKind::kData, image.source.empty() ? "input" : image.source,
                 "prediction on the resampled " + std::to_string(net_grid.dims[0]) + " x " + std::to_string(net_grid.dims[1]) +
                     " x " + std::to_string(net_grid.dims[2]) + " grid");
  }
  // Resampling and normalisation on the model's device; the phases wait for it, so each is
  // timed for what it costs.
  const PreparedImage prepared = prepare_image(image, p, device_);
  const torch::Tensor& x = prepared.image;
  synchronize(device_);
  out.times.preprocess = lap(phase);

  SlidingWindowOptions sw;
  sw.patch = win;
  sw.overlap = options_.overlap >= 0 ? options_.overlap : c.overlap;
  sw.batch = options_.batch;
  sw.progress = progress;
  int64_t windows = 0;
  const WindowFn net = [&](const torch::Tensor& w, const torch::Tensor& co) {
    windows += w.size(0);
    torch::NoGradGuard no_grad;
    return forward_with_amp(model_, w, co, options_.amp).to(torch::kFloat32);
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
  synchronize(device_);
  out.times.windows = lap(phase);
  CanonicalOutput canonical = restore_canonical(logits, prepared, options_.probabilities);
  out.times.restore = lap(phase);
  switch (options_.cleanup) {
    case PredictOptions::Cleanup::kNone: break;
    case PredictOptions::Cleanup::kLargest: keep_largest_components(canonical.classes, static_cast<int>(c.classes)); break;
    case PredictOptions::Cleanup::kHeart:
      keep_largest_heart_components(canonical.classes, static_cast<int>(c.classes), options_.heart_margin_mm);
      break;
  }
  out.labels = to_values(to_input_grid(canonical.classes, prepared, image), map_);
  out.labels.source.clear();
  for (auto& pv : canonical.probabilities) out.probabilities.push_back(to_input_grid(pv, prepared, image));
  out.windows = windows;
  out.window = sw.patch;
  out.times.postprocess = lap(phase);
  out.seconds = seconds_since(t0);
  return out;
}

std::vector<PredictionInput> prediction_inputs(const std::vector<std::string>& inputs, const DicomReadOptions& dicom) {
  std::vector<PredictionInput> files;
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
      if (found.empty()) {
        // No NIfTI images: a DICOM folder, one case. Its series is chosen now, before any work,
        // and kept with the headers scanned for it, so reading it needs no second scan.
        files.push_back({resolved, choose_series(find_dicom_series(resolved), dicom.series)});
        continue;
      }
      std::sort(found.begin(), found.end());
      for (auto& f : found) files.push_back({std::move(f), std::nullopt});
    } else if (!fs::exists(resolved)) {
      throw data_error(in, "no such file or folder");
    } else {
      files.push_back({resolved, std::nullopt});
    }
  }
  return files;
}

void predict_files(const Predictor& predictor, const std::vector<std::string>& inputs, const std::string& out_dir,
                   const std::function<void(const PredictedFile&)>& done,
                   const std::function<void(const std::string&, int64_t, int64_t)>& progress) {
  const auto cases = prediction_inputs(inputs, predictor.options().dicom);
  std::vector<std::string> files;
  for (const auto& c : cases) files.push_back(c.path);
  // Check every output before writing any: never an input, never an existing file unless forced.
  std::error_code ec;
  std::vector<OutputFile> outputs;
  for (const auto& f : files) {
    const std::string out = (fs::path(out_dir) / (case_name(f) + "_label.nii.gz")).string();
    for (const auto& o : outputs)
      if (o.path == out) throw usage_error(out, "two inputs would write the same output (case " + case_name(f) + ")");
    outputs.push_back({out, "--out"});
  }
  const bool with_volumes = !predictor.options().volumes.empty();
  if (with_volumes) outputs.push_back({predictor.options().volumes, "--volumes"});
  check_outputs(outputs, files, predictor.options().force);
  const auto viewer = viewer_files(out_dir, predictor.label_map());
  check_viewer_files(viewer, predictor.options().force);
  fs::create_directories(out_dir, ec);
  if (ec) throw data_error(out_dir, "cannot create the output folder: " + ec.message());
  remove_stale_temporaries(out_dir);
  // Case i is written (gzip) on a second thread while case i+1 is read and predicted; `done`
  // is called in order, once a case's files are complete. On a GPU, case i+1 is also read
  // (gunzip) on a thread of its own while case i is predicted, and a case's "read" time is how
  // long its prediction waited for it. On a CPU that read would take a core from the windows:
  // three full-size CTs took 7.4-7.8 s with it and 6.5 s without (2-core Zen 5).
  const auto read_case = [&](size_t i) {
    return cases[i].series ? read_dicom_series(*cases[i].series, predictor.options().dicom.resample_gaps)
                           : read_image(files[i]);
  };
  const auto ahead = predictor.options().read_ahead;
  const bool read_ahead = ahead == PredictOptions::ReadAhead::kOn ||
                          (ahead == PredictOptions::ReadAhead::kAuto && predictor.device().is_cuda());
  std::future<Volume> reading;
  const auto start_reading = [&](size_t i) {
    reading = std::async(read_ahead ? std::launch::async : std::launch::deferred, read_case, i);
  };
  if (!files.empty()) start_reading(0);
  std::future<PredictedFile> writing;
  std::vector<StructureVolume> volumes;
  const auto finish_previous = [&] {
    if (!writing.valid()) return;
    PredictedFile previous = writing.get();  // rethrows a failed write
    volumes.insert(volumes.end(), previous.volumes.begin(), previous.volumes.end());
    if (done) done(previous);
  };
  for (size_t i = 0; i < files.size(); ++i) {
    PredictedFile pf;
    pf.input = files[i];
    pf.output = outputs[i].path;
    auto phase = Clock::now();
    const Volume image = reading.get();  // rethrows a failed read
    const double read = lap(phase);
    if (i + 1 < files.size()) start_reading(i + 1);
    pf.prediction = predictor.predict(image, [&](int64_t d, int64_t t) {
      if (progress) progress(files[i], d, t);
    });
    pf.prediction.times.read = read;
    finish_previous();
    writing = std::async(std::launch::async, [pf = std::move(pf), &out_dir, &predictor, with_volumes,
                                              file = files[i]]() mutable {
      auto start = Clock::now();
      if (with_volumes) pf.volumes = structure_volumes(case_name(file), pf.prediction.labels, predictor.label_map());
      write_labels(pf.output, pf.prediction.labels, LabelType::kAuto);
      for (size_t k = 0; k < pf.prediction.probabilities.size(); ++k)
        write_image((fs::path(out_dir) / (case_name(file) + "_prob" + std::to_string(k) + ".nii.gz")).string(),
                    pf.prediction.probabilities[k]);
      pf.prediction.times.write = lap(start);
      pf.prediction.probabilities.clear();
      return std::move(pf);
    });
  }
  finish_previous();
  write_viewer_files(viewer);
  if (with_volumes) write_text_file(predictor.options().volumes, volumes_csv(volumes));
}

}  // namespace coordseg
