// Generation 2 of the phantom: the great vessels with their real course, the heart's
// neighbours and CT's contrast phases. Positions are built in world millimetres (RAS+: +x
// right, +y anterior, +z superior) from the chambers that generation 1 drew, then stored in
// the heart's frame, where the case's smooth deformation applies to them as to the chambers.
//
// Sizes drawn (lumen diameters and centreline lengths, mm) follow published normal ranges:
// ascending aorta 26-36 (Framingham CT: 34.1 +/- 3.9 men, 31.9 +/- 3.5 women), pulmonary
// trunk 21-29 (Framingham CT: 25.1 +/- 2.8) about 5 cm long (Gray's Anatomy), its branches
// 13-20 (CMR: 14.7-17.3 +/- 2-3), descending aorta 20-27 (24.4 +/- 3.5 below the arch). The
// README cites them and compares 40 cases with them.
#include <algorithm>
#include <cmath>

#include "phantom_model.h"

namespace coordseg::phantom_model {

double Bundle::sd(const Vec3& q) const {
  double t = 0;
  return segment_distance(q, a, b, t) - radius;
}

double Body::diaphragm_z(double x, double y) const {
  const double s2 = 2 * dome_sigma * dome_sigma;
  const double r2 = (x - dome_right_at.x) * (x - dome_right_at.x) + (y - dome_right_at.y) * (y - dome_right_at.y);
  const double l2 = (x - dome_left_at.x) * (x - dome_left_at.x) + (y - dome_left_at.y) * (y - dome_left_at.y);
  return dome_z + dome_right * std::exp(-r2 / s2) + dome_left * std::exp(-l2 / s2);
}

namespace {

const Vec3 kUp{0, 0, 1};

// A tube in the heart's frame from world points and lumen radii (mm); its radius adds the
// wall, its box Vessel::kMargin.
Tube frame_tube(const Heart& h, const std::vector<Vec3>& world, const std::vector<double>& lumen, double wall) {
  Tube t;
  for (const Vec3& p : world) t.points.push_back(h.frame_point(p));
  for (const double r : lumen) t.radii.push_back(r + wall);
  t.box(Vessel::kMargin);
  return t;
}

Vessel make_vessel(const Heart& h, const std::vector<Vec3>& world, const std::vector<double>& lumen, double wall,
                   Pool pool, int32_t label, double labelled, Pool opens_into, bool mediastinal) {
  Vessel v;
  v.tube = frame_tube(h, world, lumen, wall);
  v.pool = pool;
  v.label = label;
  v.labelled = labelled;
  v.opens_into = opens_into;
  v.wall = wall;
  v.mediastinal = mediastinal;
  return v;
}

// How far from `from` (world) along `dir` the ellipsoid's surface lies, mm.
double exit_distance(const Heart& h, const Ellipsoid& e, const Vec3& from, const Vec3& dir) {
  double t = 0;
  while (t < 150 && e.sd(h.frame_point(from + dir * t)) < 0) t += 0.5;
  return t;
}

// A point on an LV cavity's wall at heart-frame depth w (0: valve plane, lc: apex), in the
// direction of world vector `toward`, `inset` of the way from the axis (1: on the wall).
Vec3 lv_wall_point(const Heart& h, const Vec3& toward, double w, double inset) {
  const Ellipsoid& e = h.lv_cavity;
  const double f = std::sqrt(std::max(0.0, 1.0 - (w / e.semi.z) * (w / e.semi.z)));
  const Vec3 d = h.frame_dir(toward);
  const double phi = std::atan2(d.y / e.semi.y, d.x / e.semi.x);
  return {e.semi.x * f * std::cos(phi) * inset, e.semi.y * f * std::sin(phi) * inset, w};
}

// Generation 1 stood the aortic root 5-9 mm from the LV's axis, in the middle of its base.
// The base plane is tilted about 50 degrees from the horizontal, as in hearts, so the LV's
// outline rose 25-30 mm above the aortic valve toward the front, left and top (the heart
// frame's -v), where the pulmonary trunk then lay on the myocardium with no room between.
// In a heart the root sits at the front of the base against the septum, and the LV's highest
// epicardium (the "LV summit", under the left main's division) lies beside the pulmonary
// valve's left sinus and little above the aortic valve. The root's two first points move
// 12-18 mm toward the summit and the septum (frame direction (0.5, -1)) before anything is
// placed against it, but after the trachea and the oesophagus, whose room behind the root
// (the chest's depth) stays as it was, so that the descending aorta keeps its place beside
// the LA. From a stream of its own, so that every other draw keeps its value. The outflow
// tract under the root is carved from the myocardium (Heart::classify).
void seat_aortic_root(CaseSpec& c) {
  Heart& h = c.heart;
  Random rng(c.noise_key ^ 0xa05eedull);
  const Vec3 move = Vec3{0.5, -1, 0}.unit() * rng.uniform(12, 18);
  h.aorta.points[0] = h.aorta.points[0] + move;
  h.aorta.points[1] = h.aorta.points[1] + move;
}

// The world y of the ascending aorta's axis at the aortic valve's end (generation 1's second point).
double ascending_valve_y(const CaseSpec& c) { return c.heart.world_point(c.heart.aorta.points[1]).y; }

// The oesophagus in front of the spine, right of the descending aorta; the trachea in front of
// the oesophagus, near the midline. The aorta's arch is then routed round the trachea.
void place_oesophagus_and_trachea(CaseSpec& c, Random& rng) {
  Body& b = c.body;
  // Generation 1's thorax left 5-6 cm between the ascending aorta and the spine, too little
  // for the right pulmonary artery and the trachea behind it. The chest grows deeper by
  // `deeper` mm front and back (the spine and descending aorta move back, the lungs grow), at
  // least until the trachea's axis lies `behind` mm behind the ascending aorta's axis at its
  // valve end (it leans forward as it rises): room for the aorta, the right pulmonary artery
  // and the trachea, each with its wall, as in real anatomy (about 45 mm).
  double deeper = rng.uniform(8, 14);
  const double behind = rng.uniform(44, 48);
  b.oesophagus_radius = rng.uniform(7, 10);
  b.oesophagus_air = rng.chance(0.6) ? rng.uniform(1.5, 4) : 0;
  // Trachea: coronal lumen diameter 13-25 mm (men) and 10-21 mm (women) (Breatnach et al. 1984).
  b.trachea_radius = rng.uniform(7, 11);
  b.trachea_wall = rng.uniform(1.2, 2.0);
  const double oes_gap = rng.uniform(1, 4), tr_gap = rng.uniform(1, 3);
  const double tr_x = rng.uniform(-2, 5), oes_x = rng.uniform(1, 4);
  const double asc_y = ascending_valve_y(c);
  auto trachea_y = [&] {
    return b.spine.y + b.spine_radius + 2 * b.oesophagus_radius + oes_gap + b.trachea_wall + b.trachea_radius + tr_gap;
  };
  deeper = std::max(deeper, trachea_y() - (asc_y - behind));
  b.by += deeper;
  b.spine.y -= deeper;
  b.descending.y -= deeper;
  b.lung_semi_y += deeper;
  c.facts.chest_deeper = deeper;
  // Right of the widest descending aorta (lumen 13.5 mm and its wall), in front of the spine.
  b.oesophagus = {b.descending.x + 15.5 + b.oesophagus_radius + oes_x,
                  b.spine.y + b.spine_radius + b.oesophagus_radius + oes_gap, 0};
  b.trachea = {b.spine.x + tr_x, trachea_y(), 0};
}

void grow_aorta_and_branches(CaseSpec& c, Random& rng) {
  Heart& h = c.heart;
  const Body& b = c.body;
  const double wall = h.wall;
  // The root (generation 1's first two points: in the LV outflow, then the sinus) keeps its place.
  const Vec3 w0 = h.world_point(h.aorta.points[0]), w1 = h.world_point(h.aorta.points[1]);
  const double r_asc = rng.uniform(13, 18), r_root = r_asc + rng.uniform(1.0, 2.5);
  const double r_desc = rng.uniform(10, 13.5);
  // The ascending aorta rises up, a little right and forward, to where the arch begins.
  // (Every draw sequenced: the order of operands' draws would otherwise be the compiler's.)
  const double rise_mm = rng.uniform(30, 45), forward = rng.uniform(0.05, 0.3), rightward = rng.uniform(0.05, 0.25);
  const Vec3 a2 = w1 + world_dir(rightward, forward, 1) * rise_mm;
  // The arch curves left-posterior over the pulmonary bifurcation to the descending aorta
  // beside the spine: seen from above, round the front and the left side of the trachea (its
  // axis at t), never nearer it than both tubes' lumens and walls allow; it rises `rise` mm
  // over the line between its ends.
  const Vec3 d{b.descending.x, b.descending.y, a2.z + rng.uniform(-8, 4)};
  const double rise = rng.uniform(14, 24);
  const Vec3 t{b.trachea.x, b.trachea.y, 0};
  const double keep = b.trachea_radius + b.trachea_wall + wall + rng.uniform(1.5, 4);
  const double th0 = std::atan2(a2.y - t.y, a2.x - t.x);
  double th1 = std::atan2(d.y - t.y, d.x - t.x);
  while (th1 <= th0) th1 += 2 * M_PI;
  const double rho0 = std::hypot(a2.x - t.x, a2.y - t.y), rho1 = std::hypot(d.x - t.x, d.y - t.y);
  std::vector<Vec3> pts = {w0, w1, a2};  // kArchStart is a2's index
  std::vector<double> radii = {r_root, r_root, r_asc};
  constexpr int kArch = static_cast<int>(kArchSegments);
  std::array<Vec3, kArchSegments + 1> arch;
  for (int k = 1; k <= kArch; ++k) {
    const double f = static_cast<double>(k) / kArch, th = th0 + (th1 - th0) * f;
    const double r = r_asc + (r_desc - r_asc) * f;
    const double rho = k == kArch ? rho1 : std::max(rho0 + (rho1 - rho0) * f, keep + r);
    arch[static_cast<size_t>(k)] = {t.x + rho * std::cos(th), t.y + rho * std::sin(th),
                                    a2.z + (d.z - a2.z) * f + rise * std::sin(M_PI * f)};
    pts.push_back(arch[static_cast<size_t>(k)]);
    radii.push_back(r);
  }
  arch[0] = a2;
  h.aorta = frame_tube(h, pts, radii, wall);
  // The descending aorta: down beside the spine, drifting forward toward the hiatus.
  const Vec3 d1 = d + Vec3{rng.uniform(-3, 3), rng.uniform(0, 4), -80};
  const Vec3 d2 = d + Vec3{rng.uniform(-3, 3), rng.uniform(4, 10), -400};
  h.vessels.push_back(make_vessel(h, {d + kUp * 2.0, d1, d2}, {r_desc, r_desc, r_desc * 0.9}, wall, kAO, 0, 0, kAO, true));
  // ASA: the root and ascending aorta, up to the arch.
  const double seg0 = (h.aorta.points[1] - h.aorta.points[0]).norm();
  h.aorta_labelled = seg0 + (h.aorta.points[kArchStart] - h.aorta.points[1]).norm();
  const double z0 = h.aorta.points[0].z, z1 = h.aorta.points[1].z;  // heart frame: valve plane at 0
  const double valve = seg0 * std::clamp(z0 / (z0 - z1), 0.0, 1.0);
  c.facts.ascending_length = h.aorta_labelled - valve;
  c.facts.ascending_diameter = 2 * r_asc;
  c.facts.arch_diameter = r_asc + r_desc;  // midway along the arch's taper
  c.facts.descending_diameter = 2 * r_desc;

  // The arch's three branches: brachiocephalic (up-right), left common carotid (up), left
  // subclavian (up-left); unlabelled.
  const struct {
    double at, lumen_lo, lumen_hi;
    Vec3 dir;
  } branches[3] = {{0.8, 5.5, 7.0, {0.35, 0.15, 1}}, {2.5, 3.5, 4.5, {-0.05, 0.1, 1}}, {3.6, 4.0, 5.0, {-0.35, -0.05, 1}}};
  for (const auto& br : branches) {
    const size_t k = static_cast<size_t>(std::floor(br.at));
    const Vec3 origin = arch[k] + (arch[std::min(k + 1, kArchSegments)] - arch[k]) * (br.at - static_cast<double>(k));
    const double r = rng.uniform(br.lumen_lo, br.lumen_hi);
    const Vec3 dir = br.dir.unit();
    const Vec3 p1 = origin + dir * rng.uniform(35, 50);
    h.vessels.push_back(make_vessel(h, {origin, p1, p1 + world_dir(dir.x * 0.5, dir.y * 0.5, 1) * 200}, {r, r, r}, 1.2,
                                    kAO, 0, 0, kAO, true));
  }
}

// Where a tube of outer radius `outer` along the world polyline `pts` comes nearest to tube
// `avoid` (heart frame): the gap between their walls (mm, negative where they overlap), in
// which segment, where along it, and the point (heart frame). Sampled every half millimetre,
// leaving out the points inside `home` (the chamber a vessel leaves), if given.
struct Narrowest {
  double gap = 1e30;
  size_t seg = 0;
  double t = 0;
  Vec3 at;
};

Narrowest narrowest_gap(const Heart& h, const std::vector<Vec3>& pts, double outer, const Tube& avoid,
                        const Ellipsoid* home = nullptr) {
  Narrowest n;
  for (size_t s = 0; s + 1 < pts.size(); ++s) {
    const double len = (pts[s + 1] - pts[s]).norm();
    for (int k = 0; k <= static_cast<int>(std::ceil(2 * len)); ++k) {
      const double t = std::min(0.5 * k / len, 1.0);
      const Vec3 q = h.frame_point(pts[s] + (pts[s + 1] - pts[s]) * t);
      if (home && home->sd(q) < 0) continue;  // inside the chamber it leaves: its own lumen
      const double g = avoid.sd(q) - outer;
      if (g < n.gap) n = {g, s, t, q};
    }
  }
  return n;
}

// The narrowest gap (mm) between a tube of outer radius `outer` along `pts` (world) and any
// of the tubes `avoid`, outside `home`.
double narrowest_of(const Heart& h, const std::vector<Vec3>& pts, double outer, const std::vector<const Tube*>& avoid,
                    const Ellipsoid* home) {
  double g = 1e30;
  for (const Tube* t : avoid) g = std::min(g, narrowest_gap(h, pts, outer, *t, home).gap);
  return g;
}

// The world direction away from tube `avoid` at heart-frame point q: its distance's gradient.
Vec3 away_from(const Heart& h, const Tube& avoid, const Vec3& q) {
  const double e = 0.25;
  const Vec3 g{avoid.sd(q + Vec3{e, 0, 0}) - avoid.sd(q - Vec3{e, 0, 0}),
               avoid.sd(q + Vec3{0, e, 0}) - avoid.sd(q - Vec3{0, e, 0}),
               avoid.sd(q + Vec3{0, 0, e}) - avoid.sd(q - Vec3{0, 0, e})};
  return (h.u * g.x + h.v * g.y + h.w * g.z).unit();
}

// Moves the points of `pts` (world) after the first until a tube of outer radius `outer` along
// them keeps `gap` mm clear of the tubes `avoid` (outside `home`): the narrowest place pushes
// the points of its segment away from the tube it nears, each by its share, until nothing is
// narrower (or 200 pushes).
void keep_clear(const Heart& h, std::vector<Vec3>& pts, double outer, const std::vector<const Tube*>& avoid,
                double gap, const Ellipsoid* home = nullptr) {
  for (int i = 0; i < 200; ++i) {
    Narrowest n;
    const Tube* nearest = nullptr;
    for (const Tube* t : avoid) {
      const Narrowest m = narrowest_gap(h, pts, outer, *t, home);
      if (m.gap < n.gap) n = m, nearest = t;
    }
    if (!nearest || n.gap >= gap) return;
    const Vec3 away = away_from(h, *nearest, n.at);
    const double deficit = gap - n.gap + 0.1;
    if (n.seg == 0) {
      pts[1] = pts[1] + away * (deficit / std::max(n.t, 0.25));
      continue;
    }
    const double b = n.t, a = 1 - b;
    const double scale = deficit / (a * a + b * b);
    pts[n.seg] = pts[n.seg] + away * (a * scale);
    pts[n.seg + 1] = pts[n.seg + 1] + away * (b * scale);
  }
}

// The tubes a blood vessel keeps clear of: the great vessels and every blood vessel drawn so
// far, but `except`.
std::vector<const Tube*> blood_tubes(const Heart& h, const Vessel* except = nullptr) {
  std::vector<const Tube*> tubes = {&h.aorta, &h.pa};
  for (const Vessel& v : h.vessels)
    if (&v != except && v.lumen == kBlood) tubes.push_back(&v.tube);
  return tubes;
}

// A tube's centreline in world millimetres (without the deformation).
std::vector<Vec3> world_course(const Heart& h, const Tube& t) {
  std::vector<Vec3> course;
  for (const Vec3& q : t.points) course.push_back(h.world_point(q));
  return course;
}

// The aortic root narrows from its sinuses down to the annulus, where the valve's cusps are
// hinged: a truncated cone whose outlet is 1.2-1.4 times as wide as its inlet. Until then the
// phantom drew the root as wide at the valve plane as at its sinuses, so that it took much of
// the LV's base from the mitral orifice. The pulmonary trunk and its right branch are placed
// before this, against the sinuses, beside which the pulmonary root lies in a heart; what
// comes after (the veins, the appendages, the mitral orifice) sees the narrowed root. From a
// stream of its own, so that every other draw keeps its value.
void narrow_aortic_annulus(CaseSpec& c) {
  Heart& h = c.heart;
  Random rng(c.noise_key ^ 0xa0a11ull);
  const double t = h.root_param(0);                   // the valve plane on the root's first segment
  const double sinus = h.aorta.radii[1] - h.wall;     // lumen radii
  const double annulus = sinus / rng.uniform(1.2, 1.4);
  // The first segment's outer radius at the plane becomes the annulus's; below it (in the LV's
  // outflow tract) the tube goes on narrowing along the same line.
  const double r1 = h.aorta.radii[1], at_plane = annulus + h.wall;
  h.aorta.radii[0] = t < 1 ? std::max(h.wall + 6.0, (at_plane - r1 * t) / (1 - t)) : at_plane;
  h.aorta.box(Vessel::kMargin);
  c.facts.annulus_diameter = 2 * (h.aorta.radius_at(0, t) - h.wall);
  c.facts.sinus_diameter = 2 * sinus;
}

void grow_pulmonary_arteries(CaseSpec& c, Random& rng) {
  Heart& h = c.heart;
  const double wall = h.wall;
  // The pulmonary valve sits anterior, left and superior of the aortic valve, at the top of
  // the RV's outflow tract (infundibulum, labelled RV); the trunk runs superior-posterior-left
  // round the left of the ascending aorta and divides under the arch.
  const Vec3 w1 = h.world_point(h.aorta.points[1]), a2 = h.world_point(h.aorta.points[kArchStart]);
  const double r_asc = h.aorta.radii[kArchStart] - wall;
  const double r_pa = rng.uniform(10.5, 14.5);
  const double r_rpa = rng.uniform(6.5, 10), r_lpa = rng.uniform(6.5, 10);
  const Vec3 ao0 = h.aorta.points[0];
  const Vec3 valve0 = h.world_point({ao0.x - rng.uniform(0, 6), ao0.y - rng.uniform(20, 26), -rng.uniform(8, 14)});
  // The ascending aorta's axis at height z.
  auto asc_at = [&](double z) { return w1 + (a2 - w1) * std::clamp((z - w1.z) / (a2.z - w1.z), 0.0, 1.0); };
  const double arch_floor = std::min(a2.z, h.world_point(h.aorta.points[kArchStart + kArchSegments]).z);
  const double under_arch = rng.uniform(6, 12);  // the branches' clearance under the arch
  const double zb = arch_floor - std::max(r_rpa, r_lpa) - wall - under_arch;
  const Vec3 axis = asc_at(zb);
  const Vec3 bif0{axis.x - (r_asc + r_pa + 2 * wall + rng.uniform(2, 8)), axis.y - rng.uniform(15, 25), zb};
  // Bowed forward and up from the valve, then back to the bifurcation.
  const Vec3 bow{-rng.uniform(0, 5), rng.uniform(8, 14), rng.uniform(8, 14)};
  // The two roots lie side by side, their walls 1 mm apart. Drawn where it was, the valve's
  // end of the trunk overlapped the aorta's wall and lumen by 9-25 mm (in all of 40 quick
  // cases of seed 7): the valve moves anterior-left until it clears the aorta, then the rest
  // of the trunk moves off it.
  Vec3 valve = valve0;
  double bowing = 1;
  auto bowed = [&] { return valve + (bif0 - valve) * 0.4 + bow * bowing; };
  for (int i = 0; i < 100; ++i) {
    const Vec3 ahead = (bowed() - valve).unit();
    const Narrowest n = narrowest_gap(h, {valve - ahead * 2.0, valve + ahead * 2.0}, r_pa + wall, h.aorta);
    if (n.gap >= 1.0) break;
    valve = valve + world_dir(-0.5, 0.87, 0) * (1.1 - n.gap);
  }
  // Where the valve moved, the bow shrinks until the trunk bends by at most 40 degrees.
  auto bend = [&] { return (bowed() - valve).unit().dot((bif0 - bowed()).unit()); };
  while (bowing > 0 && bend() < std::cos(40 * M_PI / 180)) bowing -= 0.1;
  std::vector<Vec3> trunk = {valve, bowed(), bif0};
  keep_clear(h, trunk, r_pa + wall, {&h.aorta}, 1.0);
  {
    // From the bend to the bifurcation the trunk passes over the LV's left base, which the
    // tilted base plane carries up toward the arch: where its tube (from halfway up its first
    // segment) reaches into the LV's outline, the bend and the bifurcation rise by as much as
    // that takes (world up moves a point about 0.64 mm off the base plane per mm, for the
    // nominal long axis), or as the room under the arch allows, keeping 2 mm of the branches'
    // clearance there, and then move off the aorta again. (Seed 7's 40 quick cases: PUA on
    // MLV in 20 instead of 26, on 26 voxel faces on average instead of 51.)
    // How far the tube reaches into the LV's outline (+1 mm).
    auto deficit = [&] {
      double worst = 0;
      for (int s = 0; s < 2; ++s)
        for (double t = s == 0 ? 0.5 : 0.0; t <= 1.0; t += 0.05) {
          const Vec3 q = h.frame_point(trunk[s] + (trunk[s + 1] - trunk[s]) * t);
          worst = std::max(worst, r_pa + wall + 1.0 - h.lv_sd(q));
        }
      return worst;
    };
    const double lift = std::min(deficit() / 0.64, std::max(0.0, under_arch - 2));
    trunk[1].z += lift;
    trunk[2].z += lift;
    keep_clear(h, trunk, r_pa + wall, {&h.aorta}, 1.0);
  }
  const Vec3 p0 = trunk[0], p1 = trunk[1], bif = trunk[2];
  const Vec3 ahead = (p1 - p0).unit();  // the trunk's axis at the valve (world)
  const Vec3 start = p0 - ahead * 2.0;  // the tube reaches a little below the valve
  h.pa = frame_tube(h, {start, p1, bif}, {r_pa, r_pa, r_pa}, wall);
  h.pa_valve = h.frame_point(p0);
  h.pa_axis = h.frame_dir(ahead);
  const Vec3 rv_top = h.world_point(h.rv.center + Vec3{0, 0, -0.55 * h.rv.semi.z});
  const double r_out = r_pa * rng.uniform(0.95, 1.1);
  // The outflow tract turns into the trunk's axis below the valve, so that it ends inside the
  // trunk's tube: the valve's plane is then the only place where RVBC meets PUA.
  const Vec3 infundibulum = p0 - ahead * r_pa;
  h.vessels.push_back(
      make_vessel(h, {rv_top, infundibulum, p0}, {r_out, r_out, r_out}, h.rv_wall, kRV, 600, 1e9, kRV, true));
  // Until 2026-12-07 the trunk's tube kept its wall across the outflow tract's lumen (its
  // rounded end below the valve), which cut the RV's blood under the valve off from the rest
  // of the RV: a second RV component of 2-6 ml in 39 of seed 7's 40 quick CT cases.
  h.vessels.back().opens_below_valve = kPA;
  c.facts.trunk_length = (p1 - p0).norm() + (bif - p1).norm();
  c.facts.trunk_aorta_gap = narrowest_gap(h, {start, p1, bif}, r_pa + wall, h.aorta).gap;
  c.facts.trunk_diameter = 2 * r_pa;
  c.facts.rpa_diameter = 2 * r_rpa;
  c.facts.lpa_diameter = 2 * r_lpa;

  // The right pulmonary artery passes behind the ascending aorta to the right hilum; the left
  // one arches over the left bronchus. PUA keeps their first 15-25 mm.
  const double zr = bif.z - rng.uniform(0, 6);
  const Vec3 behind = asc_at(zr);
  const Vec3 r1{behind.x, behind.y - (r_asc + r_rpa + 2 * wall + rng.uniform(0.5, 2)), zr};
  // It stays in front of the right main bronchus and the bronchus intermedius (grow_airway).
  const Vec3 r2 = r1 + Vec3{rng.uniform(30, 40), -rng.uniform(0, 5), -rng.uniform(0, 10)};
  // Where the ascending aorta is wider than at the arch, it moves back off it.
  std::vector<Vec3> rpa = {bif, r1, r2, r2 + Vec3{22, -3, -20}};
  keep_clear(h, rpa, r_rpa + wall * 0.75, {&h.aorta}, 1.0);
  c.facts.trunk_aorta_gap = std::min(c.facts.trunk_aorta_gap, narrowest_gap(h, rpa, r_rpa + wall * 0.75, h.aorta).gap);
  h.vessels.push_back(make_vessel(h, rpa, {r_rpa, r_rpa, r_rpa * 0.85, r_rpa * 0.6}, wall * 0.75, kPA, 850,
                                  rng.uniform(15, 25), kPA, true));
  const Vec3 l1 = bif + Vec3{-rng.uniform(12, 18), -rng.uniform(10, 18), rng.uniform(2, 8)};
  const Vec3 l2 = l1 + Vec3{-rng.uniform(20, 30), -rng.uniform(5, 12), -rng.uniform(5, 12)};
  h.vessels.push_back(make_vessel(h, {bif, l1, l2, l2 + Vec3{-20, -10, -15}}, {r_lpa, r_lpa, r_lpa * 0.85, r_lpa * 0.6},
                                  wall * 0.75, kPA, 850, rng.uniform(15, 25), kPA, true));
}

// A pulmonary vein's course (world) for draw d: from the LA's centre along its first
// direction to `beyond` mm past the LA's wall, then `reach` mm along its second.
std::vector<Vec3> vein_course(const Heart& h, const VeinDraw& d, double* out = nullptr) {
  const Vec3 la = h.world_point(h.la.center);
  const Vec3 dir = world_dir(d.side * 1.0, -d.dy, d.level * d.dz);
  const double wall = exit_distance(h, h.la, la, dir);
  if (out) *out = wall;
  const Vec3 p1 = la + dir * (wall + d.beyond);
  return {la, p1, p1 + world_dir(d.side * 1.0, -d.ey, d.level * d.ez) * d.reach};
}

// Places a pulmonary vein (lumen r): its drawn course, else the nearest of a grid of slants
// round it (the first segment's rise and backward slant, the second's, each within a little
// more than its drawn range) whose tube keeps 1 mm clear of `avoid` outside the LA, else the
// one that comes closest. Drawn as they came, the veins ran into their neighbours (40 quick
// cases of seed 7): the left lower one into the descending aorta in 27 (by up to 21 mm), the
// right upper one into the right pulmonary artery in 24 (up to 13 mm), the left ones into the
// coronary sinus in 20 and 39 (up to 13 mm).
Vessel place_vein(const Heart& h, VeinDraw& d, double r, const std::vector<const Tube*>& avoid) {
  const double wall = 1.0, outer = r + wall;
  const bool upper = d.level > 0;
  const double dz_lo = upper ? -0.05 : -0.1, dz_hi = upper ? 0.35 : 0.55;
  const double dy_lo = upper ? -0.6 : -0.1, dy_hi = upper ? 0.1 : 0.7;
  struct Candidate {
    double cost;
    VeinDraw d;
  };
  std::vector<Candidate> grid = {{0, d}};
  for (int a = 0; a <= 4; ++a)
    for (int b = 0; b <= 4; ++b)
      for (int e = 0; e <= 2; ++e)
        for (int f = 0; f <= 4; ++f) {
          VeinDraw x = d;
          x.dz = dz_lo + (dz_hi - dz_lo) * a / 4;
          x.dy = dy_lo + (dy_hi - dy_lo) * b / 4;
          x.ez = 0.2 + 0.6 * e / 2;
          x.ey = -0.1 + 1.1 * f / 4;
          const double cost = std::pow((x.dz - d.dz) / (dz_hi - dz_lo), 2) + std::pow((x.dy - d.dy) / (dy_hi - dy_lo), 2) +
                              std::pow((x.ez - d.ez) / 0.6, 2) + std::pow((x.ey - d.ey) / 1.1, 2);
          grid.push_back({cost, x});
        }
  std::stable_sort(grid.begin(), grid.end(), [](const Candidate& p, const Candidate& q) { return p.cost < q.cost; });
  double best = -1e30;
  VeinDraw chosen = d;
  for (const Candidate& cand : grid) {
    const double g = narrowest_of(h, vein_course(h, cand.d), outer, avoid, &h.la);
    if (g > best) best = g, chosen = cand.d;
    if (best >= 1.0) break;
  }
  d = chosen;
  double out = 0;
  std::vector<Vec3> course = vein_course(h, d, &out);
  // None keeps clear: the nearest course pushed off its neighbours (keep_clear), unless
  // pushing moves it 20 mm or more from that course (it then ran off between them).
  if (best < 1.0) {
    std::vector<Vec3> pushed = course;
    keep_clear(h, pushed, outer, avoid, 1.0, &h.la);
    double moved = 0;
    for (size_t i = 1; i < pushed.size(); ++i) moved = std::max(moved, (pushed[i] - course[i]).norm());
    if (moved < 20 && narrowest_of(h, pushed, outer, avoid, &h.la) > best) course = pushed;
  }
  return make_vessel(h, course, {r, r, r * 0.7}, wall, kPV, 420, out + d.labelled, kLA, false);
}

// The LA's appendage: a hooked finger from the LA (world direction `dir`, `beyond` mm past
// its wall, then `reach` mm down and forward), lumen r tapering to 0.45 r. Drawn as it came, it
// ran into the aorta in 36 of 40 cases (by up to 15 mm outside the LA) and was cut by the left
// upper pulmonary vein in all 40 (by up to 15 mm), so it moves off the great vessels and every
// vessel drawn before it. Pushed off them alone, it sometimes ran away between them (its
// elbow 54-600 mm from where it was drawn in 4 of seed 7's 40 quick CT cases, 25-1300 mm in
// 13 of 120 over seeds 2, 7 and 11), and then its labelled blood lay apart from the LA's (a
// second LA component of 14-21 ml in 3 of seed 7's 40). So a pushed course whose elbow moves
// more than 25 mm is dropped for the nearest course of a fan round the drawn one that keeps
// 1 mm off the vessels with its centreline, past the LA's wall, outside the ventricles and
// the RA (the one that comes nearest to that where none does).
Vessel place_la_appendage(const Heart& h, const Vec3& dir, double beyond, double reach, double r) {
  const Vec3 la = h.world_point(h.la.center);
  const double outer = r + 1.2;
  const std::vector<const Tube*> avoid = blood_tubes(h);
  auto course = [&](const Vec3& d1, const Vec3& d2) {
    const Vec3 p1 = la + d1 * (exit_distance(h, h.la, la, d1) + beyond);
    return std::vector<Vec3>{la, p1, p1 + d2 * reach};
  };
  // How far (mm) the course keeps clear of the tubes and chambers it must not cross (negative:
  // it crosses one), outside the LA.
  auto clearance = [&](const std::vector<Vec3>& pts) {
    double g = narrowest_of(h, pts, outer, avoid, &h.la);
    for (size_t s = 0; s + 1 < pts.size(); ++s) {
      const double len = (pts[s + 1] - pts[s]).norm();
      for (double t = 0; t <= len; t += 1.0) {
        const Vec3 q = h.frame_point(pts[s] + (pts[s + 1] - pts[s]) * (t / len));
        if (h.la.sd(q) < 0) continue;
        g = std::min({g, h.lv_sd(q), h.rv.sd(q), h.ra_sd(q)});
      }
    }
    return g;
  };
  const Vec3 drawn2 = world_dir(-0.3, 0.6, -0.7);
  std::vector<Vec3> pushed = course(dir, drawn2);
  const Vec3 elbow = pushed[1];
  keep_clear(h, pushed, outer, avoid, 1.0, &h.la);
  const double moved = (pushed[1] - elbow).norm();
  std::vector<Vec3> chosen = pushed;
  if (moved > 25) {
    // The fan: the first segment turned about the vertical by up to 60 degrees either way and
    // tilted from 20 degrees down to 40 up; the second turned with it. Nearest first.
    struct Candidate {
      double cost;
      Vec3 d1, d2;
    };
    std::vector<Candidate> fan;
    const double az0 = std::atan2(dir.y, dir.x), el0 = std::asin(std::clamp(dir.z, -1.0, 1.0));
    for (int a = -4; a <= 4; ++a)
      for (int e = -2; e <= 4; ++e) {
        const double az = az0 + a * (15 * M_PI / 180), el = el0 + e * (10 * M_PI / 180);
        const Vec3 d1{std::cos(el) * std::cos(az), std::cos(el) * std::sin(az), std::sin(el)};
        const double turn = a * (15 * M_PI / 180);
        const Vec3 d2{drawn2.x * std::cos(turn) - drawn2.y * std::sin(turn),
                      drawn2.x * std::sin(turn) + drawn2.y * std::cos(turn), drawn2.z};
        fan.push_back({static_cast<double>(a * a + e * e), d1, d2});
      }
    std::stable_sort(fan.begin(), fan.end(), [](const Candidate& p, const Candidate& q) { return p.cost < q.cost; });
    double best = -1e30;
    for (const Candidate& cand : fan) {
      const std::vector<Vec3> pts = course(cand.d1, cand.d2);
      const double g = clearance(pts);
      if (g > best) best = g, chosen = pts;
      if (best >= 1.0) break;
    }
  }
  return make_vessel(h, chosen, {r, r, r * 0.45}, 1.2, kLA, 420, 1e9, kLA, true);
}

void grow_veins_and_appendages(CaseSpec& c, Random& rng) {
  Heart& h = c.heart;
  const Vec3 ra = h.world_point(h.ra.center);
  const Vec3 w1 = h.world_point(h.aorta.points[1]), a2 = h.world_point(h.aorta.points[kArchStart]);
  const double r_asc = h.aorta.radii[kArchStart] - h.wall;

  // Superior vena cava: down the right side of the ascending aorta into the RA's roof.
  const double r_svc = rng.uniform(8, 11);
  const double ra_top = exit_distance(h, h.ra, ra, kUp);
  const Vec3 s1{std::max(ra.x, a2.x + r_asc + r_svc + 8), (w1.y + a2.y) * 0.5 - rng.uniform(0, 10), ra.z + ra_top + 25};
  h.vessels.push_back(make_vessel(h, {ra, s1, s1 + Vec3{rng.uniform(-6, 6), rng.uniform(-6, 6), 250}},
                                  {r_svc, r_svc, r_svc}, 1.2, kSVC, 0, 0, kRA, true));
  c.facts.svc_diameter = 2 * r_svc;
  // Inferior vena cava: up through the liver into the RA's floor.
  const double r_ivc = rng.uniform(10, 14);
  const Vec3 i1 = ra + Vec3{rng.uniform(-5, 5), -rng.uniform(0, 10), -exit_distance(h, h.ra, ra, kUp * -1.0) - 25};
  h.vessels.push_back(make_vessel(h, {ra, i1, i1 + Vec3{rng.uniform(-5, 5), rng.uniform(-5, 5), -300}},
                                  {r_ivc, r_ivc, r_ivc}, 1.2, kIVC, 0, 0, kRA, false));
  c.facts.ivc_diameter = 2 * r_ivc;

  // Four pulmonary veins from the LA's posterior corners into the hila; LA keeps each one's
  // first 5-10 mm past its wall.
  double pv_sum = 0;
  std::vector<double> pv_radius;
  for (int side = -1; side <= 1; side += 2)
    for (int level = -1; level <= 1; level += 2) {
      VeinDraw d;
      d.side = side;
      d.level = level;
      // The upper veins leave in front of the main bronchi, the lower ones below them.
      d.dz = level > 0 ? rng.uniform(0.05, 0.25) : rng.uniform(0.2, 0.45);
      d.dy = level > 0 ? rng.uniform(-0.4, -0.1) : rng.uniform(0.2, 0.6);
      const double r = rng.uniform(5.5, 9);
      d.beyond = rng.uniform(12, 20);
      d.reach = rng.uniform(25, 40);
      d.ez = rng.uniform(0.3, 0.7);
      d.ey = rng.uniform(0.2, 0.8);
      d.labelled = rng.uniform(5, 10);
      h.vein_draws.push_back(d);
      pv_radius.push_back(r);
      pv_sum += 2 * r;
    }
  c.facts.pv_diameter = pv_sum / 4;

  // Coronary sinus: in the posterior atrioventricular groove round the LV base into the RA.
  Vessel sinus;
  {
    const double reach = std::max(h.lv_outer.semi.x, h.lv_outer.semi.y) + rng.uniform(3, 6);
    const double w = rng.uniform(2, 6), r = rng.uniform(3, 5);
    std::vector<Vec3> world;
    for (const double phi : {M_PI, 0.75 * M_PI, 0.5 * M_PI, 0.25 * M_PI})
      world.push_back(h.world_point({reach * std::cos(phi), reach * std::sin(phi), w}));
    world.push_back(ra);
    sinus = make_vessel(h, world, std::vector<double>(world.size(), r), 0.8, kCS, 0, 0, kRA, true);
  }
  // Each vein takes the course nearest its drawn one that keeps 1 mm clear of the great
  // vessels, the sinus, every vessel drawn so far and the veins placed before it (see
  // place_vein).
  h.vessels.reserve(h.vessels.size() + 5);  // `neighbours` points into it
  std::vector<const Tube*> neighbours = blood_tubes(h);
  neighbours.push_back(&sinus.tube);
  for (size_t i = 0; i < h.vein_draws.size(); ++i) {
    VeinDraw& d = h.vein_draws[i];
    d.vessel = h.vessels.size();
    h.vessels.push_back(place_vein(h, d, pv_radius[i], neighbours));
    neighbours.push_back(&h.vessels.back().tube);
  }
  h.vessels.push_back(sinus);

  // Appendages: the LA's, a hooked finger anterior-left over the LV base beside the pulmonary
  // trunk; the RA's, a broad triangle wrapping the aortic root's right side. Labelled as their atria.
  {
    const double rise = rng.uniform(0.0, 0.3);
    const Vec3 dir = world_dir(-0.7, 0.6, rise);
    const double beyond = rng.uniform(6, 12), reach = rng.uniform(14, 22);
    const double r = rng.uniform(6, 8.5);
    h.vessels.push_back(place_la_appendage(h, dir, beyond, reach, r));
  }
  {
    const Vec3 dir = world_dir(-0.25, 0.85, rng.uniform(0.2, 0.5));
    const double out = exit_distance(h, h.ra, ra, dir);
    const Vec3 p1 = ra + dir * (out + rng.uniform(6, 12));
    const Vec3 p2 = p1 + world_dir(-0.7, 0.4, 0.3) * rng.uniform(12, 20);
    const double r = rng.uniform(8, 11);
    h.vessels.push_back(make_vessel(h, {ra, p1, p2}, {r, r * 0.9, r * 0.4}, 1.2, kRA, 550, 1e9, kRA, true));
  }
}

void grow_bundles(Heart& h, Random& rng) {
  const double lc = h.lv_cavity.semi.z;
  // Papillary muscles: anterolateral and posteromedial, from the mid-apical wall toward the
  // mitral valve.
  for (const Vec3& toward : {world_dir(-0.7, 0.7, 0), world_dir(0.4, -0.9, 0)}) {
    const double r = rng.uniform(3.5, 5.5);
    h.lv_bundles.push_back({lv_wall_point(h, toward, lc * rng.uniform(0.55, 0.65), 0.95),
                            lv_wall_point(h, toward, lc * rng.uniform(0.25, 0.32), 0.6), r});
  }
  // Trabeculae near the LV apex.
  for (int i = 0; i < 6; ++i) {
    const double tz = rng.normal(), ty = rng.normal(), tx = rng.normal();
    const Vec3 toward = world_dir(tx, ty, tz);
    const double w = lc * rng.uniform(0.6, 0.85);
    h.lv_bundles.push_back({lv_wall_point(h, toward, w, 1.0), lv_wall_point(h, toward, w - rng.uniform(8, 14), 0.9),
                            rng.uniform(1.2, 2.0)});
  }
  // The RV's moderator band from the septum to the free wall, and apical trabeculae.
  const Ellipsoid& rv = h.rv;
  h.rv_bundles.push_back({rv.center + Vec3{-0.55 * rv.semi.x, 0, 0.45 * rv.semi.z},
                          rv.center + Vec3{0.6 * rv.semi.x, -0.35 * rv.semi.y, 0.55 * rv.semi.z}, rng.uniform(2.0, 3.0)});
  for (int i = 0; i < 4; ++i) {
    const Vec3 a = rv.center + Vec3{rng.uniform(-0.7, 0.7) * rv.semi.x, rng.uniform(-0.7, 0.7) * rv.semi.y,
                                    rng.uniform(0.4, 0.8) * rv.semi.z};
    const double length = rng.uniform(8, 15);
    const Vec3 along = unit_vector(rng);
    h.rv_bundles.push_back({a, a + along * length, rng.uniform(1.2, 2.0)});
  }
}

void grow_body(CaseSpec& c, Random& rng) {
  Body& b = c.body;
  Vec3 lo, hi;
  heart_extent(c.heart, lo, hi);
  // The heart rests on the diaphragm's central tendon; the right dome rises higher than the left.
  b.dome_z = lo.z + rng.uniform(-4, 2);
  b.dome_right = rng.uniform(25, 45);
  b.dome_left = rng.uniform(10, 25);
  b.dome_sigma = rng.uniform(55, 75);
  b.dome_right_at = {rng.uniform(55, 80), rng.uniform(-20, 10), 0};
  b.dome_left_at = {-rng.uniform(70, 95), rng.uniform(-30, 0), 0};
  b.sternum_x = rng.uniform(-5, 5);
  b.sternum_half_width = rng.uniform(12, 18);
  b.sternum_thickness = rng.uniform(10, 14);
  b.xiphoid_z = lo.z + rng.uniform(0, 25);
  b.cartilage_x = rng.uniform(55, 80);
}

// The narrowest gap (mm) between the outer wall of airway tube `a` (heart frame) and the outer
// walls of the chambers, the aorta, the pulmonary trunk, the vessels and the oesophagus,
// sampled along its centreline every `step` mm. The ellipsoids' distances are approximate.
double airway_gap(const CaseSpec& c, const Tube& a, double step = 1.5) {
  const Heart& h = c.heart;
  const Body& b = c.body;
  double gap = 1e30;
  for (size_t s = 0; s + 1 < a.points.size(); ++s) {
    const double len = (a.points[s + 1] - a.points[s]).norm();
    const int n = std::max(1, static_cast<int>(std::ceil(len / step)));
    for (int i = 0; i <= n; ++i) {
      const double t = static_cast<double>(i) / n;
      const Vec3 q = a.points[s] + (a.points[s + 1] - a.points[s]) * t;
      double d = std::min({h.lv_sd(q), h.la.sd(q), h.ra_sd(q), h.rv.sd(q)});
      d = std::min({d, h.aorta.sd(q), h.pa.sd(q)});
      for (const Vessel& v : h.vessels)
        if (v.lumen != kAir) d = std::min(d, v.tube.sd(q));
      const Vec3 w = h.world_point(q);
      if (w.z > b.diaphragm_z(w.x, w.y) - 25)
        d = std::min(d, std::hypot(w.x - b.oesophagus.x, w.y - b.oesophagus.y) - b.oesophagus_radius);
      gap = std::min(gap, d - a.radius_at(s, t));
    }
  }
  return gap;
}

// The trachea down to the carina and the two main bronchi with their first branches into the
// lungs. The carina lies a little above the pulmonary bifurcation, behind it and under the
// arch. Where the drawn height would make the airway touch a vessel, chamber or the
// oesophagus, heights within 8 mm of it are tried, then higher ones up to the arch; at each,
// each bronchus tries angles within 10 degrees of its drawn one, four backward bends and
// lengths down to 65 %. The first height that clears everything by 0.5 mm wins, else the one
// that comes closest.
void grow_airway(CaseSpec& c, Random& rng) {
  Heart& h = c.heart;
  const Body& b = c.body;
  double r_t = b.trachea_radius;
  const double w_t = b.trachea_wall;
  // Main bronchi: the right one wider, shorter and steeper (about 2 and 5 cm long, Gray's);
  // angles from the trachea's axis, their sum the carina's angle (60.8 +/- 11.8 degrees,
  // Haskin & Goodman 1982).
  double r_r = r_t * rng.uniform(0.7, 0.85), r_l = r_t * rng.uniform(0.6, 0.75);
  const double len_r = rng.uniform(18, 26), len_l = rng.uniform(38, 50);
  const double a_r0 = rng.uniform(18, 28), a_l0 = rng.uniform(28, 42);
  const double w_b = w_t * 0.8;
  const double bif_z = h.world_point(h.pa.points.back()).z;
  const double dz0 = rng.uniform(4, 10);
  const double deg = M_PI / 180;
  double into_lung = 12;  // mm of each bronchus's first branch drawn into the lung
  auto bronchus = [&](const Vec3& carina, double side, double angle, double back, double len) {
    const Vec3 dir = world_dir(side * std::sin(angle * deg), -back, -std::cos(angle * deg));
    const Vec3 p1 = carina + dir * len;
    // Into the lung: the bronchus intermedius down, out and back behind the LA; the left
    // lower lobe's bronchus out and a little forward, clear of the descending aorta.
    const Vec3 p2 = p1 + (side > 0 ? world_dir(1.0, -0.5, -0.8) : world_dir(-1.0, 0.3, -0.8)) * into_lung;
    return std::array<Vec3, 3>{carina, p1, p2};
  };
  auto trachea_gap = [&](const Vec3& carina, double r) {
    return airway_gap(c, frame_tube(h, {carina + kUp * 120.0, carina}, {r, r}, w_t));
  };
  auto bronchus_gap = [&](const std::array<Vec3, 3>& p, double r) {
    return airway_gap(c, frame_tube(h, {p[0], p[1], p[2]}, {r, r, r * 0.75}, w_b));
  };
  struct Choice {
    double gap = -1e30;
    double z = 0, a_r = 0, a_l = 0, back_r = 0, back_l = 0, len_r = 0, len_l = 0;
  } best;
  std::vector<double> dzs = {0};
  for (double dz = 2; dz <= 8; dz += 2) {
    dzs.push_back(dz);
    dzs.push_back(-dz);
  }
  for (double dz = 10; dz <= 40; dz += 2) dzs.push_back(dz);
  // Never above where the arch begins: the carina lies under the arch.
  const double arch_start = h.world_point(h.aorta.points[kArchStart]).z;
  for (const double dz : dzs) {
    if (bif_z + dz0 + dz > arch_start) continue;
    const Vec3 carina{b.trachea.x, b.trachea.y, bif_z + dz0 + dz};
    const double gt = trachea_gap(carina, r_t);
    Choice ch;
    ch.z = carina.z;
    double g_r = -1e30, g_l = -1e30;
    for (const double shorter : {1.0, 0.8, 0.65})
      for (const double back : {0.1, 0.25, 0.4, 0.55})
        for (const double da : {0.0, 5.0, -5.0, 10.0, -10.0}) {
          const double back_l = back - 0.45;  // the left one passes in front of the descending aorta
          if (g_r < 0.5) {
            const double g = bronchus_gap(bronchus(carina, 1, a_r0 + da, back, len_r * shorter), r_r);
            if (g > g_r) g_r = g, ch.a_r = a_r0 + da, ch.back_r = back, ch.len_r = len_r * shorter;
          }
          if (g_l < 0.5) {
            const double g = bronchus_gap(bronchus(carina, -1, a_l0 - da, back_l, len_l * shorter), r_l);
            if (g > g_l) g_l = g, ch.a_l = a_l0 - da, ch.back_l = back_l, ch.len_l = len_l * shorter;
          }
        }
    ch.gap = std::min({gt, g_r, g_l});
    if (ch.gap > best.gap) best = ch;
    if (best.gap >= 0.5) break;
  }
  const Vec3 carina{b.trachea.x, b.trachea.y, best.z};
  // Where the airway still touches a neighbour it is narrower by the overlap (at most by a
  // third), as an airway pressed by a vessel is; a bronchus's branch into the lung that still
  // touches one is left out.
  auto narrow = [&](double g, double& r) {
    if (g < 0.5) r = std::max(r * 2 / 3, r - (0.5 - g));
  };
  narrow(trachea_gap(carina, r_t), r_t);
  auto right = [&] { return bronchus(carina, 1, best.a_r, best.back_r, best.len_r); };
  auto left = [&] { return bronchus(carina, -1, best.a_l, best.back_l, best.len_l); };
  narrow(bronchus_gap(right(), r_r), r_r);
  narrow(bronchus_gap(left(), r_l), r_l);
  if (std::min(bronchus_gap(right(), r_r), bronchus_gap(left(), r_l)) < 0.5) into_lung = 1;
  const auto rb = right(), lb = left();
  auto add = [&](const std::vector<Vec3>& world, const std::vector<double>& lumen, double wall, bool mediastinal) {
    Vessel v = make_vessel(h, world, lumen, wall, kPoolCount, 0, 0, kPoolCount, mediastinal);
    v.lumen = kAir;
    h.vessels.push_back(v);
  };
  add({carina + kUp * 400.0, carina}, {r_t, r_t}, w_t, true);
  add({rb[0], rb[1]}, {r_r, r_r}, w_b, true);
  add({rb[1], rb[2]}, {r_r, r_r * 0.75}, w_b, false);
  add({lb[0], lb[1]}, {r_l, r_l}, w_b, true);
  add({lb[1], lb[2]}, {r_l, r_l * 0.75}, w_b, false);
  c.facts.trachea_diameter = 2 * r_t;
  c.facts.carina_angle = best.a_r + best.a_l;
}

// The airway is placed round the vessels, veins included, but where no placement clears them
// all a bronchus may still touch a pulmonary vein: that vein is placed again (place_vein,
// from where it is) with the airway on its list. So is a vein that overlaps another vessel
// once the LA has been fitted to its volume (fit_volumes shrinks it by as much as the
// vestibule adds, lengthening the veins' stretch outside it), if the new course is clearer.
// Then the airway's and the veins' clearances.
void settle_veins(CaseSpec& c) {
  Heart& h = c.heart;
  std::vector<const Tube*> airway;
  for (const Vessel& v : h.vessels)
    if (v.lumen == kAir) airway.push_back(&v.tube);
  for (VeinDraw& d : h.vein_draws) {
    const Vessel& vein = h.vessels[d.vessel];
    const std::vector<Vec3> course = world_course(h, vein.tube);
    std::vector<const Tube*> avoid = blood_tubes(h, &vein);
    const bool airway_clear = std::all_of(airway.begin(), airway.end(), [&](const Tube* a) {
      return narrowest_gap(h, course, vein.tube.radii[0], *a, &h.la).gap >= 0.5;
    });
    const double before = narrowest_of(h, course, vein.tube.radii[0], avoid, &h.la);
    if (airway_clear && before >= 0) continue;
    avoid.insert(avoid.end(), airway.begin(), airway.end());
    const VeinDraw was = d;
    Vessel moved = place_vein(h, d, vein.tube.radii[0] - vein.wall, avoid);
    if (airway_clear && narrowest_of(h, world_course(h, moved.tube), moved.tube.radii[0], avoid, &h.la) <= before) {
      d = was;
      continue;
    }
    h.vessels[d.vessel] = moved;
  }
  double gap = 1e30;
  for (const Tube* a : airway) gap = std::min(gap, airway_gap(c, *a));
  c.facts.airway_clearance = gap;
  c.facts.vein_clearance = 1e30;
  for (const VeinDraw& d : h.vein_draws) {
    const Vessel& vein = h.vessels[d.vessel];
    const std::vector<Vec3> course = world_course(h, vein.tube);
    std::vector<const Tube*> others = {&h.aorta, &h.pa};
    for (const Vessel& other : h.vessels)
      if (other.pool != kPV) others.push_back(&other.tube);
    c.facts.vein_clearance = std::min(c.facts.vein_clearance, narrowest_of(h, course, vein.tube.radii[0], others, &h.la));
  }
}

// Generation 1's heart often reached through the sternum into the chest wall's muscle and
// fat (its shapes are classified first): in 15 of 40 cases by up to 12 mm. The chest grows
// deeper in front until the heart lies behind the sternum and the muscle with a small
// retrosternal gap; the lungs grow forward with it and the back stays as it was.
void fit_chest_to_heart(CaseSpec& c) {
  Heart& h = c.heart;
  Body& b = c.body;
  // The retrosternal gap, 1-4 mm, from a stream of its own (the other draws stay as they were).
  Random own(c.noise_key ^ 0xc4e57ull);
  const double gap = own.uniform(1, 4);
  Vec3 lo, hi;
  heart_extent(h, lo, hi);
  // How far (mm) the heart reaches in front of where it may: over columns along y every 3 mm
  // in x and z, the first heart point from the front against the wall's inner depth there.
  auto reach = [&] {
    double worst = 0;
    for (double x = lo.x - 20; x <= hi.x + 20; x += 3)
      for (double z = lo.z - 10; z <= hi.z + 10; z += 3) {
        const bool sternum = std::fabs(x - b.sternum_x) < b.sternum_half_width && z > b.xiphoid_z;
        const double inner = b.fat + b.muscle + (sternum ? b.sternum_thickness : 0) + gap;
        for (double y = b.by; y > lo.y; y -= 1) {
          Voxel v;
          double sd = 0, rho = 0;
          const Vec3 p{x, y, z};
          const double depth = b.depth(p, rho);
          if (rho > 1.0) continue;
          if (depth > inner + 1) break;  // behind the wall: nothing of the heart came first
          if (h.classify(h.to_heart(p), v, sd, false)) {
            worst = std::max(worst, inner - depth);
            break;
          }
        }
      }
    return worst;
  };
  double deeper = 0;
  for (int i = 0; i < 4; ++i) {
    const double more = reach();
    if (more <= 0.25) break;
    b.by += more;
    b.lung_y += 0.5 * more;
    b.lung_semi_y += 0.5 * more;
    deeper += more;
  }
  c.facts.chest_deeper += deeper;
}

// The RV's volume outside the LV's outline (ml): its ellipsoid, myocardium and wall included,
// on a 2 mm grid.
double rv_outside_lv_ml(const Heart& h) {
  const Ellipsoid& e = h.rv;
  constexpr double kStep = 2.0;
  int64_t n = 0;
  for (double z = -e.semi.z; z <= e.semi.z; z += kStep)
    for (double y = -e.semi.y; y <= e.semi.y; y += kStep)
      for (double x = -e.semi.x; x <= e.semi.x; x += kStep) {
        const Vec3 q = e.center + Vec3{x, y, z};
        if (e.sd(q) < 0 && h.lv_outer.sd(q) > 0) ++n;
      }
  return static_cast<double>(n) * kStep * kStep * kStep / 1000.0;
}

// Generation 1's LV cavity is a half-ellipsoid only 2.1-2.5 times as long as its radius: on
// seed 7's first 12 quick cases 61.5-76.7 mm from the mitral orifice's centre to the apex and
// 55-61 mm across a third of the way down, where hearts measure 42-58 mm across (LVIDd, men;
// Lang et al. 2015) at the same volumes, so longer. Generation 2 makes it `narrow` as wide
// and 1 / narrow^2 as long (the same cavity volume), with the wall thickness that keeps the
// myocardium's volume. The RV and the LA move with the outline, the seated aortic root with
// it, and the RV's apical end 1 / narrow as far from the base plane (its top stays under the
// outflow tract): the RV's cavity, 50-82 mm from the tricuspid orifice to its apex before,
// measures 57-89 (mean 71; hearts 71 +/- 6, Lang 2015) on seed 7's 40 quick cases, and
// 63-96 (mean 78) had it grown with the LV. The RA stays: moved too, it met the LA across the
// atrial septum on up to 62 voxel faces (seed 11's eight; 27 before).
void elongate_lv(Heart& h, double narrow) {
  const Ellipsoid cav = h.lv_cavity, out = h.lv_outer;
  const double a = cav.semi.x, b = cav.semi.y, lc = cav.semi.z;
  const double t = out.semi.x - a;
  const double a2 = a * narrow, b2 = b * narrow, lc2 = lc / (narrow * narrow);
  const double t2 = lv_wall_for(a2, b2, lc2, lv_myocardium_ml(a, b, lc, t), 0.5 * t, 2.0 * t);
  h.lv_cavity.semi = {a2, b2, lc2};
  h.lv_outer.semi = {a2 + t2, b2 + t2, lc2 + 0.9 * t2};
  const double shift = (a2 + t2) - (a + t);  // how far the outline moved along u
  h.rv.center.x += shift;
  h.rv.semi.y += shift;
  h.la.center.y += (b2 + t2) - (b + t);  // and along v
  // The aortic root keeps its place at the front of the base, against the narrower outline.
  for (size_t i = 0; i < 2; ++i) {
    h.aorta.points[i].x *= (a2 + t2) / (a + t);
    h.aorta.points[i].y *= (b2 + t2) / (b + t);
  }
  const double top = h.rv.center.z - h.rv.semi.z;
  const double bottom = (h.rv.center.z + h.rv.semi.z) * std::sqrt(lc2 / lc);
  h.rv.center.z = 0.5 * (top + bottom);
  h.rv.semi.z = 0.5 * (bottom - top);
}

// Generation 1's RV is a thin crescent: it bulges 10-22 mm past the LV's outline and wraps
// far round it, so toward the tricuspid orifice its cavity measured 21-35 mm across at the
// base and 13-22 mm halfway to its apex (seed 7's first 12 cases), where hearts measure 33 +/-
// 4 and 27 +/- 4 (Lang et al. 2015). Generation 2 lets it bulge 50 % farther from the septum
// and wrap less, at the same volume outside the LV (the volumes are fitted again later).
void widen_rv(Heart& h) {
  constexpr double kBulge = 1.5;
  const double before = rv_outside_lv_ml(h);
  h.rv.semi.x *= kBulge;
  const double semi_y = h.rv.semi.y;
  double lo = 0.3, hi = 1.2;
  for (int i = 0; i < 16; ++i) {
    const double m = 0.5 * (lo + hi);
    h.rv.semi.y = semi_y * m;
    (rv_outside_lv_ml(h) < before ? lo : hi) = m;
  }
  h.rv.semi.y = semi_y * 0.5 * (lo + hi);
}

// Generation 1 hung the LA low behind the ventricles: its top lay at the aortic valve's height
// (-7 to +14 mm above the LV/ASA interface's centre, median 1, on seed 7's 40 quick CT cases;
// scripts/label-anatomy.py), where in hearts an axial slice through the ascending aorta and
// the pulmonary valve still cuts both atria (multidetector CT anatomy, RadioGraphics
// 2007;27:829, its figure 1) and the heart's upper border, atria and the LA's appendage,
// reaches the second left intercostal space while the aortic valve lies behind the third
// (Gray's). Generation 2 lifts the LA 10-16 mm, before its veins and appendage are grown from
// it, but keeps the top of its ellipsoid 12 mm below the pulmonary bifurcation: the right
// pulmonary artery passes over the LA's roof.
void raise_la(CaseSpec& c) {
  Heart& h = c.heart;
  Random rng(c.noise_key ^ 0xa7e1a5ull);  // a stream of its own: the other draws stay as they were
  const Vec3 up = h.frame_dir(world_dir(0, 0, 1));
  const Ellipsoid& la = h.la;
  const double top = h.world_point(la.center).z + std::sqrt(std::pow(la.semi.x * up.x, 2) +
                                                            std::pow(la.semi.y * up.y, 2) +
                                                            std::pow(la.semi.z * up.z, 2));
  const double room = h.world_point(h.pa.points.back()).z - 12 - top;
  h.la.center = h.la.center + up * std::clamp(rng.uniform(10, 16), 0.0, std::max(room, 0.0));
}

}  // namespace

void grow_anatomy(CaseSpec& c, Random& rng) {
  Heart& h = c.heart;
  place_oesophagus_and_trachea(c, rng);
  seat_aortic_root(c);
  elongate_lv(h, 0.9);  // after the root is seated, which moves with the LV's outline
  widen_rv(h);
  grow_aorta_and_branches(c, rng);
  grow_pulmonary_arteries(c, rng);
  raise_la(c);  // after the pulmonary arteries, whose bifurcation caps it
  narrow_aortic_annulus(c);
  grow_veins_and_appendages(c, rng);
  grow_bundles(h, rng);
  grow_body(c, rng);
  open_atrioventricular_orifices(c);
  // The wider vessels carve more of the atria and the RV than generation 1's did, and the
  // LA's vestibule adds to it.
  fit_volumes(h, /*fit_vessels=*/false);
  grow_airway(c, rng);
  settle_veins(c);
  fit_chest_to_heart(c);
}

void draw_contrast(CaseSpec& c, PhantomPreset preset, Random& rng) {
  Appearance& a = c.look;
  auto& v = a.value;
  auto& level = a.pool_level;
  const Heart& h = c.heart;
  const Vec3 ra = h.world_point(h.ra.center);
  const double ra_half = std::min({h.ra.semi.x, h.ra.semi.y, h.ra.semi.z});
  if (c.modality == Modality::kCT) {
    const double myo = v[kMyo];
    double left = 0, right = 0, svc = 0, ivc = 0, cs = 0;
    const double u = rng.uniform();
    if (u < 0.5) {  // arterial (CTA): bright left heart; the saline chaser washes the right side out
      c.facts.phase = "arterial";
      left = rng.uniform(300, 550);
      right = std::max(left * rng.uniform(0.5, 0.9), myo + 100);
      svc = rng.chance(0.6) ? rng.uniform(700, 1800) : right + rng.uniform(0, 250);
      ivc = rng.uniform(60, 140);
      cs = rng.uniform(std::min(120.0, right), right);
      v[kLiver] = rng.uniform(60, 90);
    } else if (u < 0.7) {  // pulmonary (early): bright right heart and SVC, a darker left side
      c.facts.phase = "pulmonary";
      right = rng.uniform(300, 500);
      left = std::max(rng.uniform(130, 240), myo + 70);
      svc = rng.uniform(500, 1500);
      ivc = rng.uniform(50, 120);
      cs = rng.uniform(80, 160);
      v[kLiver] = rng.uniform(50, 75);
    } else {  // venous (equilibrium): every pool alike
      c.facts.phase = "venous";
      left = std::max(rng.uniform(150, 280), myo + 70);
      right = left + rng.uniform(-30, 30);
      svc = right + rng.uniform(-20, 40);
      ivc = right * rng.uniform(0.75, 1.0);
      cs = right;
      v[kLiver] = rng.uniform(95, 130);
    }
    v[kCartilage] = rng.uniform(90, 200);
    for (const Pool p : {kLVC, kAO, kLA, kPV, kDescending}) level[p] = left + rng.uniform(-12, 12);
    for (const Pool p : {kRA, kRV, kPA}) level[p] = right + rng.uniform(-12, 12);
    level[kSVC] = svc;
    level[kIVC] = ivc;
    level[kCS] = cs;
    // Unopacified blood from the IVC swirling into the RA; dense contrast from the SVC.
    const double mixing = c.facts.phase == "venous" ? rng.uniform(0.1, 0.3) : rng.uniform(0.25, 0.6);
    a.jets.push_back({ra + kUp * (-0.7 * ra_half), rng.uniform(8, 14), mixing, kIVC,
                      random_wave(rng, 15, 30), rng.uniform(0, 2 * M_PI)});
    if (svc > right + 150)
      a.jets.push_back({ra + kUp * (0.7 * ra_half), rng.uniform(8, 14), rng.uniform(0.15, 0.4), kSVC,
                        random_wave(rng, 15, 30), rng.uniform(0, 2 * M_PI)});
    // Streaks beside dense contrast in the SVC.
    if (svc > 900) {
      const Vessel& s = *std::find_if(h.vessels.begin(), h.vessels.end(), [](const Vessel& ves) { return ves.pool == kSVC; });
      Streaks& st = a.streaks;
      st.bottom = h.world_point(s.tube.points[1]);
      st.top = h.world_point(s.tube.points[2]);
      st.radius = s.tube.radii[1];
      st.z_lo = st.bottom.z - 20;
      st.z_hi = st.top.z;
      const int n = static_cast<int>(rng.integer(6, 10));
      for (int i = 0; i < n; ++i) {
        st.angle.push_back(rng.uniform(0, 2 * M_PI));
        st.amplitude.push_back((i % 2 ? -1 : 1) * (svc - 300) * rng.uniform(0.06, 0.15));
      }
      st.width = rng.uniform(0.01, 0.03);
      st.fade = rng.uniform(8, 20);
    }
    a.noise_grain = rng.uniform(0.6, 1.3);
    a.blur_mm = preset == PhantomPreset::kFull ? rng.uniform(0.4, 0.9) : rng.uniform(0.8, 1.5);
    // The heart moves while it is scanned: a chest CT without ECG gating blurs its edges, and
    // a gated one keeps some of that in a third of cases (drawn from its own stream, so that
    // the rest of the case is as before). One direction per case; the blur is the image's
    // only: a label map is drawn at the heart's mean position.
    Random motion(c.noise_key ^ 0x30710eull);
    if (motion.uniform(0, 1) < 1.0 / 3.0) {
      a.motion_mm = motion.uniform(0.8, 2.0);
      a.motion_dir = unit_vector(motion);
      c.facts.motion_blur_mm = a.motion_mm;
    }
  } else {
    // Bright-blood SSFP: every pool bright (inflow, not contrast), the venous ones a little less.
    c.facts.phase = "ssfp";
    const double blood = v[kBlood];
    for (const Pool p : {kLVC, kAO, kLA, kPV, kDescending}) level[p] = blood * rng.uniform(0.95, 1.05);
    for (const Pool p : {kRA, kRV, kPA}) level[p] = blood * rng.uniform(0.88, 1.0);
    for (const Pool p : {kSVC, kIVC, kCS}) level[p] = blood * rng.uniform(0.75, 0.95);
    v[kLiver] = rng.uniform(150, 220);
    v[kCartilage] = rng.uniform(80, 140);
    a.coil_falloff = rng.uniform(70, 140);
    a.slice_blur = rng.uniform(0.3, 0.5) * c.grid.spacing[2];
  }
}

bool classify_neighbours(const CaseSpec& c, const Vec3& p, double depth, Voxel& out) {
  const Body& b = c.body;
  const double inner = b.fat + b.muscle;
  if (p.y > 0 && p.z > b.xiphoid_z && std::fabs(p.x - b.sternum_x) < b.sternum_half_width && depth >= inner &&
      depth < inner + b.sternum_thickness) {
    const double edge = std::min({depth - inner, inner + b.sternum_thickness - depth,
                                  b.sternum_half_width - std::fabs(p.x - b.sternum_x), p.z - b.xiphoid_z});
    out = {edge < 1.5 ? kCortical : kMarrow, kPoolCount, 0};
    return true;
  }
  const double de = std::hypot(p.x - b.oesophagus.x, p.y - b.oesophagus.y);
  if (de < b.oesophagus_radius && p.z > b.diaphragm_z(p.x, p.y) - 25) {
    out = {de < b.oesophagus_air ? kAir : kMuscle, kPoolCount, 0};
    return true;
  }
  return false;
}

double intensity(const CaseSpec& c, const Voxel& vox, const Vec3& p) {
  const Appearance& a = c.look;
  double value = a.value[vox.tissue];
  if (vox.tissue == kBlood && vox.pool < kPoolCount) {
    value = a.pool_level[vox.pool];
    if (vox.pool == kRA)
      for (const Jet& j : a.jets) {
        const Vec3 d = p - j.at;
        const double m = std::exp(-d.dot(d) / (2 * j.sigma * j.sigma)) * j.strength *
                         (0.5 + 0.5 * std::sin(j.freq.dot(p) + j.phase));
        value += (a.pool_level[j.from] - value) * m;
      }
  }
  // The valves: the semilunar valves' cusps, closed across the roots where the ventricles'
  // blood meets the arteries'; the atrioventricular valves' leaflets, closed across their
  // orifices or hanging open into the ventricles.
  if (vox.tissue == kBlood) {
    const Heart& h = c.heart;
    const Heart::Valve* valves[2] = {nullptr, nullptr};
    switch (vox.pool) {
      case kLVC: valves[0] = &h.aortic_valve, valves[1] = &h.mitral_valve; break;
      case kAO: valves[0] = &h.aortic_valve; break;
      case kLA: valves[0] = &h.mitral_valve; break;
      case kRV: valves[0] = &h.pulmonary_valve, valves[1] = &h.tricuspid_valve; break;
      case kPA: valves[0] = &h.pulmonary_valve; break;
      case kRA: valves[0] = &h.tricuspid_valve; break;
      default: break;
    }
    double f = 0;
    for (const Heart::Valve* valve : valves) {
      if (!valve || !(valve->closed || valve->hanging)) continue;
      const Vec3 d = p - valve->centre_world;
      // The deformation moves points by a few mm at most.
      const double near = valve->radius + (valve->hanging ? valve->length : 0.0) + 10;
      if (d.dot(d) < near * near) f = std::max(f, valve->fraction(h.to_heart(p)));
    }
    if (f > 0) value += (a.value[kWall] - value) * f;
  }
  // The small vessels drawn over unlabelled tissue, with their partial volume: the lungs'
  // vessels, and the coronary arteries in the fat round the heart (or the lung beside it).
  if (takes_overlay(vox.tissue)) {
    Pool pool = kPA;
    double f = vox.tissue == kLung ? c.body.lung_vessels.fraction(p, pool) : 0.0;
    Pool coronary = kAO;
    const double fc = c.heart.coronaries.fraction(p, coronary);
    if (fc > f) f = fc, pool = coronary;
    if (f > 0) value += (a.pool_level[pool] - value) * f;
  }
  const Streaks& st = a.streaks;
  if (!st.angle.empty() && vox.tissue != kAir && p.z > st.z_lo && p.z < st.z_hi) {
    const double t = std::clamp((p.z - st.bottom.z) / (st.top.z - st.bottom.z), 0.0, 1.0);
    const Vec3 axis = st.bottom + (st.top - st.bottom) * t;
    const double dx = p.x - axis.x, dy = p.y - axis.y, r = std::hypot(dx, dy);
    if (r > st.radius && r < st.radius + 7 * st.fade) {
      const double theta = std::atan2(dy, dx), fade = std::exp(-(r - st.radius) / st.fade);
      for (size_t i = 0; i < st.angle.size(); ++i) {
        const double d = std::remainder(theta - st.angle[i], 2 * M_PI);
        value += st.amplitude[i] * fade * std::exp(-d * d / (2 * st.width * st.width));
      }
    }
  }
  return value;
}

}  // namespace coordseg::phantom_model
