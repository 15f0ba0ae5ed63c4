#include "coordseg/core/components.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "coordseg/core/error.h"

namespace coordseg {
namespace {

LabelVolume empty_volume() {
  Grid g;
  g.dims = {12, 10, 8};
  return LabelVolume::filled(g, 0);
}

void box(LabelVolume& v, int value, int i0, int j0, int k0, int ni, int nj, int nk) {
  for (int k = k0; k < k0 + nk; ++k)
    for (int j = j0; j < j0 + nj; ++j)
      for (int i = i0; i < i0 + ni; ++i) v.at(i, j, k) = value;
}

int64_t count(const LabelVolume& v, int value) {
  return std::count(v.voxels.begin(), v.voxels.end(), value);
}

TEST(Components, KeepsTheLargestSixConnectedComponentOfEachClass) {
  LabelVolume v = empty_volume();
  box(v, 1, 0, 0, 0, 3, 3, 3);  // 27 voxels: class 1's largest
  box(v, 1, 6, 0, 0, 2, 1, 1);  // 2 voxels, apart
  v.at(3, 3, 3) = 1;            // touches the cube's corner (2, 2, 2) only diagonally: its own component
  box(v, 2, 6, 5, 2, 4, 4, 4);  // class 2: one component of 64
  box(v, 3, 0, 6, 5, 2, 2, 2);  // class 3: 8 and 6 voxels
  box(v, 3, 5, 0, 5, 1, 2, 3);
  keep_largest_components(v, 4);
  EXPECT_EQ(count(v, 1), 27);
  EXPECT_EQ(v.at(0, 0, 0), 1);
  EXPECT_EQ(v.at(2, 2, 2), 1);
  EXPECT_EQ(v.at(6, 0, 0), 0);
  EXPECT_EQ(v.at(3, 3, 3), 0);
  EXPECT_EQ(count(v, 2), 64);
  EXPECT_EQ(count(v, 3), 8);
  EXPECT_EQ(v.at(5, 0, 5), 0);
  EXPECT_EQ(count(v, 0), v.grid.voxel_count() - 27 - 64 - 8);
}

TEST(Components, FaceNeighboursAcrossEveryAxisJoin) {
  LabelVolume v = empty_volume();
  // An L-shaped chain along x, then y, then z: one component of 3 + 2 + 2 voxels.
  box(v, 1, 0, 0, 0, 3, 1, 1);
  box(v, 1, 2, 1, 0, 1, 2, 1);
  box(v, 1, 2, 2, 1, 1, 1, 2);
  box(v, 1, 8, 8, 6, 2, 2, 1);  // 4 voxels elsewhere
  keep_largest_components(v, 2);
  EXPECT_EQ(count(v, 1), 7);
  EXPECT_EQ(v.at(8, 8, 6), 0);
}

TEST(Components, DetachedVoxelsOfLabelValuesAreThoseOutsideTheLargestPiece) {
  LabelVolume v = empty_volume();
  box(v, 205, 0, 0, 0, 3, 3, 3);  // 27 voxels
  box(v, 205, 6, 0, 0, 2, 1, 1);  // a 2-voxel piece: detached, (6, 0, 0) and (7, 0, 0)
  box(v, 850, 0, 6, 5, 2, 2, 2);  // 8 voxels
  box(v, 850, 5, 0, 5, 1, 2, 1);  // a 2-voxel piece: (5, 0, 5) and (5, 1, 5)
  box(v, 500, 9, 9, 7, 1, 1, 1);  // one voxel: its own largest piece
  const LabelVolume before = v;
  const std::vector<size_t> detached = detached_voxels(v);
  EXPECT_EQ(v.voxels, before.voxels);  // not changed
  const auto index = [&](int i, int j, int k) { return static_cast<size_t>(i + 12 * (j + 10 * k)); };
  EXPECT_EQ(detached, (std::vector<size_t>{index(6, 0, 0), index(7, 0, 0), index(5, 0, 5), index(5, 1, 5)}));
  // Values from `below` up are not structures: 850 is left alone.
  EXPECT_EQ(detached_voxels(v, 850), (std::vector<size_t>{index(6, 0, 0), index(7, 0, 0)}));
  EXPECT_TRUE(detached_voxels(empty_volume()).empty());
}

TEST(Components, KeepLargestZeroesExactlyTheDetachedVoxels) {
  std::mt19937 rng(11);
  LabelVolume v = empty_volume();
  std::uniform_int_distribution<int> value(0, 4);
  for (auto& x : v.voxels) x = value(rng);  // many pieces per class, and ties among them
  const std::vector<size_t> detached = detached_voxels(v, 4);
  LabelVolume expected = v;
  for (const size_t at : detached) expected.voxels[at] = 0;
  keep_largest_components(v, 4);
  EXPECT_EQ(v.voxels, expected.voxels);
  EXPECT_GT(detached.size(), 100u);
  EXPECT_EQ(count(v, 4), count(expected, 4));  // value 4 is not a class of 4 and stays
}

// The heart: class 1 (4x4x4) and class 2 (4x4x4) side by side at i = 2..9.
LabelVolume heart_volume(std::array<double, 3> spacing = {1, 1, 1}) {
  Grid g;
  g.dims = {40, 10, 10};
  g.spacing = spacing;
  LabelVolume v = LabelVolume::filled(g, 0);
  box(v, 1, 2, 3, 3, 4, 4, 4);
  box(v, 2, 6, 3, 3, 4, 4, 4);
  return v;
}

TEST(Components, HeartRuleDropsALargerComponentFarFromTheHeart) {
  LabelVolume v = heart_volume();
  box(v, 1, 30, 2, 2, 5, 5, 5);  // class 1 again, 125 voxels, 20 mm away: larger, but alone
  box(v, 2, 12, 3, 3, 1, 1, 1);  // class 2 speck 3 mm from the heart (gap of 2 voxels)
  LabelVolume largest = v;
  keep_largest_components(largest, 3);
  EXPECT_EQ(largest.at(30, 2, 2), 1);  // the plain rule keeps the far blob
  EXPECT_EQ(count(largest, 1), 125);

  keep_largest_heart_components(v, 3, 5.0);
  EXPECT_EQ(count(v, 1), 64);
  EXPECT_EQ(v.at(2, 3, 3), 1);
  EXPECT_EQ(v.at(30, 2, 2), 0);
  EXPECT_EQ(count(v, 2), 64);  // the speck is near, but smaller than class 2's own block
  EXPECT_EQ(v.at(12, 3, 3), 0);
  EXPECT_EQ(count(v, 0), v.grid.voxel_count() - 128);
}

TEST(Components, HeartRegionIsTheNearBlobHoldingMostStructure) {
  // A gap of 4 voxels (5 mm between centres) joins the blobs at a margin of 2 mm (each side
  // grows 2 mm) and separates them at 1.9 mm.
  for (const double margin : {2.0, 1.9}) {
    LabelVolume v = heart_volume();
    box(v, 3, 14, 3, 3, 2, 2, 2);  // class 3 only here: 8 voxels, i = 14..15, gap i = 10..13
    keep_largest_heart_components(v, 4, margin);
    EXPECT_EQ(count(v, 3), margin >= 2.0 ? 8 : 0) << margin;
    EXPECT_EQ(count(v, 1) + count(v, 2), 128) << margin;
  }
  // The region follows the structure voxels, not one class: a big lone class-3 block beats
  // the two smaller classes only when it holds more voxels than they do together.
  LabelVolume v = heart_volume();
  box(v, 3, 25, 0, 0, 6, 6, 6);  // 216 voxels > 128
  keep_largest_heart_components(v, 4, 3.0);
  EXPECT_EQ(count(v, 3), 216);
  EXPECT_EQ(count(v, 1), 0);
  EXPECT_EQ(count(v, 2), 0);
}

TEST(Components, HeartMarginIsInMillimetresAlongEachAxis) {
  // Spacing 1 x 1 x 3 mm: a block 2 slices above the heart (a gap of one slice, 6 mm between
  // facing voxel centres) joins at a margin of 3 mm, not at 2.9 mm; along i the same
  // margin would bridge a gap of 5 voxels.
  for (const double margin : {3.0, 2.9}) {
    LabelVolume v = heart_volume({1, 1, 3});
    box(v, 3, 4, 3, 8, 2, 2, 2);  // k = 8..9; the heart ends at k = 6
    keep_largest_heart_components(v, 4, margin);
    EXPECT_EQ(count(v, 3), margin >= 3.0 ? 8 : 0) << margin;
  }
}

TEST(Components, HeartMarginZeroIsTheLargestTouchingGroupAndBadMarginsAreRefused) {
  LabelVolume v = heart_volume();
  box(v, 1, 12, 3, 3, 1, 1, 1);  // touches nothing: dropped at margin 0 although class 1
  keep_largest_heart_components(v, 3, 0.0);
  EXPECT_EQ(count(v, 1), 64);
  EXPECT_EQ(count(v, 2), 64);
  LabelVolume empty = empty_volume();
  keep_largest_heart_components(empty, 3, 5.0);
  EXPECT_EQ(count(empty, 0), empty.grid.voxel_count());
  for (const double bad : {-1.0, std::nan("")}) {
    try {
      keep_largest_heart_components(v, 3, bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("heart margin"), std::string::npos) << e.what();
    }
  }
}

// Both rules against a direct implementation (breadth-first search, distances by brute force)
// on random blobs that sit away from the grid's origin, so that the structures' bounding box
// the library works in starts inside the grid.
std::vector<int32_t> flood(const std::vector<uint8_t>& set, const std::array<int64_t, 3>& d, int32_t& count) {
  std::vector<int32_t> id(set.size(), -1);
  count = 0;
  for (size_t s = 0; s < set.size(); ++s) {
    if (!set[s] || id[s] >= 0) continue;
    std::queue<size_t> q;
    q.push(s);
    id[s] = count;
    while (!q.empty()) {
      const size_t at = q.front();
      q.pop();
      const int64_t i = static_cast<int64_t>(at) % d[0], j = static_cast<int64_t>(at) / d[0] % d[1],
                    k = static_cast<int64_t>(at) / (d[0] * d[1]);
      const int64_t nb[6][3] = {{i - 1, j, k}, {i + 1, j, k}, {i, j - 1, k}, {i, j + 1, k}, {i, j, k - 1}, {i, j, k + 1}};
      for (const auto& n : nb) {
        if (n[0] < 0 || n[1] < 0 || n[2] < 0 || n[0] >= d[0] || n[1] >= d[1] || n[2] >= d[2]) continue;
        const auto to = static_cast<size_t>(n[0] + d[0] * (n[1] + d[1] * n[2]));
        if (set[to] && id[to] < 0) {
          id[to] = count;
          q.push(to);
        }
      }
    }
    ++count;
  }
  return id;
}

// Per class, the largest component (first in voxel order on equal sizes) among those
// `eligible` accepts (by any of its voxels).
template <typename Eligible>
LabelVolume keep_largest_directly(const LabelVolume& v, int classes, Eligible eligible) {
  LabelVolume out = v;
  for (int c = 1; c < classes; ++c) {
    std::vector<uint8_t> set(v.voxels.size());
    for (size_t at = 0; at < set.size(); ++at) set[at] = v.voxels[at] == c;
    int32_t n = 0;
    const auto id = flood(set, v.grid.dims, n);
    std::vector<int64_t> size(static_cast<size_t>(n), 0);
    std::vector<uint8_t> ok(static_cast<size_t>(n), 0);
    for (size_t at = 0; at < set.size(); ++at)
      if (id[at] >= 0) {
        ++size[static_cast<size_t>(id[at])];
        ok[static_cast<size_t>(id[at])] = eligible(at);
      }
    int32_t best = -1;
    for (int32_t m = 0; m < n; ++m)
      if (ok[static_cast<size_t>(m)] && (best < 0 || size[static_cast<size_t>(m)] > size[static_cast<size_t>(best)])) best = m;
    for (size_t at = 0; at < set.size(); ++at)
      if (id[at] >= 0 && id[at] != best) out.voxels[at] = 0;
  }
  return out;
}

LabelVolume random_blobs(unsigned seed) {
  Grid g;
  g.dims = {17, 13, 11};
  g.spacing = {0.8, 1.1, 1.7};
  LabelVolume v = LabelVolume::filled(g, 0);
  std::mt19937 rng(seed);
  // Dense random classes in an inner box (many small components), and a few far voxels.
  std::uniform_int_distribution<int> cls(0, 6), pick(0, 3);
  for (int k = 3; k < 8; ++k)
    for (int j = 4; j < 10; ++j)
      for (int i = 5; i < 13; ++i) v.at(i, j, k) = pick(rng) == 0 ? 0 : cls(rng) % 4;
  v.at(15, 1, 9) = 2;
  v.at(1, 11, 1) = 3;
  return v;
}

// The heart rule directly: voxels within the margin of a structure (brute-force distances),
// 6-connected, the group holding most structure voxels (the first on equal counts); then each
// class's largest component within it.
LabelVolume heart_rule_directly(const LabelVolume& v, int classes, double margin) {
  const auto& d = v.grid.dims;
  std::vector<uint8_t> structure(v.voxels.size()), near(v.voxels.size(), 0);
  std::vector<std::array<int64_t, 3>> at_structure;
  for (size_t at = 0; at < v.voxels.size(); ++at) {
    structure[at] = v.voxels[at] > 0 && v.voxels[at] < classes;
    if (structure[at])
      at_structure.push_back({static_cast<int64_t>(at) % d[0], static_cast<int64_t>(at) / d[0] % d[1],
                              static_cast<int64_t>(at) / (d[0] * d[1])});
  }
  for (size_t at = 0; at < v.voxels.size(); ++at) {
    const int64_t i = static_cast<int64_t>(at) % d[0], j = static_cast<int64_t>(at) / d[0] % d[1],
                  k = static_cast<int64_t>(at) / (d[0] * d[1]);
    for (const auto& s : at_structure) {
      const double d2 = std::pow((i - s[0]) * v.grid.spacing[0], 2) + std::pow((j - s[1]) * v.grid.spacing[1], 2) +
                        std::pow((k - s[2]) * v.grid.spacing[2], 2);
      if (d2 <= margin * margin) {
        near[at] = 1;
        break;
      }
    }
  }
  int32_t groups = 0;
  const auto group = flood(near, d, groups);
  std::vector<int64_t> held(static_cast<size_t>(groups), 0);
  for (size_t at = 0; at < structure.size(); ++at)
    if (structure[at]) ++held[static_cast<size_t>(group[at])];
  const auto heart = static_cast<int32_t>(std::max_element(held.begin(), held.end()) - held.begin());
  return keep_largest_directly(v, classes, [&](size_t at) { return group[at] == heart; });
}

TEST(Components, BothRulesMatchADirectImplementationOnRandomBlobs) {
  for (unsigned seed = 1; seed <= 4; ++seed) {
    const LabelVolume v = random_blobs(seed);
    LabelVolume largest = v;
    keep_largest_components(largest, 4);
    EXPECT_EQ(largest.voxels, keep_largest_directly(v, 4, [](size_t) { return true; }).voxels) << seed;
    LabelVolume hearts = v;
    keep_largest_heart_components(hearts, 4, 2.0);
    EXPECT_EQ(hearts.voxels, heart_rule_directly(v, 4, 2.0).voxels) << seed;
    // The far voxels are not part of the heart region.
    EXPECT_EQ(hearts.at(15, 1, 9), 0);
    EXPECT_EQ(hearts.at(1, 11, 1), 0);
  }
}

// Groups of structure far apart are measured apart (each in its own box): two dense random
// patches of random sizes, at gaps from touching to far beyond the margin, with equal-size
// patches among them (the first in voxel order wins a tie).
TEST(Components, TheHeartRuleMatchesItWithSeveralClustersAndTies) {
  for (unsigned seed = 1; seed <= 24; ++seed) {
    std::mt19937 rng(seed);
    Grid g;
    g.dims = {34, 12, 10};
    g.spacing = {0.9, 1.2, 1.5};
    LabelVolume v = LabelVolume::filled(g, 0);
    std::uniform_int_distribution<int> cls(1, 3), pick(0, 3), width(3, 8), gap(0, 12);
    const int w1 = width(rng), w2 = seed % 3 == 0 ? w1 : width(rng), at2 = 2 + w1 + gap(rng);
    for (const auto& [x0, w] : {std::pair<int, int>{2, w1}, std::pair<int, int>{std::min(at2, 33 - w2), w2}})
      for (int k = 2; k < 8; ++k)
        for (int j = 2; j < 10; ++j)
          for (int i = x0; i < x0 + w; ++i) v.at(i, j, k) = seed % 3 == 0 ? 1 + (i + j + k) % 3 : (pick(rng) ? cls(rng) : 0);
    v.at(33, 11, 9) = 2;  // and a stray voxel in a corner
    for (const double margin : {0.0, 1.0, 3.0}) {
      LabelVolume hearts = v;
      keep_largest_heart_components(hearts, 4, margin);
      EXPECT_EQ(hearts.voxels, heart_rule_directly(v, 4, margin).voxels) << "seed " << seed << " margin " << margin;
    }
  }
}

// More than 8192 groups of structure are measured as one cluster; the rule is the same.
// Isolated voxels of classes 1..3 every second voxel: each is its own group and component.
TEST(Components, ManyScatteredGroupsFollowTheSameRule) {
  Grid g;
  g.dims = {48, 48, 18};  // 5184 voxels on the even planes, 5184 more on the odd ones
  g.spacing = {1, 1, 1};
  LabelVolume v = LabelVolume::filled(g, 0);
  int n = 0;
  for (int k = 0; k < 18; k += 2)
    for (int j = 0; j < 48; j += 2)
      for (int i = (k / 2) % 2; i < 48; i += 2) v.at(i, j, k) = 1 + (n++ % 3);
  ASSERT_GT(n, 8192 / 2);  // with the odd planes below: more than 8192
  for (int k = 1; k < 18; k += 2)
    for (int j = 1; j < 48; j += 2)
      for (int i = 1; i < 48; i += 2) v.at(i, j, k) = 1 + (n++ % 3);
  ASSERT_GT(n, 8192);
  // No margin: every voxel is its own blob holding one; the first blob is the heart, so only
  // the first structure voxel (class 1) is kept.
  LabelVolume tight = v;
  keep_largest_heart_components(tight, 4, 0.0);
  int64_t kept = 0;
  for (const int32_t x : tight.voxels) kept += x != 0;
  EXPECT_EQ(kept, 1);
  EXPECT_EQ(tight.at(0, 0, 0), 1);
  // A 2.5 mm margin joins them all into one region: each class keeps its first voxel (all
  // its components have one voxel), as keep_largest_components does.
  LabelVolume loose = v, largest = v;
  keep_largest_heart_components(loose, 4, 2.5);
  keep_largest_components(largest, 4);
  EXPECT_EQ(loose.voxels, largest.voxels);
  EXPECT_EQ(loose.at(0, 0, 0), 1);
  EXPECT_EQ(loose.at(2, 0, 0), 2);
  EXPECT_EQ(loose.at(4, 0, 0), 3);
  kept = 0;
  for (const int32_t x : loose.voxels) kept += x != 0;
  EXPECT_EQ(kept, 3);
}

}  // namespace
}  // namespace coordseg
