// The forward preprocessing and its inverse (restore.h) on an oblique, anisotropic grid
// stored in a permuted, flipped voxel order: every voxel comes back to where it was.
#include "coordseg/torch/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>

#include "coordseg/core/orientation.h"
#include "coordseg/torch/restore.h"

namespace coordseg {
namespace {

constexpr int64_t kClasses = 8;

// Voxel axis i points mostly posterior, j superior, k mostly left, 20 degrees off the axes.
Volume oblique_volume() {
  Grid g;
  g.dims = {9, 7, 5};
  g.spacing = {0.8, 1.3, 2.5};
  const double c = std::cos(20 * M_PI / 180), s = std::sin(20 * M_PI / 180);
  const double dir[3][3] = {{s, -c, 0}, {0, 0, 1}, {-c, -s, 0}};  // per voxel axis: world direction
  g.affine = Affine::identity();
  for (int col = 0; col < 3; ++col)
    for (int r = 0; r < 3; ++r) g.affine.m[r][col] = dir[col][r] * g.spacing[col];
  g.affine.m[0][3] = 10;
  g.affine.m[1][3] = -20;
  g.affine.m[2][3] = 30;
  Volume v = Volume::filled(g, 0.0f);
  for (size_t n = 0; n < v.voxels.size(); ++n) v.voxels[n] = static_cast<float>(n);  // the file's own index
  return v;
}

// One-hot logits (K, D, H, W) of a class map.
torch::Tensor one_hot_logits(const torch::Tensor& classes) {
  return torch::one_hot(classes, kClasses).permute({3, 0, 1, 2}).to(torch::kFloat32).contiguous();
}

// The class of each voxel of the canonical grid: its index in the file, mod 8.
torch::Tensor file_classes_in_canonical_order(const Volume& v) {
  Preprocessing p;
  p.scheme = IntensityScheme::kScale255;  // x / 255: exact enough to recover indices < 2^16
  const PreparedImage prepared = prepare_image(v, p);
  return (prepared.image[0] * 255.0).round().to(torch::kInt64).remainder(kClasses);
}

void expect_file_classes(const LabelVolume& restored, const Volume& v) {
  ASSERT_TRUE(same_grid(restored.grid, v.grid, 1e-9));
  int64_t wrong = 0;
  for (size_t n = 0; n < restored.voxels.size(); ++n) wrong += restored.voxels[n] != static_cast<int32_t>(n % kClasses);
  EXPECT_EQ(wrong, 0);
}

TEST(Preprocess, ReorientationAloneComesBackExactly) {
  const Volume v = oblique_volume();
  Preprocessing p;
  p.scheme = IntensityScheme::kScale255;
  const PreparedImage prepared = prepare_image(v, p);
  EXPECT_FALSE(prepared.reorientation.is_identity());
  EXPECT_EQ(orientation_code(prepared.grid.affine), "RAS");
  const CanonicalOutput out = restore_canonical(one_hot_logits(file_classes_in_canonical_order(v)), prepared, true);
  expect_file_classes(to_input_grid(out.classes, prepared, v), v);
  // Probability maps travel the same way: one-hot logits give softmax peaks at the class.
  const Volume p3 = to_input_grid(out.probabilities[3], prepared, v);
  EXPECT_GT(p3.voxels[3], 0.2f);
  EXPECT_LT(p3.voxels[4], 0.2f);
}

TEST(Preprocess, ResamplingAtHalfTheSpacingComesBackExactly) {
  const Volume v = oblique_volume();
  const Grid canonical = reorient_grid(v.grid, canonical_reorientation(v.grid));
  Preprocessing p;
  p.scheme = IntensityScheme::kScale255;
  for (size_t a = 0; a < 3; ++a) p.spacing[a] = canonical.spacing[a] / 2;
  const PreparedImage prepared = prepare_image(v, p);
  for (size_t a = 0; a < 3; ++a) {
    EXPECT_EQ(prepared.grid.dims[a], 2 * canonical.dims[a]);
    EXPECT_NEAR(prepared.grid.spacing[a], canonical.spacing[a] / 2, 1e-12);
  }
  // Voxel centres stay aligned: canonical voxel i lies halfway between fine voxels 2i and 2i+1.
  for (const auto& ijk : std::vector<std::array<double, 3>>{{0, 0, 0}, {3, 1, 4}, {4, 6, 8}}) {
    const auto coarse = canonical.affine.apply(ijk[0], ijk[1], ijk[2]);
    const auto fine = prepared.grid.affine.apply(2 * ijk[0] + 0.5, 2 * ijk[1] + 0.5, 2 * ijk[2] + 0.5);
    for (int r = 0; r < 3; ++r) EXPECT_NEAR(fine[r], coarse[r], 1e-9);
  }
  // Classes on the fine grid (nearest), through the return path: every file voxel's class.
  const torch::Tensor coarse_classes = file_classes_in_canonical_order(v);
  const std::array<int64_t, 3> fine_zyx = {prepared.grid.dims[2], prepared.grid.dims[1], prepared.grid.dims[0]};
  const torch::Tensor fine_classes = resample_labels(coarse_classes, fine_zyx);
  const CanonicalOutput out = restore_canonical(one_hot_logits(fine_classes), prepared, false);
  EXPECT_TRUE(out.probabilities.empty());
  expect_file_classes(to_input_grid(out.classes, prepared, v), v);
}

// The classes restore_canonical takes are argmax's, ties to the lower class included.
TEST(Preprocess, RestoredClassesAreTheArgmaxWithTiesToTheLowerClass) {
  const Volume v = oblique_volume();
  Preprocessing p;
  p.scheme = IntensityScheme::kScale255;
  const PreparedImage prepared = prepare_image(v, p);  // same grid: no resampling
  torch::manual_seed(3);
  // Logits rounded to a coarse step, so many voxels have two or more classes tied at the top.
  const auto logits = (torch::randn({kClasses, prepared.grid.dims[2], prepared.grid.dims[1], prepared.grid.dims[0]}) * 2)
                          .round();
  const auto top = std::get<0>(logits.max(0));
  ASSERT_GT(((logits == top).sum(0) > 1).sum().item<int64_t>(), 20);
  const CanonicalOutput out = restore_canonical(logits, prepared, false);
  const auto expected = logits.argmax(0).flatten().to(torch::kInt32).contiguous();
  const int32_t* e = expected.data_ptr<int32_t>();
  int64_t wrong = 0;
  for (size_t n = 0; n < out.classes.voxels.size(); ++n) wrong += out.classes.voxels[n] != e[n];
  EXPECT_EQ(wrong, 0);
}

// On a CPU restore_canonical resamples and takes the argmax in one pass
// (core/resample_argmax.h); on a GPU it uses grid_sample. Both give the same classes and
// probabilities: here grid_sample on the CPU is the yardstick, over a network grid coarser
// along two axes and finer along the third.
TEST(Preprocess, RestoredClassesAndProbabilitiesEqualGridSamplesOnAResampledGrid) {
  const Volume v = oblique_volume();
  const Grid canonical = reorient_grid(v.grid, canonical_reorientation(v.grid));
  Preprocessing p;
  p.scheme = IntensityScheme::kScale255;
  p.spacing = {canonical.spacing[0] * 1.7, canonical.spacing[1] / 1.4, canonical.spacing[2] * 2.2};
  const PreparedImage prepared = prepare_image(v, p);
  ASSERT_NE(prepared.grid.dims, canonical.dims);
  torch::manual_seed(5);
  const auto logits = torch::randn({kClasses, prepared.grid.dims[2], prepared.grid.dims[1], prepared.grid.dims[0]}) * 3;
  const CanonicalOutput out = restore_canonical(logits, prepared, true);

  namespace F = torch::nn::functional;
  const int64_t D = canonical.dims[2], H = canonical.dims[1], W = canonical.dims[0];
  const auto centres = [](int64_t n) { return (torch::arange(n, torch::kFloat32) + 0.5) * (2.0 / n) - 1.0; };
  const auto g = torch::meshgrid({centres(D), centres(H), centres(W)}, "ij");
  const auto grid = torch::stack({g[2], g[1], g[0]}, -1).unsqueeze(0);
  const auto sampled = F::grid_sample(logits.unsqueeze(0), grid,
                                      F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false))[0];
  const auto expected = sampled.argmax(0).flatten().to(torch::kInt32).contiguous();
  const auto top2 = std::get<0>(sampled.topk(2, 0)).flatten(1);
  const auto probabilities = torch::softmax(sampled, 0).flatten(1).contiguous();
  int64_t wrong = 0, compared = 0;
  for (int64_t n = 0; n < D * H * W; ++n) {
    if ((top2[0][n] - top2[1][n]).item<float>() < 1e-4f) continue;  // a near-tie: either class is right
    ++compared;
    wrong += out.classes.voxels[static_cast<size_t>(n)] != expected.data_ptr<int32_t>()[n];
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(compared, D * H * W * 99 / 100);
  for (int64_t k = 0; k < kClasses; ++k)
    for (int64_t n = 0; n < D * H * W; ++n)
      ASSERT_NEAR(out.probabilities[static_cast<size_t>(k)].voxels[static_cast<size_t>(n)], probabilities[k][n].item<float>(), 1e-5)
          << "class " << k << " voxel " << n;
}

}  // namespace
}  // namespace coordseg
