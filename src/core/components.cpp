#include "coordseg/core/components.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <vector>

#include "coordseg/core/metrics.h"
#include "coordseg/core/settings.h"

namespace coordseg {

namespace {

int32_t find(std::vector<int32_t>& parent, int32_t x) {
  while (parent[static_cast<size_t>(x)] != x) {
    parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
    x = parent[static_cast<size_t>(x)];
  }
  return x;
}

// 6-connected components of equal positive values: the root of every voxel's component
// (its lowest index), -1 where the value is 0 or less.
template <typename T>
std::vector<int32_t> component_roots(const std::vector<T>& values, const std::array<int64_t, 3>& dims) {
  const int64_t nx = dims[0], ny = dims[1], nz = dims[2];
  const size_t n = values.size();
  std::vector<int32_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  auto unite = [&](size_t a, size_t b) {
    const int32_t ra = find(parent, static_cast<int32_t>(a)), rb = find(parent, static_cast<int32_t>(b));
    if (ra != rb) parent[static_cast<size_t>(std::max(ra, rb))] = std::min(ra, rb);
  };
  const size_t sy = static_cast<size_t>(nx), sz = static_cast<size_t>(nx * ny);
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        const size_t at = static_cast<size_t>(i + nx * (j + ny * k));
        const T c = values[at];
        if (c <= 0) continue;
        if (i > 0 && values[at - 1] == c) unite(at, at - 1);
        if (j > 0 && values[at - sy] == c) unite(at, at - sy);
        if (k > 0 && values[at - sz] == c) unite(at, at - sz);
      }
  for (size_t at = 0; at < n; ++at) parent[at] = values[at] > 0 ? find(parent, static_cast<int32_t>(at)) : -1;
  return parent;
}

// A box of the grid: its first voxel and its size per axis (x, y, z).
struct Box {
  std::array<int64_t, 3> lo{}, dims{};
  size_t voxels() const { return static_cast<size_t>(dims[0] * dims[1] * dims[2]); }
};

// The smallest box holding every voxel of classes 1..num_classes-1, grown by grow[a] voxels
// on each side within the grid; std::nullopt when there is no such voxel.
std::optional<Box> structure_box(const LabelVolume& v, int num_classes, const std::array<int64_t, 3>& grow) {
  const auto& dims = v.grid.dims;
  std::array<int64_t, 3> lo{dims[0], dims[1], dims[2]}, hi{-1, -1, -1};
  for (int64_t k = 0; k < dims[2]; ++k)
    for (int64_t j = 0; j < dims[1]; ++j) {
      const int32_t* row = v.voxels.data() + dims[0] * (j + dims[1] * k);
      int64_t first = -1, last = -1;
      for (int64_t i = 0; i < dims[0]; ++i)
        if (row[i] > 0 && row[i] < num_classes) {
          if (first < 0) first = i;
          last = i;
        }
      if (first < 0) continue;
      lo = {std::min(lo[0], first), std::min(lo[1], j), std::min(lo[2], k)};
      hi = {std::max(hi[0], last), std::max(hi[1], j), std::max(hi[2], k)};
    }
  if (hi[0] < 0) return std::nullopt;
  Box b;
  for (size_t a = 0; a < 3; ++a) {
    b.lo[a] = std::max<int64_t>(0, lo[a] - grow[a]);
    b.dims[a] = std::min<int64_t>(dims[a] - 1, hi[a] + grow[a]) - b.lo[a] + 1;
  }
  return b;
}

// Calls fn(box index, grid index) for every voxel of the box, in box order.
template <typename Fn>
void for_each_in_box(const Box& b, const std::array<int64_t, 3>& dims, Fn fn) {
  size_t at = 0;
  for (int64_t k = 0; k < b.dims[2]; ++k)
    for (int64_t j = 0; j < b.dims[1]; ++j) {
      const auto row = static_cast<size_t>(b.lo[0] + dims[0] * (j + b.lo[1] + dims[1] * (k + b.lo[2])));
      for (int64_t i = 0; i < b.dims[0]; ++i) fn(at++, row + static_cast<size_t>(i));
    }
}

// Keeps, per class, the component with the most voxels among those whose root `eligible`
// accepts (a box index); everything else of classes 1..num_classes-1 becomes 0. Components
// are labelled within `box`, which must hold every structure voxel of `v`.
template <typename Eligible>
void keep_largest_eligible(LabelVolume& v, int num_classes, const Box& box, Eligible eligible) {
  const auto& dims = v.grid.dims;
  std::vector<int32_t> values(box.voxels());
  for_each_in_box(box, dims, [&](size_t at, size_t full) { values[at] = v.voxels[full]; });
  const std::vector<int32_t> root = component_roots(values, box.dims);
  const size_t n = values.size();
  std::vector<int32_t> size(n, 0);
  for (size_t at = 0; at < n; ++at)
    if (root[at] >= 0) ++size[static_cast<size_t>(root[at])];
  std::vector<int32_t> best_root(static_cast<size_t>(num_classes), -1);
  std::vector<int32_t> best_size(static_cast<size_t>(num_classes), 0);
  for (size_t at = 0; at < n; ++at) {
    const int32_t c = values[at];
    if (c <= 0 || c >= num_classes || root[at] != static_cast<int32_t>(at) || !eligible(at)) continue;
    if (size[at] > best_size[static_cast<size_t>(c)]) {
      best_size[static_cast<size_t>(c)] = size[at];
      best_root[static_cast<size_t>(c)] = static_cast<int32_t>(at);
    }
  }
  for_each_in_box(box, dims, [&](size_t at, size_t full) {
    const int32_t c = values[at];
    if (c > 0 && c < num_classes && root[at] != best_root[static_cast<size_t>(c)]) v.voxels[full] = 0;
  });
}

}  // namespace

