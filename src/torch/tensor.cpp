#include "coordseg/torch/tensor.h"

#include "coordseg/core/error.h"

namespace coordseg {

namespace {
std::vector<int64_t> shape_of(const Grid& g) { return {g.dims[2], g.dims[1], g.dims[0]}; }

void check_shape(const torch::Tensor& t, const Grid& grid) {
  const auto want = shape_of(grid);
  if (t.sizes() != c10::IntArrayRef(want)) {
    std::ostringstream s;
    s << "tensor of shape " << t.sizes() << " does not match the grid's (D, H, W) = " << c10::IntArrayRef(want);
    throw data_error("tensor", s.str());
  }
}

template <class T>
VolumeOf<T> from_tensor(const torch::Tensor& t, const Grid& grid, const NiftiHeader& header, torch::Dtype dtype) {
  check_shape(t, grid);
  const torch::Tensor c = t.to(torch::kCPU, dtype).contiguous();
  VolumeOf<T> v;
  v.grid = grid;
  v.header = header;
  v.voxels.assign(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
  return v;
}
}  // namespace

torch::Tensor view_tensor(Volume& volume) {
  return torch::from_blob(volume.voxels.data(), shape_of(volume.grid), torch::kFloat32);
}

torch::Tensor to_tensor(const Volume& volume) {
  return torch::from_blob(const_cast<float*>(volume.voxels.data()), shape_of(volume.grid), torch::kFloat32).clone();
}

torch::Tensor to_tensor(const LabelVolume& labels) {
  return torch::from_blob(const_cast<int32_t*>(labels.voxels.data()), shape_of(labels.grid), torch::kInt32)
      .to(torch::kInt64);
}

Volume image_from_tensor(const torch::Tensor& t, const Grid& grid, const NiftiHeader& header) {
  return from_tensor<float>(t, grid, header, torch::kFloat32);
}

LabelVolume labels_from_tensor(const torch::Tensor& t, const Grid& grid, const NiftiHeader& header) {
  return from_tensor<int32_t>(t, grid, header, torch::kInt32);
}

}  // namespace coordseg
