#include "coordseg/torch/sampler.h"

#include "coordseg/core/random.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>

namespace coordseg {

namespace F = torch::nn::functional;

namespace {

using Rng = Random;

using Mat3 = std::array<std::array<double, 3>, 3>;

Mat3 multiply(const Mat3& a, const Mat3& b) {
  Mat3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

Mat3 rotation(int axis, double rad) {
  Mat3 r{};
  for (int i = 0; i < 3; ++i) r[i][i] = 1;
  const int a = (axis + 1) % 3, b = (axis + 2) % 3;
  r[a][a] = std::cos(rad);
  r[a][b] = -std::sin(rad);
  r[b][a] = std::sin(rad);
  r[b][b] = std::cos(rad);
  return r;
}

}  // namespace

uint64_t derive_seed(uint64_t base, uint64_t a, uint64_t b, uint64_t c) {
  return mix64(mix64(mix64(mix64(base) ^ a) ^ b) ^ c);
}

Augmentation Augmentation::from_config(const TrainConfig& c) {
  Augmentation a;
  a.mirror = c.aug_mirror;
  a.rotate = c.aug_rotate;
  a.scale = c.aug_scale;
  a.elastic = c.aug_elastic;
  a.gamma = c.aug_gamma;
  a.noise = c.aug_noise;
  a.brightness = c.aug_brightness;
  return a;
}

PatchSampler::PatchSampler(const std::vector<PreparedCase>& cases, std::array<int64_t, 3> patch_zyx, double foreground,
                           Augmentation augmentation)
    : cases_(cases), patch_(patch_zyx), foreground_(foreground), aug_(augmentation) {}

Batch PatchSampler::patch(size_t case_index, uint64_t seed) const {
  Rng rng(seed);
  const PreparedCase& c = cases_[case_index];
  const int64_t dims[3] = {c.image.size(1), c.image.size(2), c.image.size(3)};  // z, y, x

  // Patch start (voxel index of its first corner) per axis.
  std::array<double, 3> start{};
  bool centred = false;
  if (c.labels.defined() && rng.chance(foreground_)) {
    std::vector<size_t> present;
    for (size_t k = 1; k < c.class_voxels.size(); ++k)
      if (c.class_voxels[k].numel() > 0) present.push_back(k);
    if (!present.empty()) {
      const auto& voxels = c.class_voxels[present[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(present.size()) - 1))]];
      int64_t at = voxels[rng.integer(0, voxels.numel() - 1)].item<int64_t>();
      const int64_t pos[3] = {at / (dims[1] * dims[2]), (at / dims[2]) % dims[1], at % dims[2]};
      for (int a = 0; a < 3; ++a) {
        const int64_t lo = std::min<int64_t>(0, dims[a] - patch_[a]), hi = std::max<int64_t>(0, dims[a] - patch_[a]);
        start[a] = static_cast<double>(std::clamp<int64_t>(pos[a] - patch_[a] / 2 + rng.integer(-patch_[a] / 4, patch_[a] / 4), lo, hi));
      }
      centred = true;
    }
  }
  if (!centred)
    for (int a = 0; a < 3; ++a)
      start[a] = dims[a] >= patch_[a] ? static_cast<double>(rng.integer(0, dims[a] - patch_[a]))
                                      : std::floor((dims[a] - patch_[a]) / 2.0);

