#include "coordseg/torch/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "coordseg/core/random.h"
#include "coordseg/torch/coordinates.h"

namespace coordseg {

namespace F = torch::nn::functional;

namespace {

using Mat3 = std::array<std::array<double, 3>, 3>;

Mat3 identity3() {
  Mat3 m{};
  for (int i = 0; i < 3; ++i) m[i][i] = 1;
  return m;
}

Mat3 multiply(const Mat3& a, const Mat3& b) {
  Mat3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

Mat3 rotation(int axis, double rad) {
  Mat3 r = identity3();
  const int a = (axis + 1) % 3, b = (axis + 2) % 3;
  r[a][a] = std::cos(rad);
  r[a][b] = -std::sin(rad);
  r[b][a] = std::sin(rad);
  r[b][b] = std::cos(rad);
  return r;
}

const auto kFloat = torch::TensorOptions().dtype(torch::kFloat32);

}  // namespace

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

Batch concatenate(const std::vector<Batch>& parts) {
  std::vector<torch::Tensor> images, coords, labels;
  for (const auto& p : parts) {
    images.push_back(p.image);
    coords.push_back(p.coords);
    labels.push_back(p.labels);
  }
  return {torch::cat(images), torch::cat(coords), torch::cat(labels)};
}

PatchSampler::PatchSampler(const std::vector<PreparedCase>& cases, std::array<int64_t, 3> patch_zyx, double foreground,
                           Augmentation augmentation)
    : cases_(cases), patch_(patch_zyx), foreground_(foreground), aug_(augmentation) {}

// The voxel index of the patch's first corner per axis: around a voxel of a randomly chosen
// present class (jittered by up to a quarter patch) with probability `foreground_`, else
// uniform; centred (negative start) on an axis shorter than the patch.
std::array<double, 3> PatchSampler::choose_start(const PreparedCase& c, Random& rng) const {
  const int64_t dims[3] = {c.image.size(1), c.image.size(2), c.image.size(3)};  // z, y, x
  std::array<double, 3> start{};
  if (c.labels.defined() && rng.chance(foreground_)) {
    std::vector<size_t> present;
    for (size_t k = 1; k < c.class_voxels.size(); ++k)
      if (c.class_voxels[k].numel() > 0) present.push_back(k);
    if (!present.empty()) {
      const auto& voxels = c.class_voxels[present[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(present.size()) - 1))]];
      const int64_t at = voxels[rng.integer(0, voxels.numel() - 1)].item<int64_t>();
      const int64_t pos[3] = {at / (dims[1] * dims[2]), (at / dims[2]) % dims[1], at % dims[2]};
      for (int a = 0; a < 3; ++a) {
        const int64_t lo = std::min<int64_t>(0, dims[a] - patch_[a]), hi = std::max<int64_t>(0, dims[a] - patch_[a]);
        const int64_t jitter = rng.integer(-patch_[a] / 4, patch_[a] / 4);
        start[a] = static_cast<double>(std::clamp<int64_t>(pos[a] - patch_[a] / 2 + jitter, lo, hi));
      }
      return start;
    }
  }
  for (int a = 0; a < 3; ++a)
    start[a] = dims[a] >= patch_[a] ? static_cast<double>(rng.integer(0, dims[a] - patch_[a]))
                                    : std::floor((dims[a] - patch_[a]) / 2.0);
  return start;
}

// Where each patch voxel samples the volume: rotation and scaling about the patch centre
// (in millimetres, so anisotropic voxels rotate correctly), then a smooth elastic field.
PatchSampler::Positions PatchSampler::sampling_positions(const PreparedCase& c, const std::array<double, 3>& start,
                                                         Random& rng) const {
  Mat3 m = identity3();
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

  const std::vector<int64_t> full = {patch_[0], patch_[1], patch_[2]};
  std::array<torch::Tensor, 3> offset;  // from the patch centre, per axis
  for (int a = 0; a < 3; ++a) {
    std::vector<int64_t> shape = {1, 1, 1};
    shape[static_cast<size_t>(a)] = patch_[a];
    offset[a] = (torch::arange(patch_[a], kFloat) - (patch_[a] - 1) / 2.0).view(shape);
  }
  Positions source;
  for (int a = 0; a < 3; ++a) {
    const double centre = start[a] + (patch_[a] - 1) / 2.0;
    source[a] = spatial ? centre + m[a][0] * offset[0] + m[a][1] * offset[1] + m[a][2] * offset[2]
                        : (centre + offset[a]).expand(full);
    source[a] = source[a].expand(full);
  }
  if (rng.chance(aug_.elastic)) {
    // Random control points every elastic_spacing voxels, gentle enough never to fold the grid.
    auto gen = at::detail::createCPUGenerator(rng.next());
    const double alpha = rng.uniform(aug_.elastic_lo, aug_.elastic_hi);
    const std::vector<int64_t> ctrl = {1, 3, 2 + patch_[0] / aug_.elastic_spacing, 2 + patch_[1] / aug_.elastic_spacing,
                                       2 + patch_[2] / aug_.elastic_spacing};
    const auto coarse = torch::randn(ctrl, gen, kFloat) * alpha;
    const auto field = F::interpolate(coarse, F::InterpolateFuncOptions().size(full).mode(torch::kTrilinear).align_corners(true))[0];
    for (int a = 0; a < 3; ++a) source[a] = source[a] + field[a];
  }
  return source;
}

