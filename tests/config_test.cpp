#include "coordseg/core/config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

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
  EXPECT_EQ(plain.optimizer, OptimizerKind::kAdam);
  EXPECT_DOUBLE_EQ(plain.lr, 1e-4);
  EXPECT_EQ(plain.norm, Norm::kNone);
  EXPECT_EQ(plain.coord, CoordMode::kNone);
  EXPECT_DOUBLE_EQ(plain.overlap, 0.75);
  EXPECT_EQ(plain.gpus, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(plain.intensity_scheme(), IntensityScheme::kCT);
  const TrainConfig gn = TrainConfig::from_file(dir + "/ct_train_GN.json");
  EXPECT_EQ(gn.norm, Norm::kGroup);
  EXPECT_EQ(gn.to_json()["NORMALIZATION"], "group");  // the canonical word is what config.json stores
  EXPECT_EQ(TrainConfig::from_file(dir + "/ct_train_coord.json").coord, CoordMode::kLocal);
  EXPECT_EQ(TrainConfig::from_file(dir + "/ct_train_coord_input.json").coord, CoordMode::kGlobal);
}

TEST(Config, ResolvedConfigurationRoundTrips) {
  TrainConfig c = TrainConfig::from_file(std::string(COORDSEG_REFERENCE_PARAMS) + "/ct_train_coord_input.json");
  c.epochs = 7;
  c.spacing = {1.5, 1.5, 2.0};
  c.label_names = {"bg", "a", "b", "c", "d", "e", "f", "g"};
  const TrainConfig back = TrainConfig::from_json(nlohmann::json::parse(c.to_json().dump()), "config.json");
  EXPECT_EQ(back.to_json().dump(), c.to_json().dump());
  EXPECT_EQ(back.coord, CoordMode::kGlobal);
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
  EXPECT_EQ(c.intensity_scheme(), IntensityScheme::kZScore);
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

TEST(Settings, OneOrThreeSides) {
  EXPECT_EQ(one_or_three_sides({}, "--tile"), (std::array<int64_t, 3>{0, 0, 0}));
  EXPECT_EQ(one_or_three_sides({96}, "--tile"), (std::array<int64_t, 3>{96, 96, 96}));
  EXPECT_EQ(one_or_three_sides({64, 96, 128}, "--tile"), (std::array<int64_t, 3>{64, 96, 128}));
  try {
    one_or_three_sides({64, 96}, "--tile");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--tile: give one side or three (D H W), not two");
    EXPECT_EQ(e.exit_code(), 2);
  }
  EXPECT_THROW(one_or_three_sides({1, 2, 3, 4}, "--tile"), Error);
}

TEST(Settings, WordsAliasesAndErrors) {
  EXPECT_EQ(parse_setting<Norm>("instance"), Norm::kInstance);
  EXPECT_EQ(parse_setting<Norm>("InstanceNormalization"), Norm::kInstance);
  EXPECT_EQ(parse_setting<Norm>("0"), Norm::kNone);
  EXPECT_EQ(to_string(Norm::kGroup), "group");
  EXPECT_EQ(to_string(Amp::kBf16), "bf16");
  EXPECT_EQ(parse_setting<IntensityScheme>(""), IntensityScheme::kAuto);
  EXPECT_EQ(setting_choices<LossKind>(), "dice, ce, dice_ce or weighted_ce");
  try {
    parse_setting<Amp>("fp8", "--amp");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--amp: unknown value 'fp8' (expected none, bf16 or fp16)");
    EXPECT_EQ(e.exit_code(), 2);
  }
  // Every canonical word reads back as its value, for every setting.
  auto round_trip = [](auto tag) {
    using E = decltype(tag);
    for (const auto& [value, word] : setting_words<E>().words) EXPECT_EQ(parse_setting<E>(word), value) << word;
  };
  round_trip(DataModality{});
  round_trip(OptimizerKind{});
  round_trip(Norm{});
  round_trip(CoordMode{});
  round_trip(Activation{});
  round_trip(Upsampling{});
  round_trip(LossKind{});
  round_trip(Schedule{});
  round_trip(IntensityScheme{});
  round_trip(Amp{});
  round_trip(Init{});
}

TEST(Config, EveryStoredKeyIsReadBackAndEveryKeyIsListedOnce) {
  std::set<std::string> names;
  for (const auto& k : config_keys()) {
    EXPECT_TRUE(names.insert(k.name).second) << k.name << " is listed twice";
    EXPECT_TRUE(k.read) << k.name;
  }
  const auto j = TrainConfig().to_json();
  for (const auto& [key, value] : j.items()) EXPECT_NE(find_config_key(key), nullptr) << key;
  // Read-only keys of the reference resolve into stored ones.
  for (const char* k : {"COORD_NET", "IMAGE_COORD", "OVERLAP_FACTOR"}) {
    ASSERT_NE(find_config_key(k), nullptr);
    EXPECT_FALSE(find_config_key(k)->write) << k;
    EXPECT_FALSE(j.contains(k)) << k;
  }
  EXPECT_EQ(names.size(), j.size() + 3);
}

// docs/params.md lists exactly the keys of config_keys(), each in the section of its kind,
// and every default written there as JSON gives the code's default.
TEST(Config, DocsListEveryKeyWithTheCodesDefault) {
  std::ifstream in(std::string(COORDSEG_DOCS_DIR) + "/params.md");
  ASSERT_TRUE(in) << "docs/params.md";
  std::map<std::string, std::pair<bool, std::string>> documented;  // key -> (reference section, default column)
  bool reference_section = false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) reference_section = line.find("reference") != std::string::npos;
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) cells.push_back(cell);
    ASSERT_GE(cells.size(), 3u) << line;
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" `"));
      s.erase(s.find_last_not_of(" `") + 1);
      return s;
    };
    EXPECT_TRUE(documented.emplace(trim(cells[0]), std::make_pair(reference_section, trim(cells[2]))).second) << line;
  }
  EXPECT_EQ(documented.size(), config_keys().size());
  const std::string defaults = TrainConfig().to_json().dump();
  int checked = 0;
  for (const auto& k : config_keys()) {
    const auto it = documented.find(k.name);
    ASSERT_NE(it, documented.end()) << k.name << " is missing from docs/params.md";
    EXPECT_EQ(it->second.first, k.reference) << k.name << " is documented in the wrong section";
    const auto value = nlohmann::json::parse(it->second.second, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) continue;  // prose ("from the flags", "MM-WHS")
    EXPECT_EQ(TrainConfig::from_json({{k.name, value}}, "docs").to_json().dump(), defaults) << k.name;
    ++checked;
  }
  EXPECT_GE(checked, 40);
}

