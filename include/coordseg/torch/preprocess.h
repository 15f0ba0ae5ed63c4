// Preprocessing shared by training and inference -- the forward half of the data flow, whose
// inverse (network outputs back to the input's own grid) is restore.h: canonical voxel
// order (no interpolation),
// resampling (RESIZE_R or a target spacing in mm; linear for images, nearest for labels,
// voxel centres aligned so the affine stays exact), and intensity normalisation:
//   ct       - clip to the 0.5/99.5 percentiles of the training set's foreground voxels,
//              then z-score with that foreground's mean and sd (nnU-Net's CT scheme);
//   zscore   - per volume (MR);
//   scale255 - x / 255 (the reference).
// Tensors are (D, H, W) = (Z, Y, X) of the canonical grid.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "coordseg/core/config.h"
#include "coordseg/core/dataset.h"
#include "coordseg/core/orientation.h"

namespace coordseg {

struct IntensityStats {
  double lo = 0, hi = 0, mean = 0, sd = 1;
};

struct Preprocessing {
  IntensityScheme scheme = IntensityScheme::kCT;
  IntensityStats stats;                     // for "ct"
  double resize = 1.0;                      // RESIZE_R
  std::array<double, 3> spacing{0, 0, 0};   // target mm (x, y, z); all 0 = use resize

  static Preprocessing from_config(const TrainConfig& c);
};

// Foreground (class > 0) intensity statistics over cases (images and class maps on one grid).
IntensityStats ct_statistics(const std::vector<const Volume*>& images, const std::vector<const LabelVolume*>& classes);

// The canonical grid resampled as `p` says: dims (x, y, z) and the matching affine.
Grid resampled_grid(const Grid& canonical, const Preprocessing& p);

// Trilinear resampling of a (D, H, W) float tensor to `dims_zyx`, and nearest for labels.
torch::Tensor resample_image(const torch::Tensor& image, const std::array<int64_t, 3>& dims_zyx);
torch::Tensor resample_labels(const torch::Tensor& labels, const std::array<int64_t, 3>& dims_zyx);

// Intensity normalisation of a (D, H, W) image; always a new tensor, so a view of a
// volume's voxels may be passed.
torch::Tensor normalise(const torch::Tensor& image, const Preprocessing& p);

// An image as the network sees it, with what it takes to go back (restore.h).
struct PreparedImage {
  Reorientation reorientation;   // file order -> canonical
  Grid canonical;                // the canonical grid, before resampling
  NiftiHeader canonical_header;  // the header that goes with it
  Grid grid;                     // canonical, resampled: the network's grid
  torch::Tensor image;           // (1, D, H, W) float32, normalised
};

// The reordering is a copy on the host; resampling and normalisation run on `device`, where
// the image tensor then lives.
PreparedImage prepare_image(const Volume& image, const Preprocessing& p, const torch::Device& device = torch::kCPU);

// A labelled case for training: the image prepared as above and its classes on the same grid.
struct PreparedCase {
  std::string id;
  Reorientation reorientation;   // file order -> canonical
  Grid grid;                     // canonical, resampled
  torch::Tensor image;           // (1, D, H, W) float32, normalised
  torch::Tensor labels;          // (D, H, W) int64 classes; undefined without labels
  std::vector<torch::Tensor> class_voxels;  // per class: int64 linear indices (for sampling)
};

PreparedCase prepare_case(const LoadedCase& c, const Preprocessing& p);

}  // namespace coordseg
