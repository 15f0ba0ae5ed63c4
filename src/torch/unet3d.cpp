#include "coordseg/torch/unet3d.h"

#include <cmath>

#include "coordseg/core/error.h"
#include "coordseg/torch/conv3d.h"
#include "coordseg/torch/coordinates.h"

namespace coordseg {

namespace nn = torch::nn;

torch::Tensor coordinate_channels(int64_t n, int64_t d, int64_t h, int64_t w, const torch::TensorOptions& options) {
  return window_coordinates({0, 0, 0}, {d, h, w}, {d, h, w}, options).unsqueeze(0).expand({n, 3, d, h, w});
}

void initialise(UNet3dImpl& net, Init init) {
  if (init == Init::kTorch) return;
  torch::NoGradGuard no_grad;
  for (auto& module : net.modules(/*include_self=*/false)) {
    torch::Tensor weight, bias;
    if (auto* conv = module->as<nn::Conv3d>()) {
      weight = conv->weight;
      bias = conv->bias;
    } else if (auto* up = module->as<nn::ConvTranspose3d>()) {
      weight = up->weight;
      bias = up->bias;
    } else {
      continue;
    }
    // (fan_in + fan_out) is symmetric, so the transposed layout (in, out, k...) gives the same bound.
    nn::init::xavier_uniform_(weight);
    if (bias.defined()) nn::init::zeros_(bias);
  }
}

double training_memory_bytes(const UNet3dOptions& o, const std::array<int64_t, 3>& patch, int64_t batch,
                             int64_t parameters) {
  const double voxels = static_cast<double>(patch[0]) * static_cast<double>(patch[1]) * static_cast<double>(patch[2]);
  const double per_conv = o.norm() == Norm::kNone ? 2 : 3;  // conv, (norm), activation outputs
  double channels = 0;  // activation channels at full resolution, summed over levels
  for (int64_t l = 0; l < o.depth(); ++l) {
    const double f = static_cast<double>(2 * o.base() << l), scale = std::pow(8.0, static_cast<double>(l));
    const bool bottom = l == o.depth() - 1;
    channels += (2 * per_conv * f + (bottom ? 0 : 3 * f + 2 * per_conv * f)) / scale;
  }
  channels += per_conv * static_cast<double>(o.base()) + static_cast<double>(o.classes());  // head and logits
  return 4.0 * (static_cast<double>(batch) * voxels * channels + 4.0 * static_cast<double>(parameters));
}

nn::Sequential UNet3dImpl::conv_block(int64_t in, int64_t out, const std::string& name) {
  const int64_t extra = options_.coord() == CoordMode::kAll ? 3 : 0;
  nn::Sequential block(FastConv3d(in + extra, out));
  switch (options_.norm()) {
    case Norm::kBatch: block->push_back(nn::BatchNorm3d(out)); break;
    case Norm::kGroup: block->push_back(nn::GroupNorm(nn::GroupNormOptions(/*num_groups=*/8, out))); break;
    case Norm::kInstance: block->push_back(nn::InstanceNorm3d(nn::InstanceNorm3dOptions(out).affine(true))); break;
    case Norm::kNone: break;
  }
  // In place: the convolution's (or normalisation's) output is not needed by its own
  // backward, so the activation overwrites it rather than filling a new tensor.
  if (options_.activation() == Activation::kLeakyReLU)
    block->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.01).inplace(true)));
  else
    block->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
  return register_module(name, block);
}

UNet3dImpl::UNet3dImpl(const UNet3dOptions& options) : options_(options) {
  const int64_t depth = options_.depth(), b = options_.base();
  check_depth(depth, "DEPTH");
  if (b < 1) throw usage_error("BASE_FILTERS", "must be positive");
  if (options_.norm() == Norm::kGroup && b % 8 != 0)
    throw usage_error("BASE_FILTERS", "group normalization (8 groups) needs a multiple of 8, got " + std::to_string(b));
  const bool coords_at_input = options_.coord() == CoordMode::kLocal || options_.coord() == CoordMode::kGlobal;
  int64_t in = options_.in_channels() + (coords_at_input ? 3 : 0);
  std::vector<int64_t> filters;
  for (int64_t l = 0; l < depth; ++l) filters.push_back(2 * b << l);
  for (int64_t l = 0; l < depth; ++l) {
    enc_a_.push_back(conv_block(in, filters[l], "enc" + std::to_string(l) + "a"));
    enc_b_.push_back(conv_block(filters[l], filters[l], "enc" + std::to_string(l) + "b"));
    in = filters[l];
  }
  // Decoder level l (0 = top) takes the level below up to filters[l].
  dec_a_.resize(static_cast<size_t>(depth > 1 ? depth - 1 : 0));
  dec_b_.resize(dec_a_.size());
  up_.resize(dec_a_.size());
  for (int64_t l = depth - 2; l >= 0; --l) {
    const int64_t below = filters[static_cast<size_t>(l + 1)], c = filters[static_cast<size_t>(l)];
    const std::string name = "up" + std::to_string(l);
    if (options_.upsampling() == Upsampling::kTransposed) {
      up_[static_cast<size_t>(l)] = register_module(
          name, nn::Sequential(nn::ConvTranspose3d(nn::ConvTranspose3dOptions(below, c, /*kernel_size=*/2).stride(2))));
    } else {
      up_[static_cast<size_t>(l)] = register_module(
          name, nn::Sequential(nn::Upsample(nn::UpsampleOptions()
                                                .scale_factor(std::vector<double>{2, 2, 2})
                                                .mode(torch::kTrilinear)
                                                .align_corners(false)),
                               nn::Conv3d(nn::Conv3dOptions(below, c, /*kernel_size=*/1))));
    }
    dec_a_[static_cast<size_t>(l)] = conv_block(2 * c, c, "dec" + std::to_string(l) + "a");
    dec_b_[static_cast<size_t>(l)] = conv_block(c, c, "dec" + std::to_string(l) + "b");
  }
  head_ = conv_block(filters[0], b, "head");
  out_ = register_module("out", nn::Conv3d(nn::Conv3dOptions(b, options_.classes(), /*kernel_size=*/1)));
}

