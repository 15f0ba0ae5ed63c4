#include "coordseg/core/phantom.h"

#include <gtest/gtest.h>

#include <map>

#include "coordseg/core/dataset.h"
#include "coordseg/core/error.h"
#include "coordseg/core/labels.h"
#include "coordseg/core/nifti.h"
#include "test_util.h"

namespace coordseg {
namespace {

const int32_t kValues[7] = {205, 420, 500, 550, 600, 820, 850};

// Plausible volumes (ml) per structure, as the phantom promises.
const std::map<int32_t, std::pair<double, double>> kRanges = {
    {500, {60, 180}}, {205, {80, 200}}, {600, {70, 200}}, {420, {40, 120}},
    {550, {40, 140}}, {820, {15, 60}},  {850, {15, 60}}};

std::map<int32_t, double> volumes_ml(const LabelVolume& l) {
  std::map<int32_t, double> out;
  for (const auto& [v, n] : count_values(l.voxels)) out[v] = static_cast<double>(n) * l.grid.voxel_ml();
  return out;
}

// The quick CT cases 0..5 of seed 11, drawn once for the suite.
const std::vector<PhantomCase>& quick_cases() {
  static const std::vector<PhantomCase> cases = [] {
    PhantomOptions o;
    o.seed = 11;
    o.cases = 6;
    std::vector<PhantomCase> out;
    for (int i = 0; i < o.cases; ++i) out.push_back(make_phantom_case(o, i));
    return out;
  }();
  return cases;
}

TEST(Phantom, EveryStructureIsPresentWithAPlausibleVolume) {
  for (const auto& c : quick_cases()) {
    const auto ml = volumes_ml(c.labels);
    for (const int32_t v : kValues) {
      ASSERT_TRUE(ml.count(v)) << c.facts.id << " lacks label " << v;
      EXPECT_GE(ml.at(v), kRanges.at(v).first) << c.facts.id << " label " << v;
      EXPECT_LE(ml.at(v), kRanges.at(v).second) << c.facts.id << " label " << v;
    }
    EXPECT_EQ(ml.size(), 8u) << c.facts.id << ": only background and the seven structures";
  }
}

TEST(Phantom, LvAndRvCavitiesNeverTouch) {
  for (const auto& c : quick_cases()) {
    const auto& l = c.labels;
    const auto& d = l.grid.dims;
    int64_t touching = 0;
    for (int64_t k = 1; k + 1 < d[2]; ++k)
      for (int64_t j = 1; j + 1 < d[1]; ++j)
        for (int64_t i = 1; i + 1 < d[0]; ++i) {
          if (l.at(i, j, k) != 500) continue;
          for (int dk = -1; dk <= 1; ++dk)  // all 26 neighbours
            for (int dj = -1; dj <= 1; ++dj)
              for (int di = -1; di <= 1; ++di) touching += l.at(i + di, j + dj, k + dk) == 600;
        }
    EXPECT_EQ(touching, 0) << c.facts.id;
  }
}

// On most axial slices, at least 60% of the LV cavity's in-plane boundary is myocardium.
TEST(Phantom, MyocardiumEnclosesTheLvCavityOnMostSlices) {
  for (const auto& c : quick_cases()) {
    const auto& l = c.labels;
    const auto& d = l.grid.dims;
    int slices = 0, enclosed = 0;
    double worst = 1.0;
    for (int64_t k = 0; k < d[2]; ++k) {
      int64_t boundary = 0, myo = 0;
      for (int64_t j = 1; j + 1 < d[1]; ++j)
        for (int64_t i = 1; i + 1 < d[0]; ++i) {
          if (l.at(i, j, k) != 500) continue;
          for (const auto& [di, dj] : {std::pair{1, 0}, std::pair{-1, 0}, std::pair{0, 1}, std::pair{0, -1}}) {
            const int32_t n = l.at(i + di, j + dj, k);
            if (n == 500) continue;
            ++boundary;
            myo += n == 205;
          }
        }
      if (boundary == 0) continue;
      ++slices;
      enclosed += myo >= 0.6 * boundary;
      worst = std::min(worst, static_cast<double>(myo) / static_cast<double>(boundary));
    }
    ASSERT_GT(slices, 10) << c.facts.id;
    // Axial slices cut the oblique LV; near the base they cross the open valve plane, where
    // half the boundary is the valve ring and the aorta. Elsewhere the wall closes around.
    EXPECT_GE(enclosed, 2.0 / 3.0 * slices) << c.facts.id << ": " << enclosed << " of " << slices;
    EXPECT_GE(worst, 0.45) << c.facts.id;
  }
}

TEST(Phantom, BloodPoolsShareOneIntensityRange) {
  for (const auto& c : quick_cases()) {
    // Mean intensity of each structure's interior (all six neighbours share its label), away
    // from the partial volume that blur leaves at its edges.
    std::map<int32_t, double> sum;
    std::map<int32_t, int64_t> n;
    const auto& l = c.labels;
    const auto& d = l.grid.dims;
    for (int64_t k = 1; k + 1 < d[2]; ++k)
      for (int64_t j = 1; j + 1 < d[1]; ++j)
        for (int64_t i = 1; i + 1 < d[0]; ++i) {
          const int32_t v = l.at(i, j, k);
          if (l.at(i - 1, j, k) != v || l.at(i + 1, j, k) != v || l.at(i, j - 1, k) != v || l.at(i, j + 1, k) != v ||
              l.at(i, j, k - 1) != v || l.at(i, j, k + 1) != v)
            continue;
          sum[v] += c.image.at(i, j, k);
          ++n[v];
        }
    for (const int32_t v : {420, 500, 550, 600, 820, 850}) {
      const double mean = sum[v] / static_cast<double>(n[v]);
      EXPECT_GE(mean, 250) << c.facts.id << " label " << v;
      EXPECT_LE(mean, 500) << c.facts.id << " label " << v;
      EXPECT_NEAR(mean, c.facts.blood_level, 25) << c.facts.id << " label " << v;
    }
    const double myo = sum[205] / static_cast<double>(n[205]);
    EXPECT_GE(myo, 40);
    EXPECT_LE(myo, 150 + 10);
    EXPECT_LT(myo, c.facts.blood_level - 100) << c.facts.id;
  }
}

TEST(Phantom, GridsFollowThePresets) {
  PhantomOptions quick;
  PhantomOptions full;
  full.preset = PhantomPreset::kFull;
  PhantomOptions mr;
  mr.modality = Modality::kMR;
  std::map<std::string, int> orientations;
  for (int i = 0; i < 20; ++i) {
    const Grid q = phantom_grid(quick, i);
    for (int a = 0; a < 3; ++a) {
      EXPECT_GE(q.dims[static_cast<size_t>(a)], 80);
      EXPECT_LE(q.dims[static_cast<size_t>(a)], 130);
      EXPECT_GE(q.spacing[static_cast<size_t>(a)], 1.6 - 1e-9);
      EXPECT_LE(q.spacing[static_cast<size_t>(a)], 2.0 + 1e-9);
    }
    const Grid f = phantom_grid(full, i);
    EXPECT_EQ(f.dims[0], 512);
    EXPECT_EQ(f.dims[1], 512);
    EXPECT_GE(f.dims[2], 180);
    EXPECT_LE(f.dims[2], 300);
    EXPECT_GE(f.spacing[0], 0.3);
    EXPECT_LE(f.spacing[0], 0.5);
    EXPECT_GE(f.spacing[2], 0.5);
    EXPECT_LE(f.spacing[2], 0.65);
    const Grid m = phantom_grid(mr, i);
    EXPECT_GT(m.spacing[0], q.spacing[0] - 0.5);  // MR is coarser than CT
    EXPECT_GE(m.spacing[0], 2.0);
    ++orientations[orientation_code(q.affine)];
    // Spacing is the affine's voxel size.
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(q.affine.column_norm(a), q.spacing[static_cast<size_t>(a)], 1e-9);
  }
  EXPECT_EQ(orientations.size(), 2u);
  EXPECT_GT(orientations["RAS"], 3);
  EXPECT_GT(orientations["LPS"], 3);
}

TEST(Phantom, SameSeedSameVoxelsWhateverTheThreads) {
  PhantomOptions a;
  a.seed = 5;
  a.threads = 1;
  PhantomOptions b = a;
  b.threads = 3;
  const PhantomCase x = make_phantom_case(a, 2), y = make_phantom_case(b, 2);
  EXPECT_EQ(x.image.voxels, y.image.voxels);
  EXPECT_EQ(x.labels.voxels, y.labels.voxels);
  PhantomOptions c = a;
  c.seed = 6;
  EXPECT_NE(make_phantom_case(c, 2).image.voxels, x.image.voxels);
  EXPECT_NE(make_phantom_case(a, 3).image.voxels, x.image.voxels);
}

TEST(Phantom, MrLooksBrightBlood) {
  PhantomOptions o;
  o.modality = Modality::kMR;
  const PhantomCase c = make_phantom_case(o, 0);
  EXPECT_EQ(c.facts.id, "mr_train_1001");
  double blood = 0, myo = 0;
  int64_t nb = 0, nm = 0;
  float lo = 1e9f;
  for (size_t i = 0; i < c.labels.voxels.size(); ++i) {
    lo = std::min(lo, c.image.voxels[i]);
    if (c.labels.voxels[i] == 500) blood += c.image.voxels[i], ++nb;
    if (c.labels.voxels[i] == 205) myo += c.image.voxels[i], ++nm;
  }
  EXPECT_GT(blood / nb, 2.5 * (myo / nm));
  EXPECT_GE(lo, 0.0f);  // magnitude images
}

TEST(Phantom, WrittenDatasetsAreByteIdenticalAndLoad) {
  testing::TempDir dir;
  PhantomOptions o;
  o.cases = 2;
  o.seed = 9;
  write_phantom_dataset(dir.file("a"), o, false);
  o.threads = 1;
  write_phantom_dataset(dir.file("b"), o, false);
  for (const std::string f : {"ct_train/ct_train_1001_image.nii.gz", "ct_train/ct_train_1002_label.nii.gz", "dataset.json"})
    EXPECT_EQ(testing::read_all(dir.file("a/" + f)), testing::read_all(dir.file("b/" + f))) << f;

  const Dataset ds = discover_dataset(dir.file("a"));
  EXPECT_EQ(ds.layout, "mmwhs");
  ASSERT_EQ(ds.cases.size(), 2u);
  EXPECT_EQ(ds.cases[1].id, "ct_train_1002");
  EXPECT_EQ(ds.cases[1].modality, "ct");
  ASSERT_TRUE(ds.labels.has_value());
  EXPECT_EQ(ds.labels->values, LabelMap::mmwhs().values);
  EXPECT_EQ(ds.labels->names, LabelMap::mmwhs().names);
  const LoadedCase c = load_case(ds.cases[0], *ds.labels);
  const PhantomCase direct = make_phantom_case(o, 0);
  EXPECT_EQ(c.image.voxels, direct.image.voxels);
  EXPECT_LT(c.image.grid.affine.max_abs_diff(direct.image.grid.affine), 1e-4);
  EXPECT_EQ(c.image.header.datatype, DT_INT16);
  EXPECT_EQ(c.image.header.qform_code, 1);
  EXPECT_EQ(c.image.header.sform_code, 1);
  int64_t lv = 0;
  for (const int32_t v : c.classes.voxels) lv += v == 3;
  EXPECT_EQ(lv, std::count(direct.labels.voxels.begin(), direct.labels.voxels.end(), 500));
}

TEST(Phantom, BadOptions) {
  testing::TempDir dir;
  PhantomOptions o;
  o.cases = 0;
  try {
    write_phantom_dataset(dir.file("x"), o, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--cases: must be at least 1 (got 0)");
    EXPECT_EQ(e.exit_code(), 2);
  }
  EXPECT_THROW(parse_preset("huge"), Error);
  EXPECT_THROW(parse_modality("pet"), Error);
  EXPECT_EQ(parse_modality("MR"), Modality::kMR);

  // A folder with other files is refused without --force, and left as it was.
  std::filesystem::create_directories(dir.file("busy"));
  std::ofstream(dir.file("busy/notes.txt")) << "mine";
  o.cases = 1;
  try {
    write_phantom_dataset(dir.file("busy"), o, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("folder already holds files"), std::string::npos);
    EXPECT_EQ(e.exit_code(), 2);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("busy/ct_train")));
  write_phantom_dataset(dir.file("busy"), o, true);
  EXPECT_TRUE(std::filesystem::exists(dir.file("busy/ct_train/ct_train_1001_label.nii.gz")));
}

}  // namespace
}  // namespace coordseg
