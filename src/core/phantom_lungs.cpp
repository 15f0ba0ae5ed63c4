// Generation 2's lung vessels: the pulmonary arteries and veins past the hila, which every
// chest CT shows as bright branching lines and dots in the dark lungs. Each tree starts at the
// drawn end of a pulmonary artery or vein and fills its lung by splitting a cloud of points
// spread through the lung, as Tawhai, Pullan and Hunter grew the airway tree (Ann Biomed Eng
// 2000;28:793): a branch's points are split in two by the plane through the branch and the
// points' centroid; each half gets a child that grows 40 % of the way to its half's centroid,
// turned at most 60 degrees from its parent; a child's radius follows Murray's law, its cube
// proportional to the points it serves, down to a 0.6 mm lumen, the smallest vessel counted
// in CT's pulmonary blood volume (Sun et al., Chin J Appl Physiol 2015;31:326).
#include <algorithm>
#include <cmath>

#include "phantom_model.h"

namespace coordseg::phantom_model {

namespace {

constexpr int kTerritoryPoints = 3000;  // per lung
constexpr double kMinLumen = 0.6;       // mm, radius
constexpr double kGrowth = 0.4;         // of the way to the territory's centroid
constexpr double kShortest = 2.0;       // mm: a shorter branch ends its line
const double kMaxTurnCos = std::cos(60.0 * M_PI / 180.0);

// The world point that the case's deformation carries onto heart-frame point q, that is
// to_heart(p) == q: the vessels' tubes live in the deformed frame, the lungs in the world.
Vec3 drawn_world_point(const Heart& h, const Vec3& q) {
  Vec3 x = q;
  for (int i = 0; i < 12; ++i) x = x + (q - h.to_heart(h.world_point(x)));
  return h.world_point(x);
}

Vec3 centroid_of(const Vec3* first, const Vec3* last) {
  Vec3 sum;
  for (const Vec3* p = first; p != last; ++p) sum = sum + *p;
  return sum * (1.0 / static_cast<double>(last - first));
}

struct TreeGrower {
  LungVessels& out;
  Random& rng;
  Pool pool;
  double root_radius = 5;  // lumen of the vessel the tree continues
  double root_points = 1;  // the territory the root serves

  // Grows the children of a branch ending at `from` in direction `dir` that serves the
  // points [first, last) (reordered).
  void children(const Vec3& from, const Vec3& dir, Vec3* first, Vec3* last) {
    const std::ptrdiff_t n = last - first;
    if (n < 1) return;
    Vec3* mid = first;
    if (n > 1) {
      Vec3 normal = dir.cross(centroid_of(first, last) - from);
      if (normal.norm() < 1e-9) normal = dir.cross(unit_vector(rng));
      mid = std::partition(first, last, [&](const Vec3& p) { return (p - from).dot(normal) < 0; });
      if (mid == first || mid == last) {  // all on one side of the plane: halve them across it
        mid = first + n / 2;
        std::nth_element(first, mid, last,
                         [&](const Vec3& a, const Vec3& b) { return (a - from).dot(normal) < (b - from).dot(normal); });
      }
    }
    grow(from, dir, first, mid);
    grow(from, dir, mid, last);
  }

