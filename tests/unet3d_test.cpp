#include "coordseg/torch/unet3d.h"

#include <gtest/gtest.h>

#include "coordseg/core/error.h"

namespace coordseg {
namespace {

TEST(UNet3d, ReferenceParameterCounts) {
  EXPECT_EQ(UNet3d(UNet3dOptions())->parameter_count(), 22449320);
  EXPECT_EQ(UNet3d(UNet3dOptions().coord(CoordMode::kLocal))->parameter_count(), 22454504);
  EXPECT_EQ(UNet3d(UNet3dOptions().coord(CoordMode::kGlobal))->parameter_count(), 22454504);
  // "all": three more input channels at every 3x3x3 convolution (15 of them, 27 weights each
  // per output filter): 3 * 27 * (64+64+128+128+256+256+512+512+256+256+128+128+64+64+32).
  EXPECT_EQ(UNet3d(UNet3dOptions().coord(CoordMode::kAll))->parameter_count(), 22449320 + 3 * 27 * 2848);
}

TEST(UNet3d, OutputShapesAcrossDepthsAndBases) {
  torch::NoGradGuard no_grad;
  for (const int64_t depth : {1, 2, 3, 4})
    for (const int64_t base : {2, 4}) {
      UNet3d net(UNet3dOptions().base(base).depth(depth).classes(5));
      const int64_t m = net->size_multiple();
      const auto x = torch::randn({2, 1, 2 * m, 3 * m, m});  // odd multiples, anisotropic
      EXPECT_EQ(net->forward(x).sizes(), (std::vector<int64_t>{2, 5, 2 * m, 3 * m, m})) << depth << " " << base;
    }
}

TEST(UNet3d, VariantsRun) {
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 1, 8, 16, 8});
  const auto coords = coordinate_channels(1, 8, 16, 8, x.options());
  for (const auto norm : {Norm::kNone, Norm::kBatch, Norm::kGroup, Norm::kInstance})
    for (const auto coord : {CoordMode::kNone, CoordMode::kLocal, CoordMode::kGlobal, CoordMode::kAll}) {
      UNet3d net(UNet3dOptions().base(8).depth(3).norm(norm).coord(coord).upsampling(Upsampling::kTrilinear)
                     .activation(Activation::kLeakyReLU));
      net->eval();
      const auto y = net->forward(x, coords);
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 8, 8, 16, 8}));
      EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
    }
}

TEST(UNet3d, BadInputsAreClearErrors) {
  UNet3d net(UNet3dOptions().base(2).depth(3));
  EXPECT_THROW(net->forward(torch::randn({1, 1, 8, 8, 6})), Error);  // 6 is not a multiple of 4
  UNet3d global(UNet3dOptions().base(2).depth(2).coord(CoordMode::kGlobal));
  EXPECT_THROW(global->forward(torch::randn({1, 1, 4, 4, 4})), Error);  // coordinates missing
  EXPECT_THROW(UNet3d(UNet3dOptions().base(4).norm(Norm::kGroup)), Error);  // 4 filters, 8 groups
  EXPECT_THROW(parse_setting<CoordMode>("polar"), Error);
  EXPECT_EQ(parse_setting<Norm>("GroupNormalization"), Norm::kGroup);
  EXPECT_EQ(parse_setting<Norm>("0"), Norm::kNone);
}

TEST(UNet3d, CoordinateChannels) {
  const auto c = coordinate_channels(2, 3, 5, 1, torch::TensorOptions());
  EXPECT_EQ(c.sizes(), (std::vector<int64_t>{2, 3, 3, 5, 1}));
  EXPECT_FLOAT_EQ(c[1][0][0][2][0].item<float>(), -1.0f);  // z at d = 0
  EXPECT_FLOAT_EQ(c[1][0][2][2][0].item<float>(), 1.0f);   // z at d = 2
  EXPECT_FLOAT_EQ(c[0][1][1][3][0].item<float>(), 0.5f);   // y at h = 3 of 5
  EXPECT_FLOAT_EQ(c[0][2][1][3][0].item<float>(), 0.0f);   // x axis of length 1
}

TEST(UNet3d, LocalCoordinatesMatchPassingThemExplicitly) {
  // "local" = concatenating patch coordinates at the input: the same as "global" given the
  // patch's own coordinates, with the same weights.
  torch::manual_seed(3);
  UNet3d local(UNet3dOptions().base(2).depth(2).coord(CoordMode::kLocal));
  UNet3d global(UNet3dOptions().base(2).depth(2).coord(CoordMode::kGlobal));
  torch::NoGradGuard no_grad;
  auto lp = local->parameters(), gp = global->parameters();
  for (size_t i = 0; i < lp.size(); ++i) gp[i].copy_(lp[i]);
  const auto x = torch::randn({1, 1, 4, 6, 8});
  const auto coords = coordinate_channels(1, 4, 6, 8, x.options());
  EXPECT_TRUE(torch::allclose(local->forward(x), global->forward(x, coords)));
}

