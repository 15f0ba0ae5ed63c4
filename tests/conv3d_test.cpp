// FastConv3d: nn::Conv3d with the weight gradient from core/conv_weight_grad.h where chosen.
#include "coordseg/torch/conv3d.h"

#include <gtest/gtest.h>

#include "coordseg/core/conv_weight_grad.h"
#include "coordseg/torch/unet3d.h"

namespace coordseg {
namespace {

// Sets the weight-gradient path for one test and restores the previous one.
class WeightGradPathScope {
 public:
  explicit WeightGradPathScope(WeightGradPath path) : previous_(weight_grad_path()) { set_weight_grad_path(path); }
  ~WeightGradPathScope() { set_weight_grad_path(previous_); }

 private:
  WeightGradPath previous_;
};

torch::Tensor torch_weight_grad(const torch::Tensor& x, const torch::Tensor& dy, const torch::Tensor& w) {
  return std::get<1>(at::convolution_backward(dy, x, w, at::OptionalIntArrayRef(), {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, false,
                                              {0, 0, 0}, 1, {false, true, false}));
}

TEST(FastConv3d, OwnWeightGradientEqualsLibTorchs) {
  if (!conv_weight_grad_kernel_available()) GTEST_SKIP() << "no AVX2 + FMA on this processor";
  torch::manual_seed(3);
  const auto x = torch::randn({2, 3, 6, 10, 16}), dy = torch::randn({2, 8, 6, 10, 16});
  const auto w = torch::randn({8, 3, 3, 3, 3});
  const auto expected = torch_weight_grad(x, dy, w);
  const auto own = own_conv3d_weight_grad(x, dy, w);
  EXPECT_EQ(own.sizes(), expected.sizes());
  EXPECT_LT((own - expected).abs().max().item<float>(), 1e-4f * expected.abs().max().item<float>());
  // Any intra-op thread count gives the same bits.
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto one = own_conv3d_weight_grad(x, dy, w);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, own));
  // Non-contiguous inputs are made contiguous; a shape the kernel does not take is refused.
  EXPECT_TRUE(torch::allclose(own_conv3d_weight_grad(x.transpose(3, 4).contiguous().transpose(3, 4), dy, w), own));
  EXPECT_THROW(own_conv3d_weight_grad(x.slice(4, 0, 12), dy.slice(4, 0, 12), w), std::exception);
}

TEST(FastConv3d, GradientsMatchNnConv3dOnBothPaths) {
  torch::manual_seed(4);
  FastConv3d fast(4, 8);
  torch::nn::Conv3d plain(torch::nn::Conv3dOptions(4, 8, 3).padding(1));
  {
    torch::NoGradGuard no_grad;
    plain->weight.copy_(fast->weight);
    plain->bias.copy_(fast->bias);
  }
  const auto x0 = torch::randn({2, 4, 5, 9, 16});
  const auto target = torch::randn({2, 8, 5, 9, 16});
  auto x = x0.clone().requires_grad_(true);
  (plain->forward(x).relu() * target).sum().backward();
  const auto gx = x.grad().clone();
  for (const auto path : {WeightGradPath::kTorch, WeightGradPath::kOwn}) {
    WeightGradPathScope scope(path);
    fast->zero_grad();
    auto xf = x0.clone().requires_grad_(true);
    auto y = fast->forward(xf);
    y.relu_();  // in place on the layer's output, as the U-Net's activations are
    (y * target).sum().backward();
    const auto tol = [](const torch::Tensor& t) { return 1e-4 * t.abs().max().item<double>(); };
    EXPECT_LT((xf.grad() - gx).abs().max().item<double>(), tol(gx)) << to_string(path);
    EXPECT_LT((fast->weight.grad() - plain->weight.grad()).abs().max().item<double>(), tol(plain->weight.grad()))
        << to_string(path);
    EXPECT_LT((fast->bias.grad() - plain->bias.grad()).abs().max().item<double>(), tol(plain->bias.grad()))
        << to_string(path);
  }
}

TEST(FastConv3d, IsAnNnConv3dForInitialisationAndCheckpoints) {
  UNet3d net(UNet3dOptions().base(4).depth(2));
  int convs = 0;
  for (const auto& m : net->modules(false))
    if (m->as<torch::nn::Conv3d>() != nullptr) ++convs;
  // enc0 a/b, enc1 a/b, dec0 a/b, head (3x3x3) and the 1x1x1 output.
  EXPECT_EQ(convs, 8);
  const auto names = net->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "enc0a.0.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "enc0a.0.bias"), names.end());
}

TEST(FastConv3d, UNetStepIsTheSameOnBothPaths) {
  torch::manual_seed(5);
  UNet3d net(UNet3dOptions().base(4).depth(3).norm(Norm::kInstance).activation(Activation::kLeakyReLU));
  const auto x = torch::randn({2, 1, 16, 16, 16});
  std::vector<torch::Tensor> grads[2];
  for (int p = 0; p < 2; ++p) {
    WeightGradPathScope scope(p == 0 ? WeightGradPath::kTorch : WeightGradPath::kOwn);
    net->zero_grad();
    net->forward(x).pow(2).mean().backward();
    for (const auto& param : net->parameters()) grads[p].push_back(param.grad().clone());
  }
  ASSERT_EQ(grads[0].size(), grads[1].size());
  // Relative to the largest gradient: a convolution's bias before instance normalisation has a
  // gradient of zero up to rounding, which no relative tolerance of its own can hold.
  double scale = 0;
  for (const auto& g : grads[0]) scale = std::max(scale, g.abs().max().item<double>());
  ASSERT_GT(scale, 0);
  for (size_t i = 0; i < grads[0].size(); ++i)
    EXPECT_LT((grads[0][i] - grads[1][i]).abs().max().item<double>(), 1e-5 * scale) << "parameter " << i;
}

}  // namespace
}  // namespace coordseg
