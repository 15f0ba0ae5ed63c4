#include "coordseg/torch/conv3d.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <vector>

#include "coordseg/core/conv_weight_grad.h"
#include "coordseg/core/error.h"
#include "coordseg/torch/compat.h"

namespace coordseg {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

Conv3dShape shape_of(const torch::Tensor& input, const torch::Tensor& weight) {
  Conv3dShape s;
  s.batch = input.size(0);
  s.in_channels = input.size(1);
  s.out_channels = weight.size(0);
  s.d = input.size(2);
  s.h = input.size(3);
  s.w = input.size(4);
  return s;
}

// conv3d(padding 1) whose backward takes the weight gradient from the kernel.
struct OwnWeightGradConv3d : public torch::autograd::Function<OwnWeightGradConv3d> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                               const torch::Tensor& bias) {
    ctx->save_for_backward({input, weight});
    return torch::conv3d(input, weight, bias, /*stride=*/1, /*padding=*/1);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &input = saved[0], &weight = saved[1];
    const torch::Tensor grad_output = grads[0].contiguous();
    torch::Tensor grad_input, grad_weight, grad_bias;
    // Only the input gradient from LibTorch: asked for the bias gradient too, oneDNN computes
    // the weight gradient along with it.
    if (ctx->needs_input_grad(0))
      grad_input = std::get<0>(at::convolution_backward(
          grad_output, input, weight, /*bias_sizes=*/at::OptionalIntArrayRef(), /*stride=*/{1, 1, 1},
          /*padding=*/{1, 1, 1}, /*dilation=*/{1, 1, 1}, /*transposed=*/false, /*output_padding=*/{0, 0, 0},
          /*groups=*/1, {true, false, false}));
    if (ctx->needs_input_grad(1)) grad_weight = own_conv3d_weight_grad(input, grad_output, weight);
    if (ctx->needs_input_grad(2)) grad_bias = grad_output.sum({0, 2, 3, 4});
    return {grad_input, grad_weight, grad_bias};
  }
};

WeightGradPath path_from_environment() {
  const char* env = std::getenv("COORDSEG_WEIGHT_GRAD");
  const std::string choice = env ? env : "auto";
  if (choice == "torch") return WeightGradPath::kTorch;
  if (choice == "own") return conv_weight_grad_kernel_available() ? WeightGradPath::kOwn : WeightGradPath::kTorch;
  if (choice != "auto" && !choice.empty())
    throw usage_error("COORDSEG_WEIGHT_GRAD", "must be auto, own or torch, got \"" + choice + "\"");
  return conv_weight_grad_kernel_preferred() ? WeightGradPath::kOwn : WeightGradPath::kTorch;
}

std::atomic<int> chosen_path{-1};  // -1: not yet read from the environment

}  // namespace

WeightGradPath weight_grad_path() {
  int path = chosen_path.load();
  if (path < 0) {
    path = static_cast<int>(path_from_environment());
    chosen_path.store(path);
  }
  return static_cast<WeightGradPath>(path);
}

void set_weight_grad_path(WeightGradPath path) {
  if (path == WeightGradPath::kOwn && !conv_weight_grad_kernel_available()) path = WeightGradPath::kTorch;
  chosen_path.store(static_cast<int>(path));
}

std::string to_string(WeightGradPath path) { return path == WeightGradPath::kOwn ? "own" : "torch"; }

torch::Tensor own_conv3d_weight_grad(const torch::Tensor& input, const torch::Tensor& grad_output,
                                     const torch::Tensor& weight) {
  const torch::Tensor x = input.contiguous(), dy = grad_output.contiguous();
  const Conv3dShape s = shape_of(x, weight);
  const bool supported = conv_weight_grad_kernel_available() && conv_weight_grad_kernel_fits(s) &&
                         x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
                         dy.scalar_type() == torch::kFloat32 &&
                         dy.sizes() == torch::IntArrayRef{s.batch, s.out_channels, s.d, s.h, s.w};
  if (!supported)
    throw usage_error("own_conv3d_weight_grad", "unsupported shape, type or processor");
  torch::Tensor grad_weight = torch::empty({s.out_channels, s.in_channels, 3, 3, 3}, x.options());
  // Each output channel's weights are summed whole by one call, in an order that does not depend
  // on the split: the result is the same for any thread count.
  const int64_t tiles = s.out_channels / 4;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), tiles));
  const float* xp = x.data_ptr<float>();
  const float* dyp = dy.data_ptr<float>();
  float* gw = grad_weight.data_ptr<float>();
  // Plain threads, not at::parallel_for: that is an OpenMP pragma in a header, which runs
  // serially unless this file is compiled with -fopenmp (and a wheel's LibTorch brings its
  // own OpenMP runtime). Futures wait for their thread and pass on its exception.
  const auto run = [&](int64_t c) {
    conv_weight_grad(xp, dyp, gw, s, 4 * (tiles * c / chunks), 4 * (tiles * (c + 1) / chunks));
  };
  std::vector<std::future<void>> helpers;
  for (int64_t c = 1; c < chunks; ++c) helpers.push_back(std::async(std::launch::async, run, c));
  run(0);
  for (auto& h : helpers) h.get();
  return grad_weight;
}

FastConv3dImpl::FastConv3dImpl(int64_t in_channels, int64_t out_channels)
    : torch::nn::Conv3dImpl(torch::nn::Conv3dOptions(in_channels, out_channels, /*kernel_size=*/3).padding(1)) {}

torch::Tensor FastConv3dImpl::forward(const torch::Tensor& input) {
  if (input.dim() == 5 && torch::GradMode::is_enabled() && weight.requires_grad() && input.device().is_cpu() &&
      input.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32 &&
      !compat::cpu_autocast_enabled() && weight_grad_path() == WeightGradPath::kOwn &&
      conv_weight_grad_kernel_fits(shape_of(input, weight)))
    return OwnWeightGradConv3d::apply(input, weight, bias);
  return torch::nn::Conv3dImpl::forward(input);
}

}  // namespace coordseg
