#include "coordseg/core/resample_argmax.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "coordseg/core/parallel.h"

namespace coordseg {

namespace {

// Where the output voxels of one axis sample the input axis: the two neighbours and the
// weight of the upper one.
struct AxisSamples {
  std::vector<int64_t> lo, hi;
  std::vector<float> t;
};

AxisSamples axis_samples(int64_t m, int64_t n) {
  AxisSamples s;
  s.lo.resize(static_cast<size_t>(n));
  s.hi.resize(static_cast<size_t>(n));
  s.t.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double u = (static_cast<double>(i) + 0.5) * static_cast<double>(m) / static_cast<double>(n) - 0.5;
    u = std::clamp(u, 0.0, static_cast<double>(m - 1));
    const auto lo = std::min(static_cast<int64_t>(std::floor(u)), m - 1);
    s.lo[static_cast<size_t>(i)] = lo;
    s.hi[static_cast<size_t>(i)] = std::min(lo + 1, m - 1);
    s.t[static_cast<size_t>(i)] = static_cast<float>(u - static_cast<double>(lo));
  }
  return s;
}

// dst[j] = a[j] + t * (b[j] - a[j]) over n values.
inline void lerp_rows(float* dst, const float* a, const float* b, float t, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dst[j] = a[j] + t * (b[j] - a[j]);
}

}  // namespace

void resample_argmax(const float* scores, int64_t classes, const std::array<int64_t, 3>& in, const std::array<int64_t, 3>& out,
                     int32_t* labels, const ResampleArgmaxOptions& options) {
  for (size_t a = 0; a < 3; ++a)
    if (in[a] < 1 || out[a] < 1) throw std::invalid_argument("resample_argmax: empty grid");
  if (classes < 1) throw std::invalid_argument("resample_argmax: no classes");
  if (!options.probabilities.empty() && static_cast<int64_t>(options.probabilities.size()) != classes)
    throw std::invalid_argument("resample_argmax: " + std::to_string(options.probabilities.size()) +
                                " probability maps for " + std::to_string(classes) + " classes");
  const int64_t d = in[0], h = in[1], w = in[2], D = out[0], H = out[1], W = out[2];
  const AxisSamples sz = axis_samples(d, D), sy = axis_samples(h, H), sx = axis_samples(w, W);
  const int64_t in_plane = h * w, in_volume = d * in_plane, out_row = W, out_plane = H * W;
  const bool probabilities = !options.probabilities.empty();

  parallel_for(D, options.threads, [&](int64_t z_begin, int64_t z_end) {
    // Per class: the output plane's input-resolution plane (z interpolated), the output row's
    // input-resolution row (y interpolated), and the output row (x interpolated).
    std::vector<float> plane(static_cast<size_t>(classes * in_plane)), row(static_cast<size_t>(classes * w)),
        full(static_cast<size_t>(classes * W)), best(static_cast<size_t>(W)), sum(static_cast<size_t>(W));
    for (int64_t z = z_begin; z < z_end; ++z) {
      const auto iz = static_cast<size_t>(z);
      for (int64_t k = 0; k < classes; ++k)
        lerp_rows(plane.data() + k * in_plane, scores + k * in_volume + sz.lo[iz] * in_plane,
                  scores + k * in_volume + sz.hi[iz] * in_plane, sz.t[iz], in_plane);
      for (int64_t y = 0; y < H; ++y) {
        const auto iy = static_cast<size_t>(y);
        for (int64_t k = 0; k < classes; ++k)
          lerp_rows(row.data() + k * w, plane.data() + k * in_plane + sy.lo[iy] * w,
                    plane.data() + k * in_plane + sy.hi[iy] * w, sy.t[iy], w);
        for (int64_t k = 0; k < classes; ++k) {
          const float* r = row.data() + k * w;
          float* f = full.data() + k * W;
          for (int64_t x = 0; x < W; ++x) {
            const auto ix = static_cast<size_t>(x);
            const float a = r[sx.lo[ix]], b = r[sx.hi[ix]];
            f[x] = a + sx.t[ix] * (b - a);
          }
        }
        int32_t* lab = labels + z * out_plane + y * out_row;
        std::copy(full.begin(), full.begin() + W, best.begin());
        std::fill(lab, lab + W, 0);
        for (int64_t k = 1; k < classes; ++k) {
          const float* f = full.data() + k * W;
          for (int64_t x = 0; x < W; ++x) {
            const bool higher = f[x] > best[static_cast<size_t>(x)];
            best[static_cast<size_t>(x)] = higher ? f[x] : best[static_cast<size_t>(x)];
            lab[x] = higher ? static_cast<int32_t>(k) : lab[x];
          }
        }
        if (probabilities) {
          // Softmax, shifted by each voxel's largest score.
          std::fill(sum.begin(), sum.end(), 0.0f);
          for (int64_t k = 0; k < classes; ++k) {
            float* f = full.data() + k * W;
            for (int64_t x = 0; x < W; ++x) {
              f[x] = std::exp(f[x] - best[static_cast<size_t>(x)]);
              sum[static_cast<size_t>(x)] += f[x];
            }
          }
          for (int64_t k = 0; k < classes; ++k) {
            const float* f = full.data() + k * W;
            float* p = options.probabilities[static_cast<size_t>(k)] + z * out_plane + y * out_row;
            for (int64_t x = 0; x < W; ++x) p[x] = f[x] / sum[static_cast<size_t>(x)];
          }
        }
      }
    }
  });
}

}  // namespace coordseg
