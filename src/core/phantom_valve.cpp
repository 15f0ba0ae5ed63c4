// Generation 2's semilunar valves. In a contrast CT of the heart in diastole the closed
// aortic and pulmonary valves show as thin dark lines across the bright roots, where the
// ventricles' blood ends and the arteries' begins; in systole they lie open against the
// sinus walls and show little. The phantom's LV cavity ends at the valve plane w = 0 and the
// aortic root's lumen begins there; the RV's outflow tract ends at the pulmonary valve's
// plane and the trunk begins there; neither has a wall between (there is none in a heart),
// so until the valves were drawn nothing in the image marked the LVBC/ASA and RVBC/PUA
// boundaries. Cusps are about 1 mm thick; closed, they sag a little toward the ventricle, and
// the three lines where they meet (the coaptation) stand a few mm up into the artery, seen
// from above as a three-pointed star. Both open and close together.
#include <algorithm>
#include <cmath>

#include "phantom_model.h"

namespace coordseg::phantom_model {

double Heart::Valve::fraction(const Vec3& q) const {
  if (!closed) return 0;
  const Vec3 l = q - centre;
  const double x = l.dot(e1), y = l.dot(e2), z = l.dot(normal), rho = std::hypot(x, y);
  if (rho > radius) return 0;
  const double s = rho / radius;
  const double sheet = -sag * (1 - s * s);  // the cusps' bellies, toward the ventricle
  double d = std::fabs(z - sheet);
  // The coaptation lines: three half-planes from the centre to the wall, standing up to
  // `coaptation` mm into the artery at the centre and falling to the sheet at the wall.
  if (z > sheet && z < sheet + coaptation * (1 - s)) {
    const double theta = std::atan2(y, x);
    for (int k = 0; k < 3; ++k) {
      const double a = std::remainder(theta - angle - k * 2 * M_PI / 3, 2 * M_PI);
      if (std::cos(a) > 0) d = std::min(d, rho * std::fabs(std::sin(a)));
    }
  }
  const double ramp = std::clamp(0.5 + (0.5 * thickness - d) / voxel_mm, 0.0, 1.0);
  return ramp * std::min(1.0, thickness / voxel_mm);
}

void place_valves(CaseSpec& c) {
  Heart& h = c.heart;
  Random rng(c.noise_key ^ 0xa0a1eull);
  const double voxel_mm = c.grid.voxel_mm();
  const bool closed = rng.chance(0.7);  // diastole: most of the cardiac cycle, and where most scans are timed
  auto draw = [&](Heart::Valve& v) {
    v.closed = closed;
    v.voxel_mm = voxel_mm;
    v.sag = rng.uniform(0.5, 2.5);
    v.coaptation = rng.uniform(3, 6);
    v.angle = rng.uniform(0, 2 * M_PI);
    v.thickness = rng.uniform(0.8, 1.2);
  };
  // Each valve straddles the plane where the labels meet: its hinges lie half its sag above
  // the plane, the middle of its cusps half its sag below, as where a reader would draw the
  // boundary along the dark line of the cusps.
  // The aortic valve: where the aorta's axis crosses the plane w = 0, on its first segment
  // (the root starts in the LV's outflow, below the plane); the aorta lies toward -w.
  Heart::Valve& ao = h.aortic_valve;
  draw(ao);
  const Vec3 p0 = h.aorta.points[0], p1 = h.aorta.points[1];
  const double t = h.root_param(0);
  ao.centre = p0 + (p1 - p0) * t;
  ao.centre.z = -0.5 * ao.sag;
  ao.normal = {0, 0, -1};
  ao.e1 = {1, 0, 0};
  ao.e2 = {0, 1, 0};
  ao.radius = h.aorta.radius_at(0, t) - h.wall;
  ao.centre_world = h.drawn_world_point(ao.centre);
  // The pulmonary valve: about the plane where the trunk's label begins.
  Heart::Valve& pv = h.pulmonary_valve;
  draw(pv);
  pv.centre = h.pa_valve + h.pa_axis * (0.5 * pv.sag);
  pv.normal = h.pa_axis;
  const Vec3 side = std::fabs(pv.normal.x) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  pv.e1 = pv.normal.cross(side).unit();
  pv.e2 = pv.normal.cross(pv.e1);
  pv.radius = h.pa.radii[0] - h.wall;
  pv.centre_world = h.drawn_world_point(pv.centre);
}

}  // namespace coordseg::phantom_model
