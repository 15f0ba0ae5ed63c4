#include "coordseg/core/phantom.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <limits>
#include <map>
#include <set>

#include "coordseg/core/atomic_file.h"
#include "coordseg/core/components.h"
#include "coordseg/core/error.h"
#include "coordseg/core/labels.h"
#include "coordseg/core/names.h"
#include "coordseg/core/nifti.h"
#include "coordseg/core/parallel.h"
#include "coordseg/core/random.h"
#include "coordseg/core/settings.h"
#include "coordseg/core/stopwatch.h"
#include "phantom_model.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace phantom_model {

bool Heart::classify(const Vec3& q, Voxel& out, double& sd, bool with_vessels) const {
  const double lvc = std::max(lv_cavity.sd(q), -q.z);
  if (lvc < 0) {
    for (const Bundle& b : lv_bundles)
      if (b.sd(q) < 0) return out = {kMyo, kPoolCount, 500}, true;
    return out = {kBlood, kLVC, 500}, true;
  }
  const double lvo = lv_sd(q);
  if (lvo < 0) {
    // Generation 2's aortic root stands at the front of the LV's base, partly over the
    // myocardium: the outflow tract under it, the root's lumen continued below the valve
    // plane, is the LV's blood, so that the whole annulus opens into the LV; the septum keeps
    // kOutflowRim mm of myocardium between it and the RV.
    if (generation >= 2 && aorta.sd(q) < -wall && lv_outer.sd(q) < -kOutflowRim) return out = {kBlood, kLVC, 500}, true;
    return out = {kMyo, kPoolCount, 205}, true;
  }
  double aorta_arc = 0;
  // Generation 2: the LA reaches down through its vestibule to the mitral orifice.
  const double vestibule_sd = mitral.radius > 0 && q.z < 0 ? vestibule.sd(q) : Tube::kFar;
  const double pool_sd[5] = {aorta.sd(q, generation >= 2 ? &aorta_arc : nullptr), pa.sd(q),
                             std::min(la.sd(q), vestibule_sd), ra_sd(q), rv.sd(q)};
  const Pool pools[5] = {kAO, kPA, kLA, kRA, kRV};
  for (int i = 0; i < 5; ++i) {
    // Generation 2's tricuspid orifice, a channel from the RA's blood through both walls into
    // the RV's, below the LV, the great arteries and the LA in precedence; its wall where
    // neither chamber's blood is.
    if (i == 3 && tricuspid.radius > 0) {
      const int where = in_tricuspid(q);
      if (where == 1) return out = {kBlood, kRA, 550}, true;
      if (where == 2) return out = {kBlood, kRV, 600}, true;
      if (where == 3 && pool_sd[3] > -wall && pool_sd[4] > -rv_wall) return out = {kWall, kPoolCount, 0}, true;
    }
    // The valve plane's fibrous ring: a layer of tissue over the LV base, below the aorta
    // in precedence, so that only the aorta (and in generation 2 the LA, through the mitral
    // orifice) opens into the LV cavity.
    if (i == 1 && in_ring(q) && !(vestibule_sd < -wall && in_mitral_ring(q)))
      return out = {kWall, kPoolCount, 0}, true;
    if (pool_sd[i] < 0) {
      const double thickness = pools[i] == kRV ? rv_wall : wall;
      int32_t label = kPoolLabel[pools[i]];
      if (pools[i] == kAO && aorta_arc > aorta_labelled) label = 0;
      // Below the pulmonary valve's plane the trunk's tube lies in the RV's outflow tract.
      const bool below_pa_valve = pools[i] == kPA && generation >= 2 && (q - pa_valve).dot(pa_axis) < 0;
      // Above it the trunk keeps its wall where it passes over the LV's anterior base: the
      // LV's myocardium takes precedence over the trunk's tube, and without this its lumen
      // would lie on the myocardium with no wall between (PUA on MLV in 13 of seed 7's 40
      // quick CT cases, up to 121 voxel faces), which hearts and real label maps do not show.
      if (pools[i] == kPA && generation >= 2 && !below_pa_valve && lvo < wall) return out = {kWall, kPoolCount, 0}, true;
      if (pool_sd[i] < -thickness) {
        if (pools[i] == kRV)
          for (const Bundle& b : rv_bundles)
            if (b.sd(q) < 0) return out = {kMyo, kPoolCount, 600}, true;
        if (below_pa_valve) return out = {kBlood, kRV, 600}, true;
        return out = {kBlood, static_cast<uint8_t>(pools[i]), label}, true;
      }
      // A vessel that opens into this chamber (or vessel) has no wall across its mouth; nor
      // has the RV's outflow tract where it runs into the trunk's tube below the valve.
      // Generation 2's LA keeps its wall inside the RV's outline, where an appendage that
      // runs into the RV would otherwise open the LA's blood onto the RV's (seed 11's case
      // 1006: 25 faces with the valve-sized mitral orifice, 68 with its wider vestibule).
      const bool keeps_wall = generation >= 2 && pools[i] == kLA && pool_sd[4] < 0;
      for (const Vessel& ves : vessels) {
        if (ves.opens_into == pools[i] && ves.tube.sd(q) < -ves.wall && !keeps_wall)
          return out = {kBlood, static_cast<uint8_t>(pools[i]), label}, true;
        if (below_pa_valve && ves.opens_below_valve == kPA && ves.tube.sd(q) < -ves.wall)
          return out = {kBlood, kRV, 600}, true;
      }
      return out = {kWall, kPoolCount, 0}, true;
    }
  }
  sd = std::min({lvo, pool_sd[0], pool_sd[1], pool_sd[2], pool_sd[3], pool_sd[4]});
  if (!with_vessels) return false;
  for (const Vessel& ves : vessels) {
    // Outside its box a vessel is farther than Vessel::kMargin: too far to matter to anyone.
    if (ves.tube.outside_box(q)) continue;
    double arc = 0;
    const double d = ves.tube.sd(q, &arc);
    if (d < 0) {
      // The pulmonary arteries' labelled first part keeps its wall over the LV, as the trunk does.
      const bool on_lv = ves.pool == kPA && generation >= 2 && lvo < ves.wall;
      if (d < -ves.wall && !on_lv) return out = {ves.lumen, static_cast<uint8_t>(ves.pool), arc <= ves.labelled ? ves.label : 0}, true;
      // The airway's tubes open into each other: no wall across the carina.
      if (ves.lumen == kAir)
        for (const Vessel& other : vessels)
          if (other.lumen == kAir && &other != &ves && other.tube.sd(q) < -other.wall)
            return out = {kAir, kPoolCount, 0}, true;
      return out = {kWall, kPoolCount, 0}, true;
    }
    if (ves.mediastinal) sd = std::min(sd, d);
  }
  return false;
}

