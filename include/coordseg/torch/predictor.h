// Whole-volume prediction with a trained run: the training preprocessing (canonical voxel
// order, resampling, intensity normalisation with the run's statistics), sliding windows
// with the run's patch size, coordinates as trained, optional mirroring test-time
// augmentation; then the logits are resampled back to the input's own grid (in slabs, so
// memory stays bounded) before the argmax, and classes become label values on the input's
// grid, qform and sform.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "coordseg/torch/checkpoint.h"
#include "coordseg/core/dataset.h"
#include "coordseg/core/dicom.h"
#include "coordseg/core/labels.h"
#include "coordseg/core/structure_volumes.h"
#include "coordseg/core/volume.h"

namespace coordseg {

struct PredictOptions {
  double overlap = -1;       // < 0: the run's OVERLAP
  int64_t batch = 2;         // windows per forward pass
  // Window size (d, h, w) of the sliding windows; 0: the run's PATCH_DIM. The network is
  // fully convolutional, so larger windows see the same voxels in fewer, larger passes (on a
  // CPU far fewer operations at overlap 0.5); each side must be a multiple of 2^(DEPTH-1),
  // at least the patch, and is cut to the volume (rounded up to that multiple). Refused with
  // local CoordConv, whose coordinates span the window.
  std::array<int64_t, 3> tile{0, 0, 0};
  bool tta = false;          // mirror over the three axes and average
  // The clean-up of the label map (components.h): none, each structure's largest connected
  // component, or its largest component within the heart region, whose margin is
  // heart_margin_mm.
  enum class Cleanup { kNone, kLargest, kHeart };
  Cleanup cleanup = Cleanup::kNone;
  double heart_margin_mm = 5;
  bool probabilities = false;
  bool force = false;        // overwrite existing outputs
  std::string volumes;       // predict_files: also write each case's structure volumes to this CSV
  DicomReadOptions dicom;    // predict_files: the series of a DICOM folder, uneven gaps
  // predict_files: read case i+1 on a thread of its own while case i is predicted. Auto: on
  // a GPU only (on a CPU the read takes a core from the windows).
  enum class ReadAhead { kAuto, kOn, kOff };
  ReadAhead read_ahead = ReadAhead::kAuto;
  std::string device = "auto";
  Amp amp = Amp::kNone;
  int64_t threads = 0;
};

// Seconds per phase of one case (`coordseg predict --timings`). predict() fills preprocess
// (canonical order, resampling, normalisation, moving to the device), windows (the network
// over every window, stitched; waits for the device), restore (logits back to the canonical
// input grid and argmax) and postprocess (largest components, label values, the input's own
// voxel order); predict_files adds read and write.
struct PredictionTimes {
  double read = 0, preprocess = 0, windows = 0, restore = 0, postprocess = 0, write = 0;
  double total() const { return read + preprocess + windows + restore + postprocess + write; }
};

struct Prediction {
  LabelVolume labels;                // label values on the input's grid
  std::vector<Volume> probabilities; // per class, when asked for
  int64_t windows = 0;
  std::array<int64_t, 3> window{0, 0, 0};  // the windows' size (d, h, w)
  double seconds = 0;                // predict() alone: preprocess .. postprocess
  PredictionTimes times;
};

class Predictor {
 public:
  // `model`: a run folder (its best.pt) or a checkpoint file.
  Predictor(const std::string& model, const PredictOptions& options);
  // A model in memory with the state it was trained with (config, intensity statistics):
  // `coordseg bench infer` times the prediction path with it.
  Predictor(UNet3d model, CheckpointState state, const PredictOptions& options);
  // `progress(done, total)` is called as windows finish (TTA passes each count in full).
  Prediction predict(const Volume& image, const std::function<void(int64_t, int64_t)>& progress = {}) const;
  const TrainConfig& config() const { return state_.config; }
  const LabelMap& label_map() const { return map_; }
  const PredictOptions& options() const { return options_; }
  const torch::Device& device() const { return device_; }
  // The window size predict() uses on a network grid of `dims_zyx` voxels.
  std::array<int64_t, 3> window(const std::array<int64_t, 3>& dims_zyx) const;

 private:
  PredictOptions options_;
  CheckpointState state_;
  LabelMap map_;
  void check_options();
  void place_model();

  mutable UNet3d model_{nullptr};
  torch::Device device_{torch::kCPU};
};

// Predicts every input (files, or folders of NIfTI images) into out_dir as
// <case>_label.nii.gz (<case>: the file name without _image/_0000 and extension), with the
// viewers' label colour files (viewer_files.h) once per folder and, when options.volumes
// names a file, the structure volumes of every case as CSV (structure_volumes.h).
// Refuses to overwrite an input, and existing outputs unless options.force.
struct PredictedFile {
  std::string input, output;
  Prediction prediction;
  std::vector<StructureVolume> volumes;  // when options.volumes is set
};
// One case to predict: a NIfTI file, or a DICOM folder with its series, chosen and its headers
// scanned once, before any work.
struct PredictionInput {
  std::string path;
  std::optional<DicomSeries> series;  // for a DICOM folder
};
// Files, NIfTI images in folders, and folders without NIfTI images as DICOM inputs (one case
// each, named after the folder).
std::vector<PredictionInput> prediction_inputs(const std::vector<std::string>& inputs, const DicomReadOptions& dicom = {});
void predict_files(const Predictor& predictor, const std::vector<std::string>& inputs, const std::string& out_dir,
                   const std::function<void(const PredictedFile&)>& done,
                   const std::function<void(const std::string&, int64_t, int64_t)>& progress = {});

}  // namespace coordseg