  // Spatial transform about the patch centre: rotation and scaling in millimetres.
  Mat3 m{};
  for (int i = 0; i < 3; ++i) m[i][i] = 1;
  bool spatial = false;
  if (rng.chance(aug_.rotate)) {
    for (int axis = 0; axis < 3; ++axis)
      m = multiply(rotation(axis, rng.uniform(-1, 1) * aug_.max_rotation_deg * M_PI / 180.0), m);
    spatial = true;
  }
  if (rng.chance(aug_.scale)) {
    const double s = rng.uniform(aug_.scale_lo, aug_.scale_hi);
    for (auto& row : m)
      for (auto& v : row) v *= s;
    spatial = true;
  }
  // To voxel units: M_vox = S^-1 M S, with S the voxel size (z, y, x).
  const double sp[3] = {c.grid.spacing[2], c.grid.spacing[1], c.grid.spacing[0]};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) m[i][j] *= sp[j] / sp[i];

  const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  // Offsets from the patch centre, per axis, then source positions in voxels.
  std::array<torch::Tensor, 3> offset;
  for (int a = 0; a < 3; ++a) {
    std::vector<int64_t> shape = {1, 1, 1};
    shape[static_cast<size_t>(a)] = patch_[a];
    offset[a] = (torch::arange(patch_[a], opts) - (patch_[a] - 1) / 2.0).view(shape);
  }
  std::array<torch::Tensor, 3> source;
  for (int a = 0; a < 3; ++a) {
    const double centre = start[a] + (patch_[a] - 1) / 2.0;
    if (spatial)
      source[a] = centre + m[a][0] * offset[0] + m[a][1] * offset[1] + m[a][2] * offset[2];
    else
      source[a] = (centre + offset[a]).expand({patch_[0], patch_[1], patch_[2]});
    source[a] = source[a].expand({patch_[0], patch_[1], patch_[2]});
  }
  if (rng.chance(aug_.elastic)) {
    auto gen = at::detail::createCPUGenerator(rng.next());
    // Smooth displacements: random control points every 8-16 voxels, sd up to 1.5 voxels,
    // gentle enough never to fold the grid.
    const double alpha = rng.uniform(0.5, 1.5);
    const std::vector<int64_t> ctrl = {1, 3, 2 + patch_[0] / 16, 2 + patch_[1] / 16, 2 + patch_[2] / 16};
    const auto coarse = torch::randn(ctrl, gen, opts) * alpha;
    const auto field = F::interpolate(coarse, F::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>(patch_.begin(), patch_.end()))
                                                  .mode(torch::kTrilinear)
                                                  .align_corners(true))[0];
    for (int a = 0; a < 3; ++a) source[a] = source[a] + field[a];
  }
  // Normalised positions: [-1, 1] over the whole volume (align_corners = true).
  std::array<torch::Tensor, 3> norm;
  for (int a = 0; a < 3; ++a)
    norm[a] = dims[a] > 1 ? source[a] * (2.0 / (dims[a] - 1)) - 1.0 : torch::zeros_like(source[a]);
  const auto grid = torch::stack({norm[2], norm[1], norm[0]}, -1).unsqueeze(0);  // (1, d, h, w, 3): x, y, z

  Batch b;
  b.image = F::grid_sample(c.image.unsqueeze(0), grid,
                           F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(true));
  b.coords = torch::stack({norm[0], norm[1], norm[2]}, 0).unsqueeze(0);
  if (c.labels.defined())
    b.labels = F::grid_sample(c.labels.to(torch::kFloat32).unsqueeze(0).unsqueeze(0), grid,
                              F::GridSampleFuncOptions().mode(torch::kNearest).padding_mode(torch::kZeros).align_corners(true))
                   .squeeze(1)
                   .round()
                   .to(torch::kInt64);
  else
    b.labels = torch::zeros({1, patch_[0], patch_[1], patch_[2]}, torch::kInt64);

  for (int64_t axis = 0; axis < 3; ++axis)
    if (rng.chance(aug_.mirror)) {
      b.image = b.image.flip({axis + 2});
      b.coords = b.coords.flip({axis + 2});
      b.labels = b.labels.flip({axis + 1});
    }
  if (rng.chance(aug_.brightness)) {
    const double gain = rng.uniform(0.75, 1.25), contrast = rng.uniform(0.75, 1.25);
    const auto mean = b.image.mean();
    b.image = (b.image - mean) * contrast + mean * gain;
  }
  if (rng.chance(aug_.gamma)) {
    const double gamma = rng.uniform(0.7, 1.5);
    const auto lo = b.image.min(), hi = b.image.max();
    const auto range = (hi - lo).clamp_min(1e-6);
    b.image = ((b.image - lo) / range).pow(gamma) * range + lo;
  }
  if (rng.chance(aug_.noise)) {
    auto gen = at::detail::createCPUGenerator(rng.next());
    b.image = b.image + torch::randn(b.image.sizes(), gen, opts) * rng.uniform(0.0, 0.1);
  }
  return b;
}

Batch PatchSampler::batch(int64_t n, uint64_t seed) const {
  Rng rng(seed);
  std::vector<torch::Tensor> images, coords, labels;
  for (int64_t i = 0; i < n; ++i) {
    const size_t c = static_cast<size_t>(rng.integer(0, static_cast<int64_t>(cases_.size()) - 1));
    Batch p = patch(c, rng.next());
    images.push_back(p.image);
    coords.push_back(p.coords);
    labels.push_back(p.labels);
  }
  return {torch::cat(images), torch::cat(coords), torch::cat(labels)};
}

BatchLoader::BatchLoader(std::function<Batch(int64_t)> make, int64_t count, int threads, int64_t capacity)
    : make_(std::move(make)), count_(count), capacity_(std::max<int64_t>(capacity, threads)) {
  for (int t = 0; t < std::max(1, threads); ++t) threads_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void BatchLoader::work() {
  for (;;) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || (next_to_make_ < count_ && next_to_make_ < next_to_take_ + capacity_); });
      if (stop_) return;
      index = next_to_make_++;
    }
    Batch b;
    try {
      b = make_(index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_[index] = std::move(b);
    }
    cv_.notify_all();
  }
}

Batch BatchLoader::next() {
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return error_ || ready_.count(next_to_take_); });
  if (error_) std::rethrow_exception(error_);
  Batch b = std::move(ready_[next_to_take_]);
  ready_.erase(next_to_take_++);
  lock.unlock();
  cv_.notify_all();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return b;
}

}  // namespace coordseg
