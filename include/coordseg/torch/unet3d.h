// The reference 3D U-Net (the seed project's Keras model) with CoordConv variants.
//
// Layout for depth 4 and base b: encoder levels of 2b, 4b, 8b, 16b filters, each two 3x3x3
// convolutions (+ normalisation) + activation, 2x2x2 max-pooling between levels; decoder
// levels of 8b, 4b, 2b filters, each a 2x2x2 stride-2 transposed convolution (or trilinear
// upsampling + 1x1x1 convolution) to the level's filters, concatenation with the skip, and
// two 3x3x3 convolutions; then a b-filter 3x3x3 convolution and a 1x1x1 convolution to the
// classes (logits). With b = 32, 8 classes, no normalisation and no CoordConv it has exactly
// 22,449,320 parameters; with coordinate channels at the first convolution, 22,454,504.
//
// Input (N, C, D, H, W) with D, H, W divisible by 2^(depth-1); output (N, classes, D, H, W).
// CoordConv adds three channels z, y, x in [-1, 1]:
//   local  - over the patch, generated inside forward() (the reference's COORD_NET);
//   global - over the whole preprocessed volume, passed in by the caller with the patch and
//            concatenated before the first convolution (the reference's IMAGE_COORD);
//   all    - global coordinates concatenated before every 3x3x3 convolution, average-pooled
//            to each level's resolution.
#pragma once

#include <torch/torch.h>

#include <string>

#include "coordseg/core/settings.h"

namespace coordseg {

struct UNet3dOptions {
  UNet3dOptions() = default;
  TORCH_ARG(int64_t, in_channels) = 1;   // image channels (coordinates not counted)
  TORCH_ARG(int64_t, classes) = 8;
  TORCH_ARG(int64_t, base) = 32;         // b: the first level has 2b filters
  TORCH_ARG(int64_t, depth) = 4;         // levels, including the bottom one
  TORCH_ARG(Norm, norm) = Norm::kNone;
  TORCH_ARG(Activation, activation) = Activation::kReLU;
  TORCH_ARG(Upsampling, upsampling) = Upsampling::kTransposed;
  TORCH_ARG(CoordMode, coord) = CoordMode::kNone;
};

// (N, 3, D, H, W) channels z, y, x, each spanning [-1, 1] over its axis (0 for length 1).
torch::Tensor coordinate_channels(int64_t n, int64_t d, int64_t h, int64_t w, const torch::TensorOptions& options);

// Bytes one training step holds at its peak, counted from the layers in float32: the
// activations kept for backward (per 3x3x3 convolution its output, the normalisation's and
// the activation's; per decoder level the upsampled tensor and the concatenation) for
// `batch` patches of `patch` voxels, plus weights, gradients and two Adam moments of the
// network's `parameters`. An estimate for refusing impossible sizes up front.
double training_memory_bytes(const UNet3dOptions& options, const std::array<int64_t, 3>& patch, int64_t batch,
                             int64_t parameters);

// Re-initialises every convolution and transposed convolution: kTorch keeps LibTorch's
// defaults (Kaiming-uniform weights, a=sqrt(5); uniform biases); kGlorot is Keras's
// glorot_uniform kernels, U(+-sqrt(6 / (fan_in + fan_out))), and zero biases. Normalisation
// layers keep weight 1, bias 0. Draws from LibTorch's global generator (torch::manual_seed).
class UNet3dImpl;
void initialise(UNet3dImpl& net, Init init);

class UNet3dImpl : public torch::nn::Module {
 public:
  explicit UNet3dImpl(const UNet3dOptions& options);

  // `coords`: (N, 3, D, H, W) global coordinates; required for global/all, ignored otherwise.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& coords = {});

  const UNet3dOptions& options() const { return options_; }
  int64_t parameter_count() const;
  // Floating-point operations of one forward pass over `batch` inputs of `patch` voxels
  // (d, h, w), counted from the layers' weights: each convolution 2 x its weights x its output
  // voxels, each stride-2 transposed convolution 2 x its weights x its input voxels (biases,
  // normalisation, activations, pooling and interpolation are not counted). A training step
  // is counted as 3 forward passes (backward: gradients of the inputs and of the weights).
  double forward_flops(const std::array<int64_t, 3>& patch, int64_t batch = 1) const;
  // The side a patch must be a multiple of: 2^(depth-1).
  int64_t size_multiple() const { return int64_t{1} << (options_.depth() - 1); }

 private:
  torch::nn::Sequential conv_block(int64_t in, int64_t out, const std::string& name);
  torch::Tensor run(torch::nn::Sequential& block, const torch::Tensor& x, const torch::Tensor& coords);

  UNet3dOptions options_;
  std::vector<torch::nn::Sequential> enc_a_, enc_b_, dec_a_, dec_b_;
  std::vector<torch::nn::Sequential> up_;
  torch::nn::Sequential head_{nullptr};
  torch::nn::Conv3d out_{nullptr};
};
TORCH_MODULE(UNet3d);

}  // namespace coordseg
