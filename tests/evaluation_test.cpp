#include "coordseg/core/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "coordseg/core/error.h"
#include "coordseg/core/nifti.h"
#include "test_util.h"

namespace coordseg {
namespace {

Grid grid() {
  Grid g;
  g.dims = {16, 16, 12};
  g.spacing = {1, 1, 2};
  g.affine = Affine::from_spacing(g.spacing);
  return g;
}

// MLV (205) slab and an LV cavity (500) box of 4 x 4 x 4 voxels starting at x = x0.
LabelVolume case_labels(int x0) {
  LabelVolume v = LabelVolume::filled(grid(), 0);
  for (int k = 0; k < 12; ++k)
    for (int j = 0; j < 16; ++j)
      for (int i = 0; i < 16; ++i) {
        if (k < 2) v.at(i, j, k) = 205;
        if (i >= x0 && i < x0 + 4 && j >= 6 && j < 10 && k >= 4 && k < 8) v.at(i, j, k) = 500;
      }
  return v;
}

// Writes truth/<case>_label.nii.gz and pred/<case>_label.nii.gz, the LV box at the x given.
void write_case(const testing::TempDir& dir, const std::string& folder, const std::string& id, int x0) {
  std::filesystem::create_directories(dir.file(folder));
  write_labels(dir.file(folder + "/" + id + "_label.nii.gz"), case_labels(x0));
}

TEST(Evaluation, FoldersArePairedByCaseAndScoredWithKnownDice) {
  testing::TempDir dir;
  for (const char* id : {"ct_train_1001", "ct_train_1002"}) write_case(dir, "truth", id, 5);
  write_case(dir, "pred", "ct_train_1001", 5);  // exact
  write_case(dir, "pred", "ct_train_1002", 6);  // LV shifted by one voxel

  const Evaluation e = evaluate_folders(dir.file("pred"), dir.file("truth"), LabelMap::mmwhs(), "model");
  ASSERT_EQ(e.cases.size(), 2u);
  EXPECT_EQ(e.cases[0].case_id, "ct_train_1001");
  EXPECT_EQ(e.cases[1].case_id, "ct_train_1002");
  const int mlv = 1, lv = 3, rv = 5;
  EXPECT_DOUBLE_EQ(e.cases[0].classes[lv].dice, 1.0);
  // 3 of 4 columns overlap: 2 * 48 / (64 + 64).
  EXPECT_DOUBLE_EQ(e.cases[1].classes[lv].dice, 0.75);
  EXPECT_DOUBLE_EQ(e.cases[1].classes[lv].jaccard, 48.0 / 80.0);
  EXPECT_NEAR(e.cases[1].classes[lv].hd95, 1.0, 1e-9);  // one voxel along x (1 mm)
  EXPECT_DOUBLE_EQ(e.mean(lv, &ClassMetrics::dice), 0.875);
  EXPECT_DOUBLE_EQ(e.mean(mlv, &ClassMetrics::dice), 1.0);
  EXPECT_TRUE(std::isnan(e.mean(rv, &ClassMetrics::dice)));  // absent from both: skipped
  EXPECT_DOUBLE_EQ(e.average_dsc(), (1.0 + 0.875) / 2);
  EXPECT_NE(reference_table({e}).find("0.938"), std::string::npos) << reference_table({e});
}

TEST(Evaluation, APredictionWithoutItsReferenceIsAnError) {
  testing::TempDir dir;
  write_case(dir, "truth", "ct_train_1001", 5);
  write_case(dir, "pred", "ct_train_1001", 5);
  write_case(dir, "pred", "ct_train_1009", 5);
  try {
    evaluate_folders(dir.file("pred"), dir.file("truth"), LabelMap::mmwhs(), "model");
    FAIL() << "accepted a prediction without a reference";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ct_train_1009"), std::string::npos) << e.what();
  }
}

TEST(Evaluation, AReferenceCaseWithoutAPredictionIsAnErrorUnlessAllowed) {
  testing::TempDir dir;
  for (const char* id : {"ct_train_1001", "ct_train_1002", "ct_train_1003"}) write_case(dir, "truth", id, 5);
  write_case(dir, "pred", "ct_train_1002", 6);
  try {
    evaluate_folders(dir.file("pred"), dir.file("truth"), LabelMap::mmwhs(), "model");
    FAIL() << "scored a subset without a word";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("pred") +
                                         ": no prediction for 2 of 3 reference cases (ct_train_1001, ct_train_1003); "
                                         "pass --allow-missing to score the others");
  }
  const Evaluation e = evaluate_folders(dir.file("pred"), dir.file("truth"), LabelMap::mmwhs(), "model", true);
  ASSERT_EQ(e.cases.size(), 1u);
  EXPECT_EQ(e.missing, (std::vector<std::string>{"ct_train_1001", "ct_train_1003"}));
  EXPECT_DOUBLE_EQ(e.mean(3, &ClassMetrics::dice), 0.75);
}

}  // namespace
}  // namespace coordseg
