// Finding the cases of a dataset on disk, and loading one with its labels on a checked grid.
//
// Two layouts are recognised:
//  - MM-WHS: <root>/ct_train/ct_train_1001_image.nii.gz with ct_train_1001_label.nii.gz
//    beside it (likewise mr_train, *_test, or the files directly in <root>); .nii or .nii.gz;
//    a folder named like the file that holds the one .nii inside (as the reference's unpacked
//    archives are) is accepted in place of the file.
//  - nnU-Net: <root>/imagesTr/<case>_0000.nii.gz with <root>/labelsTr/<case>.nii.gz, and
//    <root>/dataset.json; imagesTs/ cases have no labels.
// A dataset.json in <root> (nnU-Net v1 or v2 style "labels") supplies the label map.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "coordseg/core/labels.h"
#include "coordseg/core/volume.h"

namespace coordseg {

struct Case {
  std::string id;        // "ct_train_1001", or the nnU-Net case name
  std::string modality;  // "ct", "mr", or "" when the layout does not say
  std::string image;     // path of the image file
  std::string label;     // path of the label file; empty for unlabelled (test) cases
};

struct Dataset {
  std::string root;
  std::string layout;               // "mmwhs" or "nnunet"
  std::vector<Case> cases;          // sorted by id
  std::optional<LabelMap> labels;   // from dataset.json, when it has "labels"
};

// Throws a data error naming `root` when it is not a folder, holds no cases, has a label
// without its image, or mixes layouts in a way that leaves cases ambiguous.
Dataset discover_dataset(const std::string& root);

// The case name of a file: its name without .nii/.nii.gz and without a trailing _image,
// _0000, _label or _pred ("ct_train_1001_image.nii.gz" -> "ct_train_1001").
std::string case_name(const std::string& path);

// One case in memory: the image, and its labels as classes 0..n-1 on the same grid.
struct LoadedCase {
  Case source;
  Volume image;
  LabelVolume classes;  // empty voxels when the case has no label
};

// Reads a case; the label grid must match the image grid (dims, affine within 1e-3 mm),
// otherwise the error prints both geometries. Label values are mapped with `map`.
LoadedCase load_case(const Case& c, const LabelMap& map);

}  // namespace coordseg
