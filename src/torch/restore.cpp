#include "coordseg/torch/restore.h"

#include <cstring>

#include "coordseg/core/orientation.h"
#include "coordseg/core/resample_argmax.h"

namespace coordseg {

namespace F = torch::nn::functional;

namespace {
// Output voxels per slab on a GPU: 32 M (128 MB per channel: few, large kernels).
constexpr int64_t kDeviceSlabVoxels = int64_t{1} << 25;

// Voxel centres of an axis of n voxels in grid_sample's align_corners = false coordinates.
torch::Tensor centres(int64_t from, int64_t to, int64_t n, const torch::Device& device) {
  return (torch::arange(from, to, torch::TensorOptions().dtype(torch::kFloat32).device(device)) + 0.5) * (2.0 / n) - 1.0;
}
// argmax over the classes (dim 0) as K - 1 passes over contiguous slabs: LibTorch's argmax
// reduces across the strided class dimension and took about twice as long on a CPU. Ties go
// to the lower class, as argmax's.
torch::Tensor class_argmax(const torch::Tensor& logits) {
  torch::Tensor best = logits[0].clone();
  torch::Tensor index = torch::zeros(best.sizes(), best.options().dtype(torch::kInt32));
  for (int64_t k = 1; k < logits.size(0); ++k) {
    const torch::Tensor higher = logits[k] > best;
    best = torch::where(higher, logits[k], best);
    index.masked_fill_(higher, static_cast<int32_t>(k));
  }
  return index;
}
}  // namespace

CanonicalOutput restore_canonical(const torch::Tensor& logits, const PreparedImage& prepared, bool probabilities) {
  const Grid& cg = prepared.canonical;
  const int64_t D = cg.dims[2], H = cg.dims[1], W = cg.dims[0], K = logits.size(0);
  CanonicalOutput out;
  out.classes = LabelVolume::filled(cg, 0, &prepared.canonical_header);
  if (probabilities)
    for (int64_t k = 0; k < K; ++k) out.probabilities.push_back(Volume::filled(cg, 0.0f, &prepared.canonical_header));
  const torch::Device device = logits.device();
  if (device.is_cpu()) {
    // On the CPU, resampling and argmax in one pass (core/resample_argmax.h), over the
    // intra-op threads.
    const torch::Tensor scores = logits.to(torch::kFloat32).contiguous();
    ResampleArgmaxOptions ro;
    for (auto& p : out.probabilities) ro.probabilities.push_back(p.voxels.data());
    ro.threads = at::get_num_threads();
    resample_argmax(scores.data_ptr<float>(), K, {scores.size(1), scores.size(2), scores.size(3)}, {D, H, W},
                    out.classes.voxels.data(), ro);
    return out;
  }
  // On a GPU: grid_sample, softmax and argmax there, in slabs of output z.
  const bool same = logits.size(1) == D && logits.size(2) == H && logits.size(3) == W;
  const auto gy = centres(0, H, H, device).view({1, H, 1}), gx = centres(0, W, W, device).view({1, 1, W});
  const int64_t slab = std::max<int64_t>(1, kDeviceSlabVoxels / (H * W));
  for (int64_t z0 = 0; z0 < D; z0 += slab) {
    const int64_t z1 = std::min(D, z0 + slab), t = z1 - z0;
    torch::Tensor part;
    if (same) {
      part = logits.slice(1, z0, z1);
    } else {
      const auto gz = centres(z0, z1, D, device).view({t, 1, 1});
      const auto grid_xyz = torch::stack({gx.expand({t, H, W}), gy.expand({t, H, W}), gz.expand({t, H, W})}, -1).unsqueeze(0);
      part = F::grid_sample(logits.unsqueeze(0), grid_xyz,
                            F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false))[0];
    }
    const auto labels = class_argmax(part).to(torch::kCPU).contiguous();
    std::memcpy(out.classes.voxels.data() + z0 * H * W, labels.data_ptr<int32_t>(), static_cast<size_t>(t * H * W) * sizeof(int32_t));
    if (probabilities) {
      const auto pr = torch::softmax(part, 0).to(torch::kCPU).contiguous();
      for (int64_t k = 0; k < K; ++k)
        std::memcpy(out.probabilities[static_cast<size_t>(k)].voxels.data() + z0 * H * W, pr[k].data_ptr<float>(),
                    static_cast<size_t>(t * H * W) * sizeof(float));
    }
  }
  return out;
}

template <class T>
VolumeOf<T> to_input_grid(const VolumeOf<T>& canonical, const PreparedImage& prepared, const Volume& input) {
  return undo_reorient(canonical, prepared.reorientation, input.grid, input.header);
}

template LabelVolume to_input_grid(const LabelVolume&, const PreparedImage&, const Volume&);
template Volume to_input_grid(const Volume&, const PreparedImage&, const Volume&);

}  // namespace coordseg
