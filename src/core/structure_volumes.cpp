#include "coordseg/core/structure_volumes.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "coordseg/core/error.h"

namespace coordseg {

namespace {

std::string number(double v, int digits) {
  if (std::isnan(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

double myocardial_mass_g(const std::string& structure, double ml) {
  return structure == "MLV" ? ml * kMyocardiumDensity : std::numeric_limits<double>::quiet_NaN();
}

std::vector<StructureVolume> structure_volumes(const std::string& case_id, const LabelVolume& values,
                                               const LabelMap& map) {
  std::vector<int64_t> voxels(map.values.size(), 0);
  for (const auto& [value, count] : count_values(values.voxels)) {
    const int c = map.class_of(value);
    if (c < 0) throw data_error(values.name("label map"), "label value " + std::to_string(value) + " (" +
                                                              std::to_string(count) + " voxels) is not in the label map");
    voxels[static_cast<size_t>(c)] += count;
  }
  const double voxel_ml = values.grid.voxel_ml();
  std::vector<StructureVolume> rows;
  for (size_t c = 1; c < map.values.size(); ++c) {
    StructureVolume r;
    r.case_id = case_id;
    r.structure = map.names[c];
    r.value = map.values[c];
    r.voxels = voxels[c];
    r.ml = static_cast<double>(voxels[c]) * voxel_ml;
    rows.push_back(r);
  }
  return rows;
}

std::vector<StructureVolume> structure_volumes(const Evaluation& e) {
  std::vector<StructureVolume> rows;
  for (const auto& ce : e.cases)
    for (size_t c = 1; c < ce.classes.size() && c < e.map.values.size(); ++c) {
      StructureVolume r;
      r.model = e.model;
      r.case_id = ce.case_id;
      r.structure = e.map.names[c];
      r.value = e.map.values[c];
      r.voxels = ce.classes[c].pred_voxels;
      r.ml = static_cast<double>(r.voxels) * ce.voxel_ml;
      r.truth_voxels = ce.classes[c].truth_voxels;
      r.truth_ml = static_cast<double>(r.truth_voxels) * ce.voxel_ml;
      rows.push_back(r);
    }
  return rows;
}

std::string volumes_csv(const std::vector<StructureVolume>& rows) {
  bool truth = false;
  for (const auto& r : rows) truth = truth || r.truth_voxels >= 0;
  std::ostringstream s;
  s << (truth ? "model," : "") << "case,structure,value,voxels,volume_ml,mass_g";
  s << (truth ? ",truth_voxels,truth_volume_ml,truth_mass_g,difference_ml\n" : "\n");
  for (const auto& r : rows) {
    if (truth) s << r.model << ",";
    s << r.case_id << "," << r.structure << "," << r.value << "," << r.voxels << "," << number(r.ml, 3) << ","
      << number(myocardial_mass_g(r.structure, r.ml), 2);
    if (truth)
      s << "," << r.truth_voxels << "," << number(r.truth_ml, 3) << ","
        << number(myocardial_mass_g(r.structure, r.truth_ml), 2) << "," << number(r.ml - r.truth_ml, 3);
    s << "\n";
  }
  return s.str();
}

}  // namespace coordseg