torch::Tensor UNet3dImpl::run(nn::Sequential& block, const torch::Tensor& x, const torch::Tensor& coords) {
  if (options_.coord() == CoordMode::kAll) return block->forward(torch::cat({x, coords.to(x.dtype())}, 1));
  return block->forward(x);
}

torch::Tensor UNet3dImpl::forward(const torch::Tensor& x, const torch::Tensor& coords) {
  const int64_t depth = options_.depth();
  if (x.dim() != 5) throw usage_error("UNet3d", "input must be (N, C, D, H, W)");
  const int64_t m = size_multiple();
  for (int a = 2; a < 5; ++a)
    if (x.size(a) % m != 0)
      throw usage_error("PATCH_DIM", "patch side " + std::to_string(x.size(a)) + " is not a multiple of " +
                                         std::to_string(m) + " (2^(depth-1))");
  const CoordMode mode = options_.coord();
  const bool needs_coords = mode == CoordMode::kGlobal || mode == CoordMode::kAll;
  if (needs_coords && (!coords.defined() || coords.size(1) != 3 || coords.sizes().slice(2) != x.sizes().slice(2)))
    throw usage_error("COORD", to_string(mode) + " CoordConv needs (N, 3, D, H, W) coordinates matching the input");

  // Coordinates at each level's resolution (mode "all").
  std::vector<torch::Tensor> level_coords(static_cast<size_t>(depth));
  if (mode == CoordMode::kAll) {
    level_coords[0] = coords;
    for (int64_t l = 1; l < depth; ++l)
      level_coords[static_cast<size_t>(l)] = torch::avg_pool3d(level_coords[static_cast<size_t>(l - 1)], 2);
  }
  torch::Tensor h = x;
  if (mode == CoordMode::kLocal)
    h = torch::cat({h, coordinate_channels(x.size(0), x.size(2), x.size(3), x.size(4), x.options())}, 1);
  else if (mode == CoordMode::kGlobal)
    h = torch::cat({h, coords.to(x.dtype())}, 1);

  std::vector<torch::Tensor> skips;
  for (int64_t l = 0; l < depth; ++l) {
    const auto& c = level_coords[static_cast<size_t>(l)];
    h = run(enc_a_[static_cast<size_t>(l)], h, c);
    h = run(enc_b_[static_cast<size_t>(l)], h, c);
    if (l < depth - 1) {
      skips.push_back(h);
      h = torch::max_pool3d(h, 2);
    }
  }
  for (int64_t l = depth - 2; l >= 0; --l) {
    const auto& c = level_coords[static_cast<size_t>(l)];
    h = up_[static_cast<size_t>(l)]->forward(h);
    h = torch::cat({h, skips[static_cast<size_t>(l)]}, 1);
    h = run(dec_a_[static_cast<size_t>(l)], h, c);
    h = run(dec_b_[static_cast<size_t>(l)], h, c);
  }
  h = run(head_, h, level_coords[0]);
  return out_->forward(h);
}

double UNet3dImpl::forward_flops(const std::array<int64_t, 3>& patch, int64_t batch) const {
  const double voxels = static_cast<double>(batch) * static_cast<double>(patch[0]) * static_cast<double>(patch[1]) *
                        static_cast<double>(patch[2]);
  const auto at_level = [&](int64_t l) { return voxels / std::pow(8.0, static_cast<double>(l)); };
  double flops = 0;
  // Modules are named after their level: enc<l>a/b, dec<l>a/b, up<l> (from level l+1 to l),
  // head and out (level 0).
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    const std::string& name = item.key();
    const std::string top = name.substr(0, name.find('.'));
    int64_t level = 0;
    if (top.rfind("enc", 0) == 0 || top.rfind("dec", 0) == 0 || top.rfind("up", 0) == 0)
      level = std::stoll(top.substr(top.rfind("up", 0) == 0 ? 2 : 3));
    if (const auto* conv = item.value()->as<nn::Conv3d>())
      flops += 2.0 * static_cast<double>(conv->weight.numel()) * at_level(level);
    else if (const auto* up = item.value()->as<nn::ConvTranspose3d>())
      flops += 2.0 * static_cast<double>(up->weight.numel()) * at_level(level + 1);
  }
  return flops;
}

int64_t UNet3dImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace coordseg
