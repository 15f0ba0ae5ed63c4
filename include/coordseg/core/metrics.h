// Segmentation metrics per class, in physical units (torch-free).
//
//   Dice    = 2 |A n B| / (|A| + |B|)          Jaccard = |A n B| / |A u B|
//   HD95    = the 95th percentile of the surface distances of A to B and of B to A, pooled
//             (MedPy's hd95), in mm
//   ASSD    = the mean of those pooled surface distances, in mm
// A surface voxel is a voxel of the structure with a 6-neighbour outside it (or on the
// volume's edge). Distances use the voxel spacing, through an exact Euclidean distance
// transform (Felzenszwalb-Huttenlocher), so anisotropic voxels are handled exactly.
//
// Empty structures: present in neither volume -> every metric missing (NaN), and the class
// is left out of averages; present in only one -> Dice = Jaccard = 0, HD95 and ASSD missing
// (an empty prediction has no surface to measure; it is not reported as 0).
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "coordseg/core/volume.h"

namespace coordseg {

struct ClassMetrics {
  double dice = 0, jaccard = 0, hd95 = 0, assd = 0;  // NaN when missing
  int64_t truth_voxels = 0, pred_voxels = 0;
};

// Metrics of each class 0..num_classes-1 (class 0 = background). The grids must match
// (the error prints both geometries).
std::vector<ClassMetrics> class_metrics(const LabelVolume& prediction, const LabelVolume& truth, int num_classes);

struct DistanceOptions {
  int threads = 0;  // lines of each pass split over threads (0: all hardware threads)
  // Distances above this come back as +inf (a margin test needs no more, and lines beyond
  // it are skipped).
  double max_mm = std::numeric_limits<double>::infinity();
};

// Exact squared Euclidean distance (mm^2) from every voxel to the nearest voxel where
// `mask` is set, with voxel spacing (sx, sy, sz); +inf everywhere when the mask is empty.
// The result does not depend on the number of threads.
std::vector<double> squared_distance_transform(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& dims,
                                               const std::array<double, 3>& spacing, const DistanceOptions& options = {});

}  // namespace coordseg
