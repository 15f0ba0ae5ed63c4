// The size of each structure in a label map: voxels, millilitres and, for the left-ventricle
// myocardium (the class named MLV), its mass at 1.05 g/ml -- the figures clinicians read
// first. `coordseg predict --volumes` and `coordseg evaluate --volumes` write them as CSV,
// the latter beside the reference's. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coordseg/core/evaluation.h"
#include "coordseg/core/labels.h"
#include "coordseg/core/volume.h"

namespace coordseg {

constexpr double kMyocardiumDensity = 1.05;  // g/ml

struct StructureVolume {
  std::string model;      // evaluate: the model's name; predict: empty
  std::string case_id;
  std::string structure;  // the class's short name
  int32_t value = 0;      // its label value
  int64_t voxels = 0;
  double ml = 0;
  int64_t truth_voxels = -1;  // evaluate: the reference's voxels (-1: no reference)
  double truth_ml = 0;
};

// One row per class 1..n of `map` (absent structures with 0 voxels). A value outside the map
// is an error naming the label map.
std::vector<StructureVolume> structure_volumes(const std::string& case_id, const LabelVolume& values,
                                               const LabelMap& map);
// Predicted and reference volumes of every evaluated case.
std::vector<StructureVolume> structure_volumes(const Evaluation& e);

// The mass of the myocardium row (structure MLV), NaN for other structures.
double myocardial_mass_g(const std::string& structure, double ml);

// CSV, one row per case and structure; mass_g only on MLV rows:
//   case,structure,value,voxels,volume_ml,mass_g
// and with references (any row with truth_voxels >= 0):
//   model,case,structure,value,voxels,volume_ml,mass_g,truth_voxels,truth_volume_ml,truth_mass_g,difference_ml
std::string volumes_csv(const std::vector<StructureVolume>& rows);

}  // namespace coordseg