// Rotates `dir` by a random angle up to `max_deg` about a random axis perpendicular to it.
Vec3 perturb(const Vec3& dir, double max_deg, Random& rng) {
  Vec3 axis = dir.cross(unit_vector(rng));
  axis = axis.unit();
  const double a = rng.uniform(0, max_deg) * M_PI / 180.0;
  return (dir * std::cos(a) + axis.cross(dir) * std::sin(a)).unit();
}

// Blood volume (ml) of each pool, and of the myocardium, by counting a 2 mm grid in the
// heart frame (without the deformation, which changes volumes by a few percent at most).
struct HeartVolumes {
  std::array<double, kPoolCount> pool{};
  double myo = 0;
};

HeartVolumes measure(const Heart& h, double step) {
  Box box;
  for (const Ellipsoid* e : {&h.lv_outer, &h.la, &h.ra, &h.rv}) box.add(e->center, std::max({e->semi.x, e->semi.y, e->semi.z}));
  for (const Tube* t : {&h.aorta, &h.pa})
    for (size_t i = 0; i < h.chamber_points(*t); ++i) box.add(t->points[i], t->radii.empty() ? t->radius : t->radii[i]);
  const Vec3 &lo = box.lo, &hi = box.hi;
  HeartVolumes v;
  Voxel vox;
  double sd;
  for (double z = lo.z; z <= hi.z; z += step)
    for (double y = lo.y; y <= hi.y; y += step)
      for (double x = lo.x; x <= hi.x; x += step)
        if (h.classify({x, y, z}, vox, sd, /*with_vessels=*/false)) {
          if (vox.pool < kPoolCount) v.pool[vox.pool] += 1;
          else if (vox.label == 205) v.myo += 1;
        }
  const double ml = step * step * step / 1000.0;
  for (auto& p : v.pool) p *= ml;
  v.myo *= ml;
  return v;
}

void fit_volumes(Heart& h, bool fit_vessels) {
  // Each pool carves its lower-precedence neighbours, so measure and rescale a few times
  // (generation 2 starts from generation 1's fit: twice, on a coarser grid, is enough).
  const bool first = h.generation < 2;
  for (int iter = 0; iter < (first ? 4 : 2); ++iter) {
    const HeartVolumes got = measure(h, first ? 2.0 : 2.5);
    for (auto [e, pool] : {std::pair{&h.la, kLA}, std::pair{&h.ra, kRA}, std::pair{&h.rv, kRV}}) {
      const double f = std::cbrt(h.target_ml[pool] / std::max(got.pool[pool], 1.0));
      e->semi = e->semi * std::clamp(f, 0.7, 1.4);
    }
    if (!fit_vessels) continue;
    for (auto [tube, pool] : {std::pair{&h.aorta, kAO}, std::pair{&h.pa, kPA}}) {
      const double r_blood = tube->radius - h.wall;
      const double f = std::sqrt(h.target_ml[pool] / std::max(got.pool[pool], 1.0));
      tube->radius = std::clamp(h.wall + r_blood * std::clamp(f, 0.7, 1.4), 9.0, 17.0);
    }
  }
}

// The world-space bounding box of the heart's chambers and labelled vessels (generation 1:
// all its shapes), for the field of view.
void heart_extent(const Heart& h, Vec3& lo, Vec3& hi) {
  Box box;
  auto add = [&](const Vec3& q) { box.add(h.world_point(q)); };
  for (const Ellipsoid* e : {&h.lv_outer, &h.la, &h.ra, &h.rv})
    for (int s = -1; s <= 1; s += 2) {
      add(e->center + Vec3{s * e->semi.x, 0, 0});
      add(e->center + Vec3{0, s * e->semi.y, 0});
      add(e->center + Vec3{0, 0, s * e->semi.z});
    }
  for (const Tube* t : {&h.aorta, &h.pa})
    for (size_t i = 0; i < h.chamber_points(*t); ++i) {
      const double r = t->radii.empty() ? t->radius : t->radii[i];
      for (int s = -1; s <= 1; s += 2) add(t->points[i] + Vec3{s * r, s * r, s * r});
    }
  lo = box.lo;
  hi = box.hi;
}


}  // namespace phantom_model

