#include "coordseg/torch/sampler.h"
#include "coordseg/torch/batch_loader.h"

#include <gtest/gtest.h>

#include "coordseg/torch/unet3d.h"

namespace coordseg {
namespace {

// A 20 x 24 x 28 (z, y, x) case whose image equals its labels: a labelled cube of class 2
// and a slab of class 1, so alignment after augmentation can be checked voxel by voxel.
// Both keep two voxels off the volume's faces, where zero padding would blend the image.
std::vector<PreparedCase> cube_case() {
  PreparedCase c;
  c.id = "cube";
  c.grid.dims = {28, 24, 20};
  c.grid.spacing = {1, 1, 1};
  auto labels = torch::zeros({20, 24, 28}, torch::kInt64);
  labels.slice(0, 6, 14).slice(1, 8, 16).slice(2, 10, 18).fill_(2);
  labels.slice(0, 2, 5).slice(1, 2, 22).slice(2, 2, 26).fill_(1);
  c.labels = labels;
  c.image = labels.to(torch::kFloat32).unsqueeze(0);
  const auto flat = labels.flatten();
  c.class_voxels = {torch::empty({0}, torch::kInt64), torch::nonzero(flat == 1).flatten(), torch::nonzero(flat == 2).flatten()};
  return {c};
}

TEST(Sampler, CoordinatesOfACropAreTheGlobalCoordinates) {
  const auto cases = cube_case();
  const PatchSampler s(cases, {8, 8, 8}, 0.0, Augmentation::none());
  const auto global = coordinate_channels(1, 20, 24, 28, torch::TensorOptions());
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const Batch b = s.patch(0, seed);
    // Find the crop: the image is an exact copy of a window of the labels.
    const auto img = b.image[0][0];
    bool found = false;
    for (int64_t z = 0; z + 8 <= 20 && !found; ++z)
      for (int64_t y = 0; y + 8 <= 24 && !found; ++y)
        for (int64_t x = 0; x + 8 <= 28 && !found; ++x) {
          const auto window = global.slice(2, z, z + 8).slice(3, y, y + 8).slice(4, x, x + 8);
          if (torch::allclose(b.coords, window, 1e-5, 1e-6)) {
            found = true;
            const auto lab = cases[0].labels.slice(0, z, z + 8).slice(1, y, y + 8).slice(2, x, x + 8);
            EXPECT_TRUE(torch::equal(b.labels[0], lab));
            EXPECT_TRUE(torch::allclose(img, lab.to(torch::kFloat32), 1e-5, 1e-5));
          }
        }
    EXPECT_TRUE(found) << "seed " << seed;
  }
}

TEST(Sampler, AugmentationKeepsImageAndLabelsAligned) {
  const auto cases = cube_case();
  Augmentation a;
  a.rotate = 1.0;
  a.scale = 1.0;
  a.elastic = 1.0;
  a.mirror = 0.5;
  const PatchSampler s(cases, {24, 24, 24}, 1.0, a);
  int64_t cube_voxels = 0;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    const Batch b = s.patch(0, seed);
    const auto img = b.image[0][0], lab = b.labels[0].to(torch::kFloat32);
    // Voxels deep inside a region (one label over their 7 x 7 x 7 neighbourhood) interpolate
    // to exactly their label: image and labels went through the same transform.
    const auto l5 = lab.unsqueeze(0).unsqueeze(0);
    const auto hi = torch::max_pool3d(l5, 7, 1, 3), lo = -torch::max_pool3d(-l5, 7, 1, 3);
    auto interior = (hi == lo)[0][0];
    // ... and only away from the patch faces, whose neighbourhoods lie partly outside it.
    auto core = torch::zeros_like(interior);
    core.slice(0, 3, 21).slice(1, 3, 21).slice(2, 3, 21).fill_(true);
    interior &= core;
    const auto diff = (img - lab).abs().masked_select(interior);
    ASSERT_GT(diff.numel(), 50);
    EXPECT_LT(diff.max().item<float>(), 1e-3) << "seed " << seed;
    cube_voxels += (lab == 2).sum().item<int64_t>();
  }
  EXPECT_GT(cube_voxels, 0);  // foreground sampling finds the cube
}

TEST(Sampler, BatchesArePureFunctionsOfTheSeed) {
  const auto cases = cube_case();
  Augmentation a = Augmentation::none();
  a.rotate = a.noise = a.gamma = a.brightness = 0.5;
  const PatchSampler s(cases, {8, 8, 8}, 0.5, a);
  const Batch x = s.batch({42, 7, 9}), y = s.batch({42, 7, 9}), z = s.batch({43, 7, 9});
  EXPECT_TRUE(torch::equal(x.image, y.image));
  EXPECT_TRUE(torch::equal(x.labels, y.labels));
  EXPECT_FALSE(torch::equal(x.image, z.image));
  EXPECT_EQ(x.image.sizes(), (std::vector<int64_t>{3, 1, 8, 8, 8}));
  EXPECT_EQ(x.coords.sizes(), (std::vector<int64_t>{3, 3, 8, 8, 8}));
  // Each sample is a function of its own seed alone: a batch is the concatenation of its
  // samples' one-patch batches (what makes N ranks of batch B equal one process of N*B).
  EXPECT_TRUE(torch::equal(z.image.narrow(0, 1, 2), x.image.narrow(0, 1, 2)));
  const Batch joined = concatenate({s.batch({42}), s.batch({7, 9})});
  EXPECT_TRUE(torch::equal(joined.image, x.image));
  EXPECT_TRUE(torch::equal(joined.coords, x.coords));
  EXPECT_TRUE(torch::equal(joined.labels, x.labels));
}

TEST(Sampler, SmallVolumesArePadded) {
  auto cases = cube_case();
  const PatchSampler s(cases, {32, 32, 32}, 0.0, Augmentation::none());
  const Batch b = s.patch(0, 1);
  EXPECT_EQ(b.labels.sizes(), (std::vector<int64_t>{1, 32, 32, 32}));
  // Everything of the volume is inside: the cube (8^3) and slab (3 x 24 x 28) are all there.
  EXPECT_EQ((b.labels == 2).sum().item<int64_t>(), 8 * 8 * 8);
  EXPECT_EQ((b.labels == 1).sum().item<int64_t>(), 3 * 20 * 24);
}

TEST(Sampler, LoaderHandsOutBatchesInOrder) {
  std::vector<int64_t> seen;
  BatchLoader loader([](int64_t i) { return Batch{torch::full({1}, static_cast<double>(i)), {}, {}}; }, 20, 3, 2);
  for (int i = 0; i < 20; ++i) seen.push_back(static_cast<int64_t>(loader.next().image.item<double>()));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
}

}  // namespace
}  // namespace coordseg
