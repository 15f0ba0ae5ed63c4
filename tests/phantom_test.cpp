#include "coordseg/core/phantom.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "coordseg/core/components.h"
#include "coordseg/core/dataset.h"
#include "coordseg/core/error.h"
#include "coordseg/core/labels.h"
#include "coordseg/core/nifti.h"
#include "test_util.h"

namespace coordseg {
namespace {

const int32_t kValues[7] = {205, 420, 500, 550, 600, 820, 850};

// Plausible volumes (ml) per structure, as the phantom promises (README: the published
// ranges behind them). Generation 2's ASA is the root and the whole ascending aorta, its PUA
// the trunk and the first 15-25 mm of each branch.
const std::map<int32_t, std::pair<double, double>> kRanges = {
    {500, {60, 180}}, {205, {80, 200}}, {600, {70, 200}}, {420, {40, 120}},
    {550, {40, 140}}, {820, {20, 95}},  {850, {12, 60}}};

std::map<int32_t, double> volumes_ml(const LabelVolume& l) {
  std::map<int32_t, double> out;
  for (const auto& [v, n] : count_values(l.voxels)) out[v] = static_cast<double>(n) * l.grid.voxel_ml();
  return out;
}

// The quick CT cases 0..7 of seed 11, drawn once for the suite.
const std::vector<PhantomCase>& quick_cases() {
  static const std::vector<PhantomCase> cases = [] {
    PhantomOptions o;
    o.seed = 11;
    o.cases = 8;
    std::vector<PhantomCase> out;
    for (int i = 0; i < o.cases; ++i) out.push_back(make_phantom_case(o, i));
    return out;
  }();
  return cases;
}

// FNV-1a over the voxels of image and labels.
uint64_t digest(const PhantomCase& c) {
  uint64_t h = 1469598103934665603ull;
  auto eat = [&](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  eat(c.image.voxels.data(), c.image.voxels.size() * sizeof(float));
  eat(c.labels.voxels.data(), c.labels.voxels.size() * sizeof(int32_t));
  return h;
}

// The world-space centroid (mm, RAS+) of a label's voxels.
std::array<double, 3> centroid(const LabelVolume& l, int32_t value) {
  std::array<double, 3> sum{};
  int64_t n = 0;
  const auto& d = l.grid.dims;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i)
        if (l.at(i, j, k) == value) {
          const auto p = l.grid.affine.apply(static_cast<double>(i), static_cast<double>(j), static_cast<double>(k));
          for (int a = 0; a < 3; ++a) sum[static_cast<size_t>(a)] += p[static_cast<size_t>(a)];
          ++n;
        }
  for (auto& x : sum) x /= static_cast<double>(std::max<int64_t>(n, 1));
  return sum;
}

// Calls fn(i, j, k) for each voxel of label `value` whose neighbours from -before to +after
// along every axis share it: the label's interior, away from the partial volume at its edges.
template <class F>
void for_interior(const LabelVolume& l, int32_t value, int before, int after, F&& fn) {
  const auto& d = l.grid.dims;
  for (int64_t k = before; k + after < d[2]; ++k)
    for (int64_t j = before; j + after < d[1]; ++j)
      for (int64_t i = before; i + after < d[0]; ++i) {
        bool inside = true;
        for (int s = -before; s <= after && inside; ++s)
          inside = l.at(i + s, j, k) == value && l.at(i, j + s, k) == value && l.at(i, j, k + s) == value;
        if (inside) fn(i, j, k);
      }
}

// Mean image value over the interior of a label (two voxels in).
double interior_mean(const PhantomCase& c, int32_t value) {
  double sum = 0;
  int64_t n = 0;
  for_interior(c.labels, value, 2, 2, [&](int64_t i, int64_t j, int64_t k) {
    sum += c.image.at(i, j, k);
    ++n;
  });
  return n ? sum / static_cast<double>(n) : 0.0;
}

TEST(Phantom, GenerationOneIsTheReleasedPhantomVoxelForVoxel) {
  // Digests of generation 1 as it was released (commit d5bafcd): the same seed still gives
  // the same voxels, so results published on it can be reproduced.
  const uint64_t expected[2][2] = {{0x41bd711c505f6101ull, 0x5609895c1b305939ull},
                                   {0x4dab0366895b6d07ull, 0x2022cb10323defcbull}};
  for (int m = 0; m < 2; ++m)
    for (int i = 0; i < 2; ++i) {
      PhantomOptions o;
      o.seed = 11;
      o.generation = 1;
      o.modality = m ? Modality::kMR : Modality::kCT;
      const PhantomCase c = make_phantom_case(o, i == 0 ? 0 : 3);
      EXPECT_EQ(digest(c), expected[m][i]) << c.facts.id;
      EXPECT_EQ(c.facts.phase, "");
    }
}

TEST(Phantom, GenerationTwoIsTheMeasuredPhantom) {
  // Generation 2 as the README's table, pictures and demo figures measured it. A change that
  // alters these digests on purpose re-measures those figures. Under make sanitize (clang)
  // this also checks that the phantom does not depend on the compiler: every draw is
  // sequenced (operands' order is the compiler's choice, and GCC and clang differ).
  // All eight quick CT cases: a change can leave one case as it was (the first of seed 11
  // kept its voxels when the LA appendage moved off the pulmonary veins).
  PhantomOptions o;
  o.seed = 11;
  uint64_t all = 0;
  for (const auto& c : quick_cases()) all = (all ^ digest(c)) * 1099511628211ull;
  EXPECT_EQ(all, 0x5287a4c1249ea54dull);
  o.modality = Modality::kMR;
  EXPECT_EQ(digest(make_phantom_case(o, 0)), 0x371ba437965a8a37ull);
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

// ml of each structure (classes 1-7) outside its largest 6-connected component.
std::array<double, 8> detached_ml(const PhantomCase& c) {
  const LabelMap map = LabelMap::mmwhs();
  LabelVolume classes = to_classes(c.labels, map);
  std::array<int64_t, 8> before{}, after{};
  for (const int32_t k : classes.voxels) ++before[static_cast<size_t>(k)];
  keep_largest_components(classes, map.num_classes());
  for (const int32_t k : classes.voxels) ++after[static_cast<size_t>(k)];
  std::array<double, 8> ml{};
  for (size_t k = 1; k < 8; ++k) ml[k] = static_cast<double>(before[k] - after[k]) * c.labels.grid.voxel_ml();
  return ml;
}

// A structure of a real label map is one piece. Until 2026-12-07 the pulmonary trunk's
// rounded end kept a wall across the RV's outflow tract under the valve (a second RV piece of
// 2-6 ml in 39 of seed 7's 40 quick CT cases), and the LA's appendage, pushed off the
// vessels round it, sometimes ran away from the LA (a second LA piece of 14-21 ml in cases
// 19, 32 and 33 of seed 7). Until 2026-12-07 (fourteenth session) a pocket of the RV's
// ellipsoid behind the aortic root, cut off by the root and the LA's wall, stayed RV blood:
// 0.48, 0.56 and 0.27 ml in seed 7's cases 9, 16 and 27 (13 of 240 cases over six seeds had
// one of 0.2-0.6 ml), and a deformation left a few stray voxels of a structure apart in many
// cases (up to 0.05 ml in seed 11's eight). Such pieces are now drawn as wall, so in those
// cases and seed 11's eight every structure is one piece.
TEST(Phantom, EveryStructureIsOnePiece) {
  std::vector<const PhantomCase*> cases;
  for (const auto& c : quick_cases()) cases.push_back(&c);
  PhantomOptions o;
  o.seed = 7;
  std::vector<PhantomCase> seven;
  for (const int i : {8, 15, 18, 26, 31, 32}) seven.push_back(make_phantom_case(o, i));
  for (const auto& c : seven) cases.push_back(&c);
  const LabelMap map = LabelMap::mmwhs();
  for (const PhantomCase* c : cases) {
    const auto ml = detached_ml(*c);
    for (size_t k = 1; k < 8; ++k) EXPECT_EQ(ml[k], 0.0) << c->facts.id << " " << map.names[k];
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
    // half the boundary is the valve ring and the aorta, and the outflow tract under the
    // aortic root, whose top is the aortic valve. Elsewhere the wall closes around. (Over
    // these 8: 65-80 % of the slices; 68-80 % before the outflow tract, which adds two
    // slices to case 1001.)
    EXPECT_GE(enclosed, 0.6 * slices) << c.facts.id << ": " << enclosed << " of " << slices;
    EXPECT_GE(worst, 0.45) << c.facts.id;
  }
}

TEST(Phantom, GenerationOneBloodPoolsShareOneIntensityRange) {
  std::vector<PhantomCase> cases;
  PhantomOptions o;
  o.seed = 11;
  o.generation = 1;
  for (int i = 0; i < 4; ++i) cases.push_back(make_phantom_case(o, i));
  for (const auto& c : cases) {
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
  std::vector<double> fovs;
  for (int i = 0; i < 14; ++i) {
    const Grid q = phantom_grid(quick, i);
    for (int a = 0; a < 3; ++a) {
      EXPECT_GE(q.spacing[static_cast<size_t>(a)], 1.6 - 1e-9);
      EXPECT_LE(q.spacing[static_cast<size_t>(a)], 2.0 + 1e-9);
    }
    // Fields of view from a tight cardiac one (185 mm) to the whole chest (330 mm).
    EXPECT_EQ(q.dims[0], q.dims[1]);
    EXPECT_GE(q.dims[0] * q.spacing[0], 185 - 1.0);
    EXPECT_LE(q.dims[0] * q.spacing[0], 330 + 1.0);
    EXPECT_GE(q.dims[2], 80);
    EXPECT_LE(q.dims[2], 120);
    fovs.push_back(q.dims[0] * q.spacing[0]);
    const Grid f = phantom_grid(full, i);
    EXPECT_EQ(f.dims[0], 512);
    EXPECT_EQ(f.dims[1], 512);
    EXPECT_GE(f.dims[2], 180);
    EXPECT_LE(f.dims[2], 300);
    EXPECT_GE(f.spacing[0], 170.0 / 512 - 1e-9);  // MM-WHS CT's 0.3-0.6 mm to a chest CT's 0.78
    EXPECT_LE(f.spacing[0], 400.0 / 512 + 1e-9);
    EXPECT_GE(f.spacing[2], 0.5);
    EXPECT_LE(f.spacing[2], 0.65);
    // Generation 1 keeps its grids.
    PhantomOptions first = quick;
    first.generation = 1;
    const Grid g1 = phantom_grid(first, i);
    EXPECT_GE(g1.dims[0], 112);
    EXPECT_LE(g1.dims[0], 128);
    const Grid m = phantom_grid(mr, i);
    EXPECT_GT(m.spacing[0], q.spacing[0] - 0.5);  // MR is coarser than CT
    EXPECT_GE(m.spacing[0], 2.0);
    ++orientations[orientation_code(q.affine)];
    // Spacing is the affine's voxel size.
    for (int a = 0; a < 3; ++a) EXPECT_NEAR(q.affine.column_norm(a), q.spacing[static_cast<size_t>(a)], 1e-9);
  }
  EXPECT_EQ(orientations.size(), 2u);
  EXPECT_GT(orientations["RAS"], 2);
  EXPECT_GT(orientations["LPS"], 2);
  EXPECT_LT(*std::min_element(fovs.begin(), fovs.end()), 225);
  EXPECT_GT(*std::max_element(fovs.begin(), fovs.end()), 280);
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
  for (const std::string f : {"ct_train/ct_train_1001_image.nii.gz", "ct_train/ct_train_1002_label.nii.gz", "dataset.json",
                              "phantom_facts.csv"})
    EXPECT_EQ(testing::read_all(dir.file("a/" + f)), testing::read_all(dir.file("b/" + f))) << f;

  const Dataset ds = discover_dataset(dir.file("a"));
  EXPECT_EQ(ds.layout, "mmwhs");
  ASSERT_EQ(ds.cases.size(), 2u);
  EXPECT_EQ(ds.cases[1].id, "ct_train_1002");
  EXPECT_EQ(ds.cases[1].modality, "ct");
  ASSERT_TRUE(ds.labels.has_value());
  EXPECT_EQ(ds.labels->values, LabelMap::mmwhs().values);
  EXPECT_EQ(ds.labels->names, LabelMap::mmwhs().names);
  // phantom_facts.csv: a header and one row per case, with the case's volumes.
  const auto bytes = testing::read_all(dir.file("a/phantom_facts.csv"));
  const std::string facts(bytes.begin(), bytes.end());
  EXPECT_EQ(std::count(facts.begin(), facts.end(), '\n'), 3);
  EXPECT_EQ(facts.rfind(phantom_facts_csv_header(), 0), 0u);
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

// World point -> the voxel holding it (rounded), or false outside the grid.
bool voxel_at(const Grid& g, const std::array<double, 3>& p, std::array<int64_t, 3>& ijk) {
  const Affine inv = g.affine.inverse();
  const auto v = inv.apply(p[0], p[1], p[2]);
  for (int a = 0; a < 3; ++a) {
    ijk[static_cast<size_t>(a)] = std::llround(v[static_cast<size_t>(a)]);
    if (ijk[static_cast<size_t>(a)] < 0 || ijk[static_cast<size_t>(a)] >= g.dims[static_cast<size_t>(a)]) return false;
  }
  return true;
}

TEST(Phantom, ChambersAndGreatVesselsSitWhereAnatomyPutsThem) {
  for (const auto& c : quick_cases()) {
    const auto& l = c.labels;
    const auto lv = centroid(l, 500), la = centroid(l, 420), ra = centroid(l, 550), rv = centroid(l, 600);
    const auto asa = centroid(l, 820), pua = centroid(l, 850);
    // RAS+: x toward the patient's right, y anterior, z superior.
    EXPECT_LT(la[1], lv[1]) << c.facts.id << ": LA posterior of the LV";
    EXPECT_GT(ra[0], la[0]) << c.facts.id << ": RA right of the LA";
    EXPECT_GT(rv[1], lv[1]) << c.facts.id << ": RV anterior of the LV";
    EXPECT_GT(asa[2], lv[2] + 15) << c.facts.id << ": the ascending aorta rises above the LV";
    EXPECT_GT(pua[2], lv[2] + 15) << c.facts.id << ": the pulmonary trunk rises above the LV";
    EXPECT_LT(pua[0], asa[0]) << c.facts.id << ": the pulmonary trunk runs left of the ascending aorta";
  }
}

TEST(Phantom, VesselSizesFollowPublishedRangesAndTheLabelsAgree) {
  for (const auto& c : quick_cases()) {
    const PhantomFacts& f = c.facts;
    // Lumen diameters and lengths, mm (README: Framingham CT, Gray's Anatomy, CMR references).
    EXPECT_GE(f.ascending_diameter, 26);
    EXPECT_LE(f.ascending_diameter, 36);
    EXPECT_GE(f.ascending_length, 35);
    EXPECT_LE(f.ascending_length, 75);
    // The aortic root, a truncated cone from its annulus (23 +/- 2 mm in women, 26 +/- 3 in
    // men) to its sinuses (30 +/- 3 and 34 +/- 3), 1.2-1.4 times as wide there.
    EXPECT_GE(f.annulus_diameter, 19) << f.id;
    EXPECT_LE(f.annulus_diameter, 33) << f.id;
    EXPECT_GE(f.sinus_diameter / f.annulus_diameter, 1.19) << f.id;
    EXPECT_LE(f.sinus_diameter / f.annulus_diameter, 1.41) << f.id;
    EXPECT_LT(f.annulus_diameter, f.ascending_diameter) << f.id;
    EXPECT_GE(f.trunk_diameter, 21);
    EXPECT_LE(f.trunk_diameter, 29);
    EXPECT_GE(f.trunk_length, 35);
    EXPECT_LE(f.trunk_length, 65);
    // The trunk and its right branch lie beside the aorta, their walls 1 mm apart.
    EXPECT_GE(f.trunk_aorta_gap, 0.5) << f.id;
    EXPECT_LE(f.trunk_aorta_gap, 3) << f.id;
    for (const double d : {f.rpa_diameter, f.lpa_diameter}) {
      EXPECT_GE(d, 13);
      EXPECT_LE(d, 20);
    }
    EXPECT_GE(f.descending_diameter, 20);
    EXPECT_LE(f.descending_diameter, 27);
    EXPECT_LT(f.descending_diameter, f.ascending_diameter);
    // The drawn ASA is what the label map holds: its volume over its length gives back the
    // diameter within the root's widening and the valve plane's cut.
    const double ml = structure_volumes_ml(c.labels)[6];
    const double d = 2 * std::sqrt(ml * 1000 / (M_PI * f.ascending_length));
    EXPECT_NEAR(d, f.ascending_diameter, 0.2 * f.ascending_diameter) << f.id;
  }
}

// ASA voxels that touch (6-neighbourhood) unlabelled voxels as bright as ASA's interior less
// 100: where the labelled ascending aorta goes on as unlabelled blood.
int64_t open_asa_faces(const PhantomCase& c) {
  const auto& l = c.labels;
  const auto& d = l.grid.dims;
  const double bright = interior_mean(c, 820) - 100;
  int64_t n = 0;
  for (int64_t k = 1; k + 1 < d[2]; ++k)
    for (int64_t j = 1; j + 1 < d[1]; ++j)
      for (int64_t i = 1; i + 1 < d[0]; ++i) {
        if (l.at(i, j, k) != 820) continue;
        bool open = false;
        for (const auto& [di, dj, dk] : {std::array<int, 3>{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}})
          open = open || (l.at(i + di, j + dj, k + dk) == 0 && c.image.at(i + di, j + dj, k + dk) > bright);
        n += open;
      }
  return n;
}

TEST(Phantom, TheAortaGoesOnUnlabelledPastTheAscendingPart) {
  // Generation 2 cuts ASA at the arch, across the open lumen (about pi r^2 / voxel area,
  // 200-600 voxel faces here); generation 1's aorta ended in a closed cap.
  PhantomOptions first;
  first.seed = 11;
  first.generation = 1;
  int64_t second_total = 0, first_total = 0;
  for (int i = 0; i < 4; ++i) {
    const PhantomCase& c = quick_cases()[static_cast<size_t>(i)];
    const int64_t open = open_asa_faces(c);
    if (!c.facts.fov_cut) {
      EXPECT_GT(open, 150) << c.facts.id;
    }
    second_total += open;
    first_total += open_asa_faces(make_phantom_case(first, i));
  }
  EXPECT_GT(second_total, 4 * first_total);
}

TEST(Phantom, ContrastPhasesSetTheBloodPools) {
  // Phases come in the drawn shares: arterial 50 %, pulmonary 20 %, venous 30 %.
  std::map<std::string, int> phases;
  PhantomOptions o;
  o.seed = 3;
  for (int i = 0; i < 40; ++i) ++phases[phantom_facts(o, i).phase];
  EXPECT_EQ(phases.size(), 3u);
  EXPECT_NEAR(phases["arterial"], 20, 8);
  EXPECT_NEAR(phases["pulmonary"], 8, 6);
  EXPECT_NEAR(phases["venous"], 12, 7);
  for (const auto& c : quick_cases()) {
    const double left = interior_mean(c, 500), right = interior_mean(c, 600);
    if (c.facts.phase == "arterial") {
      EXPECT_GT(left - right, 30) << c.facts.id;
    } else if (c.facts.phase == "pulmonary") {
      EXPECT_GT(right - left, 40) << c.facts.id;
    } else {
      EXPECT_EQ(c.facts.phase, "venous");
      EXPECT_LT(std::fabs(left - right), 70) << c.facts.id;
    }
    EXPECT_GT(interior_mean(c, 820) - interior_mean(c, 205), 50) << c.facts.id;
  }
}

// Correlation of each voxel with its neighbour one step along `axis`, over a label's interior.
double neighbour_correlation(const PhantomCase& c, int32_t value, int axis) {
  std::vector<std::pair<double, double>> pairs;
  const int64_t di = axis == 0, dj = axis == 1, dk = axis == 2;
  for_interior(c.labels, value, 2, 3, [&](int64_t i, int64_t j, int64_t k) {
    pairs.push_back({c.image.at(i, j, k), c.image.at(i + di, j + dj, k + dk)});
  });
  double ma = 0, mb = 0;
  for (const auto& [a, b] : pairs) ma += a, mb += b;
  ma /= double(pairs.size());
  mb /= double(pairs.size());
  double sab = 0, saa = 0, sbb = 0;
  for (const auto& [a, b] : pairs) sab += (a - ma) * (b - mb), saa += (a - ma) * (a - ma), sbb += (b - mb) * (b - mb);
  return sab / std::sqrt(saa * sbb);
}

TEST(Phantom, CtNoiseIsCorrelatedInPlaneOnly) {
  const PhantomCase& c = quick_cases()[0];
  EXPECT_GT(neighbour_correlation(c, 820, 0), 0.25);
  EXPECT_GT(neighbour_correlation(c, 820, 1), 0.25);
  EXPECT_LT(neighbour_correlation(c, 820, 2), 0.15);
  PhantomOptions o;
  o.seed = 11;
  o.generation = 1;
  EXPECT_LT(std::fabs(neighbour_correlation(make_phantom_case(o, 0), 820, 0)), 0.12);  // white noise
}

TEST(Phantom, TheDiaphragmEndsTheLungsBelowTheHeart) {
  // Lung (below -500 HU inside the body) on the lowest slice against the slice through the LV:
  // generation 2 puts the liver and the diaphragm's domes there; generation 1 had lungs all the way.
  auto lung_fraction = [](const PhantomCase& c, double z) {
    std::array<int64_t, 3> v{};
    const auto lv = centroid(c.labels, 500);
    voxel_at(c.labels.grid, {lv[0], lv[1], z}, v);
    const auto& d = c.labels.grid.dims;
    int64_t lung = 0, body = 0;
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const float x = c.image.at(i, j, v[2]);
        body += x > -950;
        lung += x > -950 && x < -500;
      }
    return double(lung) / double(std::max<int64_t>(body, 1));
  };
  int checked = 0;
  for (const auto& c : quick_cases()) {
    const auto lv = centroid(c.labels, 500);
    const double bottom = c.labels.grid.affine.apply(0, 0, 0)[2];  // the slices are axial in both orders
    if (lv[2] - bottom < 50) continue;
    EXPECT_LT(lung_fraction(c, bottom + 2), 0.5 * lung_fraction(c, lv[2])) << c.facts.id;
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

// The world z of the lowest and the highest slice that hold a label (the phantom's slices are
// axial in both voxel orders).
std::pair<double, double> labelled_z_range(const LabelVolume& l) {
  const Grid& g = l.grid;
  const auto slice = static_cast<size_t>(g.dims[0] * g.dims[1]);
  double low = 1e30, high = -1e30;
  for (int64_t k = 0; k < g.dims[2]; ++k) {
    const auto from = l.voxels.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(k) * slice);
    if (std::none_of(from, from + static_cast<std::ptrdiff_t>(slice), [](int32_t v) { return v != 0; })) continue;
    const double z = g.affine.apply(0, 0, static_cast<double>(k))[2];
    low = std::min(low, z);
    high = std::max(high, z);
  }
  return {low, high};
}

// Walking back from the skin along the world column x = 0 of every axial slice that holds
// labels at least 25 mm above the heart's lowest labelled slice (above the xiphoid): the
// sternum (bone above 250 HU over at least 6 mm) comes before the first labelled voxel.
// Returns the slices checked; `missing` counts those where the heart came first.
int sternum_in_front_of_heart(const PhantomCase& c, int& missing) {
  const LabelVolume& l = c.labels;
  const Grid& g = l.grid;
  const auto& d = g.dims;
  // Both voxel orders are axis-aligned: find the column's i and the sense of j toward anterior.
  std::array<int64_t, 3> v{};
  const auto lv = centroid(l, 500);
  if (!voxel_at(g, {0.0, lv[1], lv[2]}, v)) return 0;
  const int64_t i = v[0];
  const bool anterior_up = g.affine.m[1][1] > 0;
  const double z_low = labelled_z_range(l).first;
  const int run_needed = static_cast<int>(std::ceil(6.0 / g.spacing[1]));
  int checked = 0;
  missing = 0;
  for (int64_t k = 0; k < d[2]; ++k) {
    if (g.affine.apply(0, 0, static_cast<double>(k))[2] < z_low + 25) continue;
    bool skin = false, bone = false, seen = false;
    int run = 0;
    for (int64_t s = 0; s < d[1]; ++s) {
      const int64_t j = anterior_up ? d[1] - 1 - s : s;
      const float x = c.image.at(i, j, k);
      if (!skin) {
        if (s == 0 && x > -500) break;  // the field of view cuts the chest: no skin to start from
        skin = x > -500;
        continue;
      }
      if (l.at(i, j, k) != 0) {
        seen = true;
        break;
      }
      run = x > 250 ? run + 1 : 0;
      bone = bone || run >= run_needed;
    }
    if (!seen) continue;
    ++checked;
    missing += !bone;
  }
  return checked;
}

TEST(Phantom, TheHeartLiesBehindTheSternum) {
  // Generation 1's shapes are classified before the chest wall, and the heart often replaced
  // the sternum and reached into the wall's muscle; generation 2 deepens the chest instead.
  int checked = 0;
  for (const auto& c : quick_cases()) {
    int missing = 0;
    checked += sternum_in_front_of_heart(c, missing);
    EXPECT_EQ(missing, 0) << c.facts.id << ": slices where the heart comes before the sternum";
  }
  EXPECT_GE(checked, 40);
}

TEST(Phantom, TheAirwayKeepsClearOfTheVesselsAndHasPublishedSizes) {
  // The trachea and main bronchi are placed round the great vessels (the arch round the
  // trachea's left, the right pulmonary artery in front of the right bronchus); where room is
  // short a bronchus narrows, and in rare cases a vessel still overlaps it (7 of 240 cases
  // over six seeds, by up to 2.9 mm, until the aortic root moved to the front of the LV's
  // base on 2026-12-07; since, one of the 240 by 0.3 mm, none of these 20).
  PhantomOptions o;
  o.seed = 7;
  int clear = 0;
  for (int i = 0; i < 20; ++i) {
    const PhantomFacts f = phantom_facts(o, i);
    // Trachea: coronal diameter 13-25 mm (men), 10-21 mm (women) (Breatnach et al. 1984).
    EXPECT_GE(f.trachea_diameter, 10) << f.id;
    EXPECT_LE(f.trachea_diameter, 22) << f.id;
    // Carina: 60.8 +/- 11.8 degrees between the main bronchi (Haskin & Goodman 1982).
    EXPECT_GE(f.carina_angle, 40) << f.id;
    EXPECT_LE(f.carina_angle, 90) << f.id;
    EXPECT_GT(f.airway_clearance, -1.0) << f.id;
    clear += f.airway_clearance >= 0;
  }
  EXPECT_GE(clear, 19);
}

TEST(Phantom, PulmonaryVeinsKeepOffTheirNeighbours) {
  // Drawn as they came, the veins ran into a neighbouring vessel (mostly the descending aorta,
  // the right pulmonary artery or the coronary sinus) in every one of these 40 cases (by
  // 4.8-21.6 mm, median 10.4); each now takes the course nearest its drawn one that keeps
  // clear, or the one that comes closest. Where none kept clear, the closest still ran into a
  // neighbour by up to 5.4 mm (the coronary sinus, or the descending aorta: -6.6 with the
  // slimmer LV of 2026-12-07); it is now pushed off them, and the worst is -1.8 mm. Once the
  // LA is fitted to its volume (smaller since its vestibule reaches a mitral orifice the
  // annulus's size), a vein that overlaps a neighbour is placed again: 34 of 40 clear, the
  // median 1.0 mm and three quarters at 0.3 or more (30, 0.7 and -0.0 before). Since the LA
  // sits higher (seventeenth session) its left upper vein has less room beside the appendage:
  // 32 clear, the median 0.7, three quarters at 0.1 or more, the worst -1.6.
  PhantomOptions o;
  o.seed = 7;
  std::vector<double> gaps;
  for (int i = 0; i < 40; ++i) {
    const PhantomFacts f = phantom_facts(o, i);
    EXPECT_GT(f.vein_clearance, -2.5) << f.id;
    gaps.push_back(f.vein_clearance);
  }
  std::sort(gaps.begin(), gaps.end());
  EXPECT_GT(gaps[20], 0.5);                       // the median
  EXPECT_GT(gaps[10], 0.0);                       // three quarters clear
  EXPECT_GE(gaps.end() - std::lower_bound(gaps.begin(), gaps.end(), 0.0), 32);  // clear
}

// The lowest HU within 15 mm of the world midline (x = 0) on slice k, between the body's
// front and back halves' inner thirds: air there is the trachea (the lungs keep 18 mm off
// the midline).
float midline_minimum(const PhantomCase& c, int64_t k) {
  const Grid& g = c.image.grid;
  float low = 1e9f;
  for (int64_t j = 0; j < g.dims[1]; ++j)
    for (int64_t i = 0; i < g.dims[0]; ++i) {
      const auto p = g.affine.apply(static_cast<double>(i), static_cast<double>(j), static_cast<double>(k));
      if (std::fabs(p[0]) < 15 && std::fabs(p[1]) < 60) low = std::min(low, c.image.at(i, j, k));
    }
  return low;
}

TEST(Phantom, TheTracheaIsAirAboveTheHeart) {
  // On the slice 15 mm above the highest labelled voxel: air (below -900 HU) near the midline
  // in generation 2, none in generation 1, which has no airway.
  PhantomOptions first;
  first.seed = 11;
  first.generation = 1;
  int checked = 0;
  for (int i = 0; i < 4; ++i) {
    const PhantomCase& second = quick_cases()[static_cast<size_t>(i)];
    const PhantomCase one = make_phantom_case(first, i);
    for (const PhantomCase* c : {&second, &one}) {
      const Grid& g = c->labels.grid;
      const double top = labelled_z_range(c->labels).second;
      std::array<int64_t, 3> v{};
      if (!voxel_at(g, {0.0, 0.0, top + 15}, v)) continue;  // the field of view ends there
      const float low = midline_minimum(*c, v[2]);
      if (c == &second) {
        EXPECT_LT(low, -900) << c->facts.id;
        ++checked;
      } else {
        EXPECT_GT(low, -900) << c->facts.id << " (generation 1)";
      }
    }
  }
  EXPECT_GE(checked, 2);
}

// The share of lung voxels (-950 to -650 HU) on the axial slices that hold labels that are
// small bright structures inside the lungs instead: above -500 HU with at least three of
// their four in-plane neighbours 3 voxels away below -650 HU.
double lung_vessel_share(const PhantomCase& c) {
  const Grid& g = c.image.grid;
  const auto& d = g.dims;
  const auto [low, high] = labelled_z_range(c.labels);
  int64_t vessel = 0, lung = 0;
  for (int64_t k = 0; k < d[2]; ++k) {
    const double z = g.affine.apply(0, 0, static_cast<double>(k))[2];
    if (z < low || z > high) continue;
    for (int64_t j = 3; j + 3 < d[1]; ++j)
      for (int64_t i = 3; i + 3 < d[0]; ++i) {
        const float x = c.image.at(i, j, k);
        lung += x > -950 && x < -650;
        if (x <= -500) continue;
        const int dark = (c.image.at(i - 3, j, k) < -650) + (c.image.at(i + 3, j, k) < -650) +
                         (c.image.at(i, j - 3, k) < -650) + (c.image.at(i, j + 3, k) < -650);
        vessel += dark >= 3;
      }
  }
  return double(vessel) / double(std::max<int64_t>(lung, 1));
}

TEST(Phantom, TheLungsHoldVesselsPastTheHila) {
  // Generation 2 draws the pulmonary arteries and veins past the hila as trees that fill the
  // lungs (label 0), seen as small bright structures in the lungs; generation 1's lungs are
  // uniform.
  PhantomOptions first;
  first.seed = 11;
  first.generation = 1;
  for (int i = 0; i < 4; ++i) {
    const PhantomCase& second = quick_cases()[static_cast<size_t>(i)];
    const PhantomFacts& f = second.facts;
    // CT's pulmonary blood volume (vessels of 0.6 mm and more): 125 +/- 32 ml (94-201) in
    // lungs of 3705 +/- 857 ml (Sun et al. 2015), 3.4 %.
    EXPECT_GT(f.lung_vessels_ml, 60) << f.id;
    EXPECT_LT(f.lung_vessels_ml, 300) << f.id;
    EXPECT_GT(f.lung_vessels_ml / f.lung_ml, 0.015) << f.id;
    EXPECT_LT(f.lung_vessels_ml / f.lung_ml, 0.07) << f.id;
    const double share = lung_vessel_share(second);
    EXPECT_GT(share, 0.008) << f.id;

    const PhantomCase one = make_phantom_case(first, i);
    EXPECT_EQ(one.facts.lung_vessels_ml, 0) << one.facts.id;
    EXPECT_LT(lung_vessel_share(one), 0.2 * share) << one.facts.id << " (generation 1)";
  }
}

TEST(Phantom, TheCoronaryArteriesHavePublishedCalibresAndLieInTheFat) {
  // Generation 2 draws the coronary arteries over the epicardial fat (label 0). Lumen
  // diameters of normal coronary arteries (Dodge et al. 1992): left main 4.5 +/- 0.5 mm,
  // proximal LAD 3.7 +/- 0.4, proximal circumflex 3.4 +/- 0.5, proximal RCA 3.9 +/- 0.6.
  PhantomOptions o;
  o.seed = 7;
  for (int i = 0; i < 10; ++i) {
    const PhantomFacts f = phantom_facts(o, i);
    EXPECT_NEAR(f.lm_diameter, 4.5, 1.0) << f.id;
    EXPECT_NEAR(f.lad_diameter, 3.7, 0.8) << f.id;
    EXPECT_NEAR(f.lcx_diameter, 3.4, 1.0) << f.id;
    EXPECT_NEAR(f.rca_diameter, 3.9, 1.2) << f.id;
    // The left main is about a centimetre long (10.8 +/- 5.5 mm, Reig and Petit 2004). The
    // LAD runs down toward the apex (10-12 cm in most hearts), the circumflex round the left
    // side (6.5-8 cm), the RCA round the right side to the crux (122.5 +/- 17.8 mm to its end,
    // Nguyen and Talarico 2019) and on as the posterior descending artery. The phantom's
    // paths run a little longer than those; their smoothing keeps them within these bounds.
    // (The circumflex runs longer since the aortic root narrows to its annulus, 67-122 mm
    // over seed 7's first 40 cases against 62-114: in some the groove beside the root, which
    // the root covered, is now found and followed.)
    EXPECT_NEAR(f.lm_length, 11, 6) << f.id;
    EXPECT_NEAR(f.lad_length, 125, 45) << f.id;
    EXPECT_NEAR(f.lcx_length, 80, 45) << f.id;
    EXPECT_NEAR(f.rca_length, 140, 50) << f.id;
    EXPECT_GT(f.pda_length, 20) << f.id;
    // Two diagonals, one or two obtuse marginals and an acute marginal, each a few cm long.
    EXPECT_GE(f.branches, 3) << f.id;
    EXPECT_LE(f.branches, 5) << f.id;
    EXPECT_GT(f.branch_length, 25.0 * f.branches) << f.id;
    EXPECT_LT(f.branch_length, 80.0 * f.branches) << f.id;
    // Most of their length lies in the fat, where they are drawn; elsewhere a vein or a
    // wall covers them.
    EXPECT_GT(f.coronary_shown_pct, 65) << f.id;
  }
  o.generation = 1;
  EXPECT_EQ(phantom_facts(o, 0).lad_length, 0);
  EXPECT_EQ(phantom_facts(o, 0).branches, 0);
}

// Generation 1's first quick CT case of seed 11, made once.
const PhantomCase& generation_one_case() {
  static const PhantomCase c = [] {
    PhantomOptions first;
    first.seed = 11;
    first.generation = 1;
    return make_phantom_case(first, 0);
  }();
  return c;
}

// Mean intensity of the voxels of labels `a` and `b` beside each other (where they meet) and
// of those 3-6 voxels (Chebyshev) from the other label.
std::pair<double, double> boundary_contrast(const PhantomCase& c, int32_t a, int32_t b) {
  const auto& d = c.labels.grid.dims;
  double band = 0, far = 0;
  int64_t n_band = 0, n_far = 0;
  for (int64_t k = 6; k + 6 < d[2]; ++k)
    for (int64_t j = 6; j + 6 < d[1]; ++j)
      for (int64_t i = 6; i + 6 < d[0]; ++i) {
        const int32_t l = c.labels.at(i, j, k);
        if (l != a && l != b) continue;
        const int32_t other = l == a ? b : a;
        int nearest = 7;
        for (int64_t z = -6; z <= 6; ++z)
          for (int64_t y = -6; y <= 6; ++y)
            for (int64_t x = -6; x <= 6; ++x)
              if (c.labels.at(i + x, j + y, k + z) == other)
                nearest = std::min(nearest, static_cast<int>(std::max({std::abs(x), std::abs(y), std::abs(z)})));
        const bool beside = c.labels.at(i - 1, j, k) == other || c.labels.at(i + 1, j, k) == other ||
                            c.labels.at(i, j - 1, k) == other || c.labels.at(i, j + 1, k) == other ||
                            c.labels.at(i, j, k - 1) == other || c.labels.at(i, j, k + 1) == other;
        if (beside) band += c.image.at(i, j, k), ++n_band;
        if (nearest >= 3 && nearest <= 6) far += c.image.at(i, j, k), ++n_far;
      }
  return {band / static_cast<double>(std::max<int64_t>(n_band, 1)), far / static_cast<double>(std::max<int64_t>(n_far, 1))};
}

TEST(Phantom, ClosedSemilunarValvesMarkWhereTheVentriclesEndAndTheArteriesBegin) {
  // Generation 2 draws the aortic and pulmonary valves closed (diastole) in most cases: thin
  // cusps across the roots at the LVBC/ASA and RVBC/PUA boundaries, darker than the blood on
  // either side. Measured on seed 11's first four cases (three closed, one open): closed, the
  // blood beside LVBC/ASA is 10-14 % darker than 3-6 voxels away and beside RVBC/PUA 10-19 %
  // (least where the plane lies oblique to the voxels, so that the voxels beside it lie up to
  // a voxel from the cusps); open, 2 % brighter and 2 % darker. (Open, nothing is drawn there:
  // the band's mean moves with the walls beside it and the two pools' offsets. Since the
  // aortic root stands at the front of the LV's base, the open case's RVBC/PUA band, round a
  // trunk no longer dented by the LV, has more voxels beside the walls: 0.6-1.8 % darker as
  // the trunk's course changed, where it was 1.8 % brighter.)
  int closed = 0, open = 0;
  for (int i = 0; i < 4; ++i) {
    const PhantomCase& c = quick_cases()[static_cast<size_t>(i)];
    const auto [ao_band, ao_far] = boundary_contrast(c, 500, 820);
    const auto [pa_band, pa_far] = boundary_contrast(c, 600, 850);
    ASSERT_GT(ao_far, 100) << c.facts.id;  // contrast-filled blood
    ASSERT_GT(pa_far, 100) << c.facts.id;
    if (c.facts.valves_closed) {
      ++closed;
      EXPECT_LT(ao_band, ao_far * 0.95) << c.facts.id;
      EXPECT_LT(pa_band, pa_far * 0.95) << c.facts.id;
    } else {
      ++open;
      EXPECT_GT(ao_band, ao_far * 0.98) << c.facts.id;
      EXPECT_GT(pa_band, pa_far * 0.975) << c.facts.id;
    }
  }
  EXPECT_GT(closed, 0);
  EXPECT_GT(open, 0);
  EXPECT_FALSE(generation_one_case().facts.valves_closed);
}

// Voxel faces between every two different structure labels, in one pass: {min, max} -> count.
std::map<std::pair<int32_t, int32_t>, int64_t> label_contacts(const LabelVolume& l) {
  const auto& d = l.grid.dims;
  std::map<std::pair<int32_t, int32_t>, int64_t> faces;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const int32_t a = l.at(i, j, k);
        if (a == 0) continue;
        for (const auto& [x, y, z] : {std::array<int64_t, 3>{i + 1, j, k}, {i, j + 1, k}, {i, j, k + 1}}) {
          if (x >= d[0] || y >= d[1] || z >= d[2]) continue;
          const int32_t b = l.at(x, y, z);
          if (b != 0 && b != a) ++faces[{std::min(a, b), std::max(a, b)}];
        }
      }
  return faces;
}

// The voxel faces between labels a and b in `faces` (as label_contacts counts them).
int64_t contacts(const std::map<std::pair<int32_t, int32_t>, int64_t>& faces, int32_t a, int32_t b) {
  const auto it = faces.find({std::min(a, b), std::max(a, b)});
  return it == faces.end() ? int64_t{0} : it->second;
}

// How many voxel faces structure labels a and b share in a label map.
int64_t shared_faces(const LabelVolume& l, int32_t a, int32_t b) { return contacts(label_contacts(l), a, b); }

// Blood of two cavities meets only where a heart opens one into the other: LA/LV and RA/RV
// at the atrioventricular valves, LV/ASA and RV/PUA at the semilunar ones. Elsewhere a wall
// lies between (a few faces where the deformation thins the atrial septum or the RV's wall
// beside the LA). Seed 11's eight quick cases; over seed 7's 40 the largest slips are LA/RA
// 44 faces, LA/RV 8 and RV/ASA 3 (LA/RV 60 until the LA kept its wall inside the RV's
// outline, 2026-12-07). (What this does not cover yet: PUA rests on MLV, on up to 121 faces
// in 13 of seed 7's 40; see docs/measurements.md, 2026-12-07.)
TEST(Phantom, BloodPoolsMeetOnlyWhereTheHeartOpens) {
  const int32_t la = 420, lv = 500, ra = 550, rv = 600, asa = 820, pua = 850;
  for (const auto& c : quick_cases()) {
    const auto faces = label_contacts(c.labels);
    auto at = [&](int32_t a, int32_t b) { return contacts(faces, a, b); };
    const std::string& id = c.facts.id;
    EXPECT_GT(at(la, lv), 80) << id;
    EXPECT_GT(at(ra, rv), 80) << id;
    EXPECT_GT(at(lv, asa), 80) << id;
    EXPECT_GT(at(rv, pua), 80) << id;
    for (const auto& [a, b] : {std::pair{lv, rv}, {lv, ra}, {lv, pua}, {la, asa}, {la, pua}, {ra, asa}, {ra, pua},
                               {asa, pua}})
      EXPECT_EQ(at(a, b), 0) << id << " " << a << "/" << b;
    EXPECT_LE(at(la, ra), 60) << id;
    EXPECT_LE(at(la, rv), 10) << id;  // 0 in all eight (up to 25 before the LA kept its wall in the RV)
    EXPECT_LE(at(rv, asa), 10) << id;
  }
}

TEST(Phantom, TheAorticRootStandsAtTheFrontOfTheLvBase) {
  // Until 2026-12-07 the root stood 5-9 mm from the LV's axis, in the middle of its base,
  // which is tilted about 50 degrees (as in hearts): the LV's outline rose 25-30 mm above the
  // aortic valve toward the front and left, and the pulmonary trunk lay on it with no wall
  // between, PUA on MLV on 54-660 voxel faces in each of these eight cases (1977 in all).
  // Now the root stands at the front of the base toward the septum, its outflow tract under
  // it (LVBC) opening the whole annulus, and the trunk's bend and bifurcation rise where its
  // second segment passes low over the LV's left base: PUA meets MLV on 0-285 faces (660 in
  // all; 10 or fewer in five), and the mitral orifice has the room the root left (3.8-4.4
  // cm2, was 3.7-3.9). Since the LV is as slim as hearts' (2026-12-07), 0-189 faces (385 in
  // all; none in five). Since the trunk and its branches keep their wall where they pass over
  // the LV (2026-12-07, fifteenth session), none in any case (seed 7's 40 too, where 13 had
  // up to 121).
  for (const auto& c : quick_cases()) {
    const auto faces = label_contacts(c.labels);
    EXPECT_EQ(contacts(faces, 205, 850), 0) << c.facts.id << ": PUA on MLV";
    EXPECT_GT(contacts(faces, 500, 820), 150) << c.facts.id;  // LVBC/ASA across the whole annulus
    EXPECT_GE(c.facts.mitral_area, 3.5) << c.facts.id;
  }
}

TEST(Phantom, AtriaOpenIntoTheirVentriclesThroughTheValves) {
  // Until 2026-12-06 a 5 mm ring capped the LV's cavity and the RA was walled off from the
  // RV: no label map had LABC beside LVBC (0 faces in every case) and RABC met RVBC on at
  // most a few dozen faces where the deformation thinned the walls. Now the LA reaches down
  // to the mitral orifice and the RA opens into the RV through the tricuspid one (seed 11's
  // eight cases: tricuspid 2.9-6.1 cm2, 2.7-4.5 until it moved below the RA on 2026-12-07;
  // mitral 6.3-7.9 cm2 since it is drawn the annulus's size, LABC meeting LVBC on 402-428
  // faces, where the valve-sized orifice of before (3.8-4.4 cm2) gave 234-249). The leaflets are drawn into
  // the intensity only: closed (systole, when the semilunar valves are open) the blood beside
  // LABC/LVBC is 9-17 % darker than 3-6 voxels away; open they hang into the LV and it is at
  // most 5 % darker (3 % until the LV was made slimmer on 2026-12-07: in case 1008 its
  // orifice's rim, with the ring and the hanging leaflets, now takes more of the band).
  int closed = 0, open = 0;
  for (int i = 0; i < 8; ++i) {
    const PhantomCase& c = quick_cases()[static_cast<size_t>(i)];
    const auto faces = label_contacts(c.labels);
    EXPECT_GE(contacts(faces, 420, 500), 300) << c.facts.id;
    EXPECT_GE(contacts(faces, 550, 600), 120) << c.facts.id;
    EXPECT_GT(c.facts.mitral_area, 5.5) << c.facts.id;
    EXPECT_LT(c.facts.mitral_area, 9.5) << c.facts.id;
    EXPECT_GT(c.facts.tricuspid_area, 1.5) << c.facts.id;
    EXPECT_LT(c.facts.tricuspid_area, 8.0) << c.facts.id;
    const auto [band, far] = boundary_contrast(c, 420, 500);
    if (c.facts.valves_closed) {  // diastole: the atrioventricular valves open
      ++open;
      EXPECT_GT(band, far * 0.945) << c.facts.id;
    } else {
      ++closed;
      EXPECT_LT(band, far * 0.93) << c.facts.id;
    }
  }
  EXPECT_GT(closed, 0);
  EXPECT_GT(open, 0);
  const PhantomCase& c = generation_one_case();
  EXPECT_EQ(shared_faces(c.labels, 420, 500), 0);
  EXPECT_EQ(c.facts.mitral_area, 0);
}

// The world-space centroid (mm) of the voxel faces between labels a and b (each face at the
// midpoint of its two voxels).
std::array<double, 3> interface_centroid(const LabelVolume& l, int32_t a, int32_t b) {
  const auto& d = l.grid.dims;
  std::array<double, 3> sum{};
  int64_t n = 0;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const int32_t v = l.at(i, j, k);
        if (v != a && v != b) continue;
        for (const auto& [x, y, z] : {std::array<int64_t, 3>{i + 1, j, k}, {i, j + 1, k}, {i, j, k + 1}}) {
          if (x >= d[0] || y >= d[1] || z >= d[2] || l.at(x, y, z) != (v == a ? b : a)) continue;
          const auto p = l.grid.affine.apply(0.5 * static_cast<double>(i + x), 0.5 * static_cast<double>(j + y),
                                             0.5 * static_cast<double>(k + z));
          for (size_t c = 0; c < 3; ++c) sum[c] += p[c];
          ++n;
        }
      }
  for (auto& x : sum) x /= static_cast<double>(std::max<int64_t>(n, 1));
  return sum;
}

// The world-space point (mm) of labels a or b farthest from `from`.
std::array<double, 3> farthest(const LabelVolume& l, int32_t a, int32_t b, const std::array<double, 3>& from) {
  const auto& d = l.grid.dims;
  std::array<double, 3> best = from;
  double best_d2 = -1;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const int32_t v = l.at(i, j, k);
        if (v != a && v != b) continue;
        const auto p = l.grid.affine.apply(static_cast<double>(i), static_cast<double>(j), static_cast<double>(k));
        double d2 = 0;
        for (size_t c = 0; c < 3; ++c) d2 += (p[c] - from[c]) * (p[c] - from[c]);
        if (d2 > best_d2) best_d2 = d2, best = {p[0], p[1], p[2]};
      }
  return best;
}

TEST(Phantom, TheTricuspidOrificeLiesApicalOfTheMitralOne) {
  // In hearts the tricuspid valve's septal hinge lies 5-10 mm nearer the apex than the
  // mitral's, and the valve faces the RV's apex, below and in front of the mitral valve in a
  // supine chest. Until 2026-12-07 the RA opened into the RV sideways, through a channel in
  // both walls 15-20 mm baseward of the LV's base plane: on seed 11's eight quick cases the
  // centre of the RABC/RVBC interface lay 0.9-11.3 mm baseward of the LABC/LVBC one along the
  // LV's axis (from that centre to LVBC's centroid) and 3.7-13.3 mm above it. Then the RA
  // reached down to the orifice through its vestibule: 4.2-11.9 mm apical, 8.9-24.9 mm below.
  // The axis is now taken from the LABC/LVBC centre to the LV's apex (its farthest LVBC or MLV
  // voxel): the centroid's direction differs from it by 14-23 degrees, which moves a point 50-65
  // mm to the side by up to 20 mm along it. Since the RV was widened (2026-12-07, eleventh
  // session) the orifice lies farther out in the RV's wider base: 1.1-12.7 mm apical along the
  // apex axis (2.4-13.7 before), 50.7-64.9 mm from the mitral centre (47.3-53.4), and lower
  // in 7 of the 8 (8.9-19.9 mm); in ct_train_1004, whose pose raises the heart's right side,
  // it lies 42 mm right, 48 mm in front and 9.9 mm above (15.3 mm below before).
  // In hearts the two annuli's centres lie about 40 mm apart. Until the mitral orifice moved
  // toward the RA (2026-12-07, sixteenth session) the interfaces' centres lay 51.5-59.2 mm
  // apart (mean 54.8); now 46.4-54.1 (mean 49.3).
  int lower = 0;
  double drop = 0, apart = 0;
  for (int i = 0; i < 8; ++i) {
    const PhantomCase& c = quick_cases()[static_cast<size_t>(i)];
    const auto mitral = interface_centroid(c.labels, 420, 500);
    const auto tricuspid = interface_centroid(c.labels, 550, 600);
    apart += std::hypot(tricuspid[0] - mitral[0], tricuspid[1] - mitral[1], tricuspid[2] - mitral[2]) / 8;
    const auto apex = farthest(c.labels, 500, 205, mitral);
    double axis[3], norm = 0, apical = 0;
    for (size_t k = 0; k < 3; ++k) axis[k] = apex[k] - mitral[k], norm += axis[k] * axis[k];
    for (size_t k = 0; k < 3; ++k) apical += (tricuspid[k] - mitral[k]) * axis[k] / std::sqrt(norm);
    EXPECT_GT(apical, 0.5) << c.facts.id;
    EXPECT_LT(apical, 15.0) << c.facts.id;
    lower += mitral[2] - tricuspid[2] > 5.0;  // RAS+: z is up
    drop += (mitral[2] - tricuspid[2]) / 8;
    // The orifice's centre, as the phantom placed it: 8.6-12.6 mm apical of the mitral plane
    // (about 10 mm in hearts; -15 to -20 beside the RA).
    EXPECT_GT(c.facts.tricuspid_apical, 2.0) << c.facts.id;
    EXPECT_LT(c.facts.tricuspid_apical, 16.0) << c.facts.id;
  }
  EXPECT_GE(lower, 7);
  EXPECT_GT(drop, 8.0);
  EXPECT_LT(apart, 51.0);
}

TEST(Phantom, TheRvIsAsWideAsHearts) {
  // Echocardiography's RV-focused four-chamber view (Lang et al., J Am Soc Echocardiogr 2015):
  // the RV's basal diameter 33 +/- 4 mm (normal 25-41), its mid-cavity diameter 27 +/- 4
  // (19-35). Generation 1's RV, a thin crescent, measured 21-35 and 13-22 mm on seed 7's first
  // 12 quick cases (from the label maps); generation 2 widens it at the same volume
  // (widen_rv). PhantomFacts measures it on the model's shapes.
  for (int i = 0; i < 8; ++i) {
    const PhantomFacts& f = quick_cases()[static_cast<size_t>(i)].facts;
    EXPECT_GE(f.rv_basal, 25.0) << f.id;
    EXPECT_LE(f.rv_basal, 41.0) << f.id;
    EXPECT_GE(f.rv_mid, 19.0) << f.id;
    EXPECT_LE(f.rv_mid, 35.0) << f.id;
    EXPECT_GT(f.rv_basal, f.rv_mid - 2.0) << f.id;  // widest at its base
  }
}

TEST(Phantom, TheLvIsAsSlimAsHearts) {
  // The LV's internal diameter in diastole (LVIDd, Lang et al. 2015): 50.2 +/- 4.1 mm in men
  // (42.0-58.4), 45.0 +/- 3.6 in women (37.8-52.2). Generation 1's cavity, a half-ellipsoid
  // 2.1-2.5 times as long as its radius, measured 48.8-58.8 mm across and only 1.21-1.31 times
  // as long on these eight (PhantomFacts' measure); generation 2 makes it 10 % narrower and
  // longer at the same volume (elongate_lv): 43.8-52.8 across, 1.62-1.78 times as long.
  for (int i = 0; i < 8; ++i) {
    const PhantomFacts& f = quick_cases()[static_cast<size_t>(i)].facts;
    EXPECT_GE(f.lv_diameter, 37.8) << f.id;
    EXPECT_LE(f.lv_diameter, 58.4) << f.id;
    EXPECT_GT(f.lv_length, 1.5 * f.lv_diameter) << f.id;
  }
}

TEST(Phantom, PulmonaryTrunkStartsAtItsValveBesideTheAorta) {
  // The trunk begins where the RV's outflow tract ends (PUA and RVBC share the valve's plane)
  // and lies beside the aorta: between the lumens two walls (2 mm each) and a 1 mm gap, less
  // what the case's smooth deformation squeezes. Until 2026-12-06 the trunk's valve end lay
  // 9-25 mm inside the aortic root (which takes precedence): over 40 quick CT cases of seed 7
  // ASA and PUA were one wall apart (2.3-2.7 mm) in all 40, and PUA did not touch RVBC in 2.
  // Now 4.8-10.0 mm there, and PUA and RVBC share 57-243 voxel faces (seed 11's eight cases:
  // 4.8-10.2 mm, 101-295 faces).
  for (const auto& c : quick_cases()) {
    const auto& l = c.labels;
    const auto& d = l.grid.dims;
    const auto& sp = l.grid.spacing;
    std::vector<std::array<double, 3>> asa, pua;
    for (int64_t k = 1; k + 1 < d[2]; ++k)
      for (int64_t j = 1; j + 1 < d[1]; ++j)
        for (int64_t i = 1; i + 1 < d[0]; ++i) {
          const int32_t v = l.at(i, j, k);
          if (v != 820 && v != 850) continue;
          const int32_t n[6] = {l.at(i - 1, j, k), l.at(i + 1, j, k), l.at(i, j - 1, k),
                                l.at(i, j + 1, k), l.at(i, j, k - 1), l.at(i, j, k + 1)};
          if (std::all_of(n, n + 6, [v](int32_t x) { return x == v; })) continue;  // not on the surface
          (v == 820 ? asa : pua).push_back({i * sp[0], j * sp[1], k * sp[2]});
        }
    double nearest = 1e30;
    for (const auto& a : asa)
      for (const auto& b : pua)
        nearest = std::min(nearest, std::hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]));
    EXPECT_GE(shared_faces(l, 850, 600), 50) << c.facts.id;
    EXPECT_GE(nearest, 4.5) << c.facts.id;
  }
}

