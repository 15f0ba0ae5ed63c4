// resample_argmax against a direct trilinear evaluation in double precision: each output
// voxel's eight input neighbours weighted per class, then argmax and softmax.
#include "coordseg/core/resample_argmax.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace coordseg {
namespace {

struct Grid3 {
  int64_t d, h, w;
  int64_t voxels() const { return d * h * w; }
};

std::vector<float> random_scores(int64_t classes, const Grid3& g, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> s(static_cast<size_t>(classes * g.voxels()));
  for (auto& v : s) v = normal(rng);
  return s;
}

// Where output voxel i of n samples an axis of m voxels: grid_sample's align_corners = false
// with border padding, written out independently of the library.
void sample(int64_t i, int64_t n, int64_t m, int64_t& lo, int64_t& hi, double& t) {
  const double u = std::min(std::max((i + 0.5) * m / n - 0.5, 0.0), m - 1.0);
  lo = static_cast<int64_t>(std::floor(u));
  hi = std::min(lo + 1, m - 1);
  t = u - static_cast<double>(lo);
}

// Per output voxel, the trilinear scores of every class (double).
std::vector<double> reference_scores(const std::vector<float>& s, int64_t classes, const Grid3& in, const Grid3& out) {
  std::vector<double> r(static_cast<size_t>(classes * out.voxels()));
  for (int64_t z = 0; z < out.d; ++z)
    for (int64_t y = 0; y < out.h; ++y)
      for (int64_t x = 0; x < out.w; ++x) {
        int64_t z0, z1, y0, y1, x0, x1;
        double tz, ty, tx;
        sample(z, out.d, in.d, z0, z1, tz);
        sample(y, out.h, in.h, y0, y1, ty);
        sample(x, out.w, in.w, x0, x1, tx);
        for (int64_t k = 0; k < classes; ++k) {
          const auto at = [&](int64_t zz, int64_t yy, int64_t xx) {
            return static_cast<double>(s[static_cast<size_t>(((k * in.d + zz) * in.h + yy) * in.w + xx)]);
          };
          const double v = (1 - tz) * ((1 - ty) * ((1 - tx) * at(z0, y0, x0) + tx * at(z0, y0, x1)) +
                                       ty * ((1 - tx) * at(z0, y1, x0) + tx * at(z0, y1, x1))) +
                           tz * ((1 - ty) * ((1 - tx) * at(z1, y0, x0) + tx * at(z1, y0, x1)) +
                                 ty * ((1 - tx) * at(z1, y1, x0) + tx * at(z1, y1, x1)));
          r[static_cast<size_t>(k * out.voxels() + (z * out.h + y) * out.w + x)] = v;
        }
      }
  return r;
}

struct Output {
  std::vector<int32_t> labels;
  std::vector<std::vector<float>> probabilities;
};

Output run(const std::vector<float>& s, int64_t classes, const Grid3& in, const Grid3& out, bool probabilities, int threads) {
  Output r;
  r.labels.assign(static_cast<size_t>(out.voxels()), -1);
  ResampleArgmaxOptions o;
  o.threads = threads;
  if (probabilities) {
    r.probabilities.assign(static_cast<size_t>(classes), std::vector<float>(static_cast<size_t>(out.voxels()), -1.0f));
    for (auto& p : r.probabilities) o.probabilities.push_back(p.data());
  }
  resample_argmax(s.data(), classes, {in.d, in.h, in.w}, {out.d, out.h, out.w}, r.labels.data(), o);
  return r;
}

// The first class with the highest score at voxel v of n (scores class-major).
template <class T>
int best_class(const std::vector<T>& scores, int64_t classes, size_t n, size_t v) {
  int best = 0;
  for (int k = 1; k < classes; ++k)
    if (scores[k * n + v] > scores[static_cast<size_t>(best) * n + v]) best = k;
  return best;
}

void expect_matches_reference(int64_t classes, const Grid3& in, const Grid3& out, unsigned seed) {
  const auto s = random_scores(classes, in, seed);
  const auto ref = reference_scores(s, classes, in, out);
  const Output got = run(s, classes, in, out, /*probabilities=*/true, /*threads=*/2);
  const auto n = static_cast<size_t>(out.voxels());
  int64_t checked = 0;
  for (size_t v = 0; v < n; ++v) {
    // The reference's best class and its lead over the second.
    const int best = best_class(ref, classes, n, v);
    double second = -1e300, total = 0;
    for (int k = 0; k < classes; ++k) {
      if (k != best) second = std::max(second, ref[k * n + v]);
      total += std::exp(ref[k * n + v] - ref[static_cast<size_t>(best) * n + v]);
    }
    if (ref[static_cast<size_t>(best) * n + v] - second > 1e-4) {
      ASSERT_EQ(got.labels[v], best) << "voxel " << v;
      ++checked;
    }
    for (int k = 0; k < classes; ++k)
      ASSERT_NEAR(got.probabilities[static_cast<size_t>(k)][v],
                  std::exp(ref[k * n + v] - ref[static_cast<size_t>(best) * n + v]) / total, 5e-6)
          << "class " << k << " voxel " << v;
  }
  EXPECT_GT(checked, static_cast<int64_t>(n) * 99 / 100);  // near-ties are rare
}

TEST(ResampleArgmax, UpsamplingMatchesTrilinearInterpolationThenArgmax) {
  // Uneven factors on every axis, as from a 3.75 mm network grid to a 0.6 mm CT.
  expect_matches_reference(8, {5, 7, 6}, {13, 29, 31}, 1);
}

TEST(ResampleArgmax, DownsamplingAndMixedAxesMatchToo) {
  // A finer network grid along x, coarser elsewhere, and a single-voxel axis.
  expect_matches_reference(3, {9, 4, 17}, {4, 10, 5}, 2);
  expect_matches_reference(2, {1, 6, 5}, {3, 6, 5}, 3);
}

TEST(ResampleArgmax, TheSameGridIsArgmaxWithTiesToTheLowerClass) {
  const Grid3 g{4, 5, 6};
  const int64_t classes = 4;
  // Scores on a coarse step: many voxels have two classes tied at the top.
  std::vector<float> s = random_scores(classes, g, 4);
  for (auto& v : s) v = std::round(v);
  const Output got = run(s, classes, g, g, false, 1);
  const auto n = static_cast<size_t>(g.voxels());
  int64_t ties = 0;
  for (size_t v = 0; v < n; ++v) {
    const int best = best_class(s, classes, n, v);
    for (int k = best + 1; k < classes; ++k) ties += s[k * n + v] == s[static_cast<size_t>(best) * n + v];
    EXPECT_EQ(got.labels[v], best) << v;
  }
  EXPECT_GT(ties, 5);
}

TEST(ResampleArgmax, ResultsDoNotDependOnTheThreadCount) {
  const Grid3 in{6, 8, 7}, out{23, 19, 26};
  const auto s = random_scores(5, in, 5);
  const Output one = run(s, 5, in, out, true, 1), three = run(s, 5, in, out, true, 3);
  EXPECT_EQ(one.labels, three.labels);
  EXPECT_EQ(one.probabilities, three.probabilities);
}

TEST(ResampleArgmax, BadArgumentsAreRefused) {
  const std::vector<float> s(2 * 8, 0.0f);
  std::vector<int32_t> labels(8);
  EXPECT_THROW(resample_argmax(s.data(), 2, {2, 2, 2}, {0, 2, 2}, labels.data()), std::invalid_argument);
  EXPECT_THROW(resample_argmax(s.data(), 0, {2, 2, 2}, {2, 2, 2}, labels.data()), std::invalid_argument);
  std::vector<float> p(8);
  ResampleArgmaxOptions o;
  o.probabilities = {p.data()};  // one map for two classes
  EXPECT_THROW(resample_argmax(s.data(), 2, {2, 2, 2}, {2, 2, 2}, labels.data(), o), std::invalid_argument);
}

}  // namespace
}  // namespace coordseg
