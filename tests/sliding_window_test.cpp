#include "coordseg/torch/sliding_window.h"

#include <gtest/gtest.h>

#include "coordseg/torch/unet3d.h"

namespace coordseg {
namespace {

TEST(SlidingWindow, WindowStarts) {
  EXPECT_EQ(window_starts(10, 4, 0.5), (std::vector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(window_starts(11, 4, 0.5), (std::vector<int64_t>{0, 2, 4, 6, 7}));
  EXPECT_EQ(window_starts(4, 4, 0.5), (std::vector<int64_t>{0}));
  EXPECT_EQ(window_starts(3, 4, 0.0), (std::vector<int64_t>{0}));
  EXPECT_EQ(window_starts(9, 4, 0.0), (std::vector<int64_t>{0, 4, 5}));
}

TEST(SlidingWindow, AnIdentityModelReproducesTheVolume) {
  torch::manual_seed(0);
  for (const auto& dims : {std::array<int64_t, 3>{13, 17, 9}, std::array<int64_t, 3>{8, 8, 8}, std::array<int64_t, 3>{5, 21, 3}})
    for (const double overlap : {0.0, 0.5, 0.75})
      for (const int64_t batch : {1, 3}) {
        const auto v = torch::randn({2, dims[0], dims[1], dims[2]});
        SlidingWindowOptions o;
        o.patch = {8, 8, 8};
        o.overlap = overlap;
        o.batch = batch;
        int64_t calls = 0, reported = 0, total = 0;
        o.progress = [&](int64_t d, int64_t t) { reported = d, total = t; };
        const auto out = sliding_window(v, 2, [&](const torch::Tensor& w, const torch::Tensor&) { ++calls; return w; }, o);
        EXPECT_EQ(out.sizes(), v.sizes());
        EXPECT_TRUE(torch::allclose(out, v, 1e-5, 1e-6)) << dims[0] << " " << overlap << " " << batch;
        EXPECT_GT(calls, 0);
        EXPECT_EQ(reported, total);  // the last report says all windows are done
        EXPECT_EQ(calls, (total + batch - 1) / batch);
      }
}

TEST(SlidingWindow, WindowsCarryGlobalCoordinates) {
  // A "model" that returns its coordinate channels: stitched, they are the volume's own.
  const auto v = torch::zeros({1, 11, 7, 20});
  SlidingWindowOptions o;
  o.patch = {4, 4, 8};
  o.overlap = 0.5;
  const auto out = sliding_window(v, 3, [](const torch::Tensor&, const torch::Tensor& c) { return c; }, o);
  EXPECT_TRUE(torch::allclose(out, coordinate_channels(1, 11, 7, 20, v.options())[0], 1e-5, 1e-6));
}

TEST(SlidingWindow, MirroredWindowsStillSeeTrueCoordinatesAndUnmirror) {
  torch::manual_seed(1);
  const auto v = torch::randn({1, 9, 7, 12});
  SlidingWindowOptions o;
  o.patch = {4, 4, 8};
  o.overlap = 0.5;
  const auto truth = coordinate_channels(1, 9, 7, 12, v.options())[0];
  for (const std::vector<int64_t>& dims : {std::vector<int64_t>{1}, std::vector<int64_t>{2, 3}, std::vector<int64_t>{1, 2, 3}}) {
    // Stitched coordinates, mirrored back, are the volume's own.
    const auto coords = mirrored_sliding_window(v, 3, [](const torch::Tensor&, const torch::Tensor& c) { return c; }, o, dims);
    EXPECT_TRUE(torch::allclose(coords, truth, 1e-5, 1e-6)) << dims.size();
    // And the image comes back in place.
    const auto image = mirrored_sliding_window(v, 1, [](const torch::Tensor& w, const torch::Tensor&) { return w; }, o, dims);
    EXPECT_TRUE(torch::allclose(image, v, 1e-5, 1e-6)) << dims.size();
  }
}

TEST(SlidingWindow, GaussianMapIsCentredAndPositive) {
  const auto g = gaussian_importance({8, 6, 5});
  EXPECT_FLOAT_EQ(g.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(g[3][2][2].item<float>(), 1.0f);  // the centre voxel of the odd axis, a central one of the even
  EXPECT_LT(g[0][0][0].item<float>(), 0.01f);
  EXPECT_GT(g.min().item<float>(), 0.0f);
  EXPECT_TRUE(torch::allclose(g, g.flip({0, 1, 2})));  // symmetric about the centre
}

}  // namespace
}  // namespace coordseg
