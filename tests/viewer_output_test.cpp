// The viewers' label colour files and the structure volumes of predict/evaluate --volumes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "coordseg/core/error.h"
#include "coordseg/core/evaluation.h"
#include "coordseg/core/nifti.h"
#include "coordseg/core/render.h"
#include "coordseg/core/structure_volumes.h"
#include "coordseg/core/viewer_files.h"
#include "test_util.h"

namespace coordseg {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ViewerFiles, ItksnapListsEveryValueWithTheRenderColourAndFullName) {
  const LabelMap map = LabelMap::mmwhs();
  const auto lines = lines_of(itksnap_label_descriptions(map));
  // value R G B alpha visibility mesh "name"
  const std::regex row(R"re(^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9.]+)\s+([01])\s+([01])\s+"([^"]*)"$)re");
  std::vector<std::string> data;
  for (const auto& l : lines)
    if (!l.empty() && l[0] != '#') data.push_back(l);
  ASSERT_EQ(data.size(), 8u);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(data[0], m, row));
  EXPECT_EQ(m[1], "0");
  EXPECT_EQ(m[6], "0");  // the clear label is hidden
  for (int c = 1; c < 8; ++c) {
    ASSERT_TRUE(std::regex_match(data[static_cast<size_t>(c)], m, row)) << data[static_cast<size_t>(c)];
    EXPECT_EQ(std::stoi(m[1]), map.values[static_cast<size_t>(c)]);
    const auto rgb = class_colour(c);
    EXPECT_EQ(std::stoi(m[2]), rgb[0]);
    EXPECT_EQ(std::stoi(m[3]), rgb[1]);
    EXPECT_EQ(std::stoi(m[4]), rgb[2]);
    EXPECT_EQ(m[5], "1");
  }
  EXPECT_EQ(data[1].substr(data[1].find('"')), "\"Left ventricle myocardium (MLV)\"");
  EXPECT_EQ(data[7].substr(data[7].find('"')), "\"Pulmonary artery (PUA)\"");
  EXPECT_EQ(class_colour(1), (std::array<uint8_t, 3>{230, 40, 40}));  // render.h: MLV red
}

TEST(ViewerFiles, SlicerTableHasOneSpaceFreeNamePerValue) {
  const auto lines = lines_of(slicer_colour_table(LabelMap::mmwhs()));
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines[0].rfind("# Color table file", 0), 0u);  // Slicer recognises the table by this header
  EXPECT_EQ(lines[1], "# 8 values");
  EXPECT_EQ(lines[2], "0 Background 0 0 0 0");
  EXPECT_EQ(lines[3], "205 Left_ventricle_myocardium 230 40 40 255");
  EXPECT_EQ(lines[5], "500 Left_ventricle_blood_cavity 255 225 25 255");
  EXPECT_EQ(lines[9], "850 Pulmonary_artery 250 140 40 255");
}

TEST(ViewerFiles, CustomMapsUseTheirShortNames) {
  const LabelMap map = LabelMap::custom({0, 1, 2}, {"bg", "left heart", "right heart"});
  const auto lines = lines_of(slicer_colour_table(map));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[3], "1 left_heart 230 40 40 255");
  EXPECT_NE(itksnap_label_descriptions(map).find("\"right heart\""), std::string::npos);
}

TEST(ViewerFiles, WrittenOnceKeptWhenEqualRefusedWhenDifferentUnlessForced) {
  testing::TempDir dir;
  const auto files = viewer_files(dir.path().string(), LabelMap::mmwhs());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, dir.file("labels.itksnap.txt"));
  EXPECT_EQ(files[1].path, dir.file("labels.slicer.ctbl"));
  check_viewer_files(files, false);
  write_viewer_files(files);
  EXPECT_EQ(read_file(files[0].path), files[0].text);
  EXPECT_EQ(read_file(files[1].path), files[1].text);
  check_viewer_files(files, false);  // the same labels again: fine
  const auto other = viewer_files(dir.path().string(), LabelMap::custom({0, 1}, {}));
  try {
    check_viewer_files(other, false);
    FAIL() << "a file with other labels was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), files[0].path + ": already exists with other labels; pass --force to overwrite");
  }
  check_viewer_files(other, true);
  write_viewer_files(other);
  EXPECT_EQ(read_file(files[0].path), other[0].text);
}