TEST(UNet3d, TrainingMemoryIsCountedFromTheLayers) {
  // base 2, depth 2, no normalisation: level 0 (4 filters) keeps 2 convolutions x (conv,
  // ReLU) = 16 channels plus up (4) and concat (8) and 2 x 2 x 4 = 44; the bottom level
  // (8 filters at 1/8 of the voxels) 2 x 2 x 8 / 8 = 4; head 2 x 2 and 8 logits = 12.
  const UNet3dOptions o = UNet3dOptions().base(2).depth(2);
  const int64_t parameters = UNet3d(o)->parameter_count();
  EXPECT_DOUBLE_EQ(training_memory_bytes(o, {8, 8, 8}, 1, parameters), 4.0 * (512.0 * 60 + 4.0 * parameters));
  // Twice the batch, twice the activations; instance norm adds a tensor per convolution.
  const double one = training_memory_bytes(o, {16, 16, 16}, 1, 0), two = training_memory_bytes(o, {16, 16, 16}, 2, 0);
  EXPECT_DOUBLE_EQ(two, 2 * one);
  EXPECT_GT(training_memory_bytes(UNet3dOptions().base(2).depth(2).norm(Norm::kInstance), {16, 16, 16}, 1, 0), one);
  // The reference network at the reference patch: several GiB, as measured (6.2 GB).
  const UNet3dOptions ref;
  const double gib = training_memory_bytes(ref, {96, 96, 96}, 2, UNet3d(ref)->parameter_count()) / (1 << 30);
  EXPECT_GT(gib, 4.0);
  EXPECT_LT(gib, 12.0);
}

TEST(UNet3d, ForwardFlopsAreCountedFromTheLayers) {
  // base 1, depth 2, 2 classes, patch 4^3: 64 voxels at level 0, 8 at level 1. Weights x
  // output voxels x 2: enc0a 1->2 (54) x 64, enc0b 2->2 (108) x 64, enc1a 2->4 (216) x 8,
  // enc1b 4->4 (432) x 8, up0 4->2 2^3 (64) x 8 input voxels, dec0a 4->2 (216) x 64, dec0b
  // (108) x 64, head 2->1 (54) x 64, out 1->2 1^3 (2) x 64.
  const double by_hand = 2.0 * (54 * 64 + 108 * 64 + 216 * 8 + 432 * 8 + 64 * 8 + 216 * 64 + 108 * 64 + 54 * 64 + 2 * 64);
  EXPECT_DOUBLE_EQ(by_hand, 80768.0);
  const UNet3d net(UNet3dOptions().base(1).depth(2).classes(2));
  EXPECT_DOUBLE_EQ(net->forward_flops({4, 4, 4}), by_hand);
  EXPECT_DOUBLE_EQ(net->forward_flops({4, 4, 4}, 3), 3 * by_hand);
  EXPECT_DOUBLE_EQ(net->forward_flops({8, 4, 4}), 2 * by_hand);
  // Global coordinates: enc0a reads 4 channels, 216 weights instead of 54.
  const UNet3d coord(UNet3dOptions().base(1).depth(2).classes(2).coord(CoordMode::kGlobal));
  EXPECT_DOUBLE_EQ(coord->forward_flops({4, 4, 4}), by_hand + 2.0 * (216 - 54) * 64);
  // The reference network at 96^3: 1.61 TFLOP per patch. The full-resolution level is 884
  // GFLOP of it (2 x 499,648 weights x 96^3: enc0a 1,728, enc0b 110,592, dec0a 221,184,
  // dec0b 110,592, head 55,296, out 256), the next one 455 GFLOP (2 x 2,056,192 x 48^3).
  const double ref = UNet3d(UNet3dOptions())->forward_flops({96, 96, 96});
  EXPECT_NEAR(ref, 1.6066e12, 0.0001e12);
}

TEST(UNet3d, GlorotInitialisationAsKeras) {
  torch::manual_seed(3);
  UNet3d net(UNet3dOptions().base(4).depth(2).norm(Norm::kInstance));
  initialise(*net, Init::kGlorot);
  int convs = 0;
  for (const auto& item : net->named_parameters()) {
    const std::string& name = item.key();
    const torch::Tensor& p = item.value();
    if (p.dim() == 5) {
      // Conv3d (out, in, k, k, k) or ConvTranspose3d (in, out, k, k, k): fans by the kernel volume.
      const double receptive = static_cast<double>(p[0][0].numel());
      const double bound = std::sqrt(6.0 / (receptive * static_cast<double>(p.size(0) + p.size(1))));
      EXPECT_LE(p.abs().max().item<double>(), bound + 1e-7) << name;
      if (p.numel() > 1000) {
        EXPECT_NEAR(p.std().item<double>(), bound / std::sqrt(3.0), 0.1 * bound) << name;
      }
      ++convs;
    } else if (name.find("bias") != std::string::npos && name.find(".0.") != std::string::npos) {
      EXPECT_EQ(p.abs().max().item<double>(), 0.0) << name;  // convolution biases
    }
  }
  EXPECT_EQ(convs, 9);  // depth 2: 4 encoder, 1 transposed, 2 decoder, the head and the output convolution
  // INIT torch keeps LibTorch's own draw.
  torch::manual_seed(3);
  UNet3d a(UNet3dOptions().base(4).depth(2));
  torch::manual_seed(3);
  UNet3d b(UNet3dOptions().base(4).depth(2));
  initialise(*b, Init::kTorch);
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

}  // namespace
}  // namespace coordseg