  void grow(const Vec3& from, const Vec3& parent, Vec3* first, Vec3* last) {
    const std::ptrdiff_t m = last - first;
    if (m < 1) return;
    const Vec3 to = centroid_of(first, last) - from;
    const double dist = to.norm();
    if (dist < 1e-6) return;
    Vec3 d = to * (1.0 / dist);
    const double turn = d.dot(parent);
    if (turn < kMaxTurnCos) {
      Vec3 side = d - parent * turn;
      side = side.norm() > 1e-9 ? side.unit() : parent.cross(unit_vector(rng)).unit();
      d = parent * kMaxTurnCos + side * std::sqrt(1 - kMaxTurnCos * kMaxTurnCos);
    }
    const double r = root_radius * std::cbrt(static_cast<double>(m) / root_points);
    const double length = kGrowth * dist;
    const Vec3 end = from + d * length;
    out.segments.push_back({from, end, std::max(r, kMinLumen), pool});
    if (r >= kMinLumen && m >= 2 && length >= kShortest) children(end, d, first, last);
  }
};

}  // namespace

void grow_lung_vessels(CaseSpec& c, const std::function<bool(const Vec3&)>& in_lung) {
  const Heart& h = c.heart;
  Body& b = c.body;
  LungVessels& lv = b.lung_vessels;
  Random rng(c.noise_key ^ 0x1a9e5ull);
  const Grid& g = c.grid;
  lv.voxel_mm = std::cbrt(g.spacing[0] * g.spacing[1] * g.spacing[2]);

  // The roots: the drawn ends of the pulmonary arteries' branches and of the four veins.
  struct Root {
    Vec3 at, dir;
    double radius;
    Pool pool;
  };
  std::vector<Root> roots;
  double top = -1e30;
  for (const Vessel& v : h.vessels) {
    if (v.lumen != kBlood || !((v.pool == kPA && v.label == 850) || v.pool == kPV)) continue;
    const std::vector<Vec3>& q = v.tube.points;
    const Vec3 end = q.back(), back = end - (end - q[q.size() - 2]).unit() * 2.0;
    const Vec3 at = drawn_world_point(h, end);
    roots.push_back({at, (at - drawn_world_point(h, back)).unit(), v.tube.radii.back() - v.wall, v.pool});
    top = std::max(top, at.z);
  }

  for (int side = -1; side <= 1; side += 2) {
    // The lung's territory: points spread evenly through it, from the diaphragm's lowest
    // point to 15 cm above the hila (about where the apex lies).
    const Vec3 lo{side * b.lung_cx - b.lung_semi_x, b.lung_y - b.lung_semi_y, b.dome_z};
    const Vec3 hi{side * b.lung_cx + b.lung_semi_x, b.lung_y + b.lung_semi_y, top + 150};
    std::vector<Vec3> points;
    int64_t tries = 0;
    while (static_cast<int>(points.size()) < kTerritoryPoints && tries < 40 * kTerritoryPoints) {
      const double x = rng.uniform(lo.x, hi.x), y = rng.uniform(lo.y, hi.y), z = rng.uniform(lo.z, hi.z);
      ++tries;
      if (in_lung({x, y, z})) points.push_back({x, y, z});
    }
    if (points.empty()) continue;
    lv.lung_ml += (hi.x - lo.x) * (hi.y - lo.y) * (hi.z - lo.z) * static_cast<double>(points.size()) /
                  static_cast<double>(tries) / 1000.0;

    std::vector<const Root*> arteries, veins;
    for (const Root& r : roots)
      if ((r.at.x > 0 ? 1 : -1) == side) (r.pool == kPA ? arteries : veins).push_back(&r);
    // Arteries serve the whole lung; the upper vein drains the part in front of and above an
    // oblique plane between the two veins (as the oblique fissure divides the lobes), the
    // lower vein the rest.
    std::sort(veins.begin(), veins.end(), [](const Root* u, const Root* l) { return u->at.z > l->at.z; });
    for (const Root* r : arteries) {
      std::vector<Vec3> own = points;
      TreeGrower t{lv, rng, kPA, r->radius, static_cast<double>(own.size())};
      t.children(r->at, r->dir, own.data(), own.data() + own.size());
    }
    if (veins.empty()) continue;
    std::vector<Vec3> own = points;
    Vec3* const first = own.data();
    Vec3* const last = first + own.size();
    auto tree = [&](const Root* r, Vec3* from, Vec3* to) {
      TreeGrower t{lv, rng, kPV, r->radius, static_cast<double>(to - from)};
      t.children(r->at, r->dir, from, to);
    };
    if (veins.size() == 1) {
      tree(veins[0], first, last);
      continue;
    }
    const Vec3 mid = (veins[0]->at + veins[1]->at) * 0.5;
    Vec3* const split = std::partition(first, last, [&](const Vec3& p) { return (p.z - mid.z) + 0.8 * (p.y - mid.y) > 0; });
    tree(veins[0], first, split);
    tree(veins[1], split, last);
  }
  lv.index();
}

void LungVessels::index() {
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

double LungVessels::fraction(const Vec3& p, Pool& pool) const {
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

double LungVessels::volume_ml() const {
  double mm3 = 0;
  for (const Segment& s : segments) mm3 += M_PI * s.radius * s.radius * (s.b - s.a).norm();
  return mm3 / 1000.0;
}

}  // namespace coordseg::phantom_model
