// The return path: network outputs on the preprocessed grid back to the input's own grid --
// the inverse of prepare_image (preprocess.h). Logits (K, D, H, W) are sampled at every
// canonical voxel centre (trilinear, align_corners = false, borders clamped) and reduced by
// argmax (and softmax for probability maps) without holding the resampled logits: on a
// CPU in one separable pass (core/resample_argmax.h), on a GPU with grid_sample in slabs of
// output z. Memory stays bounded however large the input. The canonical-order result is
// then put back into the file's voxel order with the input's grid, qform and sform.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "coordseg/core/volume.h"
#include "coordseg/torch/preprocess.h"

namespace coordseg {

struct CanonicalOutput {
  LabelVolume classes;               // classes 0..K-1 on prepared.canonical
  std::vector<Volume> probabilities; // per class, when asked for
};

// logits: (K, D, H, W) on prepared.grid, on any device: the sampling, softmax and argmax run
// there, and only the classes (and probabilities) come back.
CanonicalOutput restore_canonical(const torch::Tensor& logits, const PreparedImage& prepared, bool probabilities);

// A canonical-order volume back to `input`'s voxel order, grid and header.
template <class T>
VolumeOf<T> to_input_grid(const VolumeOf<T>& canonical, const PreparedImage& prepared, const Volume& input);

}  // namespace coordseg
