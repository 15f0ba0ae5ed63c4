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
//
// The mitral and tricuspid valves, and the orifices they sit in. Until 2026-12-06 the LV's
// cavity was capped by a 5 mm fibrous ring and the RA walled off from the RV, so that no
// label map of the phantom had LABC beside LVBC or RABC beside RVBC (a real one has them
// meet across each orifice, 4-8 cm2) and the network learnt that a wall parts each atrium
// from its ventricle. Now the LA reaches down through its vestibule to an opening in the
// ring, and the RA through its own to the tricuspid orifice, a little apical of the mitral
// one (until 2026-12-07 the RA opened into the RV sideways, 15-20 mm baseward of the mitral
// orifice, through a channel in both walls). The leaflets, drawn into the intensity only,
// hang open into the ventricles in diastole (when the semilunar valves are closed) and close
// across the orifices in systole.
#include <algorithm>
#include <cmath>
#include <vector>

#include "phantom_model.h"

namespace coordseg::phantom_model {

double Heart::Valve::fraction(const Vec3& q) const {
  if (!closed && !hanging) return 0;
  const Vec3 l = q - centre;
  const double x = l.dot(e1), y = l.dot(e2), z = l.dot(normal), rho = std::hypot(x, y);
  double d = 1e9;
  if (closed) {
    if (rho > radius) return 0;
    const double s = rho / radius;
    const double sheet = -sag * (1 - s * s);  // the cusps' bellies, away from `normal`
    d = std::fabs(z - sheet);
    // The coaptation lines: half-planes from the centre to the wall between the cusps,
    // standing up to `coaptation` mm along `normal` at the centre and falling to the sheet
    // at the wall (three: a star; two: a line across).
    if (z > sheet && z < sheet + coaptation * (1 - s)) {
      const double theta = std::atan2(y, x);
      for (int k = 0; k < cusps; ++k) {
        const double a = std::remainder(theta - angle - k * 2 * M_PI / cusps, 2 * M_PI);
        if (std::cos(a) > 0) d = std::min(d, rho * std::fabs(std::sin(a)));
      }
    }
  } else {
    // Open atrioventricular leaflets: sheets hanging from the ring along `normal` into the
    // ventricle, drawing in a little toward their free edges, with a gap at each commissure
    // (midway between two leaflets' middles). The first leaflet (the mitral's anterior one)
    // is `length` long, the others 0.6 of it (the tricuspid's all `length`).
    if (z < -thickness || rho > radius + thickness) return 0;
    const double sector = 2 * M_PI / cusps;
    const double from = std::remainder(std::atan2(y, x) - angle, 2 * M_PI);  // 0: the first leaflet's middle
    const double k = std::round(from / sector);
    const double off = from - k * sector;  // from the nearest leaflet's middle
    if (std::fabs(off) > 0.5 * sector - 0.15) return 0;  // the commissure's gap
    const double leaflet = (cusps == 2 && std::fabs(k) > 0.5) ? 0.6 * length : length;
    if (z > leaflet) return 0;
    const double sheet = radius * (1 - 0.25 * std::max(z, 0.0) / leaflet);
    d = std::fabs(rho - sheet);
  }
  const double ramp = std::clamp(0.5 + (0.5 * thickness - d) / voxel_mm, 0.0, 1.0);
  return ramp * std::min(1.0, thickness / voxel_mm);
}

namespace {

// A unit vector perpendicular to unit vector n.
Vec3 perpendicular(const Vec3& n) {
  const Vec3 side = std::fabs(n.x) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  return n.cross(side).unit();
}

// Where a mitral orifice of `radius` opens most in the LV's base plane: inside the cavity's
// outline less the ring's rim and clear of the aortic root (which takes precedence over it),
// its vestibule's wall over the LV's base, and among places nearly as open, nearest below
// the RA's centre, toward the tricuspid orifice. False where none fits.
//
// In hearts the mitral and tricuspid annuli meet at the central fibrous body, their centres
// about 40 mm apart. Until 2026-12-07 (sixteenth session) the orifice was placed nearest
// below the LA's centre, at the posterior-lateral side of the LV's base: on seed 7's 40
// quick CT cases the LA/LV and RA/RV interfaces' centres then lay 48.9-58.7 mm apart
// (median 54.6; label maps, scripts/label-anatomy.py), with 20.6-31.2 mm of LVBC (26.6)
// from the mitral centre toward the tricuspid one, about 11 mm of it LV cavity beyond the
// orifice's edge. Nearest below the RA's centre: 41.7-57.3 (48.4), LVBC 16.5-27.3 (20.5).
// The rest is the septum (11.9 mm along that line) and the orifices' radii. The ring's rim
// stops it there; nearer still, the rim clips the orifice (among places 0.8 as open: 45.8
// mm apart, but 6.0 cm2 open instead of 6.8). The fourteenth session's try, halfway from
// the LA's centre toward the RV's (49.1), moved it forward as well, toward the aortic root.
bool find_mitral_place(const Heart& h, double radius, Vec3& centre, int& area_mm2) {
  const double a = h.lv_cavity.semi.x, b = h.lv_cavity.semi.y;
  const int nx = static_cast<int>(std::ceil(a)), ny = static_cast<int>(std::ceil(b));
  // Which 1 mm cells of the base plane an orifice may open.
  std::vector<char> open(static_cast<size_t>((2 * nx + 1) * (2 * ny + 1)), 0);
  auto cell = [&](int x, int y) -> char& { return open[static_cast<size_t>((y + ny) * (2 * nx + 1) + (x + nx))]; };
  for (int y = -ny; y <= ny; ++y)
    for (int x = -nx; x <= nx; ++x) {
      const Vec3 q{static_cast<double>(x), static_cast<double>(y), -1.0};
      cell(x, y) = h.in_mitral_ring(q) && h.aorta.sd(q) > 0.5 && h.pa.sd(q) > 0.5;
    }
  const Vec3 below_ra{h.ra.center.x, h.ra.center.y, 0};
  const int r = static_cast<int>(std::floor(radius));
  struct Place {
    Vec3 centre;
    int area;
  };
  std::vector<Place> places;
  int best = 0;
  for (int cy = -ny; cy <= ny; ++cy)
    for (int cx = -nx; cx <= nx; ++cx) {
      if (!cell(cx, cy)) continue;
      // The vestibule's wall must stay over the LV's base.
      bool over = true;
      for (int k = 0; k < 16 && over; ++k) {
        const double t = k * M_PI / 8, rr = radius + h.wall;
        over = h.lv_outer.sd({cx + rr * std::cos(t), cy + rr * std::sin(t), 0.0}) < 0;
      }
      if (!over) continue;
      int area = 0;
      for (int y = std::max(cy - r, -ny); y <= std::min(cy + r, ny); ++y)
        for (int x = std::max(cx - r, -nx); x <= std::min(cx + r, nx); ++x)
          if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius && cell(x, y)) ++area;
      places.push_back({{static_cast<double>(cx), static_cast<double>(cy), 0}, area});
      best = std::max(best, area);
    }
  if (best == 0) return false;
  const Place* chosen = nullptr;
  for (const Place& p : places)
    if (p.area >= 0.9 * best &&
        (!chosen || (p.centre - below_ra).norm() < (chosen->centre - below_ra).norm()))
      chosen = &p;
  centre = chosen->centre;
  area_mm2 = chosen->area;
  return true;
}

// The mitral orifice: a disc in the LV's base plane (w = 0) the size of the annulus, where a
// label map's LABC meets its LVBC (the leaflets hang inside the LV's blood): drawn for 6.5-9.5
// cm2 (the annulus in late diastole: 3.8 +/- 0.7 cm2 per m2 of body surface by echocardiography,
// [O]), 1 mm narrower at a time where that does not fit, down to 8 mm. Until 2026-12-07 it was
// drawn for 4-5 cm2, the valve's area between the open leaflets' tips, so that the fibrous
// ring round it walled more of the LA off the LV than a heart's annulus does. The LA reaches
// down to it through its vestibule, a tube from the orifice toward the LA's centre until the
// tube lies wholly inside the LA's blood.
void place_mitral(Heart& h, Random& rng) {
  double radius = std::sqrt(rng.uniform(6.5, 9.5) * 100 / M_PI);
  Vec3 centre;
  int area = 0;
  // Where the drawn annulus does not fit over the LV's base, a smaller one.
  while (!find_mitral_place(h, radius, centre, area))
    if ((radius -= 1) < 8) return;  // no room: the ring stays closed
  Heart::Orifice& m = h.mitral;
  m.centre = centre;
  m.axis = {0, 0, 1};
  m.radius = radius;
  m.area_cm2 = area / 100.0;
  // The vestibule, up from the orifice toward the LA's centre.
  const Vec3 toward = h.la.center - m.centre;
  const Vec3 dir = toward.unit();
  double t = 0;
  while (t < toward.norm() && h.la.sd(m.centre + dir * t) > -(radius + h.wall)) t += 1;
  h.vestibule.points = {m.centre, m.centre + dir * std::max(t, 1.0)};
  h.vestibule.radius = radius + h.wall;
}

// Whether heart-frame point q is taken by a structure that the tricuspid channel must not
// cross: the LV and its ring, the great arteries, the LA and its vestibule (walls included).
bool blocks_tricuspid(const Heart& h, const Vec3& q) {
  if (h.lv_sd(q) < 0) return true;
  if (h.in_ring(q)) return true;
  if (h.aorta.sd(q) < 0 || h.pa.sd(q) < 0 || h.la.sd(q) < 0) return true;
  return h.mitral.radius > 0 && q.z < 0 && h.vestibule.sd(q) < 0;
}

// Whether the heart as drawn so far puts the blood of `pool` at heart-frame point q.
bool blood_of(const Heart& h, Pool pool, const Vec3& q) {
  Voxel v;
  double sd;
  return h.classify(q, v, sd, /*with_vessels=*/false) && v.tissue == kBlood && v.pool == pool;
}

// The points whose lines along a channel's axis a fit is tested on: the disc's centre and 12
// points each at half its radius and on its rim (e1, e2: unit directions in its plane).
std::vector<Vec3> disc_points(const Vec3& c, const Vec3& e1, const Vec3& e2, double radius) {
  std::vector<Vec3> out;
  for (const double rho : {0.0, 0.5 * radius, radius})
    for (int k = 0; k < (rho > 0 ? 12 : 1); ++k) {
      const double t = k * M_PI / 6;
      out.push_back(c + (e1 * std::cos(t) + e2 * std::sin(t)) * rho);
    }
  return out;
}

// Whether the line from p0 along n lies in the RV's blood from `from` to `to` mm (every 0.5).
bool in_rv_blood(const Heart& h, const Vec3& p0, const Vec3& n, double from, double to) {
  for (double s = from; s <= to; s += 0.5)
    if (!blood_of(h, kRV, p0 + n * s)) return false;
  return true;
}

// The far end (mm along n from the plane through c) of a channel of `radius` from the RA's
// blood at c into the RV's: every line through its disc leaves the RA's blood and reaches
// the RV's within 14 mm of c's plane without crossing anything in the way, and stays in the
// RV's blood to the end. 0: it does not fit.
double tricuspid_reach(const Heart& h, const Vec3& c, const Vec3& n, const Vec3& e1, const Vec3& e2, double radius) {
  const std::vector<Vec3> starts = disc_points(c, e1, e2, radius);
  double reach = 0;
  std::vector<double> entry;
  for (const Vec3& p0 : starts) {
    double s = -Heart::kChannelBack;
    if (!blood_of(h, kRA, p0 + n * s)) return 0;
    while (s < 14 && blood_of(h, kRA, p0 + n * s)) s += 0.5;  // through the RA's blood
    while (s < 14 && !blood_of(h, kRV, p0 + n * s)) {
      if (blocks_tricuspid(h, p0 + n * s)) return 0;
      s += 0.5;
    }
    if (s >= 14) return 0;
    entry.push_back(s);
    reach = std::max(reach, s + 1.5);
  }
  for (size_t i = 0; i < starts.size(); ++i)
    if (!in_rv_blood(h, starts[i], n, entry[i], reach)) return 0;
  return reach;
}

// The tricuspid orifice where generation 1's shapes put it: the RA and the RV lie side by
// side with both their walls between, so the orifice is a short channel through them, its
// lumen labelled RA up to the plane where the RA's surface crosses its axis and RV beyond. A
// radius for 5-8 cm2 (smaller where none fits, down to 3 mm), facing from the RA's centre
// toward the RV's as nearly as a place allows. Until 2026-12-07 every case's; now only where
// the RA cannot reach down to the RV's inflow (place_tricuspid_below_ra).
void place_tricuspid_beside_ra(Heart& h, double radius) {
  const Vec3 toward = (h.rv.center - h.ra.center).unit();
  struct Place {
    Vec3 centre, normal;
    double facing;
  };
  std::vector<Place> places;
  const int n = 800;
  for (int i = 0; i < n; ++i) {  // a Fibonacci sphere of directions
    const double z = 1 - 2 * (i + 0.5) / n, rr = std::sqrt(1 - z * z), phi = i * M_PI * (3 - std::sqrt(5.0));
    const Vec3 d{rr * std::cos(phi), rr * std::sin(phi), z};
    if (d.dot(toward) < 0.2) continue;
    const Vec3& s = h.ra.semi;
    const Vec3 c = h.ra.center + Vec3{s.x * d.x, s.y * d.y, s.z * d.z};
    const Vec3 normal = Vec3{d.x / s.x, d.y / s.y, d.z / s.z}.unit();
    places.push_back({c, normal, d.dot(toward)});
  }
  std::sort(places.begin(), places.end(), [](const Place& a, const Place& b) { return a.facing > b.facing; });
  for (; radius >= 3; radius -= 0.5)
    for (const Place& p : places) {
      const Vec3 e1 = perpendicular(p.normal), e2 = p.normal.cross(e1);
      const double reach = tricuspid_reach(h, p.centre, p.normal, e1, e2, radius);
      if (reach <= 0) continue;
      Heart::Orifice& t = h.tricuspid;
      t.centre = p.centre;
      t.axis = p.normal;
      t.radius = radius;
      t.to = reach;
      t.back = Heart::kChannelBack;
      t.area_cm2 = M_PI * radius * radius / 100;
      return;
    }
}

// The tricuspid orifice as in hearts: in the atrioventricular groove's plane a little apical of
// the mitral one (the tricuspid's septal hinge lies 5-10 mm nearer the apex than the mitral's),
// facing the RV's apex, the RA reaching down to it through its vestibule as the LA does to
// the mitral. Generation 1's RA hangs 15-20 mm baseward of the LV's base plane, so the
// channel through the walls beside it (place_tricuspid_beside_ra) opened there, facing
// forward. Here the orifice's plane is tilted 10-25 degrees from the base plane toward the
// RV's centre, at a height drawn for the case (5-13 mm apical of the base plane, or up to 6 mm
// from it where no place fits there; 2-10 mm until the mitral orifice moved toward the RA,
// which tilts the line from the mitral centre to the apex so that the septal hinges' offset
// along it fell from a median 5.0 to 3.2 mm on seed 7's 40; now 4.9); the vestibule runs
// from it to the RA's centre, clear of the LV, the valve ring, the great arteries and the LA
// (sampled on its rim every 30 degrees and 1.5 mm, and on its axis). Beyond the plane the
// channel is the RV's inflow: its axis meets the RV's blood within 8 mm, and so do at least
// half of the lines through its disc; where the rest pass beyond the RV's crescent (which is
// narrower at its base than an annulus), the channel's lumen, walled, is the RV's. Among
// places at the best height, the one with the shortest vestibule (the one nearest the mitral
// centre instead made no difference on seed 7's 40: the same few cells beside the LV); radii
// from `drawn_radius` down to 8 mm in 1.5 mm steps, the largest that fits. false: none fits.
bool place_tricuspid_below_ra(Heart& h, double drawn_radius, double height, double tilt) {
  Vec3 side = h.rv.center - h.ra.center;
  side.z = 0;
  const Vec3 n = (Vec3{0, 0, 1} * std::cos(tilt) + side.unit() * std::sin(tilt)).unit();
  const Vec3 e1 = perpendicular(n), e2 = n.cross(e1);
  // Whether the vestibule, a tube of `outer` radius from c back to the RA's centre, keeps
  // clear of what it must not cross (behind the orifice's plane).
  auto vestibule_clear = [&](const Vec3& c, double outer) {
    const Vec3 to_ra = h.ra.center - c;
    const double len = to_ra.norm();
    const Vec3 dir = to_ra * (1.0 / len);
    const Vec3 f1 = perpendicular(dir), f2 = dir.cross(f1);
    for (double t = 0; t <= len; t += 1.5) {
      const Vec3 a = c + dir * t;
      if (h.ra.sd(a) < -outer) break;  // wholly inside the RA from here on
      for (int k = 0; k < 13; ++k) {
        const double ang = k * M_PI / 6;
        const Vec3 q = k == 12 ? a : a + (f1 * std::cos(ang) + f2 * std::sin(ang)) * outer;
        if ((q - c).dot(n) < 0 && blocks_tricuspid(h, q)) return false;
      }
    }
    return true;
  };
  // Where the line from p0 along n first meets the RV's blood (mm), crossing nothing on the
  // way: -1 where something is in the way within `far` mm, `far` where it meets none.
  auto entry = [&](const Vec3& p0, double far) {
    for (double s = 0; s < far; s += 0.5) {
      if (blood_of(h, kRV, p0 + n * s)) return s;
      if (blocks_tricuspid(h, p0 + n * s)) return -1.0;
    }
    return far;
  };
  constexpr double kMeet = 8;  // the axis meets the RV's blood within this, mm
  // The channel's far end (mm along n) for the disc of `radius` through c; 0: it does not fit.
  auto reach_of = [&](const Vec3& c, double radius) {
    const std::vector<Vec3> starts = disc_points(c, e1, e2, radius);
    std::vector<double> entries;
    int met = 0;
    double reach = 0;
    for (const Vec3& p0 : starts) {
      const double s = entry(p0, kMeet + h.wall);
      if (s < 0) return 0.0;
      entries.push_back(s);
      if (s < kMeet) ++met, reach = std::max(reach, s + 1.5);
    }
    if (entries[0] >= kMeet || 2 * met < static_cast<int>(starts.size())) return 0.0;
    // Those that met it stay in it to the end.
    for (size_t i = 0; i < starts.size(); ++i)
      if (entries[i] < kMeet && !in_rv_blood(h, starts[i], n, entries[i], reach)) return 0.0;
    return reach;
  };
  // The places do not depend on the radius: found and ordered once.
  struct Place {
    Vec3 centre;
    double off, length;
  };
  std::vector<Place> places;
  const Vec3& s = h.ra.semi;
  for (double w = height - 6; w <= height + 6; w += 2)
    for (double y = h.ra.center.y - s.y; y <= h.ra.center.y + s.y; y += 3)
      for (double x = h.ra.center.x - s.x; x <= h.ra.center.x + s.x; x += 3) {
        const Vec3 c{x, y, w};
        const double e = entry(c, kMeet);
        if (e <= 0 || e >= kMeet) continue;  // 0: c lies in the RV's blood
        places.push_back({c, std::fabs(w - height), (h.ra.center - c).norm()});
      }
  std::sort(places.begin(), places.end(), [](const Place& a, const Place& b) {
    return a.off != b.off ? a.off < b.off : a.length < b.length;
  });
  for (double radius = drawn_radius; radius >= 8; radius -= 1.5) {
    const double outer = radius + h.wall;
    for (const Place& p : places) {
      if (!vestibule_clear(p.centre, outer)) continue;
      const double reach = reach_of(p.centre, radius);
      if (reach <= 0) continue;
      Heart::Orifice& o = h.tricuspid;
      o.centre = p.centre;
      o.axis = n;
      o.radius = radius;
      o.to = reach;
      o.area_cm2 = M_PI * radius * radius / 100;
      h.ra_vestibule.points = {p.centre, h.ra.center};
      h.ra_vestibule.radius = outer;
      return true;
    }
  }
  return false;
}

// The tricuspid orifice: below the RA with a radius drawn for 5-8 cm2, or smaller where none
// fits, down to 8 mm (2 cm2); failing that, beside the RA.
void place_tricuspid(Heart& h, Random& rng) {
  const double radius = std::sqrt(rng.uniform(5.0, 8.0) * 100 / M_PI);
  const double height = rng.uniform(5, 13), tilt = rng.uniform(10, 25) * M_PI / 180;
  if (!place_tricuspid_below_ra(h, radius, height, tilt)) place_tricuspid_beside_ra(h, radius);
}

}  // namespace