namespace {
using namespace phantom_model;

Voxel classify(const CaseSpec& c, const Vec3& p);

Heart sample_heart(Random& rng) {
  Heart h;
  // Long axis toward the left-anterior-inferior apex (RAS+: left = -x, anterior = +y,
  // inferior = -z), within 15 degrees of the nominal direction.
  h.w = perturb(world_dir(-0.62, 0.45, -0.64), 15.0, rng);
  // u: right-anterior, orthogonal to w; v completes the frame and points posteriorly.
  const Vec3 ra = world_dir(0.75, 0.66, 0.0);
  h.u = (ra - h.w * ra.dot(h.w)).unit();
  h.v = h.w.cross(h.u);
  if (h.v.y > 0) h.v = h.v * -1.0;  // make v posterior (-y)

  // LV cavity: half a prolate ellipsoid of the drawn volume and proportions.
  const double lv_ml = rng.uniform(80, 150);
  const double k = rng.uniform(0.9, 1.0);          // cavity ellipticity
  const double ratio = rng.uniform(2.1, 2.5);      // length / radius
  const double a = std::cbrt(lv_ml * 1000.0 / (2.0 / 3.0 * M_PI * k * ratio));
  const double lc = ratio * a;
  // Myocardium: the wall thickness (8-12 mm) that gives the drawn volume, where it can.
  const double myo_ml = rng.uniform(100, 170);
  const double t = lv_wall_for(a, a * k, lc, myo_ml, 8.0, 12.0);
  h.lv_cavity = {{0, 0, 0}, {a, a * k, lc}};
  h.lv_outer = {{0, 0, 0}, {a + t, a * k + t, lc + 0.9 * t}};

  h.rv = {{a + t - rng.uniform(10, 16), rng.uniform(-9, -3), lc * rng.uniform(0.25, 0.35)},
          {rng.uniform(26, 32), a + t + rng.uniform(8, 14), lc * 0.7 + 8}};
  h.la = {{rng.uniform(-12, -4), a + rng.uniform(6, 12), -rng.uniform(20, 26)},
          {rng.uniform(27, 33), rng.uniform(19, 23), rng.uniform(21, 26)}};
  h.ra = {{a + t + rng.uniform(4, 10), a + rng.uniform(0, 6), -rng.uniform(18, 26)},
          {rng.uniform(23, 28), rng.uniform(20, 24), rng.uniform(25, 30)}};

  // Vessels: the ascending aorta leaves the LV outflow and rises; the pulmonary artery
  // leaves the RV outflow, anterior and left of the aorta, and turns posterior-left.
  const Vec3 up = h.frame_dir(world_dir(0, 0, 1));
  const Vec3 lb = h.frame_dir(world_dir(-0.7, -0.5, 0.5));
  h.aorta.radius = rng.uniform(11, 14);
  const Vec3 ao0{rng.uniform(4, 9), -rng.uniform(2, 6), 8};
  const Vec3 ao1 = ao0 + Vec3{0, -2, -rng.uniform(22, 28)};
  h.aorta.points = {ao0, ao1, ao1 + up * rng.uniform(40, 50)};
  h.pa.radius = rng.uniform(10, 13);
  const Vec3 pa0{a + t + rng.uniform(2, 8), -(a + rng.uniform(0, 4)), -2};
  const Vec3 pa1 = pa0 + Vec3{-6, -4, -rng.uniform(22, 28)};
  h.pa.points = {pa0, pa1, pa1 + lb * rng.uniform(30, 38)};

  // Scale the other pools to volumes drawn inside the plausible ranges.
  const double target[kGeneration1Pools] = {lv_ml, rng.uniform(26, 46), rng.uniform(26, 46), rng.uniform(52, 100),
                                            rng.uniform(55, 110), rng.uniform(90, 165), 0};
  std::copy(std::begin(target), std::end(target), h.target_ml.begin());
  fit_volumes(h, /*fit_vessels=*/true);

  h.fat = rng.uniform(2.5, 5.5);
  for (int i = 0; i < 3; ++i) {
    h.warp_dir[static_cast<size_t>(i)] = unit_vector(rng);
    h.warp_freq[static_cast<size_t>(i)] = random_wave(rng, 60, 120);
    h.warp_amp[static_cast<size_t>(i)] = rng.uniform(1.0, 3.0);
    h.warp_phase[static_cast<size_t>(i)] = rng.uniform(0, 2 * M_PI);
  }
  return h;
}

Appearance sample_look(Modality m, PhantomPreset preset, Random& rng) {
  Appearance a;
  auto& v = a.value;
  if (m == Modality::kCT) {
    v[kAir] = -1000;
    v[kLung] = rng.uniform(-880, -820);
    v[kFat] = rng.uniform(-120, -80);
    v[kSoft] = rng.uniform(30, 60);
    v[kMuscle] = rng.uniform(45, 70);
    v[kMyo] = rng.uniform(60, 150);
    v[kWall] = v[kMyo] * 0.5 + v[kSoft] * 0.5;
    v[kBlood] = rng.uniform(280, 470);
    v[kCortical] = rng.uniform(900, 1200);
    v[kMarrow] = rng.uniform(400, 550);
    v[kCsf] = rng.uniform(5, 20);
    for (auto& o : a.pool_offset) o = rng.uniform(-12, 12);
    a.noise = rng.uniform(8, 25);
    a.blur_mm = preset == PhantomPreset::kFull ? rng.uniform(0.45, 0.8) : rng.uniform(0.8, 1.3);
  } else {
    v[kAir] = rng.uniform(2, 8);
    v[kLung] = rng.uniform(20, 40);
    v[kFat] = rng.uniform(380, 460);
    v[kSoft] = rng.uniform(150, 200);
    v[kMuscle] = rng.uniform(110, 140);
    v[kMyo] = rng.uniform(90, 130);
    v[kWall] = v[kMyo] * 1.1;
    v[kBlood] = rng.uniform(480, 640);
    v[kCortical] = rng.uniform(20, 40);
    v[kMarrow] = rng.uniform(280, 360);
    v[kCsf] = rng.uniform(500, 600);
    for (auto& o : a.pool_offset) o = rng.uniform(-15, 15);
    a.noise = rng.uniform(10, 22);
    a.blur_mm = rng.uniform(1.0, 1.6);
    a.bias = rng.uniform(0.15, 0.35);
    for (int i = 0; i < 2; ++i) {
      a.bias_freq[static_cast<size_t>(i)] = random_wave(rng, 250, 450);
      a.bias_phase[static_cast<size_t>(i)] = rng.uniform(0, 2 * M_PI);
    }
  }
  return a;
}

CaseSpec sample_case(const PhantomOptions& o, int index) {
  Random rng(mix64(o.seed) ^ mix64(0x5eedull + static_cast<uint64_t>(index)));
  CaseSpec c;
  c.modality = o.modality;
  c.facts.id = phantom_case_id(o.modality, index);
  c.noise_key = rng.next();

  Body& b = c.body;
  b.bx = rng.uniform(135, 165);
  b.by = rng.uniform(105, 125);
  b.fat = rng.uniform(8, 22);
  b.muscle = rng.uniform(8, 14);
  b.rib_period = rng.uniform(24, 32);
  b.rib_thickness = rng.uniform(7, 10);
  b.rib_phase = rng.uniform(0, b.rib_period);
  b.spine = {rng.uniform(-4, 4), -b.by + rng.uniform(42, 50), 0};
  b.spine_radius = rng.uniform(15, 19);
  b.descending = {b.spine.x - rng.uniform(20, 28), b.spine.y + rng.uniform(18, 26), 0};
  b.descending_radius = rng.uniform(9, 12.5);
  b.lung_cx = b.bx * rng.uniform(0.42, 0.48);
  b.lung_semi_x = b.bx * rng.uniform(0.40, 0.46);
  b.lung_semi_y = b.by * rng.uniform(0.66, 0.74);
  b.lung_y = rng.uniform(-10, 0);

  Heart& h = c.heart;
  h = sample_heart(rng);
  h.base = {rng.uniform(-12, 0), rng.uniform(4, 16), 0};

  c.look = sample_look(o.modality, o.preset, rng);
  c.facts.blood_level = c.look.value[kBlood];

  // Grid: spacing, dims and voxel order as scanners vary them.
  Grid& g = c.grid;
  double sxy = 1, sz = 1;
  int nxy = 0, nz = 0;
  const bool ct = o.modality == Modality::kCT;
  if (o.preset == PhantomPreset::kQuick) {
    sxy = ct ? rng.uniform(1.6, 2.0) : rng.uniform(2.0, 2.4);
    sz = ct ? rng.uniform(1.6, 2.0) : rng.uniform(2.0, 2.4);
    nxy = ct ? static_cast<int>(rng.integer(112, 128)) : static_cast<int>(rng.integer(100, 112));
    nz = static_cast<int>(std::clamp(std::ceil(rng.uniform(165, 190) / sz), 80.0, 120.0));
  } else if (ct) {
    sxy = rng.uniform(0.32, 0.48);
    sz = rng.uniform(0.5, 0.65);
    nxy = 512;
    nz = static_cast<int>(std::clamp(std::ceil(rng.uniform(145, 175) / sz), 180.0, 300.0));
  } else {
    sxy = rng.uniform(0.9, 1.3);
    sz = rng.uniform(1.4, 2.0);
    nxy = 256;
    nz = static_cast<int>(std::clamp(std::ceil(rng.uniform(165, 190) / sz), 80.0, 140.0));
  }
  g.dims = {nxy, nxy, nz};
  g.spacing = {sxy, sxy, sz};
  const bool lps = rng.chance(0.5);
  c.facts.orientation = lps ? "LPS" : "RAS";

  Vec3 lo, hi;
  heart_extent(h, lo, hi);
  Vec3 center = (lo + hi) * 0.5 + Vec3{rng.uniform(-8, 8), rng.uniform(-8, 8), rng.uniform(-5, 5)};
  // Some cases: the field of view ends below the top of the vessels.
  c.facts.fov_cut = rng.chance(0.2);
  const double half_z = 0.5 * (nz - 1) * sz;
  if (c.facts.fov_cut) center.z = hi.z - rng.uniform(10, 18) - half_z;
  h.reach = std::max((hi - h.base).norm(), (lo - h.base).norm()) + 30;

  if (o.generation >= 2) {
    // Generation 2 draws from a stream of its own, after all of generation 1's draws.
    Random more(mix64(o.seed ^ 0x6e2ull) ^ mix64(0x5eedull + static_cast<uint64_t>(index)));
    h.generation = c.body.generation = c.look.generation = 2;
    grow_anatomy(c, more);
    draw_contrast(c, o.preset, more);
    if (!o.motion) c.look.motion_mm = c.facts.motion_blur_mm = 0;
    c.facts.blood_level = c.look.pool_level[kLVC];
    // Fields of view from a tight cardiac one to the whole chest, centred between the heart
    // and the body's centre as the field widens.
    double fov_lo = 185, fov_hi = 330;
    if (o.preset == PhantomPreset::kFull) fov_lo = 170, fov_hi = ct ? 400 : 380;
    const double fov = more.uniform(fov_lo, fov_hi);
    if (o.preset == PhantomPreset::kQuick) {
      nxy = static_cast<int>(std::lround(fov / sxy));
    } else {
      sxy = fov / nxy;
    }
    g.dims = {nxy, nxy, nz};
    g.spacing = {sxy, sxy, sz};
    c.facts.fov_mm = nxy * sxy;
    heart_extent(h, lo, hi);
    const double wide = std::clamp((fov - 230) / (fov_hi - 230), 0.0, 1.0);
    const Vec3 mid = (lo + hi) * 0.5;
    center = mid * (1 - wide) + Vec3{0, 0, mid.z} * wide +
             Vec3{more.uniform(-8, 8), more.uniform(-8, 8), more.uniform(-5, 5)};
    c.facts.fov_cut = more.chance(0.2);
    if (c.facts.fov_cut) center.z = hi.z - more.uniform(5, 15) - half_z;
    h.reach = 1e30;  // the vessels run through the whole field
    grow_lung_vessels(c, [&c](const Vec3& p) { return classify(c, p).tissue == kLung; });
    c.facts.lung_vessels_ml = c.body.lung_vessels.volume_ml();
    c.facts.lung_ml = c.body.lung_ml;
    grow_coronaries(c, [&c](const Vec3& p) { return takes_overlay(classify(c, p).tissue); });
    place_valves(c);
    c.facts.valves_closed = c.heart.aortic_valve.closed;
    measure_ventricles(c);
  }

  const double half_x = 0.5 * (nxy - 1) * sxy;
  g.affine = Affine::identity();
  g.affine.m[0][0] = lps ? -sxy : sxy;
  g.affine.m[1][1] = lps ? -sxy : sxy;
  g.affine.m[2][2] = sz;
  g.affine.m[0][3] = lps ? center.x + half_x : center.x - half_x;
  g.affine.m[1][3] = lps ? center.y + half_x : center.y - half_x;
  g.affine.m[2][3] = center.z - half_z;
  return c;
}

Voxel classify(const CaseSpec& c, const Vec3& p) {
  const Body& b = c.body;
  double rho = 0;
  const double depth = b.depth(p, rho);
  if (rho > 1.0) return {kAir, kPoolCount, 0};

  // Heart first: it sits inside the mediastinum and owns its surroundings.
  const Heart& h = c.heart;
  double heart_sd = 1e9;
  if ((p - h.base).norm() < h.reach) {
    Voxel v;
    if (h.classify(h.to_heart(p), v, heart_sd)) return v;
    if (heart_sd < h.fat) return {kFat, kPoolCount, 0};  // pericardial fat
  }

  // Thorax, by distance inward from the skin (approximate, in mm).
  if (depth < b.fat) return {kFat, kPoolCount, 0};
  if (depth < b.fat + b.muscle) {
    return {kMuscle, kPoolCount, 0};
  }
  const bool second = b.generation >= 2;
  Voxel near;
  if (second && classify_neighbours(c, p, depth, near)) return near;
  const double rib_depth = b.fat + b.muscle;
  if (depth < rib_depth + b.rib_thickness && p.y > b.spine.y) {
    const double phase = std::fmod(p.z - b.rib_phase + 1e4 * b.rib_period, b.rib_period);
    if (phase < b.rib_thickness * 1.2) {
      const double edge = std::min({depth - rib_depth, rib_depth + b.rib_thickness - depth, phase, b.rib_thickness * 1.2 - phase});
      // Generation 2: in front, the ribs' costal cartilages meet the sternum.
      if (second && p.y > 0.3 * b.by && std::fabs(p.x - b.sternum_x) < b.cartilage_x) return {kCartilage, kPoolCount, 0};
      return {edge < 1.5 ? kCortical : kMarrow, kPoolCount, 0};
    }
  }
  // Spine: vertebral body with a cortical rim, spinal canal behind it.
  const double ds = std::hypot(p.x - b.spine.x, p.y - b.spine.y);
  if (ds < b.spine_radius) return {ds > b.spine_radius - 2.0 ? kCortical : kMarrow, kPoolCount, 0};
  const double dc = std::hypot(p.x - b.spine.x, p.y - (b.spine.y - b.spine_radius - 9));
  if (dc < 7) return {kCsf, kPoolCount, 0};
  if (dc < 11) return {kCortical, kPoolCount, 0};
  const double dd = second ? 1e9 : std::hypot(p.x - b.descending.x, p.y - b.descending.y);
  if (second) {
    // Below the diaphragm: liver on the right, stomach and spleen on the left.
    const double dz = b.diaphragm_z(p.x, p.y);
    if (p.z < dz) return {p.z > dz - 4 ? kMuscle : (p.x > b.sternum_x - 15 ? kLiver : kSoft), kPoolCount, 0};
  }
  if (dd < b.descending_radius) return {dd < b.descending_radius - 1.5 ? kBlood : kWall, dd < b.descending_radius - 1.5 ? static_cast<uint8_t>(kDescending) : static_cast<uint8_t>(kPoolCount), 0};

  // Lungs: two ellipses in every slice, minus the mediastinum and the heart's surroundings.
  if (heart_sd > h.fat + 3 && dd > b.descending_radius + 4 && ds > b.spine_radius + 6) {
    for (int side = -1; side <= 1; side += 2) {
      const double lx = (p.x - side * b.lung_cx) / b.lung_semi_x, ly = (p.y - b.lung_y) / b.lung_semi_y;
      if (lx * lx + ly * ly < 1.0 && std::fabs(p.x) > 18) return {kLung, kPoolCount, 0};
    }
  }
  return {kSoft, kPoolCount, 0};
}

// The unnormalised Gaussian weights exp(-t^2 / 2 sigma^2) for t = -r..r, r = ceil(3 sigma):
// the kernel gaussian_blur applies (normalised there) and blurred_noise_sd measures.
std::vector<double> gaussian_weights(double sigma) {
  const int radius = static_cast<int>(std::ceil(3.0 * sigma));
  std::vector<double> w;
  for (int t = -radius; t <= radius; ++t) w.push_back(std::exp(-0.5 * t * t / (sigma * sigma)));
  return w;
}

// Separable Gaussian blur of a (nx, ny, nz) float volume, sd in voxels per axis.
void gaussian_blur(std::vector<float>& data, const std::array<int64_t, 3>& dims, const std::array<double, 3>& sd,
                   int threads) {
  const int64_t nx = dims[0], ny = dims[1], nz = dims[2];
  const int64_t stride[3] = {1, nx, nx * ny};
  for (int axis = 0; axis < 3; ++axis) {
    if (sd[static_cast<size_t>(axis)] < 0.25 || dims[static_cast<size_t>(axis)] < 2) continue;
    const std::vector<double> weights = gaussian_weights(sd[static_cast<size_t>(axis)]);
    const int radius = static_cast<int>(weights.size() / 2);
    std::vector<float> kernel(weights.size());
    double sum = 0;
    for (size_t t = 0; t < weights.size(); ++t) sum += kernel[t] = static_cast<float>(weights[t]);
    for (auto& k : kernel) k = static_cast<float>(k / sum);
    const int64_t n = dims[static_cast<size_t>(axis)];
    const int64_t lines = nx * ny * nz / n;
    parallel_for(lines, threads, [&](int64_t begin, int64_t end) {
      std::vector<float> line(static_cast<size_t>(n)), out(static_cast<size_t>(n));
      for (int64_t l = begin; l < end; ++l) {
        // The first voxel of line l: index l enumerates the other two axes.
        int64_t start;
        if (axis == 0) start = l * nx;
        else if (axis == 1) start = (l / nx) * nx * ny + (l % nx);
        else start = l;
        for (int64_t s = 0; s < n; ++s) line[static_cast<size_t>(s)] = data[static_cast<size_t>(start + s * stride[axis])];
        for (int64_t s = 0; s < n; ++s) {
          float acc = 0;
          for (int t = -radius; t <= radius; ++t) {
            const int64_t at = std::clamp<int64_t>(s + t, 0, n - 1);
            acc += kernel[static_cast<size_t>(t + radius)] * line[static_cast<size_t>(at)];
          }
          out[static_cast<size_t>(s)] = acc;
        }
        for (int64_t s = 0; s < n; ++s) data[static_cast<size_t>(start + s * stride[axis])] = out[static_cast<size_t>(s)];
      }
    });
  }
}

// The standard deviation left of unit white noise after gaussian_blur with sd `sigma` voxels
// along two axes: the product of each axis kernel's root sum of squares.
double blurred_noise_sd(double sigma) {
  if (sigma < 0.25) return 1;
  double sum = 0, sq = 0;
  for (const double k : gaussian_weights(sigma)) {
    sum += k;
    sq += k * k;
  }
  return sq / (sum * sum);  // (sqrt(sq) / sum) per axis, squared for two axes
}

// MR receive coils in front of and behind the chest: sensitivity falls with depth from each.
double coil_sensitivity(const CaseSpec& c, const Vec3& p) {
  const double L = c.look.coil_falloff;
  return 0.45 + 0.55 * (std::exp(-(c.body.by - p.y) / L) + std::exp(-(c.body.by + p.y) / L));
}

}  // namespace

