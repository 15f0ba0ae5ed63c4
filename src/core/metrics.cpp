#include "coordseg/core/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "coordseg/core/error.h"
#include "coordseg/core/parallel.h"

namespace coordseg {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// 1D squared distance transform of f (lower envelope of parabolas), sample spacing h.
void dt1d(const double* f, double* d, int64_t n, double h, std::vector<int64_t>& v, std::vector<double>& z) {
  int64_t k = 0;
  int64_t first = -1;
  for (int64_t q = 0; q < n; ++q)
    if (f[q] < kInf) {
      first = q;
      break;
    }
  if (first < 0) {
    for (int64_t q = 0; q < n; ++q) d[q] = kInf;
    return;
  }
  v[0] = first;
  z[0] = -kInf;
  z[1] = kInf;
  for (int64_t q = first + 1; q < n; ++q) {
    if (!(f[q] < kInf)) continue;
    double s;
    for (;;) {
      const int64_t p = v[static_cast<size_t>(k)];
      const double qh = q * h, ph = p * h;
      s = ((f[q] + qh * qh) - (f[p] + ph * ph)) / (2 * (qh - ph));
      if (s <= z[static_cast<size_t>(k)] && k > 0) {
        --k;
        continue;
      }
      break;
    }
    ++k;
    v[static_cast<size_t>(k)] = q;
    z[static_cast<size_t>(k)] = s;
    z[static_cast<size_t>(k) + 1] = kInf;
  }
  k = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (z[static_cast<size_t>(k) + 1] < q * h) ++k;
    const double diff = (q - v[static_cast<size_t>(k)]) * h;
    d[q] = diff * diff + f[v[static_cast<size_t>(k)]];
  }
}

// Surface voxels of `inside` within a box.
std::vector<uint8_t> surface(const std::vector<uint8_t>& inside, const std::array<int64_t, 3>& d) {
  std::vector<uint8_t> s(inside.size(), 0);
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const size_t at = static_cast<size_t>(i + d[0] * (j + d[1] * k));
        if (!inside[at]) continue;
        const bool edge = i == 0 || j == 0 || k == 0 || i == d[0] - 1 || j == d[1] - 1 || k == d[2] - 1;
        s[at] = edge || !inside[at - 1] || !inside[at + 1] || !inside[at - static_cast<size_t>(d[0])] ||
                !inside[at + static_cast<size_t>(d[0])] || !inside[at - static_cast<size_t>(d[0] * d[1])] ||
                !inside[at + static_cast<size_t>(d[0] * d[1])];
      }
  return s;
}

}  // namespace