TEST(Config, ResumeAcceptsOnlyOverridesThatKeepWhatIsTrained) {
  ConfigOverrides safe;
  safe.epochs = 5;
  safe.steps = 100;
  safe.threads = 1;
  safe.device = "cpu";
  EXPECT_NO_THROW(check_resume_overrides(safe));
  ConfigOverrides patch;
  patch.patch = 16;
  try {
    check_resume_overrides(patch);
    FAIL() << "accepted --patch on resume";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_EQ(std::string(e.what()).rfind("--patch: cannot change when resuming", 0), 0u) << e.what();
  }
  for (auto set : std::vector<void (*)(ConfigOverrides&)>{[](ConfigOverrides& o) { o.batch = 4; },
                                                          [](ConfigOverrides& o) { o.lr = 0.1; },
                                                          [](ConfigOverrides& o) { o.seed = 3; },
                                                          [](ConfigOverrides& o) { o.amp = "bf16"; }}) {
    ConfigOverrides o;
    set(o);
    EXPECT_THROW(check_resume_overrides(o), Error);
  }
}

TEST(Config, OverridesApplyWhatWasGivenAndNameTheOption) {
  TrainConfig c;
  ConfigOverrides o;
  o.epochs = 3;
  o.lr = 0.01;
  o.patch = 64;
  o.amp = "bf16";
  apply_overrides(c, o);
  EXPECT_EQ(c.epochs, 3);
  EXPECT_DOUBLE_EQ(c.lr, 0.01);
  EXPECT_EQ(c.patch, (std::array<int64_t, 3>{64, 64, 64}));
  EXPECT_EQ(c.amp, Amp::kBf16);
  EXPECT_EQ(c.batch, 2);  // not given: the file's value
  EXPECT_EQ(c.steps, 0);
  // STEPS 0 given explicitly is a value (use EPOCHS), not "not given".
  c.steps = 500;
  ConfigOverrides zero_steps;
  zero_steps.steps = 0;
  apply_overrides(c, zero_steps);
  EXPECT_EQ(c.steps, 0);

  auto error = [](ConfigOverrides bad) {
    TrainConfig t;
    try {
      apply_overrides(t, bad);
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ConfigOverrides b;
  b.epochs = 0;
  EXPECT_EQ(error(b), "--epochs: must be at least 1, got 0");
  b = {};
  b.lr = -1;
  EXPECT_EQ(error(b), "--lr: must be positive");
  b = {};
  b.lr = std::nan("");
  EXPECT_EQ(error(b), "--lr: must be positive");
  b = {};
  b.batch = 0;
  EXPECT_EQ(error(b), "--batch-size: must be at least 1, got 0");
  b = {};
  b.patch = 0;
  EXPECT_EQ(error(b), "--patch: must be positive");
  b = {};
  b.steps = -1;
  EXPECT_EQ(error(b), "--steps: must not be negative");
  b = {};
  b.seed = -1;
  EXPECT_EQ(error(b), "--seed: must not be negative, got -1");
  b = {};
  b.threads = -5;
  EXPECT_EQ(error(b), "--threads: must not be negative");
  b = {};
  b.amp = "fp8";
  EXPECT_EQ(error(b), "--amp: unknown value 'fp8' (expected none, bf16 or fp16)");
  b = {};
  b.device = "tpu";
  EXPECT_EQ(error(b), "--device: unknown device 'tpu' (expected auto, cpu, cuda or cuda:N)");
}

}  // namespace
}  // namespace coordseg