std::string phantom_case_id(Modality modality, int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s_train_%d", modality == Modality::kCT ? "ct" : "mr", 1001 + index);
  return buf;
}

int parse_generation(int generation, const std::string& option) {
  if (generation != 1 && generation != 2)
    throw usage_error(option, "unknown phantom generation " + std::to_string(generation) + " (expected 1 or 2)");
  return generation;
}

std::vector<double> structure_volumes_ml(const LabelVolume& labels) {
  const LabelMap map = LabelMap::mmwhs();
  std::vector<double> ml(static_cast<size_t>(map.num_classes()), 0.0);
  for (const auto& [value, n] : count_values(labels.voxels))
    for (int c = 1; c < map.num_classes(); ++c)
      if (map.values[static_cast<size_t>(c)] == value) ml[static_cast<size_t>(c)] = static_cast<double>(n) * labels.grid.voxel_ml();
  return ml;
}

std::string phantom_facts_csv_header() {
  std::string h =
      "case,orientation,phase,fov_mm,fov_cut,blood_level,ascending_length_mm,ascending_diameter_mm,arch_diameter_mm,"
      "descending_diameter_mm,trunk_length_mm,trunk_diameter_mm,rpa_diameter_mm,lpa_diameter_mm,trunk_aorta_gap_mm,"
      "svc_diameter_mm,"
      "ivc_diameter_mm,pv_diameter_mm,vein_clearance_mm,trachea_diameter_mm,carina_angle_deg,airway_clearance_mm,lung_ml,lung_vessels_ml,"
      "lm_diameter_mm,lad_diameter_mm,lcx_diameter_mm,rca_diameter_mm,lm_length_mm,lad_length_mm,lcx_length_mm,rca_length_mm,pda_length_mm,"
      "coronary_branches,coronary_branches_mm,valves_closed,mitral_area_cm2,tricuspid_area_cm2,tricuspid_apical_mm,"
      "rv_basal_diameter_mm,rv_mid_diameter_mm,lv_length_mm,lv_diameter_mm,"
      "aortic_annulus_diameter_mm,aortic_sinus_diameter_mm,pulmonary_valve_height_mm,pulmonary_valve_distance_mm,"
      "coronary_shown_pct,motion_blur_mm";
  const LabelMap map = LabelMap::mmwhs();
  for (int c = 1; c < map.num_classes(); ++c) h += "," + map.names[static_cast<size_t>(c)] + "_ml";
  return h + "\n";
}