void keep_largest_components(LabelVolume& v, int num_classes) {
  const auto box = structure_box(v, num_classes, {0, 0, 0});
  if (!box) return;  // no structure at all
  keep_largest_eligible(v, num_classes, *box, [](size_t) { return true; });
}

void keep_largest_heart_components(LabelVolume& v, int num_classes, double margin_mm) {
  check_heart_margin(margin_mm, "heart margin");
  const auto& dims = v.grid.dims;
  // Components live in the structures' bounding box; the heart region in that box grown by
  // the margin.
  const auto box = structure_box(v, num_classes, {0, 0, 0});
  if (!box) return;  // no structure at all
  std::array<int64_t, 3> grow{};
  for (size_t a = 0; a < 3; ++a) grow[a] = static_cast<int64_t>(std::ceil(margin_mm / v.grid.spacing[a]));
  const Box region = *structure_box(v, num_classes, grow);
  std::vector<uint8_t> inside(region.voxels());
  for_each_in_box(region, dims, [&](size_t at, size_t full) {
    inside[at] = v.voxels[full] > 0 && v.voxels[full] < num_classes ? 1 : 0;
  });
  // Near: within the margin of a structure voxel; then the near blob holding most structure.
  const double limit = margin_mm * margin_mm * (1 + 1e-9);
  DistanceOptions distance;
  distance.max_mm = std::sqrt(limit) * (1 + 1e-9);  // nothing farther is needed
  const std::vector<double> d2 = squared_distance_transform(inside, region.dims, v.grid.spacing, distance);
  std::vector<uint8_t> near(region.voxels());
  for (size_t at = 0; at < near.size(); ++at) near[at] = d2[at] <= limit ? 1 : 0;
  const std::vector<int32_t> blob = component_roots(near, region.dims);
  std::vector<int32_t> held(near.size(), 0);
  for (size_t at = 0; at < near.size(); ++at)
    if (inside[at]) ++held[static_cast<size_t>(blob[at])];
  const auto heart = static_cast<int32_t>(std::max_element(held.begin(), held.end()) - held.begin());
  // A component counts where its root (a voxel of the component's box) lies in the heart
  // region: the region's blobs hold structure voxels whole, so the root decides for all.
  const Box& b = *box;
  keep_largest_eligible(v, num_classes, b, [&](size_t at) {
    const auto i = static_cast<int64_t>(at) % b.dims[0], j = static_cast<int64_t>(at) / b.dims[0] % b.dims[1],
               k = static_cast<int64_t>(at) / (b.dims[0] * b.dims[1]);
    const auto r = static_cast<size_t>(i + b.lo[0] - region.lo[0] +
                                       region.dims[0] * (j + b.lo[1] - region.lo[1] + region.dims[1] * (k + b.lo[2] - region.lo[2])));
    return blob[r] == heart;
  });
}

}  // namespace coordseg
