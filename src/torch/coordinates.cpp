#include "coordseg/torch/coordinates.h"

namespace coordseg {

torch::Tensor global_coordinate(const torch::Tensor& index, int64_t n) {
  return n > 1 ? index * (2.0 / static_cast<double>(n - 1)) - 1.0 : torch::zeros_like(index);
}

torch::Tensor window_coordinates(const std::array<int64_t, 3>& start, const std::array<int64_t, 3>& size,
                                 const std::array<int64_t, 3>& dims, const torch::TensorOptions& options) {
  std::vector<torch::Tensor> axes;
  for (size_t a = 0; a < 3; ++a) {
    std::vector<int64_t> shape = {1, 1, 1};
    shape[a] = size[a];
    const auto i = torch::arange(start[a], start[a] + size[a], options);
    axes.push_back(global_coordinate(i, dims[a]).view(shape).expand({size[0], size[1], size[2]}));
  }
  return torch::stack(axes);
}

}  // namespace coordseg
