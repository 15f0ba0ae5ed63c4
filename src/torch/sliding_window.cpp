#include "coordseg/torch/sliding_window.h"

#include <cmath>

#include "coordseg/core/error.h"
#include "coordseg/core/settings.h"
#include "coordseg/torch/coordinates.h"

namespace coordseg {

std::vector<int64_t> window_starts(int64_t n, int64_t patch, double overlap) {
  if (n <= patch) return {0};
  const int64_t step = std::max<int64_t>(1, static_cast<int64_t>(std::floor(patch * (1.0 - overlap))));
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + patch < n; s += step) starts.push_back(s);
  starts.push_back(n - patch);
  return starts;
}

torch::Tensor gaussian_importance(const std::array<int64_t, 3>& patch) {
  torch::Tensor map;
  for (int a = 0; a < 3; ++a) {
    const double sigma = patch[a] / 8.0, centre = (patch[a] - 1) / 2.0;
    const auto x = torch::arange(patch[a], torch::kFloat64);
    auto g = torch::exp(-0.5 * ((x - centre) / sigma).pow(2));
    std::vector<int64_t> shape = {1, 1, 1};
    shape[static_cast<size_t>(a)] = patch[a];
    g = g.view(shape);
    map = map.defined() ? map * g : g;
  }
  map = map / map.max();
  // No zero weights at the window edges: every voxel must be counted.
  return map.clamp_min(1e-3).to(torch::kFloat32);
}

torch::Tensor sliding_window(const torch::Tensor& volume, int64_t out_channels, const WindowFn& fn,
                             const SlidingWindowOptions& o) {
  if (volume.dim() != 4) throw usage_error("sliding_window", "volume must be (C, D, H, W)");
  check_overlap(o.overlap, "--overlap");
  if (o.batch < 1) throw usage_error("--batch", "must be at least 1");
  const int64_t dims[3] = {volume.size(1), volume.size(2), volume.size(3)};
  // Pad (at the far end) up to a patch where the volume is smaller.
  int64_t padded[3];
  for (int a = 0; a < 3; ++a) padded[a] = std::max(dims[a], o.patch[static_cast<size_t>(a)]);
  torch::Tensor input = volume;
  if (padded[0] != dims[0] || padded[1] != dims[1] || padded[2] != dims[2])
    input = torch::constant_pad_nd(volume, {0, padded[2] - dims[2], 0, padded[1] - dims[1], 0, padded[0] - dims[0]}, 0);
  const auto fopts = volume.options().dtype(torch::kFloat32);
  const auto weights = o.gaussian ? gaussian_importance(o.patch).to(volume.device())
                                  : torch::ones({o.patch[0], o.patch[1], o.patch[2]}, fopts);
  auto sum = torch::zeros({out_channels, padded[0], padded[1], padded[2]}, fopts);
  auto norm = torch::zeros({padded[0], padded[1], padded[2]}, fopts);

  std::vector<std::array<int64_t, 3>> windows;
  for (const int64_t z : window_starts(padded[0], o.patch[0], o.overlap))
    for (const int64_t y : window_starts(padded[1], o.patch[1], o.overlap))
      for (const int64_t x : window_starts(padded[2], o.patch[2], o.overlap)) windows.push_back({z, y, x});

  for (size_t first = 0; first < windows.size(); first += static_cast<size_t>(o.batch)) {
    const size_t last = std::min(windows.size(), first + static_cast<size_t>(o.batch));
    std::vector<torch::Tensor> xs, cs;
    for (size_t w = first; w < last; ++w) {
      const auto& s = windows[w];
      xs.push_back(input.slice(1, s[0], s[0] + o.patch[0]).slice(2, s[1], s[1] + o.patch[1]).slice(3, s[2], s[2] + o.patch[2]));
      // Global coordinates over the real volume, extending past it into the padding.
      cs.push_back(window_coordinates(s, o.patch, {dims[0], dims[1], dims[2]}, fopts));
    }
    const torch::Tensor out = fn(torch::stack(xs), torch::stack(cs)).to(torch::kFloat32);
    if (out.dim() != 5 || out.size(1) != out_channels)
      throw usage_error("sliding_window", "the network returned an unexpected shape");
    for (size_t w = first; w < last; ++w) {
      const auto& s = windows[w];
      auto region = [&](torch::Tensor t, int64_t offset) {
        return t.slice(offset, s[0], s[0] + o.patch[0])
            .slice(offset + 1, s[1], s[1] + o.patch[1])
            .slice(offset + 2, s[2], s[2] + o.patch[2]);
      };
      region(sum, 1) += out[static_cast<int64_t>(w - first)] * weights;
      region(norm, 0) += weights;
    }
    if (o.progress) o.progress(static_cast<int64_t>(last), static_cast<int64_t>(windows.size()));
  }
  return (sum / norm).slice(1, 0, dims[0]).slice(2, 0, dims[1]).slice(3, 0, dims[2]).contiguous();
}

torch::Tensor mirrored_sliding_window(const torch::Tensor& volume, int64_t out_channels, const WindowFn& fn,
                                      const SlidingWindowOptions& options, const std::vector<int64_t>& dims) {
  auto sign = torch::ones({1, 3, 1, 1, 1});
  for (const int64_t d : dims) sign[0][d - 1] = -1.0;
  const WindowFn mirrored = [&](const torch::Tensor& w, const torch::Tensor& co) {
    return fn(w, co * sign.to(co.device(), co.scalar_type()));
  };
  return sliding_window(volume.flip(dims), out_channels, mirrored, options).flip(dims);
}

}  // namespace coordseg