std::string phantom_facts_csv_row(const PhantomFacts& f, const std::vector<double>& volumes_ml) {
  std::string row = f.id + "," + f.orientation + "," + f.phase;
  char buf[64];
  for (const double x : {f.fov_mm, f.fov_cut ? 1.0 : 0.0, f.blood_level, f.ascending_length, f.ascending_diameter,
                         f.arch_diameter, f.descending_diameter, f.trunk_length, f.trunk_diameter, f.rpa_diameter,
                         f.lpa_diameter, f.trunk_aorta_gap, f.svc_diameter, f.ivc_diameter, f.pv_diameter, f.vein_clearance,
                         f.trachea_diameter,
                         f.carina_angle, f.airway_clearance, f.lung_ml, f.lung_vessels_ml, f.lm_diameter,
                         f.lad_diameter, f.lcx_diameter, f.rca_diameter, f.lm_length, f.lad_length, f.lcx_length,
                         f.rca_length, f.pda_length, static_cast<double>(f.branches), f.branch_length,
                         f.valves_closed ? 1.0 : 0.0, f.mitral_area, f.tricuspid_area, f.tricuspid_apical, f.rv_basal, f.rv_mid,
                         f.lv_length, f.lv_diameter,
                         f.annulus_diameter, f.sinus_diameter, f.pulmonary_valve_height,
                         f.pulmonary_valve_distance, f.coronary_shown_pct, f.motion_blur_mm}) {
    std::snprintf(buf, sizeof buf, ",%.1f", x);
    row += buf;
  }
  for (size_t c = 1; c < volumes_ml.size(); ++c) {
    std::snprintf(buf, sizeof buf, ",%.1f", volumes_ml[c]);
    row += buf;
  }
  return row + "\n";
}

