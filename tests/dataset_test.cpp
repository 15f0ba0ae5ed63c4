#include "coordseg/core/dataset.h"

#include <gtest/gtest.h>

#include <fstream>

#include "coordseg/core/error.h"
#include "coordseg/core/nifti.h"
#include "test_util.h"

namespace coordseg {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

Grid small_grid(double x0 = 0) {
  Grid g;
  g.dims = {4, 4, 3};
  g.spacing = {1, 1, 2};
  g.affine = Affine::from_spacing(g.spacing);
  g.affine.m[0][3] = x0;
  return g;
}

void write_case(const std::string& image, const std::string& label, const Grid& label_grid = small_grid(),
                int32_t value = 205) {
  Volume v = Volume::filled(small_grid(), 100.0f);
  write_image(image, v, ImageType::kInt16);
  if (label.empty()) return;
  LabelVolume l = LabelVolume::filled(label_grid, 0);
  l.voxels[5] = value;
  write_labels(label, l);
}

TEST(Dataset, MmwhsLayout) {
  TempDir dir;
  fs::create_directories(dir.file("ct_train"));
  fs::create_directories(dir.file("mr_train"));
  write_case(dir.file("ct_train/ct_train_1002_image.nii.gz"), dir.file("ct_train/ct_train_1002_label.nii.gz"));
  write_case(dir.file("ct_train/ct_train_1001_image.nii.gz"), dir.file("ct_train/ct_train_1001_label.nii"));
  // The reference's unpacked archives: a folder named like the file, holding it.
  fs::create_directories(dir.file("mr_train/mr_train_1001_image.nii"));
  fs::create_directories(dir.file("mr_train/mr_train_1001_label.nii"));
  write_case(dir.file("mr_train/mr_train_1001_image.nii/mr_train_1001_image.nii"),
             dir.file("mr_train/mr_train_1001_label.nii/mr_train_1001_label.nii"));
  write_case(dir.file("ct_train/ct_test_2001_image.nii.gz"), "");

  const Dataset ds = discover_dataset(dir.path().string());
  EXPECT_EQ(ds.layout, "mmwhs");
  ASSERT_EQ(ds.cases.size(), 4u);
  EXPECT_EQ(ds.cases[0].id, "ct_test_2001");
  EXPECT_TRUE(ds.cases[0].label.empty());
  EXPECT_EQ(ds.cases[1].id, "ct_train_1001");
  EXPECT_EQ(ds.cases[1].label, dir.file("ct_train/ct_train_1001_label.nii"));
  EXPECT_EQ(ds.cases[1].modality, "ct");
  EXPECT_EQ(ds.cases[3].id, "mr_train_1001");
  EXPECT_EQ(ds.cases[3].modality, "mr");
  EXPECT_EQ(ds.cases[3].image, dir.file("mr_train/mr_train_1001_image.nii/mr_train_1001_image.nii"));
  EXPECT_FALSE(ds.labels.has_value());

  const LoadedCase c = load_case(ds.cases[1], LabelMap::mmwhs());
  EXPECT_EQ(c.classes.voxels[5], 1);
  EXPECT_EQ(c.classes.voxels[0], 0);
  EXPECT_EQ(c.image.voxels[0], 100.0f);
}

TEST(Dataset, NnunetLayoutWithDatasetJson) {
  TempDir dir;
  fs::create_directories(dir.file("imagesTr"));
  fs::create_directories(dir.file("labelsTr"));
  fs::create_directories(dir.file("imagesTs"));
  write_case(dir.file("imagesTr/heart_003_0000.nii.gz"), dir.file("labelsTr/heart_003.nii.gz"), small_grid(), 2);
  write_case(dir.file("imagesTs/heart_009_0000.nii.gz"), "");
  std::ofstream(dir.file("dataset.json")) << R"({"channel_names": {"0": "CT"},
    "labels": {"background": 0, "LV": 2, "RV": 1}, "numTraining": 1, "file_ending": ".nii.gz"})";
  const Dataset ds = discover_dataset(dir.path().string());
  EXPECT_EQ(ds.layout, "nnunet");
  ASSERT_EQ(ds.cases.size(), 2u);
  EXPECT_EQ(ds.cases[0].id, "heart_003");
  EXPECT_EQ(ds.cases[0].label, dir.file("labelsTr/heart_003.nii.gz"));
  EXPECT_TRUE(ds.cases[1].label.empty());
  ASSERT_TRUE(ds.labels.has_value());
  EXPECT_EQ(ds.labels->values, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(ds.labels->names, (std::vector<std::string>{"background", "RV", "LV"}));
  EXPECT_EQ(load_case(ds.cases[0], *ds.labels).classes.voxels[5], 2);

  // nnU-Net v1 style: value -> name.
  std::ofstream(dir.file("dataset.json")) << R"({"labels": {"0": "background", "1": "RV", "2": "LV"}})";
  EXPECT_EQ(discover_dataset(dir.path().string()).labels->names[2], "LV");
  std::ofstream(dir.file("dataset.json")) << R"({"labels": {"0": "background", "x": "RV"}})";
  EXPECT_THROW(discover_dataset(dir.path().string()), Error);
  std::ofstream(dir.file("dataset.json")) << "{not json";
  EXPECT_THROW(discover_dataset(dir.path().string()), Error);
}

