// Label values and training classes. A LabelMap lists the label value of each class in
// order: MM-WHS uses [0, 205, 420, 500, 550, 600, 820, 850] for classes 0..7 (background,
// MLV, LABC, LVBC, RABC, RVBC, ASA, PUA). Aliases map stray values to a listed one before
// the lookup, as the reference project does for one MR case that has 421 for 420.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "coordseg/core/volume.h"

namespace coordseg {

struct LabelMap {
  std::vector<int32_t> values;      // values[c] is the label value of class c; values[0] is background
  std::vector<std::string> names;   // short names, one per class
  std::vector<std::string> descriptions;  // full names, one per class (viewer files); custom maps: the short names
  std::map<int32_t, int32_t> aliases;  // value -> value, applied before the lookup

  // The MM-WHS map with the 421 -> 420 alias.
  static LabelMap mmwhs();
  // A custom map, e.g. from a parameter file; names default to "class <c>". Throws a usage
  // error (naming `option`) for an empty list, a missing background 0 or duplicates.
  static LabelMap custom(const std::vector<int32_t>& values, const std::vector<std::string>& names,
                         const std::string& option = "labels");

  int num_classes() const { return static_cast<int>(values.size()); }
  // The class of a value, or -1 when the value is not in the map (aliases applied).
  int class_of(int32_t value) const;
};

// Label values -> classes 0..n-1. Values outside the map are an error naming the file (the
// volume's source) and listing each unexpected value with its voxel count.
LabelVolume to_classes(const LabelVolume& values, const LabelMap& map);

// Classes -> label values. A class outside 0..n-1 is an error. Taken by value: a caller
// that no longer needs its classes moves them in and no copy is made.
LabelVolume to_values(LabelVolume classes, const LabelMap& map);

// (value, voxel count) for each distinct value, ascending.
std::vector<std::pair<int32_t, int64_t>> count_values(const std::vector<int32_t>& voxels);

// A label map holds a few distinct values; an image read as one (a CT with thousands of HU
// values) is refused: "<path>: 1874 distinct values; not a label map (at most 64)".
constexpr size_t kMaxLabelValues = 64;
void check_label_map(const LabelVolume& labels, const std::string& path);

}  // namespace coordseg
