#include "coordseg/core/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "coordseg/core/error.h"
#include "test_util.h"

#ifndef COORDSEG_REFERENCE_PARAMS
#error "COORDSEG_REFERENCE_PARAMS must name the folder of the reference parameter files"
#endif

namespace coordseg {
namespace {

std::string expect_usage_error(const nlohmann::json& j) {
  try {
    TrainConfig::from_json(j, "p.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  ADD_FAILURE() << "accepted " << j.dump();
  return "";
}

TEST(Config, TheFourReferenceFilesParse) {
  const std::string dir = COORDSEG_REFERENCE_PARAMS;
  const TrainConfig plain = TrainConfig::from_file(dir + "/ct_train.json");
  EXPECT_EQ(plain.name, "UNET_3D");
  EXPECT_EQ(plain.patch, (std::array<int64_t, 3>{96, 96, 96}));
  EXPECT_DOUBLE_EQ(plain.resize, 0.6);
  EXPECT_EQ(plain.train_patches, 20);
  EXPECT_EQ(plain.valid_patches, 100);
  EXPECT_EQ(plain.batch, 2);
  EXPECT_EQ(plain.epochs, 100);
  EXPECT_EQ(plain.optimizer, "adam");
  EXPECT_DOUBLE_EQ(plain.lr, 1e-4);
  EXPECT_EQ(plain.norm, "none");
  EXPECT_EQ(plain.coord, "none");
  EXPECT_DOUBLE_EQ(plain.overlap, 0.75);
  EXPECT_EQ(plain.gpus, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(plain.intensity_scheme(), "ct");
  EXPECT_EQ(TrainConfig::from_file(dir + "/ct_train_GN.json").norm, "GroupNormalization");
  EXPECT_EQ(TrainConfig::from_file(dir + "/ct_train_coord.json").coord, "local");
  EXPECT_EQ(TrainConfig::from_file(dir + "/ct_train_coord_input.json").coord, "global");
}

TEST(Config, ResolvedConfigurationRoundTrips) {
  TrainConfig c = TrainConfig::from_file(std::string(COORDSEG_REFERENCE_PARAMS) + "/ct_train_coord_input.json");
  c.epochs = 7;
  c.spacing = {1.5, 1.5, 2.0};
  c.label_names = {"bg", "a", "b", "c", "d", "e", "f", "g"};
  const TrainConfig back = TrainConfig::from_json(nlohmann::json::parse(c.to_json().dump()), "config.json");
  EXPECT_EQ(back.to_json().dump(), c.to_json().dump());
  EXPECT_EQ(back.coord, "global");
  EXPECT_EQ(back.epochs, 7);
  EXPECT_EQ(back.label_names[1], "a");
}

TEST(Config, UnknownKeysAndWrongTypesNameTheKey) {
  EXPECT_EQ(expect_usage_error({{"EPOCS", 3}}), "p.json: unknown key EPOCS (see docs/params.md)");
  EXPECT_EQ(expect_usage_error({{"EPOCHS", "ten"}}), "p.json: key EPOCHS must be an integer, got a string (\"ten\")");
  EXPECT_EQ(expect_usage_error({{"LEARNINGRATE", true}}), "p.json: key LEARNINGRATE must be a number, got a boolean (true)");
  EXPECT_EQ(expect_usage_error({{"PATCH_DIM", {1, 2}}}), "p.json: key PATCH_DIM must be a number or [D, H, W], got an array ([1,2])");
  EXPECT_EQ(expect_usage_error({{"COORD_NET", 1}, {"IMAGE_COORD", 1}}),
            "p.json: COORD_NET and IMAGE_COORD are both set; use COORD: \"all\" or one of them");
  EXPECT_EQ(expect_usage_error({{"OPTIMIZER", "rmsprop"}}), "OPTIMIZER: unknown value 'rmsprop' (expected adam, adamw or sgd)");
  EXPECT_EQ(expect_usage_error({{"AUG_GAMMA", 1.5}}), "AUG_GAMMA: must be a probability in [0, 1], got 1.500000");
  EXPECT_EQ(expect_usage_error({{"OUTPUT_CHANNEL", 3}}), "OUTPUT_CHANNEL: 3 classes but the label map has 8 values");
  EXPECT_EQ(expect_usage_error({{"INPUT_CHANNEL", 2}}), "INPUT_CHANNEL: only single-channel images are supported (got 2)");
  EXPECT_EQ(expect_usage_error(nlohmann::json::array()), "p.json: a parameter file must be a JSON object");
  EXPECT_NE(expect_usage_error({{"LABELS", {{"values", {0, 1}}, {"colour", 1}}}}).find("unknown key LABELS.colour"), std::string::npos);
}

TEST(Config, CustomLabelsAndPatchShapes) {
  const TrainConfig c = TrainConfig::from_json(
      {{"OUTPUT_CHANNEL", 3}, {"LABELS", {{"values", {0, 1, 2}}, {"names", {"bg", "lv", "rv"}}}}, {"PATCH_DIM", {32, 64, 48}},
       {"NORMALIZATION", 0}, {"DATA", "MR"}},
      "p.json");
  EXPECT_EQ(c.label_values, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(c.patch, (std::array<int64_t, 3>{32, 64, 48}));
  EXPECT_EQ(c.intensity_scheme(), "zscore");
}

TEST(Config, FilesThatCannotBeRead) {
  testing::TempDir dir;
  EXPECT_THROW(TrainConfig::from_file(dir.file("missing.json")), Error);
  std::ofstream(dir.file("bad.json")) << "{\"EPOCHS\": ";
  try {
    TrainConfig::from_file(dir.file("bad.json"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir.file("bad.json") + ": not valid JSON", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace coordseg
