// A synthetic whole-heart CT/MR phantom, so that everything runs on a fresh machine without
// a download. Anatomy is built in world millimetres (RAS+) from smooth shapes: a thorax (body
// outline, subcutaneous fat, lungs, spine, ribs, descending aorta, mediastinum, pericardial
// fat) and a heart whose seven structures carry their MM-WHS label values: LV myocardium
// (205) around the LV cavity (500), RV (600) wrapping the septum, LA (420), RA (550),
// ascending aorta (820) and pulmonary artery (850). Every case varies with the seed: heart
// size, pose (long axis toward the left-anterior-inferior apex within ~15 degrees), chamber
// proportions, smooth deformation, contrast, noise, blur, spacing, voxel order (RAS or LPS)
// and, for some cases, a field of view that cuts a vessel.
//
// All blood pools share one intensity range, so telling them apart takes shape and position.
// CT is in HU (int16); MR is a bright-blood look in arbitrary units with a bias field and
// Rician noise. The same seed gives byte-identical files, whatever the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "coordseg/core/volume.h"

namespace coordseg {

enum class PhantomPreset {
  kQuick,  // ~100-130 voxels a side at ~1.6-2 mm: CPU training in minutes
  kFull,   // MM-WHS CT-like: 512 x 512 x 180-300 at ~0.3-0.5 mm in-plane
};
enum class Modality { kCT, kMR };

struct PhantomOptions {
  int cases = 20;
  PhantomPreset preset = PhantomPreset::kQuick;
  Modality modality = Modality::kCT;
  uint64_t seed = 1;
  int threads = 0;  // 0: all hardware threads
};

// What was drawn for one case, for reports and tests.
struct PhantomFacts {
  std::string id;           // "ct_train_1001"
  std::string orientation;  // "RAS" or "LPS"
  bool fov_cut = false;     // the field of view cuts a vessel
  double blood_level = 0;   // HU (CT) or a.u. (MR) of the blood pools before noise
};

struct PhantomCase {
  PhantomFacts facts;
  Volume image;        // HU for CT, arbitrary units for MR (integral values)
  LabelVolume labels;  // MM-WHS values, on the image's grid
};

// Case `index` (0-based) of the dataset that `options` describe. Deterministic.
PhantomCase make_phantom_case(const PhantomOptions& options, int index);

// The grid case `index` will have, without drawing it (cheap; for checks and planning).
Grid phantom_grid(const PhantomOptions& options, int index);

// "ct_train_1001" style names, as in MM-WHS (MR: "mr_train_1001").
std::string phantom_case_id(Modality modality, int index);

// Writes DIR/ct_train/ct_train_1001_image.nii.gz and _label.nii.gz for every case (mr_train
// for MR) and an nnU-Net style DIR/dataset.json. A folder that already holds files is
// refused (usage error naming `out_dir`) unless `force`. `progress` is called per case.
void write_phantom_dataset(const std::string& out_dir, const PhantomOptions& options, bool force,
                           const std::function<void(const PhantomFacts&, const Grid&, double seconds)>& progress = {});

PhantomPreset parse_preset(const std::string& name, const std::string& option = "--preset");
Modality parse_modality(const std::string& name, const std::string& option = "--modality");

}  // namespace coordseg
