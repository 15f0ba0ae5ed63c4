#include "coordseg/torch/tensor.h"

#include <gtest/gtest.h>

#include "coordseg/core/error.h"

namespace coordseg {
namespace {

Grid grid() {
  Grid g;
  g.dims = {4, 3, 2};  // x, y, z
  return g;
}

TEST(Tensor, VolumeIsZyxAndXFastest) {
  Volume v = Volume::filled(grid(), 0.0f);
  v.at(3, 1, 0) = 5.0f;  // x = 3, y = 1, z = 0
  v.at(0, 2, 1) = -2.0f;
  const torch::Tensor t = to_tensor(v);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(t[0][1][3].item<float>(), 5.0f);
  EXPECT_EQ(t[1][2][0].item<float>(), -2.0f);
  EXPECT_EQ(t.sum().item<float>(), 3.0f);
}

TEST(Tensor, ViewSharesMemoryAndCopyDoesNot) {
  Volume v = Volume::filled(grid(), 1.0f);
  torch::Tensor view = view_tensor(v);
  torch::Tensor copy = to_tensor(v);
  view[1][0][2] = 9.0f;
  EXPECT_EQ(v.at(2, 0, 1), 9.0f);
  EXPECT_EQ(copy[1][0][2].item<float>(), 1.0f);
}

TEST(Tensor, RoundTripsKeepGeometry) {
  Grid g = grid();
  g.affine.m[0][3] = 12.5;
  const NiftiHeader h = make_header(g);
  const torch::Tensor t = torch::arange(24, torch::kInt64).reshape({2, 3, 4});
  const LabelVolume l = labels_from_tensor(t, g, h);
  EXPECT_EQ(l.at(1, 2, 1), 1 + 4 * (2 + 3 * 1));
  EXPECT_EQ(l.grid.affine.m[0][3], 12.5);
  EXPECT_TRUE(torch::equal(to_tensor(l), t));
  const Volume v = image_from_tensor(t.to(torch::kFloat64) / 2, g, h);
  EXPECT_EQ(v.at(3, 2, 1), 11.5f);
  EXPECT_THROW(image_from_tensor(torch::zeros({2, 4, 3}), g, h), Error);
}

}  // namespace
}  // namespace coordseg
