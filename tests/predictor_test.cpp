#include "coordseg/torch/predictor.h"

#include <gtest/gtest.h>

#include "coordseg/core/components.h"
#include "coordseg/core/error.h"
#include "coordseg/core/nifti.h"
#include "coordseg/torch/sliding_window.h"
#include "test_util.h"

namespace coordseg {
namespace {

// A checkpoint of an untrained tiny network: predictions are arbitrary but deterministic,
// which is all the geometry checks need.
std::string tiny_checkpoint(const testing::TempDir& dir) {
  TrainConfig c;
  c.base = 2;
  c.depth = 2;
  c.patch = {8, 8, 8};
  c.spacing = {2, 2, 2};  // the inputs are 1.5 mm: resampling there and back
  c.coord = CoordMode::kGlobal;
  c.intensity = IntensityScheme::kZScore;
  torch::manual_seed(5);
  UNet3d net = make_unet(c);
  CheckpointState s;
  s.config = c;
  const std::string path = dir.file("tiny.pt");
  save_checkpoint(path, net, nullptr, s);
  return path;
}

PredictOptions one_thread() {
  PredictOptions o;
  o.threads = 1;
  return o;
}

// A smooth image on an LPS or RAS grid: the same world content either way.
Volume scene(bool lps) {
  Grid g;
  g.dims = {21, 17, 13};
  g.spacing = {1.5, 1.5, 1.5};
  g.affine = Affine::identity();
  for (int a = 0; a < 3; ++a) g.affine.m[a][a] = 1.5;
  if (lps) {
    g.affine.m[0][0] = g.affine.m[1][1] = -1.5;
    g.affine.m[0][3] = 20 * 1.5;
    g.affine.m[1][3] = 16 * 1.5;
  }
  Volume v = Volume::filled(g, 0.0f);
  for (int64_t k = 0; k < 13; ++k)
    for (int64_t j = 0; j < 17; ++j)
      for (int64_t i = 0; i < 21; ++i) {
        const auto w = g.affine.apply(i, j, k);
        v.at(i, j, k) = static_cast<float>(std::sin(w[0] / 5.0) * 100 + w[1] * 3 + std::cos(w[2] / 4.0) * 50);
      }
  v.header = make_header(g, 1, 2);
  return v;
}

TEST(Predictor, OutputsHaveTheInputsGridAndHeader) {
  testing::TempDir dir;
  const Predictor p(tiny_checkpoint(dir), one_thread());
  const Volume lps = scene(true);
  const Prediction out = p.predict(lps);
  EXPECT_EQ(out.labels.grid.dims, lps.grid.dims);
  EXPECT_EQ(out.labels.grid.affine.max_abs_diff(lps.grid.affine), 0.0);
  EXPECT_EQ(out.labels.header.sform_code, 2);
  EXPECT_EQ(out.labels.header.qform_code, 1);
  EXPECT_GT(out.windows, 0);
  for (const int32_t v : out.labels.voxels) EXPECT_EQ(LabelMap::mmwhs().class_of(v) >= 0, true);
}

TEST(Predictor, RasAndLpsCopiesGetTheSameLabelsAtTheSameWorldPositions) {
  testing::TempDir dir;
  const Predictor p(tiny_checkpoint(dir), one_thread());
  const Volume ras = scene(false), lps = scene(true);
  const LabelVolume a = p.predict(ras).labels, b = p.predict(lps).labels;
  int64_t differ = 0, distinct = 0;
  for (int64_t k = 0; k < 13; ++k)
    for (int64_t j = 0; j < 17; ++j)
      for (int64_t i = 0; i < 21; ++i) {
        differ += a.at(i, j, k) != b.at(20 - i, 16 - j, k);  // the same world voxel
        distinct += a.at(i, j, k) != a.at(0, 0, 0);
      }
  EXPECT_EQ(differ, 0);
  EXPECT_GT(distinct, 0);  // not a constant map, so the comparison means something
}

TEST(Predictor, ProbabilitiesSumToOne) {
  testing::TempDir dir;
  PredictOptions o = one_thread();
  o.probabilities = true;
  o.overlap = 0.0;
  const Predictor p(tiny_checkpoint(dir), o);
  const Prediction out = p.predict(scene(false));
  ASSERT_EQ(out.probabilities.size(), 8u);
  for (size_t i = 0; i < out.labels.voxels.size(); i += 97) {
    double sum = 0;
    for (const auto& pr : out.probabilities) sum += pr.voxels[i];
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
}

int64_t components_removed(const LabelVolume& values) {
  LabelVolume classes = to_classes(values, LabelMap::mmwhs());
  const LabelVolume before = classes;
  keep_largest_components(classes, 8);
  int64_t changed = 0;
  for (size_t i = 0; i < classes.voxels.size(); ++i) changed += classes.voxels[i] != before.voxels[i];
  return changed;
}

TEST(Predictor, KeepLargestLeavesOneComponentPerStructureAndChangesNothingElse) {
  testing::TempDir dir;
  const std::string ckpt = tiny_checkpoint(dir);
  PredictOptions o = one_thread();
  const LabelVolume plain = Predictor(ckpt, o).predict(scene(true)).labels;
  o.cleanup = PredictOptions::Cleanup::kLargest;
  const LabelVolume kept = Predictor(ckpt, o).predict(scene(true)).labels;
  ASSERT_GT(components_removed(plain), 0) << "the untrained network's map must have fragments for this test to mean anything";
  EXPECT_EQ(components_removed(kept), 0);
  int64_t removed = 0;
  for (size_t i = 0; i < kept.voxels.size(); ++i) {
    if (kept.voxels[i] != plain.voxels[i]) {
      EXPECT_EQ(kept.voxels[i], 0) << "keep-largest only removes voxels";
      ++removed;
    }
  }
  EXPECT_EQ(removed, components_removed(plain));
}

// With mirroring TTA over the whole flip group, predicting a mirrored image gives the
// mirrored prediction (no coordinates, windows that tile the volume exactly); a single
// pass does not.
TEST(Predictor, TtaMakesThePredictionMirrorEquivariant) {
  testing::TempDir dir;
  TrainConfig c;
  c.base = 2;
  c.depth = 2;
  c.patch = {8, 8, 8};
  c.intensity = IntensityScheme::kZScore;
  torch::manual_seed(11);
  UNet3d net = make_unet(c);
  CheckpointState s;
  s.config = c;
  save_checkpoint(dir.file("plain.pt"), net, nullptr, s);

  Grid g;
  g.dims = {16, 16, 8};
  Volume v = Volume::filled(g, 0.0f), mirrored = v;
  for (int64_t k = 0; k < 8; ++k)
    for (int64_t j = 0; j < 16; ++j)
      for (int64_t i = 0; i < 16; ++i) {
        v.at(i, j, k) = static_cast<float>(std::sin(0.7 * i + 0.3 * j * j) + 0.1 * k * i);
        mirrored.at(15 - i, j, k) = v.at(i, j, k);
      }
  auto asymmetry = [&](bool tta) {
    PredictOptions o = one_thread();
    o.overlap = 0.0;
    o.probabilities = true;
    o.tta = tta;
    const Predictor p(dir.file("plain.pt"), o);
    const Prediction a = p.predict(v), b = p.predict(mirrored);
    EXPECT_EQ(a.windows, (tta ? 8 : 1) * 2 * 2 * 1);
    double worst = 0;
    for (size_t k = 0; k < a.probabilities.size(); ++k)
      for (int64_t z = 0; z < 8; ++z)
        for (int64_t y = 0; y < 16; ++y)
          for (int64_t x = 0; x < 16; ++x)
            worst = std::max(worst, static_cast<double>(std::fabs(a.probabilities[k].at(x, y, z) -
                                                                   b.probabilities[k].at(15 - x, y, z))));
    return worst;
  };
  // An untrained network's probabilities stay near 1/8: compare the two against each other.
  const double single = asymmetry(false), tta = asymmetry(true);
  EXPECT_GT(single, 1e-4);
  EXPECT_LT(tta, single / 100) << "single pass " << single;
}

TEST(Predictor, AVolumeThatCannotFitIsRefusedBeforeAnyWork) {
  testing::TempDir dir;
  const Predictor p(tiny_checkpoint(dir), one_thread());
  Grid g;
  g.dims = {64, 64, 64};
  g.spacing = {50, 50, 50};  // resampled to the run's 2 mm: 1600^3 voxels
  g.affine = Affine::from_spacing(g.spacing);
  Volume huge = Volume::filled(g, 0.0f);
  huge.source = "huge.nii.gz";
  try {
    p.predict(huge);
    FAIL() << "started a prediction that cannot fit";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("huge.nii.gz: prediction on the resampled 1600 x 1600 x 1600 grid needs ", 0), 0u) << what;
    EXPECT_NE(what.find("GiB of available memory"), std::string::npos) << what;
  }
}

TEST(Predictor, FilesAreNeverOverwrittenWithoutForce) {
  testing::TempDir dir;
  const std::string ckpt = tiny_checkpoint(dir);
  std::filesystem::create_directories(dir.file("in"));
  write_image(dir.file("in/case_7_image.nii.gz"), scene(true), ImageType::kFloat32);
  const Predictor p(ckpt, one_thread());
  std::vector<std::string> written;
  predict_files(p, {dir.file("in")}, dir.file("out"), [&](const PredictedFile& f) { written.push_back(f.output); });
  ASSERT_EQ(written, std::vector<std::string>{dir.file("out/case_7_label.nii.gz")});
  const NiftiInfo info = read_nifti_info(written[0]);
  EXPECT_EQ(orientation_code(info.grid.affine), "LPS");
  EXPECT_EQ(info.header.sform_code, 2);
  EXPECT_THROW(predict_files(p, {dir.file("in")}, dir.file("out"), {}), Error);  // exists
  PredictOptions force = one_thread();
  force.force = true;
  EXPECT_NO_THROW(predict_files(Predictor(ckpt, force), {dir.file("in")}, dir.file("out"), {}));
  // Writing next to the input under the input's own name is refused even with --force.
  std::filesystem::copy_file(dir.file("in/case_7_image.nii.gz"), dir.file("in/case_8_label.nii.gz"));
  EXPECT_THROW(predict_files(Predictor(ckpt, force), {dir.file("in/case_8_label.nii.gz")}, dir.file("in"), {}), Error);
  EXPECT_THROW(Predictor(dir.file("missing.pt"), one_thread()), Error);
}

// Reading the next case while one is predicted (on by default on GPUs only) gives the same
// files in the same order, and a case that cannot be read stops the run after the cases
// before it are complete.
TEST(Predictor, ReadingAheadGivesTheSameFilesAndStopsAtABadCase) {
  testing::TempDir dir;
  const std::string ckpt = tiny_checkpoint(dir);
  std::filesystem::create_directories(dir.file("in"));
  write_image(dir.file("in/case_1_image.nii.gz"), scene(true), ImageType::kFloat32);
  write_image(dir.file("in/case_2_image.nii.gz"), scene(false), ImageType::kFloat32);
  write_image(dir.file("in/case_3_image.nii.gz"), scene(true), ImageType::kInt16);
  PredictOptions ahead = one_thread(), plain = one_thread();
  ahead.read_ahead = PredictOptions::ReadAhead::kOn;
  plain.read_ahead = PredictOptions::ReadAhead::kOff;
  std::vector<std::string> order;
  predict_files(Predictor(ckpt, ahead), {dir.file("in")}, dir.file("ahead"),
                [&](const PredictedFile& f) { order.push_back(f.input); });
  predict_files(Predictor(ckpt, plain), {dir.file("in")}, dir.file("plain"), {});
  ASSERT_EQ(order, (std::vector<std::string>{dir.file("in/case_1_image.nii.gz"), dir.file("in/case_2_image.nii.gz"),
                                             dir.file("in/case_3_image.nii.gz")}));
  for (const char* c : {"case_1", "case_2", "case_3"}) {
    const LabelVolume a = read_labels(dir.file(std::string("ahead/") + c + "_label.nii.gz"));
    const LabelVolume b = read_labels(dir.file(std::string("plain/") + c + "_label.nii.gz"));
    EXPECT_EQ(a.voxels, b.voxels) << c;
    EXPECT_TRUE(same_grid(a.grid, b.grid)) << c;
  }
  // The second case is cut short: the first is written and reported, then its error.
  std::filesystem::resize_file(dir.file("in/case_2_image.nii.gz"), 100);
  order.clear();
  try {
    predict_files(Predictor(ckpt, ahead), {dir.file("in")}, dir.file("bad"),
                  [&](const PredictedFile& f) { order.push_back(f.input); });
    FAIL() << "a truncated case was predicted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("case_2_image.nii.gz"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::filesystem::exists(dir.file("bad/case_1_label.nii.gz")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad/case_2_label.nii.gz")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad/case_3_label.nii.gz")));
}

// --timings: the phases of a case, each measured, together the whole prediction.
TEST(Predictor, EveryPhaseIsTimedAndThePhasesMakeUpThePrediction) {
  testing::TempDir dir;
  const std::string ckpt = tiny_checkpoint(dir);
  std::filesystem::create_directories(dir.file("in"));
  write_image(dir.file("in/case_3_image.nii.gz"), scene(true), ImageType::kFloat32);
  const Predictor p(ckpt, one_thread());
  std::vector<Prediction> done;
  predict_files(p, {dir.file("in")}, dir.file("out"), [&](const PredictedFile& f) { done.push_back(f.prediction); });
  ASSERT_EQ(done.size(), 1u);
  const PredictionTimes& t = done[0].times;
  for (const double s : {t.read, t.preprocess, t.windows, t.restore, t.postprocess, t.write}) EXPECT_GT(s, 0.0);
  // predict() is preprocess .. postprocess, back to back; read and write come on top.
  EXPECT_NEAR(t.preprocess + t.windows + t.restore + t.postprocess, done[0].seconds, 1e-3);
  EXPECT_GT(t.windows, 0.1 * done[0].seconds);  // the network is a real part of it
}

// --tile: larger windows than the patch, cut to the volume; checked against the model.
TEST(Predictor, TilesCoverTheVolumeInFewerWindows) {
  testing::TempDir dir;
  const std::string ckpt = tiny_checkpoint(dir);  // patch 8, depth 2 (sides: multiples of 2)
  const Volume image = scene(false);              // 21 x 17 x 13 at 1.5 mm: 16 x 13 x 10 at 2 mm
  const Prediction plain = Predictor(ckpt, one_thread()).predict(image);
  EXPECT_EQ(plain.window, (std::array<int64_t, 3>{8, 8, 8}));
  // Starts at overlap 0.75 (step 2): z 0, 2 (2); y 0, 2, 4, 5 (4); x 0, 2, .., 8 (5).
  EXPECT_EQ(plain.windows, 2 * 4 * 5);
  PredictOptions o = one_thread();
  o.tile = {64, 64, 64};
  const Predictor tiled(ckpt, o);
  // Cut to the volume, rounded up to the multiple: z 10, y 13 -> 14, x 16.
  EXPECT_EQ(tiled.window({10, 13, 16}), (std::array<int64_t, 3>{10, 14, 16}));
  const Prediction whole = tiled.predict(image);
  EXPECT_EQ(whole.windows, 1);
  EXPECT_TRUE(same_grid(whole.labels.grid, image.grid));
  // A tile on one axis only.
  o.tile = {0, 0, 12};
  const Prediction strip = Predictor(ckpt, o).predict(image);
  EXPECT_EQ(strip.window, (std::array<int64_t, 3>{8, 8, 12}));
  EXPECT_EQ(strip.windows, 2 * 4 * 3);  // x: 0, 3, 4 (step 3 = 12 x 0.25)
}

TEST(Predictor, BadTilesAreUsageErrorsNamingTheOption) {
  testing::TempDir dir;
  const std::string ckpt = tiny_checkpoint(dir);
  const auto message = [&](std::array<int64_t, 3> tile, const std::string& model) {
    PredictOptions o = one_thread();
    o.tile = tile;
    try {
      Predictor p(model, o);
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message({9, 9, 9}, ckpt), "--tile: 9 is not a positive multiple of 2 (2^(DEPTH-1) of this model)");
  EXPECT_EQ(message({-2, 8, 8}, ckpt), "--tile: -2 is not a positive multiple of 2 (2^(DEPTH-1) of this model)");
  EXPECT_EQ(message({4, 8, 8}, ckpt), "--tile: 4 is smaller than the model's patch side 8");
  // Local CoordConv: coordinates over the patch, so the window is the patch.
  TrainConfig c;
  c.base = 2;
  c.depth = 2;
  c.patch = {8, 8, 8};
  c.coord = CoordMode::kLocal;
  UNet3d net = make_unet(c);
  CheckpointState s;
  s.config = c;
  save_checkpoint(dir.file("local.pt"), net, nullptr, s);
  EXPECT_EQ(message({16, 16, 16}, dir.file("local.pt")),
            "--tile: this model has local CoordConv (coordinates over its 8-voxel patch), so its windows must stay the "
            "patch size");
  EXPECT_EQ(message({8, 8, 8}, dir.file("local.pt")), "accepted");
}

}  // namespace
}  // namespace coordseg