TEST(Dataset, MismatchedGridsPrintBothGeometries) {
  TempDir dir;
  write_case(dir.file("ct_train_1001_image.nii.gz"), dir.file("ct_train_1001_label.nii.gz"), small_grid(5.0));
  const Dataset ds = discover_dataset(dir.path().string());
  try {
    load_case(ds.cases[0], LabelMap::mmwhs());
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(dir.file("ct_train_1001_label.nii.gz") + ": grid differs from " +
                            dir.file("ct_train_1001_image.nii.gz") + " (4 x 4 x 3 voxels, 1 x 1 x 2 mm, RAS, affine [1 0 0 0;",
                        0),
              0u)
        << msg;
    EXPECT_NE(msg.find(") : 4 x 4 x 3 voxels, 1 x 1 x 2 mm, RAS, affine [1 0 0 5;"), std::string::npos) << msg;
  }
}

TEST(Dataset, BadFolders) {
  TempDir dir;
  EXPECT_THROW(discover_dataset(dir.file("nope")), Error);
  write_case(dir.file("x_image.nii.gz"), "");
  EXPECT_THROW(discover_dataset(dir.file("x_image.nii.gz")), Error);  // a file, not a folder
  TempDir empty;
  try {
    discover_dataset(empty.path().string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no cases found"), std::string::npos);
  }
  TempDir orphan;
  write_case(orphan.file("ct_train_1001_image.nii.gz"), "");
  LabelVolume l = LabelVolume::filled(small_grid(), 0);
  write_labels(orphan.file("ct_train_1002_label.nii.gz"), l);
  EXPECT_THROW(discover_dataset(orphan.path().string()), Error);
  TempDir multi;
  fs::create_directories(multi.file("imagesTr"));
  write_case(multi.file("imagesTr/a_0001.nii.gz"), "");
  EXPECT_THROW(discover_dataset(multi.path().string()), Error);
}

TEST(Dataset, UnknownLabelValuesNameTheFile) {
  TempDir dir;
  write_case(dir.file("ct_train_1001_image.nii.gz"), dir.file("ct_train_1001_label.nii.gz"), small_grid(), 77);
  try {
    load_case(discover_dataset(dir.path().string()).cases[0], LabelMap::mmwhs());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir.file("ct_train_1001_label.nii.gz") + ": unexpected label values 77 (1 voxels)", 0), 0u)
        << e.what();
  }
}

}  // namespace
}  // namespace coordseg
