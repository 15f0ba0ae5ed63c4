#include "coordseg/core/conv_weight_grad.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define COORDSEG_X86_KERNELS 1
#endif

namespace coordseg {

bool conv_weight_grad_kernel_fits(const Conv3dShape& s) {
  return s.w > 0 && s.w % 8 == 0 && s.out_channels > 0 && s.out_channels % 4 == 0 && s.in_channels > 0 &&
         s.batch > 0 && s.d > 0 && s.h > 0;
}

#ifdef COORDSEG_X86_KERNELS

bool conv_weight_grad_kernel_available() {
  static const bool available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return available;
}

bool conv_weight_grad_kernel_preferred() {
  static const bool preferred = conv_weight_grad_kernel_available() && !__builtin_cpu_supports("avx512f");
  return preferred;
}

namespace {

// Rows of one (n, z) plane taken together: their dy rows are copied into one small buffer that
// stays in L1 while every input channel and kernel offset passes over it.
constexpr int64_t kRows = 8;

// A tile of 4 output channels x the 3 offsets along x (kw), for one input channel and one
// (kd, kh): 12 accumulators of 8 lanes (lane j sums the voxels with x = j mod 8), so every
// x vector loaded feeds 4 multiply-adds and every dy vector 3.
__attribute__((target("avx2,fma"))) void weight_grad_avx2(const float* x, const float* dy, float* dw,
                                                          const Conv3dShape& s, int64_t co_begin, int64_t co_end) {
  const int64_t W = s.w, H = s.h, D = s.d, ci_n = s.in_channels, co_n = s.out_channels;
  const int64_t nco = co_end - co_begin, plane = H * W, volume = D * plane;
  const int64_t co_stride = ci_n * 27 * 8;  // between output channels in acc
  std::vector<float> acc(static_cast<size_t>(nco * co_stride), 0.0f);
  std::vector<float> dyb(static_cast<size_t>(nco * kRows * W));
  // x[-1] and x[W] are the padding: masked off, never read.
  const __m256i no_first = _mm256_setr_epi32(0, -1, -1, -1, -1, -1, -1, -1);
  const __m256i no_last = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, -1, 0);
  const int64_t dstride = kRows * W;  // between output channels in dyb
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t z = 0; z < D; ++z)
      for (int64_t y0 = 0; y0 < H; y0 += kRows) {
        const int64_t rows = std::min(kRows, H - y0);
        for (int64_t co = 0; co < nco; ++co)
          std::memcpy(dyb.data() + co * dstride, dy + (n * co_n + co_begin + co) * volume + z * plane + y0 * W,
                      sizeof(float) * static_cast<size_t>(rows * W));
        for (int64_t ci = 0; ci < ci_n; ++ci) {
          const float* xc = x + (n * ci_n + ci) * volume;
          for (int64_t kd = 0; kd < 3; ++kd) {
            const int64_t zs = z + kd - 1;
            if (zs < 0 || zs >= D) continue;
            for (int64_t kh = 0; kh < 3; ++kh) {
              // Rows r with a source row y0 + r + kh - 1 inside the volume.
              const int64_t r_lo = std::max<int64_t>(0, 1 - kh - y0), r_hi = std::min(rows, H + 1 - kh - y0);
              if (r_lo >= r_hi) continue;
              for (int64_t co = 0; co < nco; co += 4) {
                float* a = acc.data() + co * co_stride + (ci * 27 + kd * 9 + kh * 3) * 8;
                __m256 a00 = _mm256_loadu_ps(a), a01 = _mm256_loadu_ps(a + 8), a02 = _mm256_loadu_ps(a + 16);
                float* b = a + co_stride;
                __m256 a10 = _mm256_loadu_ps(b), a11 = _mm256_loadu_ps(b + 8), a12 = _mm256_loadu_ps(b + 16);
                float* c = b + co_stride;
                __m256 a20 = _mm256_loadu_ps(c), a21 = _mm256_loadu_ps(c + 8), a22 = _mm256_loadu_ps(c + 16);
                float* e = c + co_stride;
                __m256 a30 = _mm256_loadu_ps(e), a31 = _mm256_loadu_ps(e + 8), a32 = _mm256_loadu_ps(e + 16);
                for (int64_t r = r_lo; r < r_hi; ++r) {
                  const float* xr = xc + zs * plane + (y0 + r + kh - 1) * W;
                  const float* dr = dyb.data() + co * dstride + r * W;
                  for (int64_t xx = 0; xx < W; xx += 8) {
                    const __m256 x1 = _mm256_loadu_ps(xr + xx);
                    const __m256 x0 = xx == 0 ? _mm256_maskload_ps(xr - 1, no_first) : _mm256_loadu_ps(xr + xx - 1);
                    const __m256 x2 = xx + 8 == W ? _mm256_maskload_ps(xr + xx + 1, no_last) : _mm256_loadu_ps(xr + xx + 1);
                    __m256 g = _mm256_loadu_ps(dr + xx);
                    a00 = _mm256_fmadd_ps(g, x0, a00);
                    a01 = _mm256_fmadd_ps(g, x1, a01);
                    a02 = _mm256_fmadd_ps(g, x2, a02);
                    g = _mm256_loadu_ps(dr + dstride + xx);
                    a10 = _mm256_fmadd_ps(g, x0, a10);
                    a11 = _mm256_fmadd_ps(g, x1, a11);
                    a12 = _mm256_fmadd_ps(g, x2, a12);
                    g = _mm256_loadu_ps(dr + 2 * dstride + xx);
                    a20 = _mm256_fmadd_ps(g, x0, a20);
                    a21 = _mm256_fmadd_ps(g, x1, a21);
                    a22 = _mm256_fmadd_ps(g, x2, a22);
                    g = _mm256_loadu_ps(dr + 3 * dstride + xx);
                    a30 = _mm256_fmadd_ps(g, x0, a30);
                    a31 = _mm256_fmadd_ps(g, x1, a31);
                    a32 = _mm256_fmadd_ps(g, x2, a32);
                  }
                }
                _mm256_storeu_ps(a, a00), _mm256_storeu_ps(a + 8, a01), _mm256_storeu_ps(a + 16, a02);
                _mm256_storeu_ps(b, a10), _mm256_storeu_ps(b + 8, a11), _mm256_storeu_ps(b + 16, a12);
                _mm256_storeu_ps(c, a20), _mm256_storeu_ps(c + 8, a21), _mm256_storeu_ps(c + 16, a22);
                _mm256_storeu_ps(e, a30), _mm256_storeu_ps(e + 8, a31), _mm256_storeu_ps(e + 16, a32);
              }
            }
          }
        }
      }
  // The 8 lanes of each weight, summed pairwise.
  for (int64_t i = 0; i < nco * ci_n * 27; ++i) {
    const float* t = acc.data() + i * 8;
    dw[co_begin * ci_n * 27 + i] = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
  }
}

}  // namespace

