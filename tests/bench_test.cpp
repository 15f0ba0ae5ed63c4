// coordseg bench: the figures are what they claim to be (FLOPs from the layers, rates from
// the times, the predictor's window count), on sizes a test can afford.
#include "coordseg/torch/bench.h"

#include <gtest/gtest.h>

#include "coordseg/core/error.h"
#include "coordseg/torch/checkpoint.h"
#include "coordseg/torch/conv3d.h"
#include "coordseg/torch/sliding_window.h"

namespace coordseg {
namespace {

BenchRequest tiny() {
  BenchRequest r;
  r.config.base = 2;
  r.config.depth = 2;
  r.config.patch = {8, 8, 8};
  r.config.batch = 2;
  r.config.loss = LossKind::kDice;
  r.config.threads = 1;
  r.config.device = "cpu";
  r.steps = 2;
  r.warmup = 1;
  return r;
}

TEST(Bench, TrainTimesTheStepAndCountsThreeForwardPasses) {
  const BenchRequest r = tiny();
  const BenchResult b = bench_train(r);
  const auto& j = b.json;
  const double forward = make_unet(r.config)->forward_flops(r.config.patch, r.config.batch);
  EXPECT_DOUBLE_EQ(j.at("gflop").get<double>(), 3 * forward / 1e9);
  const double sec = j.at("sec_per_step").get<double>();
  ASSERT_GT(sec, 0.0);
  EXPECT_DOUBLE_EQ(j.at("patches_per_s").get<double>(), 2 / sec);
  EXPECT_DOUBLE_EQ(j.at("voxels_per_s").get<double>(), 2 * 512 / sec);
  EXPECT_DOUBLE_EQ(j.at("gflop_per_s").get<double>(), 3 * forward / 1e9 / sec);
  // A Dice loss of random logits against random labels: between 0 and 1, far from 0.
  EXPECT_GT(j.at("loss").get<double>(), 0.5);
  EXPECT_LT(j.at("loss").get<double>(), 1.0);
  EXPECT_EQ(j.at("mode"), "train");
  EXPECT_EQ(j.at("threads"), 1);
  EXPECT_EQ(j.at("weight_grad"), to_string(weight_grad_path()));
  ASSERT_EQ(b.lines.size(), 3u);
  EXPECT_EQ(b.lines[0].rfind("bench train: UNet3d base 2, depth 2", 0), 0u) << b.lines[0];
  EXPECT_NE(b.lines[0].find("weight gradient " + to_string(weight_grad_path())), std::string::npos) << b.lines[0];
}

TEST(Bench, InferRunsThePredictorOverEveryWindow) {
  BenchRequest r = tiny();
  r.volume = {12, 16, 20};  // z y x
  r.overlap = 0.5;
  r.steps = 1;
  r.warmup = 0;
  const BenchResult b = bench_infer(r);
  const auto& j = b.json;
  // Windows of 8 at step 4: z 0, 4 (2); y 0, 4, 8 (3); x 0, 4, 8, 12 (4).
  EXPECT_EQ(window_starts(20, 8, 0.5).size(), 4u);
  EXPECT_EQ(j.at("windows").get<int64_t>(), 2 * 3 * 4);
  const double forward = make_unet(r.config)->forward_flops(r.config.patch);
  EXPECT_DOUBLE_EQ(j.at("gflop").get<double>(), 24 * forward / 1e9);
  const double sec = j.at("sec").get<double>();
  EXPECT_DOUBLE_EQ(j.at("voxels_per_s").get<double>(), 12 * 16 * 20 / sec);
  const double phases = j.at("sec_preprocess").get<double>() + j.at("sec_windows").get<double>() +
                        j.at("sec_restore").get<double>() + j.at("sec_postprocess").get<double>();
  EXPECT_NEAR(phases, sec, 1e-3);
  // The whole volume as one tile: one window (z rounded up to... 12 is already even).
  r.tile = {64, 64, 64};
  const BenchResult t = bench_infer(r);
  EXPECT_EQ(t.json.at("windows").get<int64_t>(), 1);
  EXPECT_EQ(t.json.at("window"), (std::array<int64_t, 3>{12, 16, 20}));
}

TEST(Bench, ConvCountsItsOperations) {
  BenchRequest r = tiny();
  r.conv_channels = 4;
  r.conv_side = 8;
  r.config.batch = 1;
  const BenchResult b = bench_conv(r);
  EXPECT_DOUBLE_EQ(b.json.at("gflop").get<double>(), 2.0 * 27 * 4 * 4 * 512 / 1e9);
  EXPECT_GT(b.json.at("gflop_per_s_fp32").get<double>(), 0.0);
  EXPECT_GT(b.json.at("gflop_per_s_bf16").get<double>(), 0.0);
  ASSERT_EQ(b.lines.size(), 3u);
}

TEST(Bench, BadRequestsNameTheOption) {
  BenchRequest r = tiny();
  r.steps = 0;
  try {
    bench_train(r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--steps: must be at least 1");
    EXPECT_EQ(e.exit_code(), 2);
  }
  r = tiny();
  r.volume = {0, 16, 16};
  EXPECT_THROW(bench_infer(r), Error);
  r = tiny();
  r.config.patch = {9, 8, 8};  // not a multiple of 2^(DEPTH-1)
  EXPECT_THROW(bench_train(r), Error);
}

}  // namespace
}  // namespace coordseg