PhantomPreset parse_preset(const std::string& name, const std::string& option) {
  if (name == "quick") return PhantomPreset::kQuick;
  if (name == "full") return PhantomPreset::kFull;
  throw usage_error(option, "unknown preset '" + name + "' (expected quick or full)");
}

Modality parse_modality(const std::string& name, const std::string& option) {
  if (name == "ct" || name == "CT") return Modality::kCT;
  if (name == "mr" || name == "MR") return Modality::kMR;
  throw usage_error(option, "unknown modality '" + name + "' (expected ct or mr)");
}

Grid phantom_grid(const PhantomOptions& options, int index) { return sample_case(options, index).grid; }

PhantomFacts phantom_facts(const PhantomOptions& options, int index) { return sample_case(options, index).facts; }

namespace {

// Draws as wall the voxels of each structure outside its largest 6-connected piece, where
// they come to at most 2 ml (see make_phantom_case).
void drop_detached_pieces(const CaseSpec& c, const Grid& g, PhantomCase& out) {
  const std::vector<size_t> detached = detached_voxels(out.labels);
  std::map<int32_t, int64_t> count;  // per label value
  for (const size_t at : detached) ++count[out.labels.voxels[at]];
  const double most = 2.0 / g.voxel_ml();
  const Voxel wall{kWall, kPoolCount, 0};
  const int64_t nx = g.dims[0], ny = g.dims[1];
  for (const size_t at : detached) {
    if (static_cast<double>(count[out.labels.voxels[at]]) > most) continue;
    const auto n = static_cast<int64_t>(at);
    const auto p = g.affine.apply(static_cast<double>(n % nx), static_cast<double>(n / nx % ny), static_cast<double>(n / (nx * ny)));
    out.labels.voxels[at] = 0;
    out.image.voxels[at] = static_cast<float>(intensity(c, wall, {p[0], p[1], p[2]}));
  }
}

// Blurs the image over the heart and its labelled vessels along c.look.motion_dir by
// c.look.motion_mm (sd): the Gaussian along each voxel axis takes the direction's share of
// that axis (an axis-aligned stand-in for a blur along the direction). Its weight is 1 over
// the structures and fades out over about 10 mm around them; the labels stay.
void blur_heart_motion(const CaseSpec& c, PhantomCase& out, int threads) {
  const Grid& g = c.grid;
  const auto& dims = g.dims;
  constexpr double kFade = 5.0;  // mm: sd of the weight's own blur
  // The structures' box, grown by the fade's reach.
  std::array<int64_t, 3> reach{};
  std::array<double, 3> sd{}, fade{};
  for (size_t a = 0; a < 3; ++a) {
    reach[a] = static_cast<int64_t>(std::ceil(4 * kFade / g.spacing[a]));
    const Vec3 axis = Vec3{g.affine.m[0][a], g.affine.m[1][a], g.affine.m[2][a]}.unit();
    sd[a] = c.look.motion_mm * std::fabs(axis.dot(c.look.motion_dir)) / g.spacing[a];
    fade[a] = kFade / g.spacing[a];
  }
  const auto box = structure_box(out.labels, std::numeric_limits<int32_t>::max(), reach);
  if (!box) return;
  std::vector<float> moved(box->voxels()), weight(box->voxels());
  for_each_in_box(*box, dims, [&](size_t at, size_t whole) {
    moved[at] = out.image.voxels[whole];
    weight[at] = out.labels.voxels[whole] != 0 ? 1.0f : 0.0f;
  });
  gaussian_blur(moved, box->dims, sd, threads);
  gaussian_blur(weight, box->dims, fade, threads);
  for_each_in_box(*box, dims, [&](size_t at, size_t whole) {
    const float w = std::min(1.0f, 2.0f * weight[at]);
    float& v = out.image.voxels[whole];
    v = w * moved[at] + (1 - w) * v;
  });
}

}  // namespace