void conv_weight_grad(const float* x, const float* dy, float* dw, const Conv3dShape& s, int64_t co_begin,
                      int64_t co_end) {
  weight_grad_avx2(x, dy, dw, s, co_begin, co_end);
}

#else

bool conv_weight_grad_kernel_available() { return false; }

bool conv_weight_grad_kernel_preferred() { return false; }

// Never called: callers check conv_weight_grad_kernel_available() first. Refuse rather than
// leave dw unwritten.
void conv_weight_grad(const float*, const float*, float*, const Conv3dShape&, int64_t, int64_t) {
  throw std::logic_error("conv_weight_grad: no kernel for this processor");
}

#endif

std::vector<float> conv_weight_grad_reference(const float* x, const float* dy, const Conv3dShape& s) {
  const int64_t W = s.w, H = s.h, D = s.d, volume = D * H * W;
  std::vector<double> sum(static_cast<size_t>(s.out_channels * s.in_channels * 27), 0.0);
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t co = 0; co < s.out_channels; ++co)
      for (int64_t ci = 0; ci < s.in_channels; ++ci)
        for (int64_t k = 0; k < 27; ++k) {
          const int64_t kd = k / 9 - 1, kh = k / 3 % 3 - 1, kw = k % 3 - 1;
          double t = 0;
          for (int64_t z = std::max<int64_t>(0, -kd); z < std::min(D, D - kd); ++z)
            for (int64_t y = std::max<int64_t>(0, -kh); y < std::min(H, H - kh); ++y)
              for (int64_t xx = std::max<int64_t>(0, -kw); xx < std::min(W, W - kw); ++xx)
                t += static_cast<double>(dy[(n * s.out_channels + co) * volume + (z * H + y) * W + xx]) *
                     static_cast<double>(x[(n * s.in_channels + ci) * volume + ((z + kd) * H + y + kh) * W + xx + kw]);
          sum[static_cast<size_t>((co * s.in_channels + ci) * 27 + k)] += t;
        }
  return std::vector<float>(sum.begin(), sum.end());
}

}  // namespace coordseg
