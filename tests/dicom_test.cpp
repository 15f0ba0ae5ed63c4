// DICOM series in: geometry as the standard defines it, rescaling, the series choice and
// every refusal, on series the tests write themselves (dicom_writer.h).
#include "coordseg/core/dicom.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>

#include "coordseg/core/error.h"
#include <gdcmReader.h>

#include "dicom_writer.h"
#include "test_util.h"

namespace coordseg {
namespace {

using testing::SeriesSpec;

// The RAS affine a spec describes, written out from the standard's definition.
Affine expected_affine(const SeriesSpec& s) {
  const auto n = testing::series_normal(s);
  Affine a = Affine::identity();
  for (size_t r = 0; r < 3; ++r) {
    const double sign = r < 2 ? -1.0 : 1.0;  // LPS -> RAS
    a.m[r][0] = sign * s.orientation[r] * s.column_spacing;
    a.m[r][1] = sign * s.orientation[3 + r] * s.row_spacing;
    a.m[r][2] = sign * n[r] * s.slice_gap;
    a.m[r][3] = sign * s.origin[r];
  }
  return a;
}

// Every voxel holds the value the writer put at (column i, row j, slice k).
void expect_test_values(const Volume& v, const SeriesSpec& s) {
  ASSERT_EQ(v.grid.dims, (std::array<int64_t, 3>{s.columns, s.rows, s.slices}));
  int64_t wrong = 0;
  for (int64_t k = 0; k < s.slices; ++k)
    for (int64_t j = 0; j < s.rows; ++j)
      for (int64_t i = 0; i < s.columns; ++i)
        wrong += std::abs(v.at(i, j, k) - testing::test_value(i, j, k)) > 1e-3;
  EXPECT_EQ(wrong, 0);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Dicom, AxialSeriesReadsWithItsGeometryAndValues) {
  testing::TempDir dir;
  SeriesSpec s;
  testing::write_dicom_series(dir.file("ct"), s);
  const Volume v = read_image_input(dir.file("ct"));
  expect_test_values(v, s);
  EXPECT_EQ(v.grid.spacing, (std::array<double, 3>{0.75, 0.5, 2.0}));
  EXPECT_LT(v.grid.affine.max_abs_diff(expected_affine(s)), 1e-6);
  EXPECT_EQ(orientation_code(v.grid.affine), "LPS");
  // voxel (0, 0, 0) is the first slice's position, in RAS
  const auto p = v.grid.affine.apply(0, 0, 0);
  EXPECT_DOUBLE_EQ(p[0], 20);
  EXPECT_DOUBLE_EQ(p[1], 30);
  EXPECT_DOUBLE_EQ(p[2], 40);
  EXPECT_NE(v.source.find("series 1.2.826.0.1.3680043.10.1138.1"), std::string::npos);
}

TEST(Dicom, SlicesAreOrderedByPositionNotByNameOrInstanceNumber) {
  testing::TempDir dir;
  SeriesSpec s;
  s.reverse_instance_numbers = true;
  s.shuffled_names = true;
  const auto files = testing::write_dicom_series(dir.file("ct"), s);
  ASSERT_EQ(files.size(), 5u);
  const Volume v = read_image_input(dir.file("ct"));
  expect_test_values(v, s);
  EXPECT_LT(v.grid.affine.max_abs_diff(expected_affine(s)), 1e-6);
}

TEST(Dicom, ObliqueOrientationGivesTheRotatedAffine) {
  testing::TempDir dir;
  SeriesSpec s;
  const double c = std::cos(0.4), sn = std::sin(0.4), c2 = std::cos(0.25), s2 = std::sin(0.25);
  // rows rotated about z by 0.4 rad; columns tilted out of the axial plane by 0.25 rad
  s.orientation = {c, sn, 0, -sn * c2, c * c2, -s2};
  s.slices = 4;
  testing::write_dicom_series(dir.file("obl"), s);
  const Volume v = read_image_input(dir.file("obl"));
  expect_test_values(v, s);
  EXPECT_LT(v.grid.affine.max_abs_diff(expected_affine(s)), 1e-6);
  EXPECT_NEAR(v.grid.affine.column_norm(2), 2.0, 1e-6);  // the orientation is written to 10 digits
}

TEST(Dicom, RescaleSlopeAndInterceptGiveHounsfieldUnits) {
  testing::TempDir dir;
  SeriesSpec s;
  s.slope = 0.5;
  s.intercept = -1024;
  testing::write_dicom_series(dir.file("ct"), s);
  expect_test_values(read_image_input(dir.file("ct")), s);
}

TEST(Dicom, SagittalSeriesWithNegativeNormal) {
  testing::TempDir dir;
  SeriesSpec s;
  s.orientation = {0, 1, 0, 0, 0, -1};  // rows anterior-posterior, columns downward; normal -x
  testing::write_dicom_series(dir.file("sag"), s);
  const Volume v = read_image_input(dir.file("sag"));
  expect_test_values(v, s);
  EXPECT_LT(v.grid.affine.max_abs_diff(expected_affine(s)), 1e-6);
}

TEST(Dicom, GantryTiltIsRefused) {
  testing::TempDir dir;
  SeriesSpec s;
  s.tilt_mm = 0.5;
  testing::write_dicom_series(dir.file("tilt"), s);
  EXPECT_EQ(error_of([&] { read_image_input(dir.file("tilt")); }),
            dir.file("tilt") + " (series " + s.uid + "): slices are sheared against their plane (gantry tilt of 14.04 "
            "degrees); not supported");
}

TEST(Dicom, MissingSliceIsRefusedOrInterpolated) {
  testing::TempDir dir;
  SeriesSpec s;
  s.skip = {2};
  testing::write_dicom_series(dir.file("gap"), s);
  const std::string msg = error_of([&] { read_image_input(dir.file("gap")); });
  EXPECT_EQ(msg.rfind(dir.file("gap") + " (series " + s.uid + "): missing slices: a gap of 4 mm between ", 0), 0u) << msg;
  EXPECT_NE(msg.find("where the others are 2 mm (1 slices); pass --resample-gaps to interpolate"), std::string::npos) << msg;
  DicomReadOptions o;
  o.resample_gaps = true;
  const Volume v = read_image_input(dir.file("gap"), o);
  // test_value is linear in k, so the interpolated slice 2 holds its exact values
  expect_test_values(v, s);
  EXPECT_LT(v.grid.affine.max_abs_diff(expected_affine(s)), 1e-6);
}

TEST(Dicom, UnequalGapsAreRefusedOrResampledOntoTheMedianGap) {
  testing::TempDir dir;
  SeriesSpec s;
  s.slices = 6;
  s.extra_gap = {0, 0, 0, 0.6, 0.6, 0.6};  // gaps 2, 2, 2.6, 2, 2
  testing::write_dicom_series(dir.file("uneven"), s);
  const std::string msg = error_of([&] { read_image_input(dir.file("uneven")); });
  EXPECT_NE(msg.find("): unequal slice gaps: 2.6 mm between "), std::string::npos) << msg;
  DicomReadOptions o;
  o.resample_gaps = true;
  const Volume v = read_image_input(dir.file("uneven"), o);
  // 10.6 mm from first to last at 2 mm: 6 slices (rounded), at 0, 2, 4, 6, 8, 10 mm
  ASSERT_EQ(v.grid.dims[2], 6);
  EXPECT_DOUBLE_EQ(v.grid.spacing[2], 2.0);
  // at 6 mm: between slice 2 (4 mm) and slice 3 (6.6 mm), w = 2 / 2.6
  const double w = 2.0 / 2.6;
  EXPECT_NEAR(v.at(1, 1, 3), (1 - w) * testing::test_value(1, 1, 2) + w * testing::test_value(1, 1, 3), 1e-3);
  EXPECT_NEAR(v.at(1, 1, 1), testing::test_value(1, 1, 1), 1e-3);
}

TEST(Dicom, DuplicatedSlicesAreRefused) {
  testing::TempDir dir;
  SeriesSpec s;
  s.duplicate = {3};
  testing::write_dicom_series(dir.file("dup"), s);
  const std::string msg = error_of([&] { read_image_input(dir.file("dup")); });
  EXPECT_NE(msg.find("): duplicated slice position 46 mm along the normal ("), std::string::npos) << msg;
  EXPECT_NE(msg.find("4D or repeated series are not supported yet"), std::string::npos) << msg;
}

TEST(Dicom, MixedOrientationsAndSizesAreRefused) {
  testing::TempDir dir;
  SeriesSpec a;
  testing::write_dicom_series(dir.file("mixed"), a);
  SeriesSpec b = a;
  b.orientation = {1, 0, 0, 0, 0.8, 0.6};
  b.name_prefix = "other";
  b.origin = {-20, -30, 100};
  testing::write_dicom_series(dir.file("mixed"), b);
  EXPECT_NE(error_of([&] { read_image_input(dir.file("mixed")); }).find("): mixed orientations (ImageOrientationPatient of "),
            std::string::npos);
  SeriesSpec c = a;
  c.columns = 10;
  c.name_prefix = "wide";
  testing::write_dicom_series(dir.file("sizes"), a);
  testing::write_dicom_series(dir.file("sizes"), c);
  EXPECT_NE(error_of([&] { read_image_input(dir.file("sizes")); }).find("): mixed slice sizes (8 x 6 and 10 x 6 in "),
            std::string::npos);
}

TEST(Dicom, MultiFrameObjectsAreRefused) {
  testing::TempDir dir;
  SeriesSpec s;
  s.number_of_frames = "5";
  s.slices = 1;
  testing::write_dicom_series(dir.file("mf"), s);
  EXPECT_NE(error_of([&] { read_image_input(dir.file("mf")); }).find("): multi-frame objects (5 frames in "),
            std::string::npos);
}

TEST(Dicom, TwoSeriesAJunkFileAndAReportAreListedAndChosen) {
  testing::TempDir dir;
  SeriesSpec a;
  a.description = "arterial";
  testing::write_dicom_series(dir.file("study/a"), a);
  SeriesSpec b;
  b.uid = "1.2.826.0.1.3680043.10.1138.2";
  b.description = "venous";
  b.slices = 3;
  b.origin = {-20, -30, 0};
  testing::write_dicom_series(dir.file("study/b/deeper"), b);
  std::ofstream(dir.file("study/readme.txt")) << "not DICOM\n";
  // A DICOM object without pixel data (as a structured report is).
  {
    gdcm::Writer w;
    gdcm::DataSet& ds = w.GetFile().GetDataSet();
    w.GetFile().GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
    testing::detail::put(ds, 0x0008, 0x0016, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.88.11");  // Basic Text SR
    testing::detail::put(ds, 0x0008, 0x0018, gdcm::VR::UI, "1.2.826.0.1.3680043.10.1138.9.1");
    testing::detail::put(ds, 0x0008, 0x0060, gdcm::VR::CS, "SR");
    testing::detail::put(ds, 0x0020, 0x000e, gdcm::VR::UI, "1.2.826.0.1.3680043.10.1138.9");
    w.SetFileName(dir.file("study/report.dcm").c_str());
    ASSERT_TRUE(w.Write());
  }
  const DicomFolder found = find_dicom_series(dir.file("study"));
  ASSERT_EQ(found.series.size(), 2u);
  EXPECT_EQ(found.files, 10);
  EXPECT_EQ(found.not_dicom, 1);
  EXPECT_EQ(found.not_image, 1);
  EXPECT_EQ(found.series[0].description, "arterial");
  EXPECT_EQ(found.series[1].files.size(), 3u);
  EXPECT_EQ(found.series[1].spacing, (std::array<double, 3>{0.75, 0.5, 2.0}));
  const std::string listing = describe_dicom_folder(found);
  EXPECT_NE(listing.find("10 files, 2 image series (skipped 1 not DICOM, 1 without pixel data)"), std::string::npos)
      << listing;
  EXPECT_NE(listing.find("      2  CT             3  8 x 6        0.75 x 0.5 x 2        venous                "
                         "1.2.826.0.1.3680043.10.1138.2"),
            std::string::npos)
      << listing;
  EXPECT_EQ(error_of([&] { read_image_input(dir.file("study")); }),
            dir.file("study") + ": holds 2 image series; pick one with --series UID or number (1: " + a.uid +
                " (CT, 5 slices, 8 x 6, 'arterial'); 2: " + b.uid + " (CT, 3 slices, 8 x 6, 'venous'))");
  DicomReadOptions o;
  o.series = "2";
  EXPECT_EQ(read_image_input(dir.file("study"), o).grid.dims[2], 3);
  o.series = a.uid;
  expect_test_values(read_image_input(dir.file("study"), o), a);
  o.series = "3";
  EXPECT_EQ(error_of([&] { read_image_input(dir.file("study"), o); }),
            "--series: no image series '3' in " + dir.file("study") + " (it holds 2; see coordseg info " +
                dir.file("study") + ")");
}

TEST(Dicom, FoldersWithoutImagesAndMissingFolders) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("empty"));
  std::ofstream(dir.file("empty/notes.txt")) << "hello\n";
  EXPECT_EQ(error_of([&] { read_image_input(dir.file("empty")); }),
            dir.file("empty") + ": holds no DICOM image series (1 files, 1 not DICOM, 0 without pixel data)");
  EXPECT_EQ(error_of([&] { find_dicom_series(dir.file("nowhere")); }), dir.file("nowhere") + ": no such folder");
}

TEST(Dicom, PixelDataWithoutACodecIsAnErrorNamingTheFile) {
  testing::TempDir dir;
  SeriesSpec s;
  s.undecodable = true;
  const auto files = testing::write_dicom_series(dir.file("mpeg"), s);
  const std::string msg = error_of([&] { read_image_input(dir.file("mpeg")); });
  EXPECT_EQ(msg.rfind(dir.file("mpeg") + " (series " + s.uid + "): " + files.front() + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find("MPEG"), std::string::npos) << msg;
}

TEST(Dicom, CompressedTransferSyntaxesDecodeToTheSameValues) {
  const std::pair<const char*, gdcm::TransferSyntax::TSType> syntaxes[] = {
      {"RLE", gdcm::TransferSyntax::RLELossless},
      {"JPEG lossless", gdcm::TransferSyntax::JPEGLosslessProcess14_1},
      {"JPEG-LS", gdcm::TransferSyntax::JPEGLSLossless},
      {"JPEG 2000", gdcm::TransferSyntax::JPEG2000Lossless},
  };
  for (const auto& [name, ts] : syntaxes) {
    SCOPED_TRACE(name);
    testing::TempDir dir;
    SeriesSpec s;
    s.slope = 1;
    s.intercept = -1024;  // stored values non-negative here, as scanners store them
    for (const auto& f : testing::write_dicom_series(dir.file("c"), s)) {
      testing::compress_dicom_file(f, ts);
      gdcm::Reader r;  // the file really is in that syntax now
      r.SetFileName(f.c_str());
      ASSERT_TRUE(r.Read());
      ASSERT_EQ(r.GetFile().GetHeader().GetDataSetTransferSyntax(), gdcm::TransferSyntax(ts));
    }
    expect_test_values(read_image_input(dir.file("c")), s);
  }
}

}  // namespace
}  // namespace coordseg
