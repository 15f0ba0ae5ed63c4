#include "coordseg/core/components.h"

#include <numeric>
#include <vector>

namespace coordseg {

namespace {
int32_t find(std::vector<int32_t>& parent, int32_t x) {
  while (parent[static_cast<size_t>(x)] != x) {
    parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
    x = parent[static_cast<size_t>(x)];
  }
  return x;
}
}  // namespace

void keep_largest_components(LabelVolume& v, int num_classes) {
  const int64_t nx = v.grid.dims[0], ny = v.grid.dims[1], nz = v.grid.dims[2];
  const size_t n = v.voxels.size();
  std::vector<int32_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  auto unite = [&](size_t a, size_t b) {
    const int32_t ra = find(parent, static_cast<int32_t>(a)), rb = find(parent, static_cast<int32_t>(b));
    if (ra != rb) parent[static_cast<size_t>(std::max(ra, rb))] = std::min(ra, rb);
  };
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i) {
        const size_t at = static_cast<size_t>(i + nx * (j + ny * k));
        const int32_t c = v.voxels[at];
        if (c <= 0) continue;
        if (i > 0 && v.voxels[at - 1] == c) unite(at, at - 1);
        if (j > 0 && v.voxels[at - static_cast<size_t>(nx)] == c) unite(at, at - static_cast<size_t>(nx));
        if (k > 0 && v.voxels[at - static_cast<size_t>(nx * ny)] == c) unite(at, at - static_cast<size_t>(nx * ny));
      }
  std::vector<int64_t> size(n, 0);
  for (size_t at = 0; at < n; ++at)
    if (v.voxels[at] > 0) ++size[static_cast<size_t>(find(parent, static_cast<int32_t>(at)))];
  std::vector<int32_t> best_root(static_cast<size_t>(num_classes), -1);
  std::vector<int64_t> best_size(static_cast<size_t>(num_classes), 0);
  for (size_t at = 0; at < n; ++at) {
    const int32_t c = v.voxels[at];
    if (c <= 0 || c >= num_classes || parent[at] != static_cast<int32_t>(at)) continue;
    if (size[at] > best_size[static_cast<size_t>(c)]) {
      best_size[static_cast<size_t>(c)] = size[at];
      best_root[static_cast<size_t>(c)] = static_cast<int32_t>(at);
    }
  }
  for (size_t at = 0; at < n; ++at) {
    const int32_t c = v.voxels[at];
    if (c > 0 && c < num_classes && find(parent, static_cast<int32_t>(at)) != best_root[static_cast<size_t>(c)]) v.voxels[at] = 0;
  }
}

}  // namespace coordseg
