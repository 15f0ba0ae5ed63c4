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

Vec3 centroid_of(const Vec3* first, const Vec3* last) {
  Vec3 sum;
  for (const Vec3* p = first; p != last; ++p) sum = sum + *p;
  return sum * (1.0 / static_cast<double>(last - first));
}

struct TreeGrower {
  VesselOverlay& out;
  Random& rng;
  Pool pool;
  double root_radius = 5;  // lumen of the vessel the tree continues
  double root_points = 1;  // the territory the root serves

  // Grows the children of a branch ending at `from` in direction `dir` that serves the
  // points [first, last) (reordered), whose centroid is `centre`.
  void children(const Vec3& from, const Vec3& dir, Vec3* first, Vec3* last, const Vec3& centre) {
    const std::ptrdiff_t n = last - first;
    if (n < 1) return;
    Vec3* mid = first;
    if (n > 1) {
      Vec3 normal = dir.cross(centre - from);
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
    const Vec3 centre = centroid_of(first, last);
    const Vec3 to = centre - from;
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
    if (r >= kMinLumen && m >= 2 && length >= kShortest) children(end, d, first, last, centre);
  }

  // A tree continuing the vessel that ends at `at` in direction `dir` (lumen `radius`),
  // through the points [first, last) (reordered).
  static void grow_from(VesselOverlay& out, Random& rng, const Vec3& at, const Vec3& dir, double radius, Pool pool,
                        Vec3* first, Vec3* last) {
    if (first == last) return;
    TreeGrower t{out, rng, pool, radius, static_cast<double>(last - first)};
    t.children(at, dir, first, last, centroid_of(first, last));
  }
};

}  // namespace

void grow_lung_vessels(CaseSpec& c, const std::function<bool(const Vec3&)>& in_lung) {
  const Heart& h = c.heart;
  Body& b = c.body;
  VesselOverlay& lv = b.lung_vessels;
  Random rng(c.noise_key ^ 0x1a9e5ull);
  lv.voxel_mm = c.grid.voxel_mm();

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
    const Vec3 at = h.drawn_world_point(end);
    roots.push_back({at, (at - h.drawn_world_point(back)).unit(), v.tube.radii.back() - v.wall, v.pool});
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
    b.lung_ml += (hi.x - lo.x) * (hi.y - lo.y) * (hi.z - lo.z) * static_cast<double>(points.size()) /
                 static_cast<double>(tries) / 1000.0;

    std::vector<const Root*> arteries, veins;
    for (const Root& r : roots)
      if ((r.at.x > 0 ? 1 : -1) == side) (r.pool == kPA ? arteries : veins).push_back(&r);
    // Arteries serve the whole lung; the upper vein drains the part in front of and above an
    // oblique plane between the two veins (as the oblique fissure divides the lobes), the
    // lower vein the rest.
    std::sort(veins.begin(), veins.end(), [](const Root* u, const Root* l) { return u->at.z > l->at.z; });
    auto tree = [&](const Root* r, Vec3* from, Vec3* to) {
      TreeGrower::grow_from(lv, rng, r->at, r->dir, r->radius, r->pool, from, to);
    };
    for (const Root* r : arteries) {
      std::vector<Vec3> own = points;
      tree(r, own.data(), own.data() + own.size());
    }
    if (veins.empty()) continue;
    std::vector<Vec3> own = points;
    Vec3* const first = own.data();
    Vec3* const last = first + own.size();
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

}  // namespace coordseg::phantom_model
