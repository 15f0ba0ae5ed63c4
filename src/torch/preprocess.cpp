#include "coordseg/torch/preprocess.h"

#include <algorithm>
#include <cmath>

#include "coordseg/core/error.h"
#include "coordseg/torch/tensor.h"

namespace coordseg {

namespace F = torch::nn::functional;

Preprocessing Preprocessing::from_config(const TrainConfig& c) {
  Preprocessing p;
  p.scheme = c.intensity_scheme();
  p.resize = c.resize;
  p.spacing = c.spacing;
  return p;
}

IntensityStats ct_statistics(const std::vector<const Volume*>& images, const std::vector<const LabelVolume*>& classes) {
  // Every k-th foreground voxel, so large datasets stay cheap; at most ~4 M samples.
  int64_t total = 0;
  for (const auto* l : classes)
    for (const int32_t v : l->voxels) total += v > 0;
  const int64_t step = std::max<int64_t>(1, total / 4000000);
  std::vector<float> sample;
  int64_t seen = 0;
  for (size_t c = 0; c < images.size(); ++c)
    for (size_t i = 0; i < images[c]->voxels.size(); ++i)
      if (classes[c]->voxels[i] > 0 && seen++ % step == 0) sample.push_back(images[c]->voxels[i]);
  if (sample.empty()) throw data_error("training set", "no foreground voxels to compute CT intensity statistics");
  std::sort(sample.begin(), sample.end());
  IntensityStats s;
  s.lo = sample[static_cast<size_t>(0.005 * (sample.size() - 1))];
  s.hi = sample[static_cast<size_t>(0.995 * (sample.size() - 1))];
  double sum = 0, sq = 0;
  for (const float v : sample) {
    const double x = std::clamp<double>(v, s.lo, s.hi);
    sum += x;
    sq += x * x;
  }
  s.mean = sum / sample.size();
  s.sd = std::sqrt(std::max(sq / sample.size() - s.mean * s.mean, 1e-12));
  return s;
}

Grid resampled_grid(const Grid& g, const Preprocessing& p) {
  const bool by_spacing = p.spacing[0] > 0 || p.spacing[1] > 0 || p.spacing[2] > 0;
  Grid out = g;
  for (size_t a = 0; a < 3; ++a) {
    double factor = p.resize;  // new voxels per old voxel
    if (by_spacing) factor = p.spacing[a] > 0 ? g.spacing[a] / p.spacing[a] : 1.0;
    out.dims[a] = std::max<int64_t>(1, std::llround(static_cast<double>(g.dims[a]) * factor));
    // Voxel centres aligned (align_corners = false): old index = (new + 0.5) * s - 0.5.
    const double s = static_cast<double>(g.dims[a]) / static_cast<double>(out.dims[a]);
    out.spacing[a] = g.spacing[a] * s;
    for (int r = 0; r < 3; ++r) {
      out.affine.m[r][3] += g.affine.m[r][a] * (0.5 * s - 0.5);
      out.affine.m[r][a] = g.affine.m[r][a] * s;
    }
  }
  return out;
}

torch::Tensor resample_image(const torch::Tensor& image, const std::array<int64_t, 3>& dims_zyx) {
  if (image.sizes() == c10::IntArrayRef(dims_zyx.data(), 3)) return image;
  return F::interpolate(image.unsqueeze(0).unsqueeze(0),
                        F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>(dims_zyx.begin(), dims_zyx.end()))
                            .mode(torch::kTrilinear)
                            .align_corners(false))
      .squeeze(0)
      .squeeze(0);
}

torch::Tensor resample_labels(const torch::Tensor& labels, const std::array<int64_t, 3>& dims_zyx) {
  if (labels.sizes() == c10::IntArrayRef(dims_zyx.data(), 3)) return labels;
  // Nearest neighbour with voxel centres aligned: source = floor((target + 0.5) * n / m).
  torch::Tensor out = labels;
  for (int64_t a = 0; a < 3; ++a) {
    const int64_t n = labels.size(a), m = dims_zyx[static_cast<size_t>(a)];
    const auto index = ((torch::arange(m, torch::kFloat64) + 0.5) * (static_cast<double>(n) / m)).floor().clamp_max(n - 1);
    out = out.index_select(a, index.to(torch::kInt64));
  }
  return out;
}

torch::Tensor normalise(const torch::Tensor& image, const Preprocessing& p) {
  if (p.scheme == IntensityScheme::kCT) return (image.clamp(p.stats.lo, p.stats.hi) - p.stats.mean) / p.stats.sd;
  if (p.scheme == IntensityScheme::kScale255) return image / 255.0;
  const auto mean = image.mean();
  const auto sd = image.std().clamp_min(1e-6);
  return (image - mean) / sd;
}

PreparedImage prepare_image(const Volume& image, const Preprocessing& p, const torch::Device& device) {
  PreparedImage out;
  out.reorientation = canonical_reorientation(image.grid);
  Volume canonical = reorient(image, out.reorientation);
  out.canonical = canonical.grid;
  out.canonical_header = canonical.header;
  out.grid = resampled_grid(canonical.grid, p);
  const std::array<int64_t, 3> zyx = {out.grid.dims[2], out.grid.dims[1], out.grid.dims[0]};
  // normalise makes a new tensor: nothing refers to `canonical`'s voxels afterwards.
  out.image = normalise(resample_image(view_tensor(canonical).to(device), zyx), p).unsqueeze(0).contiguous();
  return out;
}

PreparedCase prepare_case(const LoadedCase& c, const Preprocessing& p) {
  PreparedImage prepared = prepare_image(c.image, p);
  PreparedCase out;
  out.id = c.source.id;
  out.reorientation = prepared.reorientation;
  out.grid = prepared.grid;
  out.image = std::move(prepared.image);
  const std::array<int64_t, 3> zyx = {out.grid.dims[2], out.grid.dims[1], out.grid.dims[0]};
  if (!c.classes.voxels.empty()) {
    const LabelVolume classes = reorient(c.classes, out.reorientation);
    out.labels = resample_labels(to_tensor(classes), zyx).contiguous();
    const auto flat = out.labels.flatten();
    const int64_t n_classes = flat.max().item<int64_t>() + 1;
    // Background is sampled uniformly; only foreground classes need their voxel lists.
    out.class_voxels.push_back(torch::empty({0}, torch::kInt64));
    for (int64_t k = 1; k < n_classes; ++k) out.class_voxels.push_back(torch::nonzero(flat == k).flatten());
  }
  return out;
}

}  // namespace coordseg