PhantomCase make_phantom_case(const PhantomOptions& options, int index) {
  const CaseSpec c = sample_case(options, index);
  const Grid& g = c.grid;
  PhantomCase out;
  out.facts = c.facts;
  out.image = Volume::filled(g, 0.0f);
  out.labels = LabelVolume::filled(g, 0, &out.image.header);
  const int64_t nx = g.dims[0], ny = g.dims[1], nz = g.dims[2];
  const Vec3 col0{g.affine.m[0][0], g.affine.m[1][0], g.affine.m[2][0]};
  const Vec3 col1{g.affine.m[0][1], g.affine.m[1][1], g.affine.m[2][1]};
  const Vec3 col2{g.affine.m[0][2], g.affine.m[1][2], g.affine.m[2][2]};
  const Vec3 origin{g.affine.m[0][3], g.affine.m[1][3], g.affine.m[2][3]};

  const bool second = c.look.generation >= 2;
  // 1. Tissue and labels at voxel centres; noiseless intensities.
  parallel_for(nz, options.threads, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t j = 0; j < ny; ++j) {
        const Vec3 row = origin + col1 * static_cast<double>(j) + col2 * static_cast<double>(k);
        for (int64_t i = 0; i < nx; ++i) {
          const Vec3 p = row + col0 * static_cast<double>(i);
          const Voxel v = classify(c, p);
          const size_t at = static_cast<size_t>(i + nx * (j + ny * k));
          out.labels.voxels[at] = v.label;
          out.image.voxels[at] =
              second ? static_cast<float>(intensity(c, v, p))
                     : static_cast<float>(c.look.value[v.tissue] + (v.pool < kPoolCount ? c.look.pool_offset[v.pool] : 0.0));
        }
      }
  });
  // 1b. A structure of a label map is one piece. Where the RV's ellipsoid reaches past the
  // aortic root toward the LA, the root and the LA's wall cut a pocket of it off the rest of
  // the RV (0.2-0.6 ml in 13 of 240 quick CT cases of seeds 1, 2, 7, 11, 77 and 2026, between
  // the LA and the ascending aorta, where hearts have the transverse sinus), and a deformation
  // can pinch a few voxels off a thin edge. Such pieces, up to 2 ml of a structure in all,
  // are drawn as wall; larger ones are left for the tests to find.
  if (second) drop_detached_pieces(c, g, out);
  // 2. The scanner's point spread.
  gaussian_blur(out.image.voxels, g.dims,
                {c.look.blur_mm / g.spacing[0], c.look.blur_mm / g.spacing[1], c.look.blur_mm / g.spacing[2]},
                options.threads);
  if (c.look.motion_mm > 0) blur_heart_motion(c, out, options.threads);
  const bool mr = c.modality == Modality::kMR;
  // MR's slice profile is wider than its in-plane point spread.
  if (second && mr) gaussian_blur(out.image.voxels, g.dims, {0, 0, c.look.slice_blur / g.spacing[2]}, options.threads);
  // CT's noise is correlated in-plane (the reconstruction kernel): white noise blurred, then
  // scaled back to the drawn standard deviation.
  std::vector<float> grain;
  double grain_gain = 1;
  if (second && !mr) {
    grain.resize(out.image.voxels.size());
    parallel_for(static_cast<int64_t>(grain.size()), options.threads, [&](int64_t b, int64_t e) {
      for (int64_t at = b; at < e; ++at)
        grain[static_cast<size_t>(at)] = static_cast<float>(hashed_normal(c.noise_key, static_cast<uint64_t>(at)));
    });
    gaussian_blur(grain, g.dims, {c.look.noise_grain, c.look.noise_grain, 0}, options.threads);
    grain_gain = 1.0 / blurred_noise_sd(c.look.noise_grain);
  }
  // 3. Noise (and for MR the bias field), rounded to integers as a scanner stores them.
  parallel_for(nz, options.threads, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t j = 0; j < ny; ++j)
        for (int64_t i = 0; i < nx; ++i) {
          const uint64_t at = static_cast<uint64_t>(i + nx * (j + ny * k));
          double value = out.image.voxels[at];
          if (mr) {
            const Vec3 p = origin + col0 * static_cast<double>(i) + col1 * static_cast<double>(j) + col2 * static_cast<double>(k);
            const double field = 0.5 * (std::sin(c.look.bias_freq[0].dot(p) + c.look.bias_phase[0]) +
                                        std::sin(c.look.bias_freq[1].dot(p) + c.look.bias_phase[1]));
            value *= std::exp(c.look.bias * field);
            if (second) value *= coil_sensitivity(c, p);
            const double re = value + c.look.noise * hashed_normal(c.noise_key, 2 * at);
            const double im = c.look.noise * hashed_normal(c.noise_key, 2 * at + 1);
            value = std::sqrt(re * re + im * im);  // Rician: magnitude of complex Gaussian noise
          } else if (second) {
            value += c.look.noise * grain_gain * grain[at];
          } else {
            value += c.look.noise * hashed_normal(c.noise_key, at);
          }
          out.image.voxels[at] = static_cast<float>(std::clamp(std::nearbyint(value), -1024.0, 3071.0));
        }
  });
  out.image.header = make_header(g);
  out.image.header.descrip = "coordseg phantom " + c.facts.id;
  out.labels.header = out.image.header;
  return out;
}

