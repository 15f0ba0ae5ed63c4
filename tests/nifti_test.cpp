#include "coordseg/core/nifti.h"

#include <gtest/gtest.h>

#include <cmath>

#include "coordseg/core/error.h"
#include "test_util.h"

namespace coordseg {
namespace {

using testing::TempDir;

Grid lps_grid() {
  Grid g;
  g.dims = {5, 4, 3};
  g.spacing = {0.8, 0.8, 2.5};
  g.affine = Affine::identity();
  g.affine.m[0][0] = -0.8;
  g.affine.m[1][1] = -0.8;
  g.affine.m[2][2] = 2.5;
  g.affine.m[0][3] = 100.5;
  g.affine.m[1][3] = 80.25;
  g.affine.m[2][3] = -40;
  return g;
}

Volume ramp(const Grid& g) {
  Volume v = Volume::filled(g, 0.0f);
  for (size_t i = 0; i < v.voxels.size(); ++i) v.voxels[i] = static_cast<float>(i) * 0.5f - 7.25f;
  return v;
}

TEST(Nifti, ImageRoundTripKeepsVoxelsAndAffine) {
  TempDir dir;
  const Volume v = ramp(lps_grid());
  for (const std::string name : {"a.nii", "a.nii.gz"}) {
    write_image(dir.file(name), v);
    const Volume r = read_image(dir.file(name));
    EXPECT_EQ(r.grid.dims, v.grid.dims);
    EXPECT_LT(r.grid.affine.max_abs_diff(v.grid.affine), 1e-6);
    EXPECT_EQ(r.voxels, v.voxels);
    EXPECT_EQ(r.header.datatype, DT_FLOAT32);
    EXPECT_EQ(r.header.gzip, name == "a.nii.gz");
    EXPECT_EQ(orientation_code(r.grid.affine), "LPS");
    EXPECT_NEAR(r.grid.spacing[2], 2.5, 1e-6);
    EXPECT_EQ(r.source, dir.file(name));
  }
  // A gzip file really is compressed: its first bytes are the gzip magic.
  const auto bytes = testing::read_all(dir.file("a.nii.gz"));
  ASSERT_GT(bytes.size(), 2u);
  EXPECT_EQ(bytes[0], 0x1f);
  EXPECT_EQ(bytes[1], 0x8b);
}

TEST(Nifti, Int16ImagesAreRoundedAndRangeChecked) {
  TempDir dir;
  Volume v = ramp(lps_grid());
  write_image(dir.file("i.nii.gz"), v, ImageType::kInt16);
  const Volume r = read_image(dir.file("i.nii.gz"));
  EXPECT_EQ(r.header.datatype, DT_INT16);
  for (size_t i = 0; i < v.voxels.size(); ++i) EXPECT_EQ(r.voxels[i], std::nearbyint(v.voxels[i]));
  v.voxels[3] = 40000.0f;
  EXPECT_THROW(write_image(dir.file("j.nii.gz"), v, ImageType::kInt16), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("j.nii.gz")));
}

TEST(Nifti, LabelsChooseTheSmallestTypeAndRoundTrip) {
  TempDir dir;
  LabelVolume l = LabelVolume::filled(lps_grid(), 0);
  l.voxels[1] = 7;
  write_labels(dir.file("small.nii.gz"), l);
  EXPECT_EQ(read_nifti_info(dir.file("small.nii.gz")).header.datatype, DT_UINT8);
  l.voxels[2] = 850;
  l.voxels[3] = 205;
  write_labels(dir.file("mmwhs.nii.gz"), l);
  const LabelVolume r = read_labels(dir.file("mmwhs.nii.gz"));
  EXPECT_EQ(r.header.datatype, DT_INT16);
  EXPECT_EQ(r.voxels, l.voxels);
  EXPECT_THROW(write_labels(dir.file("u8.nii.gz"), l, LabelType::kUint8), Error);
}

TEST(Nifti, OutputsKeepTheSourceQformAndSform) {
  TempDir dir;
  // A file with different qform (code 1) and sform (code 2), as scanners write them.
  nifti_1_header h = testing::make_n1(4, 3, 2, DT_INT16);
  h.pixdim[1] = 0.5f;
  h.pixdim[2] = 0.5f;
  h.pixdim[3] = 2.0f;
  h.pixdim[0] = -1.0f;  // qfac
  h.qform_code = 1;
  h.quatern_b = 0;
  h.quatern_c = 0;
  h.quatern_d = 1;  // 180 degrees about z
  h.qoffset_x = 10;
  h.qoffset_y = 20;
  h.qoffset_z = 30;
  h.sform_code = 2;
  const float srow[3][4] = {{-0.5f, 0, 0, 10}, {0, -0.5f, 0, 20}, {0, 0, -2, 30}};
  std::memcpy(h.srow_x, srow[0], sizeof srow[0]);
  std::memcpy(h.srow_y, srow[1], sizeof srow[1]);
  std::memcpy(h.srow_z, srow[2], sizeof srow[2]);
  std::vector<int16_t> data(24);
  for (int i = 0; i < 24; ++i) data[i] = static_cast<int16_t>(i * 10 - 100);
  testing::write_nifti_file(dir.file("src.nii"), h, data);

  const Volume img = read_image(dir.file("src.nii"));
  EXPECT_STREQ(img.header.affine_source(), "sform");
  EXPECT_EQ(orientation_code(img.grid.affine), "LPI");
  // qform: 180 degrees about z with qfac -1 is diag(-0.5, -0.5, -2) too.
  EXPECT_LT(img.header.qform.max_abs_diff(img.grid.affine), 1e-6);
  EXPECT_EQ(img.voxels[5], -50.0f);

  LabelVolume labels = LabelVolume::filled(img.grid, 0, &img.header);
  labels.voxels[0] = 3;
  write_labels(dir.file("pred.nii.gz"), labels);
  const NiftiInfo out = read_nifti_info(dir.file("pred.nii.gz"));
  EXPECT_EQ(out.header.qform_code, 1);
  EXPECT_EQ(out.header.sform_code, 2);
  EXPECT_EQ(out.header.quatern, img.header.quatern);
  EXPECT_EQ(out.header.qoffset, img.header.qoffset);
  EXPECT_EQ(out.header.pixdim[0], -1.0);
  EXPECT_EQ(out.header.sform.max_abs_diff(img.header.sform), 0.0);
  EXPECT_EQ(out.header.qform.max_abs_diff(img.header.qform), 0.0);
}

TEST(Nifti, QformOnlyAndPixdimOnlyAffines) {
  TempDir dir;
  nifti_1_header h = testing::make_n1(2, 2, 2, DT_UINT8);
  h.pixdim[1] = 1.5f;
  h.pixdim[2] = 2.0f;
  h.pixdim[3] = 3.0f;
  std::vector<uint8_t> data(8, 1);
  testing::write_nifti_file(dir.file("plain.nii"), h, data);
  const NiftiInfo plain = read_nifti_info(dir.file("plain.nii"));
  EXPECT_STREQ(plain.header.affine_source(), "pixdim");
  EXPECT_EQ(plain.grid.affine.max_abs_diff(Affine::from_spacing({1.5, 2.0, 3.0})), 0.0);

  // qform only: 90 degrees about x (b = sin 45 deg), offset (1, 2, 3).
  h.qform_code = 1;
  h.quatern_b = static_cast<float>(std::sqrt(0.5));
  h.qoffset_x = 1;
  h.qoffset_y = 2;
  h.qoffset_z = 3;
  testing::write_nifti_file(dir.file("q.nii.gz"), h, data, /*gz=*/true);
  const NiftiInfo q = read_nifti_info(dir.file("q.nii.gz"));
  EXPECT_STREQ(q.header.affine_source(), "qform");
  // R = [[1,0,0],[0,0,-1],[0,1,0]] times diag(1.5, 2, 3)
  const double expect[3][4] = {{1.5, 0, 0, 1}, {0, 0, -3, 2}, {0, 2, 0, 3}};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(q.grid.affine.m[r][c], expect[r][c], 1e-6) << r << "," << c;
  EXPECT_EQ(orientation_code(q.grid.affine), "RSP");
  EXPECT_NEAR(q.grid.spacing[1], 2.0, 1e-6);
}

TEST(Nifti, ScalingIsAppliedToImages) {
  TempDir dir;
  nifti_1_header h = testing::make_n1(3, 1, 1, DT_UINT16);
  h.scl_slope = 1;
  h.scl_inter = -1024;
  const std::vector<uint16_t> data = {0, 1024, 65535};
  testing::write_nifti_file(dir.file("ct.nii"), h, data);
  const Volume v = read_image(dir.file("ct.nii"));
  EXPECT_EQ(v.voxels, (std::vector<float>{-1024, 0, 64511}));
  EXPECT_TRUE(v.header.has_scaling());

  h.scl_slope = 0;  // zero slope means "no scaling", whatever the intercept
  testing::write_nifti_file(dir.file("raw.nii"), h, data);
  EXPECT_EQ(read_image(dir.file("raw.nii")).voxels, (std::vector<float>{0, 1024, 65535}));
}

TEST(Nifti, BigEndianFilesAreSwapped) {
  TempDir dir;
  nifti_1_header h = testing::make_n1(2, 1, 1, DT_INT16);
  h.pixdim[1] = 2.0f;
  std::vector<int16_t> data = {300, -2};
  swap_nifti_header(&h, 1);
  nifti_swap_2bytes(2, data.data());
  testing::write_nifti_file(dir.file("be.nii"), h, data);
  const Volume v = read_image(dir.file("be.nii"));
  EXPECT_EQ(v.voxels, (std::vector<float>{300, -2}));
  EXPECT_EQ(v.grid.dims[0], 2);
  EXPECT_DOUBLE_EQ(v.grid.spacing[0], 2.0);
}

TEST(Nifti, Nifti2FilesReadAndLargeDimsAreWrittenAsNifti2) {
  TempDir dir;
  nifti_2_header h = testing::make_n2(3, 2, 1, DT_FLOAT64);
  h.sform_code = 1;
  h.srow_x[0] = 0.25;
  h.srow_y[1] = 0.25;
  h.srow_z[2] = 0.25;
  h.srow_x[3] = -7;
  const std::vector<double> data = {0.5, 1, 2, 3, 4, 1e10};
  testing::write_nifti_file(dir.file("v2.nii.gz"), h, data, /*gz=*/true);
  const Volume v = read_image(dir.file("v2.nii.gz"));
  EXPECT_EQ(v.header.version, 2);
  EXPECT_EQ(v.voxels[5], 1e10f);
  EXPECT_EQ(v.grid.affine.m[0][3], -7);

  Grid g;
  g.dims = {40000, 1, 1};
  g.affine = Affine::identity();
  const LabelVolume wide = LabelVolume::filled(g, 2);
  write_labels(dir.file("wide.nii"), wide);
  const LabelVolume r = read_labels(dir.file("wide.nii"));
  EXPECT_EQ(r.header.version, 2);
  EXPECT_EQ(r.grid.dims[0], 40000);
  EXPECT_EQ(r.voxels, wide.voxels);
}

TEST(Nifti, OneTimePointIsAVolume) {
  TempDir dir;
  nifti_1_header h = testing::make_n1(2, 2, 2, DT_UINT8);
  h.dim[0] = 4;
  h.dim[4] = 1;
  testing::write_nifti_file(dir.file("t1.nii"), h, std::vector<uint8_t>(8, 4));
  const LabelVolume v = read_labels(dir.file("t1.nii"));
  EXPECT_EQ(v.grid.voxel_count(), 8);
  EXPECT_EQ(v.voxels[7], 4);
}

TEST(Nifti, FloatLabelsMustBeIntegral) {
  TempDir dir;
  nifti_1_header h = testing::make_n1(3, 1, 1, DT_FLOAT32);
  testing::write_nifti_file(dir.file("ok.nii"), h, std::vector<float>{0, 205, 850});
  EXPECT_EQ(read_labels(dir.file("ok.nii")).voxels, (std::vector<int32_t>{0, 205, 850}));
  testing::write_nifti_file(dir.file("bad.nii"), h, std::vector<float>{0, 0.5f, 2.5f});
  try {
    read_labels(dir.file("bad.nii"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("bad.nii") +
                                         ": 2 voxels hold non-integer or out-of-range label values (e.g. 0.5); a "
                                         "label map must hold integers");
  }
}

TEST(Nifti, AFailedWriteLeavesTheOldFileAndNoTemporary) {
  TempDir dir;
  LabelVolume l = LabelVolume::filled(lps_grid(), 1);
  write_labels(dir.file("out.nii.gz"), l);
  const auto before = testing::read_all(dir.file("out.nii.gz"));
  l.voxels[0] = 300;
  EXPECT_THROW(write_labels(dir.file("out.nii.gz"), l, LabelType::kUint8), Error);
  EXPECT_EQ(testing::read_all(dir.file("out.nii.gz")), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.nii.gz"});
  // A folder that does not exist, and a name that is not NIfTI.
  EXPECT_THROW(write_labels(dir.file("missing/out.nii.gz"), l), Error);
  try {
    write_labels(dir.file("out.png"), l);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("must end in .nii or .nii.gz"), std::string::npos);
  }
  // Overwriting replaces the file.
  l.voxels[0] = 2;
  write_labels(dir.file("out.nii.gz"), l);
  EXPECT_EQ(read_labels(dir.file("out.nii.gz")).voxels[0], 2);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.nii.gz"});
}

TEST(Nifti, StaleHeadersAreRebuiltFromTheGrid) {
  TempDir dir;
  Volume v = ramp(lps_grid());
  v.grid.affine.m[0][3] = -3;  // moved after the header was made
  write_image(dir.file("moved.nii"), v);
  const NiftiInfo r = read_nifti_info(dir.file("moved.nii"));
  EXPECT_LT(r.grid.affine.max_abs_diff(v.grid.affine), 1e-6);
  EXPECT_LT(r.header.qform.max_abs_diff(v.grid.affine), 1e-5);
}

TEST(Nifti, FoldersNamedLikeFilesResolveToTheFileInside) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("ct_train_1001_image.nii"));
  write_image(dir.file("ct_train_1001_image.nii/ct_train_1001_image.nii"), ramp(lps_grid()));
  const Volume v = read_image(dir.file("ct_train_1001_image.nii"));
  EXPECT_EQ(v.source, dir.file("ct_train_1001_image.nii/ct_train_1001_image.nii"));
}

}  // namespace
}  // namespace coordseg
