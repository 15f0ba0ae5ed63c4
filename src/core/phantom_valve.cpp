// Generation 2's aortic valve. In a contrast CT of the heart in diastole the closed valve's
// three cusps show as thin dark lines across the bright root, where the LV's blood ends and
// the aorta's begins; in systole they lie open against the sinus walls and show little. The
// phantom's LV cavity ends at the valve plane w = 0 and the root's lumen begins there, with no
// wall between (there is none in a heart), so until the valve was drawn nothing in the image
// marked the LVBC/ASA boundary. Cusps are about 1 mm thick; closed, they sag a little toward
// the LV, and the three lines where they meet (the coaptation) stand a few mm up into the
// root, seen from above as a three-pointed star.
#include <algorithm>
#include <cmath>

#include "phantom_model.h"

namespace coordseg::phantom_model {

double Heart::AorticValve::fraction(const Vec3& q) const {
  if (!closed) return 0;
  const double dx = q.x - centre.x, dy = q.y - centre.y, rho = std::hypot(dx, dy);
  if (rho > radius) return 0;
  const double s = rho / radius;
  const double sheet = sag * (1 - s * s);  // the cusps' bellies, toward the LV (+w)
  double d = std::fabs(q.z - sheet);
  // The coaptation lines: three half-planes from the centre to the wall, standing up to
  // `coaptation` mm into the root at the centre and falling to the sheet at the wall.
  if (q.z < sheet && q.z > sheet - coaptation * (1 - s)) {
    const double theta = std::atan2(dy, dx);
    for (int k = 0; k < 3; ++k) {
      const double a = std::remainder(theta - angle - k * 2 * M_PI / 3, 2 * M_PI);
      if (std::cos(a) > 0) d = std::min(d, rho * std::fabs(std::sin(a)));
    }
  }
  const double ramp = std::clamp(0.5 + (0.5 * thickness - d) / voxel_mm, 0.0, 1.0);
  return ramp * std::min(1.0, thickness / voxel_mm);
}

void place_aortic_valve(CaseSpec& c) {
  Heart& h = c.heart;
  Heart::AorticValve& v = h.valve;
  Random rng(c.noise_key ^ 0xa0a1eull);
  const Grid& g = c.grid;
  v.voxel_mm = std::cbrt(g.spacing[0] * g.spacing[1] * g.spacing[2]);
  v.closed = rng.chance(0.7);  // diastole: most of the cardiac cycle, and where most scans are timed
  v.sag = rng.uniform(0.5, 2.5);
  v.coaptation = rng.uniform(3, 6);
  v.angle = rng.uniform(0, 2 * M_PI);
  v.thickness = rng.uniform(0.8, 1.2);
  // Where the aorta's axis crosses the valve plane, on its first segment (the root starts in
  // the LV's outflow, below the plane).
  const Vec3 p0 = h.aorta.points[0], p1 = h.aorta.points[1];
  const double t = p0.z == p1.z ? 0.0 : std::clamp(p0.z / (p0.z - p1.z), 0.0, 1.0);
  v.centre = p0 + (p1 - p0) * t;
  v.centre.z = 0;
  v.radius = h.aorta.radii[0] + (h.aorta.radii[1] - h.aorta.radii[0]) * t - h.wall;
  v.centre_world = h.drawn_world_point(v.centre);
}

}  // namespace coordseg::phantom_model