std::vector<double> squared_distance_transform(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& dims,
                                               const std::array<double, 3>& spacing, const DistanceOptions& options) {
  std::vector<double> g(mask.size());
  const double cut = options.max_mm * options.max_mm;  // squared distances above it: +inf
  const int64_t n_max = std::max({dims[0], dims[1], dims[2]});
  const int64_t stride[3] = {1, dims[0], dims[0] * dims[1]};
  // Along x the mask is binary: each voxel's distance to the nearest set voxel of its row,
  // in two sweeps.
  const double hx = spacing[0];
  parallel_for(dims[1] * dims[2], options.threads, [&](int64_t first, int64_t last) {
    for (int64_t l = first; l < last; ++l) {
      const uint8_t* m = mask.data() + l * dims[0];
      double* out = g.data() + l * dims[0];
      int64_t seen = -1;
      for (int64_t i = 0; i < dims[0]; ++i) {
        if (m[i]) seen = i;
        out[i] = seen < 0 ? kInf : static_cast<double>(i - seen);
      }
      seen = -1;
      for (int64_t i = dims[0] - 1; i >= 0; --i) {
        if (m[i]) seen = i;
        if (seen >= 0) out[i] = std::min(out[i], static_cast<double>(seen - i));
        const double diff = out[i] * hx;  // as dt1d computes it
        out[i] = diff * diff <= cut ? diff * diff : kInf;
      }
    }
  });
  for (int axis = 1; axis < 3; ++axis) {
    const int64_t n = dims[static_cast<size_t>(axis)];
    // Lines along the axis, kBlock neighbours along x at a time: the block's values at one
    // position along the axis are adjacent in memory, so gathering and scattering a block reads
    // and writes whole cache lines. Blocks are independent: each thread takes a contiguous
    // range of them, with its own buffers.
    constexpr int64_t kBlock = 8;
    const int64_t per_row = (dims[0] + kBlock - 1) / kBlock;
    const int64_t groups = axis == 1 ? dims[2] : dims[1];  // z planes (y pass) or y rows (z pass)
    parallel_for(groups * per_row, options.threads, [&](int64_t first, int64_t last) {
      std::vector<double> block(static_cast<size_t>(n * kBlock)), f(static_cast<size_t>(n_max)), d(static_cast<size_t>(n_max)),
          z(static_cast<size_t>(n_max) + 1);
      std::vector<int64_t> v(static_cast<size_t>(n_max));
      for (int64_t bl = first; bl < last; ++bl) {
        const int64_t group = bl / per_row, x0 = (bl % per_row) * kBlock, w = std::min(kBlock, dims[0] - x0);
        const int64_t start = (axis == 1 ? group * dims[0] * dims[1] : group * dims[0]) + x0;
        bool any_block = false;
        for (int64_t s = 0; s < n; ++s) {
          const double* src = g.data() + start + s * stride[axis];
          for (int64_t b = 0; b < w; ++b) {
            block[static_cast<size_t>(s * kBlock + b)] = src[b];
            any_block = any_block || src[b] < kInf;
          }
        }
        if (!any_block) continue;  // stays +inf
        for (int64_t b = 0; b < w; ++b) {
          bool any = false;
          for (int64_t s = 0; s < n; ++s) {
            f[static_cast<size_t>(s)] = block[static_cast<size_t>(s * kBlock + b)];
            any = any || f[static_cast<size_t>(s)] < kInf;
          }
          if (!any) continue;  // stays +inf
          dt1d(f.data(), d.data(), n, spacing[static_cast<size_t>(axis)], v, z);
          for (int64_t s = 0; s < n; ++s) {
            const double d2 = d[static_cast<size_t>(s)];
            block[static_cast<size_t>(s * kBlock + b)] = d2 <= cut ? d2 : kInf;
          }
        }
        for (int64_t s = 0; s < n; ++s) {
          double* dst = g.data() + start + s * stride[axis];
          for (int64_t b = 0; b < w; ++b) dst[b] = block[static_cast<size_t>(s * kBlock + b)];
        }
      }
    });
  }
  return g;
}

