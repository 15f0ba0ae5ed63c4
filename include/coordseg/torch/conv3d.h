// The U-Net's 3x3x3 convolution layer: torch::nn::Conv3d in every way -- parameters and their
// names, initialisation, checkpoints, `as<nn::Conv3d>()` -- except that, when training in fp32
// on a CPU where core/conv_weight_grad.h's kernel is preferred, the weight gradient comes from
// that kernel instead of LibTorch (the input and bias gradients still come from LibTorch).
#pragma once

#include <torch/torch.h>

#include <string>

namespace coordseg {

class FastConv3dImpl : public torch::nn::Conv3dImpl {
 public:
  // A 3x3x3 convolution with stride 1, padding 1 and a bias.
  FastConv3dImpl(int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& input);
};
TORCH_MODULE(FastConv3d);

// Where CPU weight gradients of 3x3x3 convolutions come from. COORDSEG_WEIGHT_GRAD=own or
// torch chooses; unset or "auto" means the kernel where conv_weight_grad_kernel_preferred()
// says so. "own" on a processor without AVX2 falls back to torch.
enum class WeightGradPath { kTorch, kOwn };
WeightGradPath weight_grad_path();
// Overrides the choice for this process (tests, benchmarks); kOwn without AVX2 stays kTorch.
void set_weight_grad_path(WeightGradPath path);
std::string to_string(WeightGradPath path);

// The weight gradient of a 3x3x3, stride-1, padding-1 convolution by the kernel, over the
// intra-op threads (x: (N, Ci, D, H, W), grad_output: (N, Co, D, H, W), fp32 on the CPU;
// the shape must fit the kernel). Exposed for tests and benchmarks.
torch::Tensor own_conv3d_weight_grad(const torch::Tensor& input, const torch::Tensor& grad_output,
                                     const torch::Tensor& weight);

}  // namespace coordseg