// Cardiac motion (CT, generation 2): about a third of the cases blur the heart's edges along
// one direction, by 0.8-2.0 mm (sd); the label map stays where it is, the noise is the same
// (it is added after), and nothing changes beyond the fade round the labelled structures.
TEST(Phantom, CardiacMotionBlursTheImageOverTheHeartOnly) {
  PhantomOptions o;
  o.seed = 11;
  int moving = 0;  // 1 of these eight; 5 of seed 11's first 24, 12 of seed 7's 40
  for (const auto& c : quick_cases()) {
    const PhantomFacts& f = c.facts;
    if (f.motion_blur_mm == 0) continue;
    ++moving;
    EXPECT_GE(f.motion_blur_mm, 0.8) << f.id;
    EXPECT_LE(f.motion_blur_mm, 2.0) << f.id;
  }
  EXPECT_GE(moving, 1);
  EXPECT_LE(moving, 6);
  o.modality = Modality::kMR;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(phantom_facts(o, i).motion_blur_mm, 0.0);

  o.modality = Modality::kCT;
  const PhantomCase& moved = quick_cases()[0];  // seed 11's first case draws 1.9 mm
  ASSERT_NEAR(moved.facts.motion_blur_mm, 1.9, 0.05);
  o.motion = false;
  const PhantomCase still = make_phantom_case(o, 0);
  EXPECT_EQ(still.facts.motion_blur_mm, 0.0);
  EXPECT_EQ(still.labels.voxels, moved.labels.voxels);
  const auto& d = still.labels.grid.dims;
  const auto& sp = still.labels.grid.spacing;
  // Every changed voxel lies within 20 mm (the fade's reach) of the structures' box.
  const auto box = structure_box(still.labels);
  ASSERT_TRUE(box);
  std::array<int64_t, 3> lo = box->lo, hi{};
  for (size_t a = 0; a < 3; ++a) hi[a] = lo[a] + box->dims[a] - 1;
  int64_t changed = 0, outside = 0;
  double on_heart = 0;
  int64_t heart = 0;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const size_t at = static_cast<size_t>(i + d[0] * (j + d[1] * k));
        const double delta = std::fabs(moved.image.voxels[at] - still.image.voxels[at]);
        if (still.labels.voxels[at] != 0) on_heart += delta, ++heart;
        if (delta == 0) continue;
        ++changed;
        const std::array<int64_t, 3> p{i, j, k};
        for (size_t a = 0; a < 3; ++a)
          if ((lo[a] - p[a]) * sp[a] > 20.5 || (p[a] - hi[a]) * sp[a] > 20.5) ++outside;
      }
  EXPECT_EQ(outside, 0);
  EXPECT_GT(changed, 50000);
  EXPECT_GT(on_heart / static_cast<double>(heart), 2.0);  // HU, mean change over the structures
  // The blur flattens edges: the image's squared differences between neighbours over the
  // structures fall along every axis the direction has a share of (the noise is the same).
  for (size_t a = 0; a < 3; ++a) {
    const int64_t step = a == 0 ? 1 : (a == 1 ? d[0] : d[0] * d[1]);
    double e_moved = 0, e_still = 0;
    for (size_t at = 0; at + static_cast<size_t>(step) < still.image.voxels.size(); ++at) {
      if (still.labels.voxels[at] == 0) continue;
      const size_t next = at + static_cast<size_t>(step);
      e_moved += std::pow(moved.image.voxels[next] - moved.image.voxels[at], 2);
      e_still += std::pow(still.image.voxels[next] - still.image.voxels[at], 2);
    }
    EXPECT_LT(e_moved, e_still) << "axis " << a;
  }
}