std::vector<ClassMetrics> class_metrics(const LabelVolume& pred, const LabelVolume& truth, int num_classes) {
  check_same_grid(truth.grid, truth.name("truth"), pred.grid, pred.name("prediction"));
  const auto& dims = truth.grid.dims;
  std::vector<ClassMetrics> out(static_cast<size_t>(num_classes));
  // Counts of every class, and the bounding box of each class in both maps (distances need
  // no more), in one pass over the volume; values outside 0..num_classes-1 count for none.
  const auto nc = static_cast<size_t>(num_classes);
  std::vector<int64_t> both(nc, 0);
  std::vector<std::array<int64_t, 3>> lo(nc, {dims[0], dims[1], dims[2]}), hi(nc, {-1, -1, -1});
  const auto grow = [&](int32_t c, int64_t i, int64_t j, int64_t k) {
    auto& l = lo[static_cast<size_t>(c)];
    auto& h = hi[static_cast<size_t>(c)];
    l = {std::min(l[0], i), std::min(l[1], j), std::min(l[2], k)};
    h = {std::max(h[0], i), std::max(h[1], j), std::max(h[2], k)};
  };
  for (int64_t k = 0; k < dims[2]; ++k)
    for (int64_t j = 0; j < dims[1]; ++j) {
      const size_t row = static_cast<size_t>(dims[0] * (j + dims[1] * k));
      for (int64_t i = 0; i < dims[0]; ++i) {
        const int32_t p = pred.voxels[row + static_cast<size_t>(i)], t = truth.voxels[row + static_cast<size_t>(i)];
        const bool p_in = p >= 0 && p < num_classes, t_in = t >= 0 && t < num_classes;
        if (p_in) {
          ++out[static_cast<size_t>(p)].pred_voxels;
          grow(p, i, j, k);
        }
        if (t_in) {
          ++out[static_cast<size_t>(t)].truth_voxels;
          if (t != p) grow(t, i, j, k);
          else ++both[static_cast<size_t>(t)];
        }
      }
    }
  for (int c = 0; c < num_classes; ++c) {
    ClassMetrics& m = out[static_cast<size_t>(c)];
    const auto& l = lo[static_cast<size_t>(c)];
    const auto& h = hi[static_cast<size_t>(c)];
    const int64_t both_c = both[static_cast<size_t>(c)];
    if (m.pred_voxels == 0 && m.truth_voxels == 0) {
      m.dice = m.jaccard = m.hd95 = m.assd = kNaN;
      continue;
    }
    m.dice = 2.0 * both_c / static_cast<double>(m.pred_voxels + m.truth_voxels);
    m.jaccard = both_c / static_cast<double>(m.pred_voxels + m.truth_voxels - both_c);
    if (m.pred_voxels == 0 || m.truth_voxels == 0) {
      m.hd95 = m.assd = kNaN;
      continue;
    }
    // The box, one voxel larger on each side where the volume allows.
    std::array<int64_t, 3> b0{}, bd{};
    for (size_t a = 0; a < 3; ++a) {
      b0[a] = std::max<int64_t>(0, l[a] - 1);
      bd[a] = std::min<int64_t>(dims[a] - 1, h[a] + 1) - b0[a] + 1;
    }
    std::vector<uint8_t> in_p(static_cast<size_t>(bd[0] * bd[1] * bd[2])), in_t(in_p.size());
    for (int64_t k = 0; k < bd[2]; ++k)
      for (int64_t j = 0; j < bd[1]; ++j)
        for (int64_t i = 0; i < bd[0]; ++i) {
          const size_t src = static_cast<size_t>((b0[0] + i) + dims[0] * ((b0[1] + j) + dims[1] * (b0[2] + k)));
          const size_t dst = static_cast<size_t>(i + bd[0] * (j + bd[1] * k));
          in_p[dst] = pred.voxels[src] == c;
          in_t[dst] = truth.voxels[src] == c;
        }
    // A surface on the box edge is a real surface only if the volume ends there; cropping
    // keeps a one-voxel margin, so box-edge voxels are outside both structures anyway.
    const auto sp = surface(in_p, bd), st = surface(in_t, bd);
    const auto dt_p = squared_distance_transform(sp, bd, truth.grid.spacing);
    const auto dt_t = squared_distance_transform(st, bd, truth.grid.spacing);
    std::vector<double> distances;
    for (size_t i = 0; i < sp.size(); ++i) {
      if (sp[i]) distances.push_back(std::sqrt(dt_t[i]));
      if (st[i]) distances.push_back(std::sqrt(dt_p[i]));
    }
    std::sort(distances.begin(), distances.end());
    double sum = 0;
    for (const double d : distances) sum += d;
    m.assd = sum / static_cast<double>(distances.size());
    // 95th percentile, linear between order statistics (numpy's default).
    const double rank = 0.95 * static_cast<double>(distances.size() - 1);
    const size_t r0 = static_cast<size_t>(std::floor(rank));
    const size_t r1 = std::min(r0 + 1, distances.size() - 1);
    m.hd95 = distances[r0] + (rank - static_cast<double>(r0)) * (distances[r1] - distances[r0]);
  }
  return out;
}

}  // namespace coordseg