Grid grid() {
  Grid g;
  g.dims = {10, 8, 6};
  g.spacing = {0.5, 0.5, 2};  // 0.5 microlitres a voxel
  g.affine = Affine::from_spacing(g.spacing);
  return g;
}

TEST(StructureVolumes, VoxelsMillilitresAndMyocardialMass) {
  LabelVolume v = LabelVolume::filled(grid(), 0);
  for (int k = 0; k < 6; ++k)
    for (int j = 0; j < 8; ++j)
      for (int i = 0; i < 10; ++i) {
        if (k < 2) v.at(i, j, k) = 205;                   // 160 voxels of MLV
        if (k == 4 && i < 5) v.at(i, j, k) = 421;         // 40 voxels of LA, through the 421 alias
      }
  const auto rows = structure_volumes("case7", v, LabelMap::mmwhs());
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0].structure, "MLV");
  EXPECT_EQ(rows[0].voxels, 160);
  EXPECT_DOUBLE_EQ(rows[0].ml, 0.08);
  EXPECT_EQ(rows[1].structure, "LABC");
  EXPECT_EQ(rows[1].value, 420);
  EXPECT_EQ(rows[1].voxels, 40);
  EXPECT_EQ(rows[2].voxels, 0);
  EXPECT_DOUBLE_EQ(myocardial_mass_g("MLV", 100.0), 105.0);
  EXPECT_TRUE(std::isnan(myocardial_mass_g("LABC", 100.0)));
  const auto lines = lines_of(volumes_csv(rows));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[0], "case,structure,value,voxels,volume_ml,mass_g");
  EXPECT_EQ(lines[1], "case7,MLV,205,160,0.080,0.08");
  EXPECT_EQ(lines[2], "case7,LABC,420,40,0.020,");
  EXPECT_EQ(lines[7], "case7,PUA,850,0,0.000,");
}

TEST(StructureVolumes, ValueOutsideTheMapIsAnErrorNamingTheFile) {
  LabelVolume v = LabelVolume::filled(grid(), 0);
  v.at(1, 1, 1) = 7;
  v.source = "odd_label.nii.gz";
  try {
    structure_volumes("odd", v, LabelMap::mmwhs());
    FAIL() << "value 7 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "odd_label.nii.gz: label value 7 (1 voxels) is not in the label map");
  }
}

TEST(StructureVolumes, EvaluationGivesPredictedAndReferenceVolumes) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("pred"));
  std::filesystem::create_directories(dir.file("truth"));
  LabelVolume truth = LabelVolume::filled(grid(), 0), pred = truth;
  for (int i = 0; i < 10; ++i) {
    truth.at(i, 0, 0) = 205;               // 10 voxels
    if (i < 6) pred.at(i, 0, 0) = 205;     // 6 voxels
  }
  write_labels(dir.file("truth/c1_label.nii.gz"), truth);
  write_labels(dir.file("pred/c1_label.nii.gz"), pred);
  const Evaluation e = evaluate_folders(dir.file("pred"), dir.file("truth"), LabelMap::mmwhs(), "m");
  const auto rows = structure_volumes(e);
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0].voxels, 6);
  EXPECT_EQ(rows[0].truth_voxels, 10);
  const auto lines = lines_of(volumes_csv(rows));
  EXPECT_EQ(lines[0], "model,case,structure,value,voxels,volume_ml,mass_g,truth_voxels,truth_volume_ml,truth_mass_g,difference_ml");
  EXPECT_EQ(lines[1], "m,c1,MLV,205,6,0.003,0.00,10,0.005,0.01,-0.002");
  EXPECT_EQ(lines[2], "m,c1,LABC,420,0,0.000,,0,0.000,,0.000");
}

}  // namespace
}  // namespace coordseg
