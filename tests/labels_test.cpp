#include "coordseg/core/labels.h"

#include <gtest/gtest.h>

#include "coordseg/core/error.h"

namespace coordseg {
namespace {

LabelVolume values_volume(std::vector<int32_t> values) {
  Grid g;
  g.dims = {static_cast<int64_t>(values.size()), 1, 1};
  LabelVolume v = LabelVolume::filled(g, 0);
  v.voxels = std::move(values);
  v.source = "case_label.nii.gz";
  return v;
}

TEST(Labels, MmwhsValuesMapToClassesAndBack) {
  const LabelMap map = LabelMap::mmwhs();
  ASSERT_EQ(map.num_classes(), 8);
  const LabelVolume v = values_volume({0, 205, 420, 500, 550, 600, 820, 850, 0, 850});
  const LabelVolume c = to_classes(v, map);
  EXPECT_EQ(c.voxels, (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 0, 7}));
  EXPECT_EQ(to_values(c, map).voxels, v.voxels);
  EXPECT_EQ(map.names[1], "MLV");
  EXPECT_EQ(map.names[7], "PUA");
}

TEST(Labels, The421FixMapsToTheLeftAtrium) {
  const LabelVolume c = to_classes(values_volume({421, 420, 0}), LabelMap::mmwhs());
  EXPECT_EQ(c.voxels, (std::vector<int32_t>{2, 2, 0}));
}

TEST(Labels, UnknownValuesAreListedWithCounts) {
  try {
    to_classes(values_volume({0, 7, 7, 205, 999, 7}), LabelMap::mmwhs());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "case_label.nii.gz: unexpected label values 7 (3 voxels), 999 (1 voxels); the label map has 0, 205, "
              "420, 500, 550, 600, 820, 850");
    EXPECT_EQ(e.exit_code(), 1);
  }
}

TEST(Labels, ClassesOutsideTheMapAreAnError) {
  EXPECT_THROW(to_values(values_volume({0, 8}), LabelMap::mmwhs()), Error);
  EXPECT_THROW(to_values(values_volume({-1}), LabelMap::mmwhs()), Error);
}

TEST(Labels, CustomMaps) {
  const LabelMap m = LabelMap::custom({0, 1, 2}, {});
  EXPECT_EQ(m.names, (std::vector<std::string>{"Background", "class 1", "class 2"}));
  EXPECT_EQ(m.class_of(2), 2);
  EXPECT_EQ(m.class_of(421), -1);  // no aliases in a custom map
  EXPECT_THROW(LabelMap::custom({1, 2}, {}), Error);
  EXPECT_THROW(LabelMap::custom({0, 2, 2}, {}), Error);
  EXPECT_THROW(LabelMap::custom({0, 2}, {"bg"}), Error);
  EXPECT_THROW(LabelMap::custom({0}, {}), Error);
}

TEST(Labels, CountValues) {
  const auto counts = count_values({5, 0, 0, 5, 5, -2});
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0], (std::pair<int32_t, int64_t>{-2, 1}));
  EXPECT_EQ(counts[1], (std::pair<int32_t, int64_t>{0, 2}));
  EXPECT_EQ(counts[2], (std::pair<int32_t, int64_t>{5, 3}));
}

}  // namespace
}  // namespace coordseg
