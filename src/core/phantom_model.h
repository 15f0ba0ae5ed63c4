// The phantom's model, private to the core: shapes in millimetres, tissues, blood pools and
// what one case draws. phantom.cpp samples and renders cases; phantom_anatomy.cpp adds the
// anatomy of generation 2 (great vessels with their course, the heart's neighbours, contrast
// phases). Generation 1 is the phantom as it was before: its draws and voxels are unchanged.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "coordseg/core/phantom.h"
#include "coordseg/core/random.h"

namespace coordseg::phantom_model {

struct Vec3 {
  double x = 0, y = 0, z = 0;
  Vec3 operator+(const Vec3& o) const { return {x + o.x, y + o.y, z + o.z}; }
  Vec3 operator-(const Vec3& o) const { return {x - o.x, y - o.y, z - o.z}; }
  Vec3 operator*(double s) const { return {x * s, y * s, z * s}; }
  double dot(const Vec3& o) const { return x * o.x + y * o.y + z * o.z; }
  Vec3 cross(const Vec3& o) const { return {y * o.z - z * o.y, z * o.x - x * o.z, x * o.y - y * o.x}; }
  double norm() const { return std::sqrt(dot(*this)); }
  Vec3 unit() const { return *this * (1.0 / norm()); }
};

inline Vec3 unit_vector(Random& rng) {
  Vec3 v{rng.normal(), rng.normal(), rng.normal()};
  return v.unit();
}

inline Vec3 world_dir(double x, double y, double z) { return Vec3{x, y, z}.unit(); }

// A wave vector: a random direction times 2 pi / a wavelength drawn from [lo, hi] mm. The
// draws are sequenced here (as operands of one expression their order would be the
// compiler's choice, and GCC and clang choose differently).
inline Vec3 random_wave(Random& rng, double lo, double hi) {
  const double wavelength = rng.uniform(lo, hi);
  const Vec3 direction = unit_vector(rng);
  return direction * (2 * M_PI / wavelength);
}

// A standard normal value that depends only on (key, index): noise independent of threading.
inline double hashed_normal(uint64_t key, uint64_t index) {
  const uint64_t h = mix64(key ^ mix64(index));
  const double u1 = (static_cast<double>(h >> 40) + 0.5) * 0x1.0p-24;
  const double u2 = static_cast<double>((h >> 16) & 0xffffff) * 0x1.0p-24;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// Signed distance (approximate, mm) to an axis-aligned ellipsoid in heart coordinates.
struct Ellipsoid {
  Vec3 center, semi;
  double sd(const Vec3& q) const {
    const Vec3 d = q - center;
    const double r = std::sqrt((d.x * d.x) / (semi.x * semi.x) + (d.y * d.y) / (semi.y * semi.y) +
                               (d.z * d.z) / (semi.z * semi.z));
    return (r - 1.0) * std::min({semi.x, semi.y, semi.z});
  }
};

// The LV's myocardium (ml) round a cavity of semi-axes a, b (across) and lc (base to apex),
// half an ellipsoid cut at the valve plane, with a wall t mm thick (0.9 t at the apex).
inline double lv_myocardium_ml(double a, double b, double lc, double t) {
  return 2.0 / 3.0 * M_PI * ((a + t) * (b + t) * (lc + 0.9 * t) - a * b * lc) / 1000.0;
}

// The wall thickness in [lo, hi] mm whose myocardium holds `ml` (lo or hi where none does).
inline double lv_wall_for(double a, double b, double lc, double ml, double lo, double hi) {
  for (int i = 0; i < 40; ++i) {
    const double t = 0.5 * (lo + hi);
    (lv_myocardium_ml(a, b, lc, t) < ml ? lo : hi) = t;
  }
  return 0.5 * (lo + hi);
}

// An axis-aligned box grown by points (each with a radius around it).
struct Box {
  Vec3 lo{1e30, 1e30, 1e30}, hi{-1e30, -1e30, -1e30};
  void add(const Vec3& c, double r = 0) {
    lo = {std::min(lo.x, c.x - r), std::min(lo.y, c.y - r), std::min(lo.z, c.z - r)};
    hi = {std::max(hi.x, c.x + r), std::max(hi.y, c.y + r), std::max(hi.z, c.z + r)};
  }
  bool contains(const Vec3& q) const {
    return !(q.x < lo.x || q.y < lo.y || q.z < lo.z || q.x > hi.x || q.y > hi.y || q.z > hi.z);
  }
};

// Distance (mm) from q to the segment a-b; `t` receives the closest point's parameter (0 at a).
inline double segment_distance(const Vec3& q, const Vec3& a, const Vec3& b, double& t) {
  const Vec3 ab = b - a, aq = q - a;
  t = std::clamp(aq.dot(ab) / ab.dot(ab), 0.0, 1.0);
  return (aq - ab * t).norm();
}

// A tube around a polyline, its radius linear along each segment (`radii` empty: `radius`
// everywhere). sd() is the signed distance in mm (exact for a constant radius) and, through
// `arc`, the centreline length from the first point to the closest point.
struct Tube {
  std::vector<Vec3> points;
  std::vector<double> radii;
  double radius = 10;
  // Generation 2: a box (heart frame) outside which sd() returns kFar without looking closer.
  bool boxed = false;
  Box bounds;
  static constexpr double kFar = 1e9;
  void box(double margin) {
    boxed = true;
    bounds = Box{};
    for (size_t i = 0; i < points.size(); ++i) bounds.add(points[i], (radii.empty() ? radius : radii[i]) + margin);
  }
  bool outside_box(const Vec3& q) const { return boxed && !bounds.contains(q); }

  double radius_at(size_t s, double t) const {
    return radii.empty() ? radius : radii[s] + (radii[s + 1] - radii[s]) * t;
  }
  double sd(const Vec3& q, double* arc = nullptr) const {
    if (outside_box(q)) return kFar;
    double best = 1e30, best_arc = 0, run = 0;
    for (size_t s = 0; s + 1 < points.size(); ++s) {
      double t = 0;
      const double d = segment_distance(q, points[s], points[s + 1], t) - (radii.empty() ? 0.0 : radius_at(s, t));
      const double len = arc ? (points[s + 1] - points[s]).norm() : 0.0;
      if (d < best) best = d, best_arc = run + t * len;
      run += len;
    }
    if (arc) *arc = best_arc;
    return radii.empty() ? best - radius : best;
  }
};

// --- tissues and blood -------------------------------------------------------------------

enum Tissue : uint8_t {
  kAir, kLung, kFat, kSoft, kMuscle, kMyo, kWall, kBlood, kCortical, kMarrow, kCsf,
  kLiver, kCartilage,  // generation 2
  kTissueCount
};

// Blood pools. The first six (and the descending aorta of generation 1) are the heart's, in
// order of precedence: the first shape that contains a voxel owns it (its wall included), so
// neighbouring pools are always separated by a wall or the myocardium. The rest are
// generation 2's veins, each with its own contrast.
enum Pool : uint8_t {
  kLVC, kAO, kPA, kLA, kRA, kRV, kDescending,
  kSVC, kIVC, kPV, kCS,
  kPoolCount
};
constexpr int kGeneration1Pools = 7;  // the pools generation 1 draws an offset for
const int32_t kPoolLabel[kPoolCount] = {500, 820, 850, 420, 550, 600, 0, 0, 0, 420, 0};

// The tissues a VesselOverlay is drawn over: unlabelled fat, soft tissue and lung.
inline bool takes_overlay(Tissue t) { return t == kFat || t == kSoft || t == kLung; }

struct Voxel {
  Tissue tissue;
  uint8_t pool;  // kPoolCount when not blood
  int32_t label;
};

// A vessel of generation 2 outside the heart's chambers: the arch's branches, the pulmonary
// arteries past the trunk, the venae cavae, pulmonary veins, coronary sinus, appendages; and
// the airway (trachea and main bronchi), a tube of air drawn in the same frame, so that the
// vessels' clearance from it is exact under the case's deformation.
struct Vessel {
  Tube tube;                     // heart frame
  Tissue lumen = kBlood;         // kAir for the airway
  Pool pool = kPoolCount;        // whose blood (contrast) it carries; kPoolCount for the airway
  int32_t label = 0;             // the label of its first `labelled` mm, 0 beyond
  double labelled = 0;
  Pool opens_into = kPoolCount;  // the chamber whose wall it pierces (an open junction)
  // A vessel whose wall it also crosses without a wall across its lumen, below that vessel's
  // valve: the RV's outflow tract, which runs up into the pulmonary trunk's tube.
  Pool opens_below_valve = kPoolCount;
  double wall = 1.5;
  bool mediastinal = true;       // wrapped in fat; false inside a lung
  static constexpr double kMargin = 12;  // mm: more than any fat band or lung gap that asks
};

// A muscle bundle inside a ventricle (papillary muscle, trabecula, moderator band): labelled
// with the cavity around it, as MM-WHS and most whole-heart label maps do.
struct Bundle {
  Vec3 a, b;
  double radius = 3;
  double sd(const Vec3& q) const;
};

// Small vessels of generation 2 drawn into the intensity only, over unlabelled tissue: the
// pulmonary arteries and veins inside the lungs past the hila (phantom_lungs.cpp) and the
// coronary arteries in the epicardial fat (phantom_coronaries.cpp). Straight segments in
// world millimetres; the voxels keep their tissue and label 0, as in MM-WHS label maps.
struct VesselOverlay {
  struct Segment {
    Vec3 a, b;
    double radius;  // lumen, mm
    Pool pool;      // whose blood: kPA or kPV in the lungs, kAO for the coronaries
  };
  std::vector<Segment> segments;
  double voxel_mm = 1;  // a vessel's edge fades over one voxel (partial volume)

  // Builds the lookup grid; call once `segments` are set.
  void index();
  // The fraction (0-1) of the voxel at world point p that vessel blood fills, and in `pool`
  // whose blood it is.
  double fraction(const Vec3& p, Pool& pool) const;
  // The segments' lumen volume (ml), overlaps at the branch points counted twice.
  double volume_ml() const;

 private:
  Vec3 origin_;
  double cell_ = 6;  // mm
  std::array<int64_t, 3> cells_{};
  std::vector<uint32_t> first_, items_;  // per cell, the segments that reach into it
};

// Generation 2's aorta: points 0..kArchStart are the root and ascending aorta (ASA), then
// kArchSegments segments of arch, then nothing (the descending aorta is a Vessel).
constexpr size_t kArchStart = 2;
constexpr size_t kArchSegments = 6;

// How a pulmonary vein leaves the LA (world directions, see grow_veins_and_appendages): kept
// so that a vein can be placed again once the airway is in.
struct VeinDraw {
  int side = 0, level = 0;  // -1 left / +1 right; -1 lower / +1 upper
  double dz = 0, dy = 0;    // its first segment's slope (up if upper, down if lower), backward slant
  double ez = 0, ey = 0;    // its second segment's
  double beyond = 0;        // mm of the first segment past the LA's wall
  double reach = 0;         // the second segment's length
  double labelled = 0;      // mm labelled LA past the wall
  size_t vessel = 0;        // its index in Heart::vessels
};

struct Heart {
  int generation = 1;
  Vec3 base;          // world position of the LV base (valve plane) centre
  Vec3 u, v, w;       // heart frame: u right-anterior, v posterior, w base -> apex
  Ellipsoid lv_cavity, lv_outer;  // both cut at the valve plane w = 0
  Ellipsoid la, ra, rv;
  std::vector<VeinDraw> vein_draws;  // generation 2's pulmonary veins
  Tube aorta, pa;     // generation 2: the whole aorta (root to abdomen), the pulmonary trunk
  double aorta_labelled = std::numeric_limits<double>::infinity();  // ASA's centreline length
  double wall = 2.0, rv_wall = 3.0, annulus = 5.0;
  double fat = 4.0;   // pericardial fat thickness, mm
  std::array<Vec3, 3> warp_dir, warp_freq;
  std::array<double, 3> warp_amp{}, warp_phase{};
  double reach = 150;  // no chamber lies farther than this from `base`, mm
  std::array<double, kGeneration1Pools> target_ml{};  // drawn volumes of the pools

  // Generation 2.
  std::vector<Vessel> vessels;
  std::vector<Bundle> lv_bundles, rv_bundles;
  VesselOverlay coronaries;  // world: drawn over the fat round the heart, not part of classify()
  // The pulmonary valve's plane (heart frame): the trunk's tube reaches a little below it
  // into the outflow tract, and what lies below is RV (generation 2).
  Vec3 pa_valve, pa_axis;  // a point on the plane, and the unit normal toward the trunk
  // The semilunar valves, closed (diastole) in most cases: three thin cusps across the root
  // where the ventricle's label meets the artery's, sagging a little toward the ventricle,
  // with the three lines where they meet standing up into the artery. Drawn into the
  // intensity of the blood around them only; the labels do not see them.
  struct Valve {
    bool closed = false;
    Vec3 centre;             // heart frame: the hinges' centre, half the sag above where the labels meet
    Vec3 normal, e1, e2;     // toward the artery, and two directions in the plane
    Vec3 centre_world;       // for a quick test of whether a world point is near
    double radius = 0;       // the lumen's, mm
    double sag = 1, coaptation = 4, angle = 0, thickness = 1, voxel_mm = 1;
    // The atrioventricular valves: two leaflets (mitral) or three; open (diastole) they hang
    // from the ring into the ventricle, `length` mm along `normal`.
    int cusps = 3;
    bool hanging = false;
    double length = 0;
    // How much of a voxel at heart-frame point q the cusps fill (0 to 1, with a one-voxel
    // partial volume).
    double fraction(const Vec3& q) const;
  };
  Valve aortic_valve, pulmonary_valve;
  // Generation 2's atrioventricular orifices: where an atrium's blood meets its ventricle's
  // through the valve's fibrous ring, with no wall across (the leaflets are drawn into the
  // intensity, as the semilunar valves' cusps are). The mitral orifice lies in the LV's base
  // plane w = 0 and the LA reaches down to it through its vestibule; the tricuspid one lies a
  // little apical of it, facing the RV's apex, the RA reaching down to it through its own
  // vestibule, and a short channel beyond carries it through the RV's wall (or, in the few
  // cases where the RA cannot reach down, a channel through both walls beside the RA).
  // radius 0: none (generation 1).
  struct Orifice {
    Vec3 centre;         // heart frame: where the atrium's label meets the ventricle's
    Vec3 axis;           // unit, from the atrium toward the ventricle
    double radius = 0;   // lumen, mm
    double area_cm2 = 0;  // what is open of it (the aortic root and the ring's rim take some)
    double to = 0;  // the tricuspid's channel: its far end along the axis, mm from `centre` (walled past it)
    // and where it begins behind the plane, inside the RA: kChannelBack beside the RA, 0 below
    // it (the RA's vestibule is the channel's atrial part there)
    double back = 0;
  };
  // The tricuspid channel beside the RA begins this far (mm) behind its centre's plane.
  static constexpr double kChannelBack = 12;
  Orifice mitral, tricuspid;
  Tube vestibule;  // the LA's funnel from above the mitral orifice (lumen radius + wall)
  // Generation 2: the RA's vestibule, a funnel from its centre down to the tricuspid orifice
  // (lumen radius + wall), cut at the orifice's plane; no points where the orifice is a channel
  // beside the RA.
  Tube ra_vestibule;
  // Signed distance (mm) from heart-frame point q to the RA with its vestibule.
  double ra_sd(const Vec3& q) const {
    const double body = ra.sd(q);
    if (ra_vestibule.points.empty() || (q - tricuspid.centre).dot(tricuspid.axis) >= 0) return body;
    return std::min(body, ra_vestibule.sd(q));
  }
  Valve mitral_valve, tricuspid_valve;
  static constexpr double kOutflowRim = 4.0;  // mm of myocardium kept round the LV's outflow tract
  static constexpr double kRingRim = 2.0;  // mm of the fibrous ring left between the mitral orifice and the myocardium
  // Signed distance (mm, approximate) from heart-frame point q to the LV's outline, cut at the
  // valve plane w = 0 (myocardium and cavity; the ring above the plane is not part of it).
  double lv_sd(const Vec3& q) const { return std::max(lv_outer.sd(q), -q.z); }
  // Whether heart-frame point q lies in the valve plane's fibrous ring over the LV base.
  bool in_ring(const Vec3& q) const { return q.z < 0 && q.z > -annulus && lv_outer.sd({q.x, q.y, 0.0}) < 0; }
  // Whether heart-frame point q lies where the ring over the LV base may open (inside the
  // cavity's outline at the base, less the rim).
  bool in_mitral_ring(const Vec3& q) const {
    const double x = q.x / (lv_cavity.semi.x - kRingRim), y = q.y / (lv_cavity.semi.y - kRingRim);
    return x * x + y * y < 1;
  }
  // Where heart-frame point q lies in the tricuspid channel: 0 outside it, 1 in its lumen on
  // the RA's side, 2 in its lumen on the RV's side, 3 in the wall round the lumen.
  int in_tricuspid(const Vec3& q) const {
    const Vec3 l = q - tricuspid.centre;
    const double s = l.dot(tricuspid.axis);
    if (s < -tricuspid.back || s > tricuspid.to + wall) return 0;
    const double rho2 = l.dot(l) - s * s, r = tricuspid.radius;
    // Past its far end, a wall closes the channel where it reaches beyond the RV's blood.
    if (s > tricuspid.to) return rho2 < (r + wall) * (r + wall) ? 3 : 0;
    if (rho2 < r * r) return s < 0 ? 1 : 2;
    return rho2 < (r + wall) * (r + wall) ? 3 : 0;
  }

  // Signed distance (mm, approximate outside its rims) from heart-frame point q to the
  // tricuspid channel with its wall: a cylinder of the lumen's radius plus the wall from
  // `back` behind the orifice's plane to the wall past its far end; kFar without one.
  double tricuspid_channel_sd(const Vec3& q) const {
    if (tricuspid.radius <= 0) return Tube::kFar;
    const Vec3 l = q - tricuspid.centre;
    const double s = l.dot(tricuspid.axis), rho = std::sqrt(std::max(0.0, l.dot(l) - s * s));
    const double half = 0.5 * (tricuspid.to + wall + tricuspid.back), mid = 0.5 * (tricuspid.to + wall - tricuspid.back);
    return std::max(rho - tricuspid.radius - wall, std::fabs(s - mid) - half);
  }

  Vec3 to_heart(const Vec3& p) const {
    const Vec3 d = p - base;
    Vec3 q{d.dot(u), d.dot(v), d.dot(w)};
    // Smooth deformation: a few long-wavelength sinusoids.
    Vec3 disp;
    for (int k = 0; k < 3; ++k) disp = disp + warp_dir[k] * (warp_amp[k] * std::sin(warp_freq[k].dot(q) + warp_phase[k]));
    return q + disp;
  }
  Vec3 frame_point(const Vec3& world) const {  // without the deformation
    const Vec3 d = world - base;
    return {d.dot(u), d.dot(v), d.dot(w)};
  }
  Vec3 frame_dir(const Vec3& world) const { return {world.dot(u), world.dot(v), world.dot(w)}; }
  Vec3 world_point(const Vec3& q) const { return base + u * q.x + v * q.y + w * q.z; }
  // The world point that the deformation carries onto heart-frame point q (to_heart(p) == q):
  // where a shape given in the frame is drawn.
  Vec3 drawn_world_point(const Vec3& q) const {
    Vec3 x = q;
    for (int i = 0; i < 12; ++i) x = x + (q - to_heart(world_point(x)));
    return world_point(x);
  }
  // Generation 2: the parameter (0-1, clamped) at which the aorta's first segment, the root
  // rising from the LV's outflow, crosses frame height w.
  double root_param(double w) const {
    const Vec3 p0 = aorta.points[0], p1 = aorta.points[1];
    return p0.z == p1.z ? 0.0 : std::clamp((p0.z - w) / (p0.z - p1.z), 0.0, 1.0);
  }
  // How many of tube t's points belong to the heart proper: all but generation 2's aorta past
  // its ascending part.
  size_t chamber_points(const Tube& t) const {
    return generation >= 2 && &t == &aorta ? std::min(kArchStart + 1, t.points.size()) : t.points.size();
  }

  // The structure owning heart-frame point q: true with `out` set, or false with `sd` the
  // distance (mm, approximate) to the nearest structure that pericardial or mediastinal fat
  // wraps. Distances beyond Vessel::kMargin may be overestimated.
  bool classify(const Vec3& q, Voxel& out, double& sd, bool with_vessels = true) const;
};

struct Body {
  double bx = 160, by = 120;   // body outline semi-axes (x: left-right, y: antero-posterior), mm
  double fat = 15;             // subcutaneous fat thickness
  double muscle = 12;          // chest wall muscle
  double rib_period = 28, rib_thickness = 9, rib_phase = 0;
  Vec3 spine;                  // vertebral body centre (x, y), radius below
  double spine_radius = 17;
  Vec3 descending;             // descending aorta centre (x, y)
  double descending_radius = 11;
  double lung_cx = 80, lung_semi_x = 65, lung_semi_y = 85, lung_y = -5;

  // Generation 2: the diaphragm's domes with the liver below, the sternum and costal
  // cartilages in front, the oesophagus behind the left atrium.
  int generation = 1;
  double dome_z = 0, dome_right = 30, dome_left = 15, dome_sigma = 60;  // z of the centre, rises, mm
  Vec3 dome_right_at, dome_left_at;  // (x, y) of each dome's top
  double sternum_x = 0, sternum_half_width = 15, sternum_thickness = 12, xiphoid_z = 0;
  double cartilage_x = 70;     // ribs are cartilage within this |x - sternum_x| in front
  Vec3 oesophagus;             // centre (x, y)
  double oesophagus_radius = 8, oesophagus_air = 0;
  Vec3 trachea;                // the trachea's axis above the carina (x, y), in front of the oesophagus
  double trachea_radius = 9, trachea_wall = 1.5;  // lumen, mm
  VesselOverlay lung_vessels;  // world
  double lung_ml = 0;          // the lungs the vessels fill (diaphragm to 15 cm above the hila)
  double diaphragm_z(double x, double y) const;
  // Depth (mm, approximate) of p inward from the skin, and rho (> 1: outside the body).
  double depth(const Vec3& p, double& rho) const {
    const double rx = p.x / bx, ry = p.y / by;
    rho = std::sqrt(rx * rx + ry * ry);
    return (1.0 - rho) * (bx * rx * rx + by * ry * ry) / std::max(rho * rho, 1e-12);
  }
};

// The intensity of a blood voxel beyond its pool's level: where unopacified blood from the
// IVC (or dense contrast from the SVC) enters the right atrium, a swirl of the inflow's level.
struct Jet {
  Vec3 at;             // world
  double sigma = 15;   // mm
  double strength = 0.5;
  Pool from = kIVC;
  Vec3 freq;           // swirl
  double phase = 0;
};

// Streaks next to dense contrast (the SVC in a bolus phase), in axial planes: bright and dark
// rays from the vessel's centre, fading with distance.
struct Streaks {
  std::vector<double> angle, amplitude;
  double width = 0.03;  // radians
  double fade = 40;     // mm
  double z_lo = 0, z_hi = 0;
  Vec3 bottom, top;     // the SVC's centreline, world
  double radius = 10;
};

struct Appearance {
  std::array<double, kTissueCount> value{};
  std::array<double, kGeneration1Pools> pool_offset{};
  double noise = 15;   // CT: Gaussian sd in HU; MR: Rician sd
  double blur_mm = 1;  // Gaussian PSF sd
  // MR bias field: exp(bias * mean of two sinusoids)
  double bias = 0;
  std::array<Vec3, 2> bias_freq;
  std::array<double, 2> bias_phase{};

  // Generation 2.
  int generation = 1;
  std::array<double, kPoolCount> pool_level{};  // each pool's blood before noise
  std::vector<Jet> jets;
  Streaks streaks;
  double noise_grain = 0;   // CT: sd (voxels, in-plane) of the noise's correlation
  double slice_blur = 0;    // extra through-plane blur, mm (MR's slice profile)
  double coil_falloff = 0;  // MR: sensitivity falls with depth from the anterior and posterior coils, mm
  double motion_mm = 0;     // CT: sd (mm) of the heart's motion blur along motion_dir (world); 0: none
  Vec3 motion_dir{1, 0, 0};
};

struct CaseSpec {
  PhantomFacts facts;
  Modality modality = Modality::kCT;
  Grid grid;
  Heart heart;
  Body body;
  Appearance look;
  uint64_t noise_key = 0;
};

// --- generation 2 (phantom_anatomy.cpp) -------------------------------------------------

// Adds the great vessels' course, the veins, appendages, ventricular bundles and the body's
// neighbours to a case whose heart and body generation 1 has drawn (base set), then refits the
// chambers to their drawn volumes. Draws from its own stream, so generation 1 stays as it was.
void grow_anatomy(CaseSpec& c, Random& rng);

// Grows generation 2's lung vessels (Body::lung_vessels) once the case's anatomy and grid are
// set; `in_lung` tells whether a world point is lung. Draws from a stream of its own.
void grow_lung_vessels(CaseSpec& c, const std::function<bool(const Vec3&)>& in_lung);

// Grows generation 2's coronary arteries (Heart::coronaries) in the grooves of the heart's
// surface once its anatomy and the grid are set. Draws from a stream of its own.
// `drawable` tells whether a world point's tissue takes the overlay (fat, soft tissue, lung).
void grow_coronaries(CaseSpec& c, const std::function<bool(const Vec3&)>& drawable);
// Generation 2's aortic and pulmonary valves (phantom_valve.cpp): open or closed, and where;
// and the mitral and tricuspid valves' leaflets in the orifices, closed when those are open.
void place_valves(CaseSpec& c);
// Generation 2's RV across and the LV's length and diameter, for the facts
// (PhantomFacts::rv_basal, rv_mid, lv_length, lv_diameter; phantom_valve.cpp), once the heart
// is final.
void measure_ventricles(CaseSpec& c);

// Generation 2's mitral and tricuspid orifices (phantom_valve.cpp), placed once the
// chambers and great vessels are (before the chambers are fitted to their volumes). Draws
// from a stream of its own.
void open_atrioventricular_orifices(CaseSpec& c);

// Generation 2's contrast: phase, pool levels, mixing jets, streaks, noise grain, MR coils.
void draw_contrast(CaseSpec& c, PhantomPreset preset, Random& rng);

// What a generation-2 case's body holds at world point p, below the heart's tests (the
// diaphragm, liver, sternum, cartilages, oesophagus); false when generation 1's thorax rules.
bool classify_neighbours(const CaseSpec& c, const Vec3& p, double depth, Voxel& out);

// The noiseless intensity of a generation-2 voxel at world point p.
double intensity(const CaseSpec& c, const Voxel& v, const Vec3& p);

// The world-space bounding box of the heart's chambers and labelled vessels.
void heart_extent(const Heart& h, Vec3& lo, Vec3& hi);

// Rescales LA, RA and RV (and for generation 1 the vessels' radii) toward their drawn volumes.
void fit_volumes(Heart& h, bool fit_vessels);

}  // namespace coordseg::phantom_model