// Image (linear), labels (nearest) and global coordinates at the source positions.
Batch PatchSampler::resample(const PreparedCase& c, const Positions& source) const {
  std::array<torch::Tensor, 3> coord;
  for (int a = 0; a < 3; ++a) coord[a] = global_coordinate(source[a], c.image.size(a + 1));
  // grid_sample takes (x, y, z) in [-1, 1] with align_corners = true: exactly the coordinates.
  const auto grid = torch::stack({coord[2], coord[1], coord[0]}, -1).unsqueeze(0);
  Batch b;
  b.image = F::grid_sample(c.image.unsqueeze(0), grid,
                           F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(true));
  b.coords = torch::stack({coord[0], coord[1], coord[2]}, 0).unsqueeze(0);
  if (c.labels.defined())
    b.labels = F::grid_sample(c.labels.to(torch::kFloat32).unsqueeze(0).unsqueeze(0), grid,
                              F::GridSampleFuncOptions().mode(torch::kNearest).padding_mode(torch::kZeros).align_corners(true))
                   .squeeze(1)
                   .round()
                   .to(torch::kInt64);
  else
    b.labels = torch::zeros({1, patch_[0], patch_[1], patch_[2]}, torch::kInt64);
  return b;
}

void PatchSampler::mirror(Batch& b, Random& rng) const {
  for (int64_t axis = 0; axis < 3; ++axis)
    if (rng.chance(aug_.mirror)) {
      b.image = b.image.flip({axis + 2});
      b.coords = b.coords.flip({axis + 2});
      b.labels = b.labels.flip({axis + 1});
    }
}

void PatchSampler::augment_intensity(Batch& b, Random& rng) const {
  if (rng.chance(aug_.brightness)) {
    const double gain = rng.uniform(aug_.brightness_lo, aug_.brightness_hi);
    const double contrast = rng.uniform(aug_.contrast_lo, aug_.contrast_hi);
    const auto mean = b.image.mean();
    b.image = (b.image - mean) * contrast + mean * gain;
  }
  if (rng.chance(aug_.gamma)) {
    const double gamma = rng.uniform(aug_.gamma_lo, aug_.gamma_hi);
    const auto lo = b.image.min(), hi = b.image.max();
    const auto range = (hi - lo).clamp_min(1e-6);
    b.image = ((b.image - lo) / range).pow(gamma) * range + lo;
  }
  if (rng.chance(aug_.noise)) {
    auto gen = at::detail::createCPUGenerator(rng.next());
    const double sd = rng.uniform(0.0, aug_.noise_sd_max);
    b.image = b.image + torch::randn(b.image.sizes(), gen, kFloat) * sd;
  }
}

Batch PatchSampler::patch(size_t case_index, uint64_t seed) const {
  // The order of the random draws is part of the format: a resumed run replays it exactly.
  Random rng(seed);
  const PreparedCase& c = cases_[case_index];
  const auto start = choose_start(c, rng);
  Batch b = resample(c, sampling_positions(c, start, rng));
  mirror(b, rng);
  augment_intensity(b, rng);
  return b;
}

Batch PatchSampler::batch(const std::vector<uint64_t>& seeds) const {
  std::vector<Batch> parts;
  for (const uint64_t seed : seeds) {
    Random rng(seed);
    const size_t c = static_cast<size_t>(rng.integer(0, static_cast<int64_t>(cases_.size()) - 1));
    parts.push_back(patch(c, rng.next()));
  }
  return concatenate(parts);
}

Batch PatchSampler::patches(size_t c, const std::vector<uint64_t>& seeds) const {
  std::vector<Batch> parts;
  for (const uint64_t s : seeds) parts.push_back(patch(c, s));
  return concatenate(parts);
}

}  // namespace coordseg
