#include "coordseg/core/info.h"

#include <gtest/gtest.h>

#include "coordseg/core/error.h"
#include "coordseg/core/nifti.h"
#include "test_util.h"

namespace coordseg {
namespace {

Grid grid_2mm() {
  Grid g;
  g.dims = {10, 10, 10};
  g.spacing = {2, 2, 2};
  g.affine = Affine::from_spacing(g.spacing);
  g.affine.m[0][0] = -2;  // LAS
  g.affine.m[0][3] = 18;
  return g;
}

TEST(Info, LabelMapsListValuesWithVolumes) {
  testing::TempDir dir;
  LabelVolume l = LabelVolume::filled(grid_2mm(), 0);
  for (int i = 0; i < 125; ++i) l.voxels[static_cast<size_t>(i)] = 500;  // 125 voxels of 8 mm^3 = 1 ml
  for (int i = 125; i < 130; ++i) l.voxels[static_cast<size_t>(i)] = 421;
  write_labels(dir.file("lbl.nii.gz"), l);
  const std::string text = describe_nifti(dir.file("lbl.nii.gz"));
  EXPECT_NE(text.find("  format       NIfTI-1, gzip-compressed\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  dims         10 x 10 x 10 voxels\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  spacing      2 x 2 x 2 mm\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  orientation  LAS (from the sform; qform_code 1, sform_code 1)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  datatype     int16\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  range        0 .. 500"), std::string::npos) << text;
  EXPECT_NE(text.find("  labels       3 values\n"), std::string::npos) << text;
  EXPECT_NE(text.find("        0      0  Background            870        6.96\n"), std::string::npos) << text;
  EXPECT_NE(text.find("      421      2  LABC                    5        0.04\n"), std::string::npos) << text;
  EXPECT_NE(text.find("      500      3  LVBC                  125        1.00\n"), std::string::npos) << text;
}

TEST(Info, ImagesShowRangeAndScaling) {
  testing::TempDir dir;
  nifti_1_header h = testing::make_n1(3, 1, 1, DT_UINT16);
  h.scl_slope = 1;
  h.scl_inter = -1024;
  testing::write_nifti_file(dir.file("ct.nii"), h, std::vector<uint16_t>{0, 1000, 2024});
  const std::string text = describe_nifti(dir.file("ct.nii"));
  EXPECT_NE(text.find("  scaling      value * 1 + -1024\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  range        -1024 .. 1000 (mean -16)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  orientation  RAS (from the pixdim; qform_code 0, sform_code 0)\n"), std::string::npos) << text;
  // Only three distinct values, but listed as labels only because they are integral.
  EXPECT_NE(text.find("labels       3 values"), std::string::npos) << text;

  nifti_1_header f = testing::make_n1(2, 1, 1, DT_FLOAT32);
  testing::write_nifti_file(dir.file("f.nii"), f, std::vector<float>{0.5f, 1.5f});
  EXPECT_EQ(describe_nifti(dir.file("f.nii")).find("labels"), std::string::npos);
  EXPECT_THROW(describe_nifti(dir.file("missing.nii")), Error);
}

}  // namespace
}  // namespace coordseg