TEST(Phantom, FactsAreCheapAndMatchTheCase) {
  PhantomOptions o;
  o.seed = 11;
  const PhantomFacts f = phantom_facts(o, 2);
  const PhantomCase& c = quick_cases()[2];
  EXPECT_EQ(f.id, c.facts.id);
  EXPECT_EQ(f.phase, c.facts.phase);
  EXPECT_DOUBLE_EQ(f.trunk_length, c.facts.trunk_length);
  EXPECT_DOUBLE_EQ(f.fov_mm, c.labels.grid.dims[0] * c.labels.grid.spacing[0]);
  const std::string row = phantom_facts_csv_row(f, structure_volumes_ml(c.labels));
  const std::string header = phantom_facts_csv_header();
  EXPECT_EQ(std::count(row.begin(), row.end(), ','), std::count(header.begin(), header.end(), ','));
  EXPECT_EQ(row.rfind(f.id + "," + f.orientation + "," + f.phase + ",", 0), 0u) << row;
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
  try {
    parse_generation(3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--generation: unknown phantom generation 3 (expected 1 or 2)");
    EXPECT_EQ(e.exit_code(), 2);
  }
  EXPECT_EQ(parse_generation(1), 1);
  o.generation = 0;
  o.cases = 1;
  EXPECT_THROW(write_phantom_dataset(dir.file("gen0"), o, false), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("gen0")));
  o.generation = 2;
  o.cases = 0;
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
