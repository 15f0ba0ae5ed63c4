// Training parameters: the reference project's JSON parameter files, read unchanged, plus
// coordseg's own keys. Every key, its type and default is documented in docs/params.md;
// `config_keys()` is the one table of keys that drives reading, writing and range checks
// (and a test holds docs/params.md to it). Choices are typed (settings.h).
// Unknown keys and wrong types are usage errors naming the file and the key. The resolved
// configuration (every key, after command-line overrides) is what a run saves as
// RUN/config.json, and reading that file back gives the same configuration.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "coordseg/core/labels.h"
#include "coordseg/core/settings.h"

namespace coordseg {

// FOREGROUND_FRACTION's default; validation patches are always drawn at this rate.
inline constexpr double kDefaultForegroundFraction = 0.33;

struct TrainConfig {
  // --- the reference's keys
  std::string name = "UNET_3D";
  DataModality data = DataModality::kCT;  // DATA: modality of the cases to use
  std::array<int64_t, 3> patch{96, 96, 96};  // PATCH_DIM: one number or [D, H, W]
  double resize = 1.0;                 // RESIZE_R: voxel grid scale factor (0.6: 60% of the voxels per axis)
  int64_t train_patches = 20;          // TRAIN_PATCH_NUM: batches per training case per epoch
  int64_t valid_patches = 100;         // VALID_PATCH_NUM: patches per validation case per epoch
  int64_t image_num = 1;               // IMAGE_NUM: accepted; coordseg keeps all cases in memory
  int64_t batch = 2;                   // BATCH_SIZE
  int64_t epochs = 100;                // EPOCHS
  int64_t in_channels = 1;             // INPUT_CHANNEL (must be 1)
  int64_t classes = 8;                 // OUTPUT_CHANNEL
  OptimizerKind optimizer = OptimizerKind::kAdam;  // OPTIMIZER
  double lr = 1e-4;                    // LEARNINGRATE
  Norm norm = Norm::kNone;             // NORMALIZATION
  CoordMode coord = CoordMode::kNone;  // from COORD_NET (local) / IMAGE_COORD (global) or COORD
  double overlap = 0.75;               // from OVERLAP_FACTOR f as 1 - 1/f, or OVERLAP
  std::vector<std::string> gpus;       // MULTI_GPU

  // --- coordseg's keys
  int64_t base = 32;                   // BASE_FILTERS
  int64_t depth = 4;                   // DEPTH
  Activation activation = Activation::kReLU;          // ACTIVATION
  Upsampling upsampling = Upsampling::kTransposed;    // UPSAMPLING
  LossKind loss = LossKind::kWeightedCrossEntropy;  // LOSS (the reference code's softmax_weighted_loss)
  Schedule schedule = Schedule::kConstant;  // SCHEDULE
  double weight_decay = 0.0;           // WEIGHT_DECAY
  double momentum = 0.99;              // MOMENTUM (sgd, Nesterov)
  double grad_clip = 0.0;              // GRAD_CLIP: max gradient norm, 0 = off
  int64_t steps = 0;                   // STEPS: total steps instead of EPOCHS when > 0
  int64_t valid_cases = 2;             // VALID_CASES: the last N cases (by id) validate
  uint64_t seed = 1;                   // SEED
  IntensityScheme intensity = IntensityScheme::kAuto;  // INTENSITY (auto: ct for CT, zscore for MR)
  std::array<double, 3> spacing{0, 0, 0};  // TARGET_SPACING (mm, x y z); overrides RESIZE_R when set
  double foreground = kDefaultForegroundFraction;  // FOREGROUND_FRACTION of patches centred on a labelled voxel
  double aug_mirror = 0.0;             // AUG_MIRROR (off: mirroring swaps left and right hearts)
  double aug_rotate = 0.2;             // AUG_ROTATE (up to +-15 degrees about each axis)
  double aug_scale = 0.2;              // AUG_SCALE (0.85..1.15)
  double aug_elastic = 0.0;            // AUG_ELASTIC
  double aug_gamma = 0.3;              // AUG_GAMMA
  double aug_noise = 0.15;             // AUG_NOISE
  double aug_brightness = 0.15;        // AUG_BRIGHTNESS (brightness and contrast)
  int64_t full_valid_every = 0;        // FULL_VALID_EVERY: sliding-window Dice of the validation cases every K epochs (0 = off)
  int64_t loader_threads = 1;          // LOADER_THREADS
  std::string device = "auto";         // DEVICE: auto, cpu, cuda, cuda:N
  int64_t threads = 0;                 // THREADS: intra-op threads (0 = all cores)
  Amp amp = Amp::kNone;                // AMP
  Init init = Init::kTorch;            // INIT: weight initialisation (glorot: Keras's, as the reference)
  double adam_epsilon = 1e-8;          // ADAM_EPSILON (Keras's default is 1e-7)
  std::vector<int32_t> label_values{0, 205, 420, 500, 550, 600, 820, 850};  // LABELS.values
  std::vector<std::string> label_names;  // LABELS.names (empty: MM-WHS names or "class N")

  // Reads a parameter file (reference or coordseg keys). A file that cannot be read is a
  // data error; invalid JSON, keys or values are usage errors; both name `path`.
  static TrainConfig from_file(const std::string& path);
  static TrainConfig from_json(const nlohmann::json& j, const std::string& source);
  // Every stored key, in the order of config_keys().
  nlohmann::ordered_json to_json() const;

  // Checks values (ranges, and keys that must agree) and throws a usage error naming the key.
  void validate() const;
  // The intensity scheme in effect (ct for CT data, zscore for MR, unless set).
  IntensityScheme intensity_scheme() const;
  // The label map of LABELS (the MM-WHS one, with its 421 -> 420 alias, by default).
  LabelMap label_map() const;
};

// One key of a parameter file. `read` parses a JSON value into the configuration (errors
// name `where`, the file); `write` gives the value config.json stores (absent for keys only
// read: COORD_NET, IMAGE_COORD and OVERLAP_FACTOR, which resolve into COORD and OVERLAP);
// `check` throws a usage error naming the key when the value is out of range.
struct ConfigKey {
  std::string name;
  bool reference = false;  // one of the reference project's keys
  std::function<void(TrainConfig&, const nlohmann::json&, const std::string& where)> read;
  std::function<nlohmann::ordered_json(const TrainConfig&)> write;
  std::function<void(const TrainConfig&)> check;
};

// Every key, in the order config.json lists them.
const std::vector<ConfigKey>& config_keys();
const ConfigKey* find_config_key(const std::string& name);

// Values given on the command line (`coordseg train --epochs ...`): only what was given is
// applied, so any given value -- 0 included -- is checked like the file's key, and an
// error names the option (`--epochs: must be at least 1, got 0`).
struct ConfigOverrides {
  std::optional<int64_t> epochs, steps, batch, patch, seed, threads;
  std::optional<double> lr;
  std::optional<std::string> device, amp;
};
void apply_overrides(TrainConfig& config, const ConfigOverrides& overrides);
// A resumed run may change how long and where it goes on (--epochs, --steps, --threads,
// --device), not what it trains: any other override is a usage error naming it.
void check_resume_overrides(const ConfigOverrides& overrides);

}  // namespace coordseg
