#include "coordseg/core/labels.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_map>

#include "coordseg/core/error.h"

namespace coordseg {

LabelMap LabelMap::mmwhs() {
  LabelMap m;
  m.values = {0, 205, 420, 500, 550, 600, 820, 850};
  m.names = {"Background", "MLV", "LABC", "LVBC", "RABC", "RVBC", "ASA", "PUA"};
  m.descriptions = {"Background",
                    "Left ventricle myocardium",
                    "Left atrium blood cavity",
                    "Left ventricle blood cavity",
                    "Right atrium blood cavity",
                    "Right ventricle blood cavity",
                    "Ascending aorta",
                    "Pulmonary artery"};
  m.aliases = {{421, 420}};  // one MM-WHS MR case labels part of the left atrium 421
  return m;
}

LabelMap LabelMap::custom(const std::vector<int32_t>& values, const std::vector<std::string>& names,
                          const std::string& option) {
  if (values.size() < 2) throw usage_error(option, "a label map needs background 0 and at least one class");
  if (values[0] != 0) throw usage_error(option, "the first label value must be 0 (background)");
  if (std::set<int32_t>(values.begin(), values.end()).size() != values.size())
    throw usage_error(option, "label values must be distinct");
  if (!names.empty() && names.size() != values.size())
    throw usage_error(option, "has " + std::to_string(values.size()) + " values but " +
                                  std::to_string(names.size()) + " names");
  LabelMap m;
  m.values = values;
  m.names = names;
  for (size_t c = m.names.size(); c < values.size(); ++c)
    m.names.push_back(c == 0 ? "Background" : "class " + std::to_string(c));
  m.descriptions = m.names;
  return m;
}

int LabelMap::class_of(int32_t value) const {
  const auto alias = aliases.find(value);
  if (alias != aliases.end()) value = alias->second;
  const auto it = std::find(values.begin(), values.end(), value);
  return it == values.end() ? -1 : static_cast<int>(it - values.begin());
}

std::vector<std::pair<int32_t, int64_t>> count_values(const std::vector<int32_t>& voxels) {
  std::unordered_map<int32_t, int64_t> counts;
  int32_t last = 0;
  int64_t* last_count = nullptr;
  for (const int32_t v : voxels) {  // runs of equal values are the common case in label maps
    if (!last_count || v != last) {
      last = v;
      last_count = &counts[v];
    }
    ++*last_count;
  }
  std::vector<std::pair<int32_t, int64_t>> out(counts.begin(), counts.end());
  std::sort(out.begin(), out.end());
  return out;
}

LabelVolume to_classes(const LabelVolume& values, const LabelMap& map) {
  // Lookup table over the value range in use; the range is bounded by the voxel values.
  const auto counts = count_values(values.voxels);
  std::unordered_map<int32_t, int32_t> lut;
  std::ostringstream unexpected;
  int n_unexpected = 0;
  for (const auto& [value, count] : counts) {
    const int c = map.class_of(value);
    if (c < 0) {
      unexpected << (n_unexpected++ ? ", " : "") << value << " (" << count << " voxels)";
    }
    lut[value] = c;
  }
  if (n_unexpected > 0) {
    std::ostringstream expected;
    for (size_t c = 0; c < map.values.size(); ++c) expected << (c ? ", " : "") << map.values[c];
    throw data_error(values.name("label map"), "unexpected label values " + unexpected.str() +
                                                   "; the label map has " + expected.str());
  }
  LabelVolume out = values;
  int32_t last = 0, last_class = map.class_of(0);
  for (auto& v : out.voxels) {
    if (v != last) {
      last = v;
      last_class = lut[v];
    }
    v = last_class;
  }
  return out;
}

LabelVolume to_values(LabelVolume classes, const LabelMap& map) {
  const int n = map.num_classes();
  for (auto& v : classes.voxels) {
    if (v < 0 || v >= n)
      throw data_error(classes.name("class map"), "class " + std::to_string(v) + " is outside 0.." +
                                                      std::to_string(n - 1));
    v = map.values[static_cast<size_t>(v)];
  }
  return classes;
}

void check_label_map(const LabelVolume& labels, const std::string& path) {
  const size_t n = count_values(labels.voxels).size();
  if (n > kMaxLabelValues)
    throw data_error(path, std::to_string(n) + " distinct values; not a label map (at most " +
                               std::to_string(kMaxLabelValues) + ")");
}

}  // namespace coordseg