void write_phantom_dataset(const std::string& out_dir, const PhantomOptions& options, bool force,
                           const std::function<void(const PhantomFacts&, const Grid&, double)>& progress) {
  if (options.cases < 1) throw usage_error("--cases", "must be at least 1 (got " + std::to_string(options.cases) + ")");
  check_threads(options.threads, "--threads");
  parse_generation(options.generation, "--generation");
  std::error_code ec;
  if (fs::exists(out_dir, ec)) {
    if (!fs::is_directory(out_dir, ec)) throw usage_error(out_dir, "exists and is not a folder");
    if (!fs::is_empty(out_dir, ec) && !force)
      throw usage_error(out_dir, "folder already holds files; choose an empty one or pass --force to overwrite");
  }
  const std::string sub = options.modality == Modality::kCT ? "ct_train" : "mr_train";
  const fs::path dir = fs::path(out_dir) / sub;
  fs::create_directories(dir, ec);
  if (ec) throw data_error(dir.string(), "cannot create folder: " + ec.message());

  nlohmann::json training = nlohmann::json::array();
  std::string facts = phantom_facts_csv_header();
  std::set<std::string> written;
  for (int i = 0; i < options.cases; ++i) {
    const auto t0 = Clock::now();
    PhantomCase pc = make_phantom_case(options, i);
    const std::string image = (dir / (pc.facts.id + "_image.nii.gz")).string();
    const std::string label = (dir / (pc.facts.id + "_label.nii.gz")).string();
    // Image and labels compress in parallel: gzip is the slowest part of a full case.
    auto labels_done = std::async(std::launch::async, [&] { write_labels(label, pc.labels, LabelType::kInt16); });
    write_image(image, pc.image, ImageType::kInt16);
    labels_done.get();
    training.push_back({{"image", "./" + sub + "/" + pc.facts.id + "_image.nii.gz"},
                        {"label", "./" + sub + "/" + pc.facts.id + "_label.nii.gz"}});
    const double seconds = seconds_since(t0);
    if (progress) progress(pc.facts, pc.image.grid, seconds);
    facts += phantom_facts_csv_row(pc.facts, structure_volumes_ml(pc.labels));
    written.insert(image);
    written.insert(label);
  }
  // A forced rewrite with fewer cases removes the old cases beyond them, so the folder and
  // dataset.json agree. Only files named as this command names its cases are touched.
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const bool ours = name.rfind(sub + "_", 0) == 0 &&
                      (ends_with(name, "_image.nii.gz") || ends_with(name, "_label.nii.gz"));
    if (ours && !written.count(e.path().string())) fs::remove(e.path(), ec);
  }

  const LabelMap map = LabelMap::mmwhs();
  nlohmann::ordered_json labels;
  for (int c = 0; c < map.num_classes(); ++c) labels[map.names[static_cast<size_t>(c)]] = map.values[static_cast<size_t>(c)];
  nlohmann::ordered_json ds;
  ds["name"] = "coordseg-phantom";
  ds["description"] = "Synthetic whole-heart " + std::string(options.modality == Modality::kCT ? "CT" : "MR") +
                      " phantom in the MM-WHS layout and label values";
  ds["channel_names"] = {{"0", options.modality == Modality::kCT ? "CT" : "MR"}};
  ds["labels"] = labels;
  ds["numTraining"] = options.cases;
  ds["file_ending"] = ".nii.gz";
  ds["training"] = training;
  ds["phantom"] = {{"seed", options.seed},
                   {"preset", options.preset == PhantomPreset::kQuick ? "quick" : "full"},
                   {"modality", options.modality == Modality::kCT ? "ct" : "mr"},
                   {"generation", options.generation},
                   {"motion", options.motion}};
  write_text_file((fs::path(out_dir) / "phantom_facts.csv").string(), facts);
  write_text_file((fs::path(out_dir) / "dataset.json").string(), ds.dump(2) + "\n");
}

}  // namespace coordseg
