// Training patches: random patches of the configured size from prepared cases, a fraction
// centred on a voxel of a randomly chosen present class (foreground oversampling), with
// spatial augmentation (mirroring, rotation, scaling, elastic deformation) applied by one
// sampling grid to the image, the coordinate channels and the labels (nearest), and
// intensity augmentation (gamma, noise, brightness/contrast) on the image alone. Volumes
// smaller than a patch are padded (zeros after normalisation; background for labels).
//
// Global coordinates are the sampling grid itself -- each voxel's position in [-1, 1] over
// the whole preprocessed volume -- so training and sliding-window inference agree exactly.
// Every patch is a pure function of its seed: batches are identical whatever thread makes
// them, which is what makes resumed runs equal uninterrupted ones.
#pragma once

#include <torch/torch.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "coordseg/core/config.h"
#include "coordseg/torch/preprocess.h"

namespace coordseg {

struct Augmentation {
  double mirror = 0, rotate = 0, scale = 0, elastic = 0, gamma = 0, noise = 0, brightness = 0;
  double max_rotation_deg = 15, scale_lo = 0.85, scale_hi = 1.15;
  static Augmentation from_config(const TrainConfig& c);
  static Augmentation none() { return {}; }
};

struct Batch {
  torch::Tensor image;   // (N, 1, d, h, w) float32
  torch::Tensor coords;  // (N, 3, d, h, w) global coordinates z, y, x
  torch::Tensor labels;  // (N, d, h, w) int64 classes
};

class PatchSampler {
 public:
  PatchSampler(const std::vector<PreparedCase>& cases, std::array<int64_t, 3> patch_zyx, double foreground,
               Augmentation augmentation);

  // One batch of `n` patches drawn from a seed (cases chosen at random).
  Batch batch(int64_t n, uint64_t seed) const;
  // One patch from case `c`.
  Batch patch(size_t c, uint64_t seed) const;

 private:
  const std::vector<PreparedCase>& cases_;
  std::array<int64_t, 3> patch_;
  double foreground_;
  Augmentation aug_;
};

// Makes batches 0..count-1 on background threads, `capacity` ahead of the consumer, and hands
// them out in order. Records how long the consumer waited.
class BatchLoader {
 public:
  BatchLoader(std::function<Batch(int64_t)> make, int64_t count, int threads, int64_t capacity = 4);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  Batch next();
  double wait_seconds() const { return wait_seconds_; }

 private:
  void work();

  std::function<Batch(int64_t)> make_;
  int64_t count_, capacity_;
  int64_t next_to_make_ = 0, next_to_take_ = 0;
  std::map<int64_t, Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  double wait_seconds_ = 0;
};

// A 64-bit seed for (base, a, b, c): stable mixing of counters.
uint64_t derive_seed(uint64_t base, uint64_t a, uint64_t b = 0, uint64_t c = 0);

}  // namespace coordseg
