// Volumes as tensors, at the boundary between the torch-free core and the network.
// A volume's voxels (x fastest) are a contiguous (Z, Y, X) = (D, H, W) tensor, so an image
// can be viewed without copying; labels become int64 class tensors (a copy).
#pragma once

#include <torch/torch.h>

#include "coordseg/core/volume.h"

namespace coordseg {

// A float32 (D, H, W) tensor sharing the volume's memory: valid while `volume` lives and is
// not resized. Writes through the tensor change the volume.
torch::Tensor view_tensor(Volume& volume);

// A float32 (D, H, W) copy of the image.
torch::Tensor to_tensor(const Volume& volume);

// An int64 (D, H, W) tensor of the label values (or classes).
torch::Tensor to_tensor(const LabelVolume& labels);

// A (D, H, W) tensor back to a volume on `grid` (dims must match; any dtype, any device).
Volume image_from_tensor(const torch::Tensor& t, const Grid& grid, const NiftiHeader& header);
LabelVolume labels_from_tensor(const torch::Tensor& t, const Grid& grid, const NiftiHeader& header);

}  // namespace coordseg
