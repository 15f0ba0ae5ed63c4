// The weight gradient of a 3x3x3 convolution with stride 1 and padding 1, fp32, NCDHW:
//   dw[co][ci][kd][kh][kw] = sum over n, z, y, x of dy[n][co][z][y][x] * x[n][ci][z+kd-1][y+kh-1][x+kw-1]
// (x is zero outside the volume). On CPUs with AVX2 but no AVX-512, oneDNN computes this with
// its GEMM fallback at about a third of the machine's convolution rate, and it is the largest
// part of a training step there; this kernel streams the rows of dy and x through 12 vector
// accumulators instead (bench/README.md has the figures). No torch here: the torch side
// (torch/conv3d.h) decides when to use it and splits the output channels over threads.
#pragma once

#include <cstdint>
#include <vector>

namespace coordseg {

struct Conv3dShape {
  int64_t batch = 1, in_channels = 1, out_channels = 1, d = 1, h = 1, w = 1;
};

// Whether this build and processor run the fast kernel at all (x86-64 with AVX2 and FMA).
bool conv_weight_grad_kernel_available();

// Whether to use it by default: AVX2 + FMA without AVX-512, the processors it was measured to
// win on (2-core AMD EPYC Zen 3: see bench/README.md). Processors with AVX-512 keep LibTorch's
// own path, which has not been measured against it.
bool conv_weight_grad_kernel_preferred();

// Shapes the fast kernel takes: w a multiple of 8, out_channels a multiple of 4.
bool conv_weight_grad_kernel_fits(const Conv3dShape& s);

// Writes dw[co] for co in [co_begin, co_end) (a multiple of 4 apart; the whole of each
// channel's in_channels x 27 weights). Threads given disjoint channel ranges may run at once;
// each result is summed in one fixed order, so it does not depend on the thread count.
// Requires conv_weight_grad_kernel_available() and conv_weight_grad_kernel_fits(s).
void conv_weight_grad(const float* x, const float* dy, float* dw, const Conv3dShape& s, int64_t co_begin,
                      int64_t co_end);

// The same sum in plain loops (double accumulation), for tests.
std::vector<float> conv_weight_grad_reference(const float* x, const float* dy, const Conv3dShape& s);

}  // namespace coordseg
