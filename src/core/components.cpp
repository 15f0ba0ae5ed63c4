#include "coordseg/core/components.h"

#include <algorithm>
#include <cmath>
#include <numeric>
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

// Keeps, per class, the component (given by its root) with the most voxels among those that
// `eligible` accepts; everything else of classes 1..num_classes-1 becomes 0.
template <typename Eligible>
void keep_largest_eligible(LabelVolume& v, int num_classes, const std::vector<int32_t>& root, Eligible eligible) {
  const size_t n = v.voxels.size();
  std::vector<int64_t> size(n, 0);
  for (size_t at = 0; at < n; ++at)
    if (root[at] >= 0) ++size[static_cast<size_t>(root[at])];
  std::vector<int32_t> best_root(static_cast<size_t>(num_classes), -1);
  std::vector<int64_t> best_size(static_cast<size_t>(num_classes), 0);
  for (size_t at = 0; at < n; ++at) {
    const int32_t c = v.voxels[at];
    if (c <= 0 || c >= num_classes || root[at] != static_cast<int32_t>(at) || !eligible(at)) continue;
    if (size[at] > best_size[static_cast<size_t>(c)]) {
      best_size[static_cast<size_t>(c)] = size[at];
      best_root[static_cast<size_t>(c)] = static_cast<int32_t>(at);
    }
  }
  for (size_t at = 0; at < n; ++at) {
    const int32_t c = v.voxels[at];
    if (c > 0 && c < num_classes && root[at] != best_root[static_cast<size_t>(c)]) v.voxels[at] = 0;
  }
}

}  // namespace

void keep_largest_components(LabelVolume& v, int num_classes) {
  const std::vector<int32_t> root = component_roots(v.voxels, v.grid.dims);
  keep_largest_eligible(v, num_classes, root, [](size_t) { return true; });
}

void keep_largest_heart_components(LabelVolume& v, int num_classes, double margin_mm) {
  check_heart_margin(margin_mm, "heart margin");
  const auto& dims = v.grid.dims;
  const auto structure = [&](size_t at) { return v.voxels[at] > 0 && v.voxels[at] < num_classes; };
  // The structures' bounding box, grown by the margin: the region lies inside it.
  std::array<int64_t, 3> lo{dims[0], dims[1], dims[2]}, hi{-1, -1, -1};
  for (int64_t k = 0; k < dims[2]; ++k)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t i = 0; i < dims[0]; ++i)
        if (structure(static_cast<size_t>(i + dims[0] * (j + dims[1] * k)))) {
          const int64_t ijk[3] = {i, j, k};
          for (size_t a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], ijk[a]);
            hi[a] = std::max(hi[a], ijk[a]);
          }
        }
  if (hi[0] < 0) return;  // no structure at all
  std::array<int64_t, 3> bd{};
  for (size_t a = 0; a < 3; ++a) {
    const auto grow = static_cast<int64_t>(std::ceil(margin_mm / v.grid.spacing[a]));
    lo[a] = std::max<int64_t>(0, lo[a] - grow);
    hi[a] = std::min<int64_t>(dims[a] - 1, hi[a] + grow);
    bd[a] = hi[a] - lo[a] + 1;
  }
  const auto full_index = [&](int64_t i, int64_t j, int64_t k) {
    return static_cast<size_t>(i + lo[0] + dims[0] * (j + lo[1] + dims[1] * (k + lo[2])));
  };
  const size_t nb = static_cast<size_t>(bd[0] * bd[1] * bd[2]);
  std::vector<uint8_t> inside(nb, 0);
  for (int64_t k = 0; k < bd[2]; ++k)
    for (int64_t j = 0; j < bd[1]; ++j)
      for (int64_t i = 0; i < bd[0]; ++i)
        inside[static_cast<size_t>(i + bd[0] * (j + bd[1] * k))] = structure(full_index(i, j, k)) ? 1 : 0;
  // Near: within the margin of a structure voxel; then the near blob holding most structure.
  const std::vector<double> d2 = squared_distance_transform(inside, bd, v.grid.spacing);
  const double limit = margin_mm * margin_mm * (1 + 1e-9);
  std::vector<uint8_t> near(nb);
  for (size_t at = 0; at < nb; ++at) near[at] = d2[at] <= limit ? 1 : 0;
  const std::vector<int32_t> blob = component_roots(near, bd);
  std::vector<int64_t> held(nb, 0);
  for (size_t at = 0; at < nb; ++at)
    if (inside[at]) ++held[static_cast<size_t>(blob[at])];
  const auto heart = static_cast<int32_t>(std::max_element(held.begin(), held.end()) - held.begin());
  // Back on the whole grid: which voxels lie in the heart region.
  std::vector<uint8_t> in_heart(v.voxels.size(), 0);
  for (int64_t k = 0; k < bd[2]; ++k)
    for (int64_t j = 0; j < bd[1]; ++j)
      for (int64_t i = 0; i < bd[0]; ++i)
        if (blob[static_cast<size_t>(i + bd[0] * (j + bd[1] * k))] == heart) in_heart[full_index(i, j, k)] = 1;
  const std::vector<int32_t> root = component_roots(v.voxels, v.grid.dims);
  keep_largest_eligible(v, num_classes, root, [&](size_t at) { return in_heart[at] != 0; });
}

}  // namespace coordseg
