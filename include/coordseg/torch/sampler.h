// Training patches: random patches of the configured size from prepared cases, a fraction
// centred on a voxel of a randomly chosen present class (foreground oversampling), with
// spatial augmentation (mirroring, rotation, scaling, elastic deformation) applied by one
// sampling grid to the image, the coordinate channels and the labels (nearest), and
// intensity augmentation (gamma, noise, brightness/contrast) on the image alone. Volumes
// smaller than a patch are padded (zeros after normalisation; background for labels).
//
// Global coordinates (coordinates.h) are the sampling grid itself, so training and
// sliding-window inference agree exactly. Every patch is a pure function of its seed:
// batches are identical whatever thread makes them, which is what makes resumed runs equal
// uninterrupted ones. Background batching: batch_loader.h; seeds: derive_seed (random.h).
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

#include "coordseg/core/config.h"
#include "coordseg/torch/preprocess.h"

namespace coordseg {

class Random;

// Each augmentation's probability (the AUG_* keys) and its range.
struct Augmentation {
  double mirror = 0, rotate = 0, scale = 0, elastic = 0, gamma = 0, noise = 0, brightness = 0;
  double max_rotation_deg = 15;                    // about each axis, uniform in +-
  double scale_lo = 0.85, scale_hi = 1.15;         // isotropic zoom
  double elastic_lo = 0.5, elastic_hi = 1.5;       // sd of the control-point displacements, voxels
  int64_t elastic_spacing = 16;                    // voxels per control-point interval
  double gamma_lo = 0.7, gamma_hi = 1.5;           // on the patch's own intensity range
  double noise_sd_max = 0.1;                       // Gaussian, sd uniform in [0, max] (normalised units)
  double brightness_lo = 0.75, brightness_hi = 1.25;  // scales the patch mean
  double contrast_lo = 0.75, contrast_hi = 1.25;      // scales deviations from the mean
  static Augmentation from_config(const TrainConfig& c);
  static Augmentation none() { return {}; }
};

struct Batch {
  torch::Tensor image;   // (N, 1, d, h, w) float32
  torch::Tensor coords;  // (N, 3, d, h, w) global coordinates z, y, x
  torch::Tensor labels;  // (N, d, h, w) int64 classes
};

// Concatenates single patches (or batches) along N.
Batch concatenate(const std::vector<Batch>& parts);

class PatchSampler {
 public:
  PatchSampler(const std::vector<PreparedCase>& cases, std::array<int64_t, 3> patch_zyx, double foreground,
               Augmentation augmentation);

  // One patch per seed, each from a case its seed chooses: a sample depends on its own seed
  // alone, so a batch split over ranks draws the same patches as the whole batch in one place.
  Batch batch(const std::vector<uint64_t>& seeds) const;
  // One patch from case `c`.
  Batch patch(size_t c, uint64_t seed) const;
  // One patch from case `c` per seed, as a batch.
  Batch patches(size_t c, const std::vector<uint64_t>& seeds) const;

 private:
  using Positions = std::array<torch::Tensor, 3>;  // source voxel index per patch voxel, z, y, x
  std::array<double, 3> choose_start(const PreparedCase& c, Random& rng) const;
  Positions sampling_positions(const PreparedCase& c, const std::array<double, 3>& start, Random& rng) const;
  Batch resample(const PreparedCase& c, const Positions& source) const;
  void mirror(Batch& b, Random& rng) const;
  void augment_intensity(Batch& b, Random& rng) const;

  const std::vector<PreparedCase>& cases_;
  std::array<int64_t, 3> patch_;
  double foreground_;
  Augmentation aug_;
};

}  // namespace coordseg
