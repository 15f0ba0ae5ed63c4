#include "coordseg/core/info.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "coordseg/core/nifti.h"

namespace coordseg {

namespace {
std::string num(double v, const char* format = "%.6g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}
}  // namespace

std::string describe_nifti(const std::string& path, const LabelMap& map) {
  const Volume image = read_image(path);
  const NiftiHeader& h = image.header;
  const Grid& g = image.grid;
  std::ostringstream s;
  s << image.source << "\n";
  s << "  format       NIfTI-" << h.version << (h.gzip ? ", gzip-compressed" : "") << "\n";
  s << "  dims         " << g.dims[0] << " x " << g.dims[1] << " x " << g.dims[2] << " voxels\n";
  s << "  spacing      " << num(g.spacing[0]) << " x " << num(g.spacing[1]) << " x " << num(g.spacing[2])
    << " mm\n";
  s << "  orientation  " << orientation_code(g.affine) << " (from the " << h.affine_source()
    << "; qform_code " << h.qform_code << ", sform_code " << h.sform_code << ")\n";
  s << "  origin       (" << num(g.affine.m[0][3]) << ", " << num(g.affine.m[1][3]) << ", "
    << num(g.affine.m[2][3]) << ") mm\n";
  s << "  datatype     " << datatype_name(h.datatype) << "\n";
  s << "  scaling      "
    << (h.has_scaling() ? "value * " + num(h.scl_slope) + " + " + num(std::isfinite(h.scl_inter) ? h.scl_inter : 0.0)
                        : std::string("none"))
    << "\n";

  const auto [lo, hi] = std::minmax_element(image.voxels.begin(), image.voxels.end());
  double sum = 0;
  bool integral = true;
  for (const float v : image.voxels) {
    sum += v;
    integral = integral && v == std::floor(v);
  }
  s << "  range        " << num(*lo) << " .. " << num(*hi) << " (mean " << num(sum / image.voxels.size(), "%.4g")
    << ")\n";
  s << "  extent       " << num(g.dims[0] * g.spacing[0], "%.1f") << " x " << num(g.dims[1] * g.spacing[1], "%.1f")
    << " x " << num(g.dims[2] * g.spacing[2], "%.1f") << " mm, " << num(g.voxel_count() * g.voxel_ml(), "%.1f")
    << " ml\n";
  if (!integral) return s.str();

  std::vector<int32_t> values(image.voxels.begin(), image.voxels.end());
  const auto counts = count_values(values);
  if (counts.size() > kMaxLabelValues) return s.str();  // an image, not a label map
  s << "  labels       " << counts.size() << " values\n";
  s << "      value  class  name              voxels          ml\n";
  for (const auto& [value, count] : counts) {
    const int c = map.class_of(value);
    char line[160];
    std::snprintf(line, sizeof line, "    %7d  %5s  %-12s %12lld %11.2f\n", value,
                  c >= 0 ? std::to_string(c).c_str() : "-", c >= 0 ? map.names[static_cast<size_t>(c)].c_str() : "-",
                  static_cast<long long>(count), static_cast<double>(count) * g.voxel_ml());
    s << line;
  }
  return s.str();
}

}  // namespace coordseg