void open_atrioventricular_orifices(CaseSpec& c) {
  Random rng(c.noise_key ^ 0x317a1ull);
  place_mitral(c.heart, rng);
  place_tricuspid(c.heart, rng);
  c.facts.mitral_area = c.heart.mitral.area_cm2;
  c.facts.tricuspid_area = c.heart.tricuspid.area_cm2;
  c.facts.tricuspid_apical = c.heart.tricuspid.centre.z;  // the mitral orifice lies in the plane w = 0
}

void measure_ventricles(CaseSpec& c) {
  const Heart& h = c.heart;
  const Vec3& t = h.tricuspid.centre;
  const double toward = std::atan2(t.y, t.x);
  // Whether heart-frame point q carries `label` (the chambers, as the label map draws them).
  auto labelled = [&](const Vec3& q, int32_t label) {
    Voxel vox;
    double sd = 0;
    return h.classify(q, vox, sd, /*with_vessels=*/false) && vox.label == label;
  };
  // The longest chord of RV blood (or the bundles inside it) along a line from the LV's axis
  // at levels lo..hi (mm along it, every 2 mm), within 15 degrees of the orifice's direction.
  auto longest_chord = [&](double lo, double hi) {
    constexpr double kStep = 0.5;
    double best = 0;
    for (double w = lo; w <= hi; w += 2)
      for (int k = -6; k <= 6; ++k) {
        const double a = toward + k * 2.5 * M_PI / 180;
        const Vec3 dir{std::cos(a), std::sin(a), 0};
        double first = -1, last = -1;
        for (double r = 0; r < 120; r += kStep)
          if (labelled(dir * r + Vec3{0, 0, w}, 600)) {
            if (first < 0) first = r;
            last = r;
          }
        if (first >= 0) best = std::max(best, last - first + kStep);
      }
    return best;
  };
  // The RV's apex: its ellipsoid's tip, which lies outside the LV (RV blood) in every case.
  const double apex = h.rv.center.z + h.rv.semi.z;
  c.facts.rv_basal = longest_chord(t.z, t.z + 20);
  const double mid = 0.5 * (t.z + apex);
  c.facts.rv_mid = longest_chord(mid - 3, mid + 3);

  // The LV: its cavity's length from the mitral orifice's centre to the apex (the last LVBC
  // along the axis), and its internal diameter a third of the way down (about where
  // echocardiography's LVIDd is taken, below the mitral leaflets' tips), from the septum
  // toward the RV's orifice to the opposite wall, through the axis.
  auto lvbc = [&](const Vec3& q) { return labelled(q, 500); };
  constexpr double kStep = 0.25;
  double tip = 0;
  for (double w = 0; w < 200; w += kStep)
    if (lvbc({0, 0, w})) tip = w;
  c.facts.lv_length = (Vec3{0, 0, tip} - h.mitral.centre).norm();
  const Vec3 across{std::cos(toward), std::sin(toward), 0};
  auto reach = [&](double w, const Vec3& dir) {
    double last = 0;
    for (double r = 0; r < 80; r += kStep)
      if (lvbc(dir * r + Vec3{0, 0, w})) last = r;
    return last;
  };
  const double w = tip / 3;
  c.facts.lv_diameter = reach(w, across) + reach(w, across * -1.0) + kStep;
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
  pv.e1 = perpendicular(pv.normal);
  pv.e2 = pv.normal.cross(pv.e1);
  pv.radius = h.pa.radii[0] - h.wall;
  pv.centre_world = h.drawn_world_point(pv.centre);
  c.facts.pulmonary_valve_height = pv.centre_world.z - ao.centre_world.z;
  c.facts.pulmonary_valve_distance = (pv.centre_world - ao.centre_world).norm();

  // The atrioventricular valves, from a stream of their own (the draws above stay as they
  // were): closed when the semilunar valves are open (systole), a thin sheet across the
  // orifice with the line (mitral) or three-pointed star (tricuspid) where the leaflets meet
  // standing toward the ventricle; open in diastole, the leaflets hanging into the ventricle
  // (the mitral's anterior one 18-25 mm, its posterior one 0.6 of that; the tricuspid's
  // 15-22 mm).
  Random av(c.noise_key ^ 0xa7a1eull);
  auto leaflets = [&](Heart::Valve& v, const Heart::Orifice& o, int cusps, const Vec3& first) {
    v.closed = !closed;
    v.hanging = closed;
    v.cusps = cusps;
    v.voxel_mm = voxel_mm;
    v.thickness = av.uniform(0.8, 1.4);
    v.sag = av.uniform(0.0, 1.5);
    v.coaptation = av.uniform(3, 6);
    v.length = cusps == 2 ? av.uniform(18, 25) : av.uniform(15, 22);
    v.radius = o.radius;
    v.normal = o.axis;
    v.e1 = (first - v.normal * first.dot(v.normal)).unit();
    v.e2 = v.normal.cross(v.e1);
    // Open, `angle` is the first leaflet's middle (toward `first`); closed, the coaptation
    // lines leave the centre at `angle` and every 2 pi / cusps from it: the mitral's runs
    // across, from commissure to commissure.
    const double turn = av.uniform(0, 2 * M_PI);
    v.angle = cusps == 2 ? (v.closed ? 0.5 * M_PI : 0.0) : turn;
    v.centre = o.centre + v.normal * (v.closed ? 0.5 * v.sag : 0.0);
    v.centre_world = h.drawn_world_point(v.centre);
  };
  if (h.mitral.radius > 0) {
    // The anterior leaflet faces the aortic root.
    leaflets(h.mitral_valve, h.mitral, 2, ao.centre - h.mitral.centre);
  }
  if (h.tricuspid.radius > 0) {
    leaflets(h.tricuspid_valve, h.tricuspid, 3, perpendicular(h.tricuspid.axis));
  }
}

}  // namespace coordseg::phantom_model
