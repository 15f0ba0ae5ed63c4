// VesselOverlay: small vessels drawn into generation 2's intensity only (the lungs' vessels,
// the coronary arteries), found near a voxel through a uniform grid of cells.
#include <algorithm>
#include <cmath>

#include "phantom_model.h"

namespace coordseg::phantom_model {

void VesselOverlay::index() {
  first_.clear();
  items_.clear();
  if (segments.empty()) return;
  Box box;
  for (const Segment& s : segments) {
    box.add(s.a, s.radius + voxel_mm);
    box.add(s.b, s.radius + voxel_mm);
  }
  origin_ = box.lo;
  const Vec3 size = box.hi - box.lo;
  cells_ = {static_cast<int64_t>(size.x / cell_) + 1, static_cast<int64_t>(size.y / cell_) + 1,
            static_cast<int64_t>(size.z / cell_) + 1};
  // The cells a segment's box (grown by its radius and a voxel) covers, visited per segment.
  auto for_cells = [&](const Segment& s, auto&& fn) {
    Box sb;
    sb.add(s.a, s.radius + voxel_mm);
    sb.add(s.b, s.radius + voxel_mm);
    const auto cell = [&](double v, double o) { return static_cast<int64_t>((v - o) / cell_); };
    for (int64_t k = cell(sb.lo.z, origin_.z); k <= std::min(cells_[2] - 1, cell(sb.hi.z, origin_.z)); ++k)
      for (int64_t j = cell(sb.lo.y, origin_.y); j <= std::min(cells_[1] - 1, cell(sb.hi.y, origin_.y)); ++j)
        for (int64_t i = cell(sb.lo.x, origin_.x); i <= std::min(cells_[0] - 1, cell(sb.hi.x, origin_.x)); ++i)
          fn(static_cast<size_t>(i + cells_[0] * (j + cells_[1] * k)));
  };
  first_.assign(static_cast<size_t>(cells_[0] * cells_[1] * cells_[2]) + 1, 0);
  for (const Segment& s : segments) for_cells(s, [&](size_t at) { ++first_[at + 1]; });
  for (size_t i = 1; i < first_.size(); ++i) first_[i] += first_[i - 1];
  items_.resize(first_.back());
  std::vector<uint32_t> fill(first_.begin(), first_.end() - 1);
  for (size_t s = 0; s < segments.size(); ++s)
    for_cells(segments[s], [&](size_t at) { items_[fill[at]++] = static_cast<uint32_t>(s); });
}

double VesselOverlay::fraction(const Vec3& p, Pool& pool) const {
  if (first_.empty()) return 0;
  const double fx = (p.x - origin_.x) / cell_, fy = (p.y - origin_.y) / cell_, fz = (p.z - origin_.z) / cell_;
  if (fx < 0 || fy < 0 || fz < 0) return 0;
  const auto i = static_cast<int64_t>(fx), j = static_cast<int64_t>(fy), k = static_cast<int64_t>(fz);
  if (i >= cells_[0] || j >= cells_[1] || k >= cells_[2]) return 0;
  const size_t at = static_cast<size_t>(i + cells_[0] * (j + cells_[1] * k));
  double best = 0;
  for (uint32_t n = first_[at]; n < first_[at + 1]; ++n) {
    const Segment& s = segments[items_[n]];
    double t = 0;
    const double d = segment_distance(p, s.a, s.b, t) - s.radius;
    if (d >= 0.5 * voxel_mm) continue;
    // Across one voxel at the edge; a vessel thinner than a voxel fills at most its share of it.
    const double f = std::clamp(0.5 - d / voxel_mm, 0.0, 1.0) *
                     std::min(1.0, M_PI * s.radius * s.radius / (voxel_mm * voxel_mm));
    if (f > best) best = f, pool = s.pool;
  }
  return best;
}

double VesselOverlay::volume_ml() const {
  double mm3 = 0;
  for (const Segment& s : segments) mm3 += M_PI * s.radius * s.radius * (s.b - s.a).norm();
  return mm3 / 1000.0;
}

}  // namespace coordseg::phantom_model
