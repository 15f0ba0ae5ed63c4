// Generation 2's coronary arteries: the bright tubes of 1-5 mm that every contrast CT of the
// heart shows in the epicardial fat, in the grooves between the chambers, unlabelled in
// MM-WHS. The left main leaves the aortic root's left sinus and divides into the left anterior
// descending (down the anterior interventricular groove toward the apex) and the circumflex
// (round the left atrioventricular groove); the right coronary leaves the right sinus, runs
// round the right atrioventricular groove to the crux and goes on as the posterior descending
// artery in the inferior interventricular groove (right dominance, as in most people);
// diagonals, obtuse marginals and an acute marginal branch off over the free walls. Lumen
// diameters after Dodge et al., Circulation 1992;86:232: left main 4.5 +/- 0.5 mm, proximal
// LAD 3.7 +/- 0.4 and distal 1.9 +/- 0.4, proximal RCA 3.9 +/- 0.6, proximal circumflex 3.4
// +/- 0.5. A groove is found on the heart's surface: between LV and RV, where the outermost
// structure along a ray from the LV's axis changes from one to the other; round the valve
// plane, where it stops being a ventricle. A path's points are smoothed about the LV's axis
// and kept just clear of the heart's shapes (`shape`), so its length is the groove's: the
// left main about 1 cm, the RCA 12 +/- 2 cm to its end in cadaver hearts (Nguyen and
// Talarico, Eur J Anat 2019;23:341). The arteries are drawn over unlabelled tissue only
// (VesselOverlay), so an appendage, a vein or a wall over their path hides them there.
#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <utility>

#include "phantom_model.h"

namespace coordseg::phantom_model {

namespace {

// The heart proper, in its frame: the LV cut at the valve plane with the fibrous annulus above
// it, the atria with their appendages (the RA with its vestibule), the RV with its outflow
// tract, the tricuspid channel with its wall, the aortic root with the ascending aorta, the
// pulmonary trunk and the coronary sinus. (Without the channel, where it passes the RV's
// crescent the RCA's groove ran through its wall, which hid 35 % of the RCA's centreline on
// seed 7's first 12 quick cases, against 17 % before the orifice moved below the RA; with it,
// 20 %.)
struct HeartSurface {
  const Heart& h;
  Tube root;

  std::vector<const Vessel*> on_heart;  // the appendages, the RV's outflow tract, the coronary sinus

  bool trunk = true;
  // The ventricles alone (the RV with its outflow tract), for the interventricular grooves: a
  // ray that meets an atrium, a great artery or a vein over them tells nothing of where one
  // ventricle gives way to the other (at the LV's base such rays, taken for either, made the
  // LAD climb 25-30 mm out onto the shape and back).
  bool ventricles_only = false;

  // Without `overhangs` (the LA's appendage and the pulmonary trunk), the surface under them:
  // the circumflex runs in the atrioventricular groove beneath both where they hang over the
  // LV's wall.
  explicit HeartSurface(const Heart& heart, bool overhangs = true, bool ventricles = false)
      : h(heart), trunk(overhangs), ventricles_only(ventricles) {
    for (const Vessel& v : h.vessels)
      if (v.lumen == kBlood && ((overhangs && v.pool == kLA) || v.pool == kRA || v.pool == kRV || v.pool == kCS))
        on_heart.push_back(&v);
    const size_t n = h.chamber_points(h.aorta);
    root.points.assign(h.aorta.points.begin(), h.aorta.points.begin() + static_cast<std::ptrdiff_t>(n));
    root.radii.assign(h.aorta.radii.begin(), h.aorta.radii.begin() + static_cast<std::ptrdiff_t>(n));
  }
  double lv(const Vec3& q) const {
    const double body = h.lv_sd(q);
    const double ring = std::max(h.lv_outer.sd({q.x, q.y, 0}), std::max(q.z, -h.annulus - q.z));
    return std::min(body, ring);
  }
  double sd(const Vec3& q) const {
    if (ventricles_only) return std::min(lv(q), rv(q));
    double d = std::min({lv(q), h.la.sd(q), h.ra_sd(q), h.rv.sd(q), h.tricuspid_channel_sd(q), root.sd(q),
                         trunk ? h.pa.sd(q) : Tube::kFar});
    for (const Vessel* v : on_heart) d = std::min(d, v->tube.sd(q));
    return d;
  }

  // The RV with its outflow tract (signed distance, mm).
  double rv(const Vec3& q) const {
    double d = h.rv.sd(q);
    for (const Vessel* v : on_heart)
      if (v->pool == kRV) d = std::min(d, v->tube.sd(q));
    return d;
  }

  // How far from the LV's long axis the ray at angle phi and height w meets the surface,
  // marching in from `from` mm; 0 when it does not.
  double envelope(double phi, double w, double from) const {
    const double cx = std::cos(phi), cy = std::sin(phi);
    auto at = [&](double r) { return sd({r * cx, r * cy, w}); };
    double outside = from, inside = 0, r = from;
    for (;;) {
      const double d = at(r);
      if (d <= 0) {
        inside = r;
        break;
      }
      outside = r;
      r -= std::max(0.4, 0.7 * d);  // short of the distance, which is approximate
      if (r <= 0) return 0;
    }
    for (int i = 0; i < 6; ++i) {
      const double m = 0.5 * (inside + outside);
      (at(m) <= 0 ? inside : outside) = m;
    }
    return outside;
  }
};

// Angles from a to b (radians), `step` apart, turning the way from `from` to `to` turns (the
// shorter way). Empty past the first when a already lies beyond b that way.
std::vector<double> sweep(double a, double b, double from, double to, double step) {
  const double sense = std::remainder(to - from, 2 * M_PI) >= 0 ? 1.0 : -1.0;
  double arc = std::fmod(std::fmod(sense * (b - a), 2 * M_PI) + 2 * M_PI, 2 * M_PI);
  if (arc > 1.5 * M_PI) arc = 0;
  std::vector<double> out;
  for (double t = 0; t <= arc; t += step) out.push_back(a + sense * t);
  return out;
}

}  // namespace

void grow_coronaries(CaseSpec& c, const std::function<bool(const Vec3&)>& drawable) {
  Heart& h = c.heart;
  VesselOverlay& cor = h.coronaries;
  Random rng(c.noise_key ^ 0xc0c0aull);
  cor.voxel_mm = c.grid.voxel_mm();
  const HeartSurface s(h), under_overhangs(h, /*overhangs=*/false), ventricles(h, false, /*ventricles=*/true);
  auto phi_of = [&](const Vec3& world) {
    const Vec3 d = h.frame_dir(world);
    return std::atan2(d.y, d.x);
  };
  const double from = std::max(h.lv_outer.semi.x, h.lv_outer.semi.y) + 45;
  const double apex = h.lv_outer.semi.z;

  // Lumen radii (mm).
  const double r_lm = rng.uniform(2.0, 2.5);
  const double r_lad0 = rng.uniform(1.65, 2.05), r_lad1 = rng.uniform(0.75, 1.15);
  const double r_lcx0 = rng.uniform(1.45, 1.95), r_lcx1 = rng.uniform(0.8, 1.1);
  const double r_rca0 = rng.uniform(1.65, 2.25), r_rca1 = rng.uniform(1.1, 1.4), r_pda1 = rng.uniform(0.6, 0.9);

  // The interventricular groove at height w nearest angle `near`: the surface point between
  // the last ray that meets one ventricle and the first that meets the other.
  auto iv_groove = [&](const HeartSurface& surface, double w, double near, double& phi_out, double& r_out) {
    const int n = 40;
    const double span = 80 * M_PI / 180;
    double best = 1e9, prev_phi = 0, prev_r = 0;
    bool prev_rv = false, have_prev = false, found = false;
    for (int i = 0; i <= n; ++i) {
      const double phi = near - span + 2 * span * i / n;
      const double r = surface.envelope(phi, w, from);
      if (r <= 0) {
        have_prev = false;
        continue;
      }
      const Vec3 hit{r * std::cos(phi), r * std::sin(phi), w};
      const bool rv = surface.rv(hit) < surface.lv(hit);
      if (have_prev && rv != prev_rv) {
        const double mid = 0.5 * (phi + prev_phi), off = std::fabs(std::remainder(mid - near, 2 * M_PI));
        if (off < best) best = off, phi_out = mid, r_out = std::min(r, prev_r), found = true;
      }
      prev_rv = rv, prev_phi = phi, prev_r = r, have_prev = true;
    }
    return found;
  };
  // The atrioventricular groove at angle phi: going from the apex's side toward the atria
  // (from 30 mm below the valve plane, under an atrium that hangs low: from 24 mm, where the
  // tricuspid orifice lies 10-13 mm apical the RA's vestibule covered the groove near the crux
  // at every height tried, and the posterior descending artery set off from where the RCA had
  // stopped short of it, 118 mm long in seed 77's case 9), the first height where
  // the outermost structure is no longer a ventricle (an atrium, the aortic root or the
  // pulmonary trunk, or nothing: then the top of the ventricle).
  auto av_groove = [&](const HeartSurface& surface, double phi, double& w_out, double& r_out) {
    double last_w = 0, last_r = 0;
    bool seen = false;
    for (double w = 30; w > -40; w -= 1.5) {
      const double r = surface.envelope(phi, w, from);
      bool ventricle = false;
      if (r > 0) {
        const Vec3 hit{r * std::cos(phi), r * std::sin(phi), w};
        ventricle = std::min(surface.lv(hit), h.rv.sd(hit)) <= surface.sd(hit) + 1e-9;
      }
      // A ventricle met far inside the last one's surface is seen past its top (over the
      // mitral orifice, where the shapes leave a gap): the groove was at the last height.
      if (ventricle && !(seen && r < last_r - 6)) {
        last_w = w, last_r = r, seen = true;
        continue;
      }
      if (!seen) continue;
      // The corner between the two: on the ventricle's top against an atrium set back from
      // it (by less than 6 mm: a ray that meets a shape further in has passed the groove),
      // or on the ventricle's side under one that overhangs it.
      if (!ventricle && r > 0 && r < last_r && r > last_r - 6) {
        w_out = w, r_out = r;
      } else {
        w_out = last_w, r_out = last_r;
      }
      return true;
    }
    return false;
  };
  // The first point where the overlay is drawn on the ray from the LV's axis at angle phi and
  // height w, from radius r0 out in `steps` steps of 0.5 mm; r0's point if there is none.
  auto drawn_on_ray = [&](double phi, double r0, double w, int steps) {
    auto at = [&](double r) { return Vec3{r * std::cos(phi), r * std::sin(phi), w}; };
    for (int k = 0; k < steps; ++k)
      if (drawable(h.drawn_world_point(at(r0 + 0.5 * k)))) return at(r0 + 0.5 * k);
    return at(r0);
  };
  // A centreline point on the surface, partly sunk in its groove; where a wall or a vein lies
  // there (not part of HeartSurface), moved out over it, up to 6 mm.
  auto on_surface = [&](double phi, double r, double w, double lumen) {
    return drawn_on_ray(phi, r + 0.8 * lumen, w, 12);
  };

  // The ostia: in the aortic root's sinuses a few mm above the valve plane.
  const Vec3 p0 = h.aorta.points[0], p1 = h.aorta.points[1];
  const double w_ost = -rng.uniform(4, 8);
  const Vec3 axis = p0 + (p1 - p0) * h.root_param(w_ost);
  const double lumen = h.aorta.radius_at(0, h.root_param(w_ost)) - h.wall;  // the root widens from its annulus
  auto flat = [&](const Vec3& world) {
    Vec3 d = h.frame_dir(world);
    d.z = 0;
    return d.unit();
  };
  // Each artery's first part leaves the root in a direction of a fan, which runs from the
  // usual course outward: the first along which it lies in the fat (sampled every tenth of its
  // length) nearly as much as along the best (two tenths less at most). The left main runs
  // between the pulmonary trunk in front and the LA behind, the right coronary between the
  // RA's appendage and the RV's outflow tract.
  auto leave_root = [&](std::initializer_list<Vec3> fan, double reach) {
    std::vector<std::pair<Vec3, Vec3>> ways;
    std::vector<int> in_fat;
    for (const Vec3& world : fan) {
      const Vec3 d = flat(world);
      const Vec3 end = axis + d * (lumen + h.wall + reach) + Vec3{0, 0, 4};
      const Vec3 wall_out = axis + d * (lumen + h.wall), span = end - axis - d * (lumen + h.wall);
      int n = 0;
      for (int k = 1; k <= 10; ++k) n += drawable(h.drawn_world_point(wall_out + span * (k / 10.0)));
      ways.emplace_back(d, end);
      in_fat.push_back(n);
    }
    const int best = *std::max_element(in_fat.begin(), in_fat.end());
    size_t i = 0;
    while (in_fat[i] < best - 2) ++i;
    return ways[i];
  };
  // An artery runs down from its ostium: a groove point found more than kClimb mm above
  // (toward the base) where it leaves the root is another shape's top, not its groove.
  constexpr double kClimb = 12;
  const double lm_reach = rng.uniform(8, 12), rca_reach = rng.uniform(6, 10);
  const auto [to_left, lm_end] = leave_root({world_dir(-1, 0.3, 0), world_dir(-1, 0, 0), world_dir(-1, -0.3, 0),
                                             world_dir(-1, -0.6, 0), world_dir(-0.6, -1, 0)}, lm_reach);
  const auto [to_right, rca_exit] = leave_root({world_dir(0.6, 1, 0), world_dir(0.2, 1, 0), world_dir(1, 1, 0),
                                                world_dir(1, 0.5, 0), world_dir(-0.2, 1, 0)}, rca_reach);

  // Left anterior descending: down the anterior interventricular groove.
  const std::vector<Vec3> lm = {axis + to_left * (lumen - 0.5), lm_end};
  std::vector<Vec3> lad = {lm_end};
  double near = phi_of(world_dir(-0.3, 1, 0.2));
  for (double w = 6; w < 0.92 * apex; w += 2.5) {
    double phi = 0, r = 0;
    if (!iv_groove(ventricles, w, near, phi, r)) break;
    const double f = w / apex;
    lad.push_back(on_surface(phi, r, w, r_lad0 + (r_lad1 - r_lad0) * f));
    near = phi;
  }
  // Past the groove's end the LAD runs on over the apex, and in most hearts round it onto the
  // inferior wall for a few centimetres (a "wrap-around" LAD): over the tip, then up the far
  // side, shaped apart from the rest (about the LV's axis a path cannot cross the tip). From a
  // stream of its own, so the branches keep their draws.
  std::vector<Vec3> wrap_lad;
  if (lad.size() > 4) {
    Random wrap_rng(c.noise_key ^ 0x1adull);
    const double wrap = wrap_rng.chance(0.75) ? wrap_rng.uniform(5, 20) : 0.0;
    // Surface points at angle phi every 2.5 mm of height from w0 toward w1 (not reaching it),
    // until the ray at a height no longer meets the heart.
    auto on_surface_between = [&](double phi, double w0, double w1, std::vector<Vec3>& out) {
      const double step = w1 > w0 ? 2.5 : -2.5;
      for (double w = w0; step > 0 ? w < w1 : w > w1; w += step) {
        const double r = s.envelope(phi, w, from);
        if (r <= 0) return;
        out.push_back(on_surface(phi, r, w, r_lad1));
      }
    };
    const double phi = std::atan2(lad.back().y, lad.back().x);
    on_surface_between(phi, lad.back().z + 2.5, apex - 2, lad);
    const double tip = apex + 0.8 * r_lad1, back = phi + M_PI;
    wrap_lad.push_back({1e-3 * std::cos(back), 1e-3 * std::sin(back), tip});
    on_surface_between(back, apex - 2, apex - 2 - wrap, wrap_lad);
  }
  // The crux: where the inferior interventricular groove meets the atrioventricular one.
  double crux_phi = phi_of(world_dir(0.2, -0.4, -1)), crux_r = 0;
  const bool has_pda = iv_groove(ventricles, 6, crux_phi, crux_phi, crux_r);

  // Circumflex: round the left atrioventricular groove, from the left main's end to the
  // posterolateral wall.
  std::vector<Vec3> lcx = {lm_end};
  {
    const double a = std::atan2(lm_end.y, lm_end.x);
    const double end = phi_of(world_dir(-0.9, -0.7, -0.4));
    const std::vector<double> phis = sweep(a, end, phi_of(world_dir(-0.7, 0.7, 0)), end, 0.06);
    for (size_t i = 1; i < phis.size(); ++i) {
      double w = 0, r = 0;
      if (!av_groove(under_overhangs, phis[i], w, r)) continue;  // an atrium covers the ventricles here
      const double f = static_cast<double>(i) / static_cast<double>(phis.size());
      lcx.push_back(on_surface(phis[i], r, w, r_lcx0 + (r_lcx1 - r_lcx0) * f));
    }
  }
  // Right coronary: round the right atrioventricular groove to the crux, then the posterior
  // descending artery toward the apex.
  std::vector<Vec3> rca = {axis + to_right * (lumen - 0.5), rca_exit};
  {
    const double a = std::atan2(rca_exit.y, rca_exit.x);
    const std::vector<double> phis =
        sweep(a, crux_phi, phi_of(world_dir(0.7, 0.7, 0)), phi_of(world_dir(1, 0, -0.3)), 0.06);
    for (size_t i = 1; i < phis.size(); ++i) {
      double w = 0, r = 0;
      if (!av_groove(s, phis[i], w, r)) continue;  // an atrium covers the ventricles here
      if (w < rca_exit.z - kClimb) continue;    // the RV's top beside its outflow tract
      const double f = static_cast<double>(i) / static_cast<double>(phis.size());
      rca.push_back(on_surface(phis[i], r, w, r_rca0 + (r_rca1 - r_rca0) * f));
    }
  }
  std::vector<Vec3> pda;
  if (has_pda) {
    near = crux_phi;
    for (double w = 6; w < 0.6 * apex; w += 2.5) {
      double phi = 0, r = 0;
      if (!iv_groove(ventricles, w, near, phi, r)) break;
      pda.push_back(on_surface(phi, r, w, r_rca1 + (r_pda1 - r_rca1) * (w / (0.6 * apex))));
      near = phi;
    }
    if (!pda.empty() && rca.size() > 1) pda.insert(pda.begin(), rca.back());
  }

  // The radius at which the ray from the LV's axis at angle phi and height w, starting at r0,
  // first lies 0.5 mm clear of the heart's shapes (at most 25 mm further out).
  auto clear_radius = [&](const HeartSurface& surface, double phi, double r0, double w) {
    double r = r0;
    while (r < r0 + 25 && surface.sd({r * std::cos(phi), r * std::sin(phi), w}) < 0.5) r += 0.5;
    return r;
  };
  // A path is shaped in cylindrical coordinates about the LV's long axis (angle, radius,
  // height): there an average of neighbouring points stays on the heart's rounded surface
  // where in x, y, z it would cut a chord into it. Its first `fixed` points and its last stay.
  struct Cyl {
    double phi, r, w;
  };
  auto smooth121 = [](std::vector<double>& v, size_t fixed, int passes) {
    for (int pass = 0; pass < passes; ++pass) {
      std::vector<double> next = v;
      for (size_t i = std::max<size_t>(fixed, 1); i + 1 < v.size(); ++i) next[i] = 0.25 * (v[i - 1] + 2 * v[i] + v[i + 1]);
      v = next;
    }
  };
  auto shape = [&](const std::vector<Vec3>& q, size_t fixed, const HeartSurface& surface) {
    if (q.size() < 2) return q;
    std::vector<Cyl> cy;
    for (const Vec3& p : q) {
      Cyl k{std::atan2(p.y, p.x), std::hypot(p.x, p.y), p.z};
      if (!cy.empty()) k.phi = cy.back().phi + std::remainder(k.phi - cy.back().phi, 2 * M_PI);
      cy.push_back(k);
    }
    // A groove point more than 5 mm from the median of its neighbours (three each side) is a
    // misread of the groove -- a ray that met an appendage's tip or a far corner -- and goes.
    std::vector<Cyl> kept(cy.begin(), cy.begin() + static_cast<std::ptrdiff_t>(fixed));
    for (size_t i = fixed; i < cy.size(); ++i) {
      const size_t lo = i < 3 ? 0 : i - 3, hi = std::min(cy.size(), i + 4);
      if (hi - lo >= 3 && i + 1 < cy.size()) {
        auto median = [&](double Cyl::*m) {
          std::vector<double> v;
          for (size_t j = lo; j < hi; ++j) v.push_back(cy[j].*m);
          std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
          return v[v.size() / 2];
        };
        const double mr = median(&Cyl::r);
        if (std::hypot(mr * (cy[i].phi - median(&Cyl::phi)), cy[i].r - mr, cy[i].w - median(&Cyl::w)) > 5) continue;
      }
      kept.push_back(cy[i]);
    }
    // Points every 2 mm at most, then a smoothing of about 7 mm.
    std::vector<Cyl> d;
    size_t d_fixed = 0;
    for (size_t i = 0; i + 1 < kept.size(); ++i) {
      if (i + 1 == fixed) d_fixed = d.size() + 1;
      const Cyl a = kept[i], b = kept[i + 1];
      const double len = std::hypot(0.5 * (a.r + b.r) * (b.phi - a.phi), b.r - a.r, b.w - a.w);
      const int n = std::max(1, static_cast<int>(std::ceil(len / 2.0)));
      for (int k = 0; k < n; ++k) {
        const double t = static_cast<double>(k) / n;
        d.push_back({a.phi + (b.phi - a.phi) * t, a.r + (b.r - a.r) * t, a.w + (b.w - a.w) * t});
      }
    }
    d.push_back(kept.back());
    std::vector<double> phi(d.size()), r(d.size()), w(d.size());
    for (size_t i = 0; i < d.size(); ++i) phi[i] = d[i].phi, r[i] = d[i].r, w[i] = d[i].w;
    smooth121(phi, d_fixed, 24);
    smooth121(r, d_fixed, 24);
    smooth121(w, d_fixed, 24);
    // Each point then lies at least where the ray from the LV's axis first clears the heart's
    // shapes by 0.5 mm and, within 6 mm beyond, where the overlay is drawn; of the rays up to
    // 3 mm to either side the one that clears soonest is taken (in a groove's crease between
    // two shapes the ray through the crease meets the far one). The radii are then smoothed
    // again above those floors, so a path passes over a bulge instead of jumping.
    std::vector<double> floor_r = r;
    for (size_t i = d_fixed; i + 1 < d.size(); ++i) {
      double best = clear_radius(surface, phi[i], r[i], w[i]), best_phi = phi[i];
      for (const int k : {-1, 1, -2, 2, -3, 3}) {
        const double p = phi[i] + k / std::max(r[i], 5.0);
        const double rc = clear_radius(surface, p, r[i], w[i]);
        if (rc < best) best = rc, best_phi = p;
      }
      phi[i] = best_phi;
      const Vec3 at = drawn_on_ray(phi[i], best, w[i], 13);
      floor_r[i] = std::hypot(at.x, at.y);
    }
    r = floor_r;
    for (int pass = 0; pass < 24; ++pass) {
      smooth121(r, d_fixed, 1);
      for (size_t i = 0; i < r.size(); ++i) r[i] = std::max(r[i], floor_r[i]);
    }
    std::vector<Vec3> out;
    for (size_t i = 0; i < d.size(); ++i) out.push_back({r[i] * std::cos(phi[i]), r[i] * std::sin(phi[i]), w[i]});
    return out;
  };
  lad = shape(lad, 1, under_overhangs);
  if (wrap_lad.size() > 1) {
    wrap_lad = shape(wrap_lad, 1, s);
    lad.insert(lad.end(), wrap_lad.begin(), wrap_lad.end());
  }
  lcx = shape(lcx, 1, under_overhangs);
  rca = shape(rca, 2, s);
  if (!pda.empty()) {
    pda.front() = rca.back();
    pda = shape(pda, 1, s);
  }

  // Their branches over the free walls: two diagonals from the LAD toward the LV's lateral
  // wall, one or two obtuse marginals from the circumflex and an acute marginal from the RCA
  // over the RV, each leaving its parent at an angle and running down the outermost surface
  // toward the apex. Lumens of 1.4-2.5 mm at the origin, tapering to 1 mm.
  struct Branch {
    std::vector<Vec3> path;
    double r0, r1;
  };
  std::vector<Branch> branches;
  // The first point of a path at or below height w (toward the apex), or at a fraction of its
  // points.
  auto from_height = [](const std::vector<Vec3>& q, double w) {
    for (const Vec3& p : q)
      if (p.z >= w) return p;
    return q.back();
  };
  auto from_fraction = [](const std::vector<Vec3>& q, double f) {
    return q[std::min(q.size() - 1, static_cast<size_t>(f * static_cast<double>(q.size())))];
  };
  auto branch = [&](const Vec3& origin, double turn, double w_end, double r0) {
    const double phi0 = std::atan2(origin.y, origin.x), w0 = origin.z;
    if (w_end < w0 + 12) return;
    std::vector<Vec3> q = {origin};
    for (double w = w0 + 3; w <= w_end; w += 3) {
      const double t = (w - w0) / (w_end - w0);
      const double phi = phi0 + turn * std::sqrt(t);
      const double r = s.envelope(phi, w, from);
      if (r <= 0) break;
      q.push_back(on_surface(phi, r, w, r0 + (0.5 - r0) * t));
    }
    if (q.size() >= 4) branches.push_back({shape(q, 1, s), r0, 0.5});
  };
  // Signed turn from angle a toward angle b, the shorter way, of the given size.
  auto toward = [](double a, double b, double size) { return std::remainder(b - a, 2 * M_PI) >= 0 ? size : -size; };
  const double lateral = phi_of(world_dir(-1, 0, -0.3));
  if (lad.size() > 4) {
    for (const auto& [w_lo, w_hi] : {std::pair{8.0, 18.0}, std::pair{25.0, 38.0}}) {
      const Vec3 o = from_height(lad, rng.uniform(w_lo, w_hi));
      const double turn = toward(std::atan2(o.y, o.x), lateral, rng.uniform(0.35, 0.6));
      const double w_end = rng.uniform(0.7, 0.8) * apex, r0 = rng.uniform(0.9, 1.2);
      branch(o, turn, w_end, r0);
    }
  }
  if (lcx.size() > 4) {
    const int marginals = rng.uniform() < 0.5 ? 1 : 2;
    for (int k = 0; k < marginals; ++k) {
      const Vec3 o = from_fraction(lcx, k == 0 ? rng.uniform(0.4, 0.6) : rng.uniform(0.75, 0.9));
      const double turn = rng.uniform(-0.1, 0.1), w_end = rng.uniform(0.6, 0.7) * apex, r0 = rng.uniform(0.9, 1.25);
      branch(o, turn, w_end, r0);
    }
  }
  if (rca.size() > 4) {
    const Vec3 o = from_fraction(rca, rng.uniform(0.45, 0.6));
    const double turn = toward(std::atan2(o.y, o.x), std::atan2(lad.back().y, lad.back().x), rng.uniform(0.1, 0.25));
    const double w_end = rng.uniform(0.5, 0.6) * apex, r0 = rng.uniform(0.7, 0.95);
    branch(o, turn, w_end, r0);
  }

  // Segments in the world; a path's radius tapers along its length. Counts the centreline's
  // millimetres and those that lie where the overlay is drawn (fat, soft tissue, lung).
  double length = 0, shown = 0;
  auto add = [&](const std::vector<Vec3>& q, double r0, double r1) {
    if (q.size() < 2) return 0.0;
    double total = 0;
    for (size_t i = 1; i < q.size(); ++i) total += (q[i] - q[i - 1]).norm();
    double run = 0;
    Vec3 prev = h.drawn_world_point(q[0]);
    for (size_t i = 1; i < q.size(); ++i) {
      const double len = (q[i] - q[i - 1]).norm();
      const Vec3 next = h.drawn_world_point(q[i]);
      const double f = (run + 0.5 * len) / total;
      cor.segments.push_back({prev, next, r0 + (r1 - r0) * f, kAO});
      const int n = std::max(1, static_cast<int>(len));
      for (int k = 0; k < n; ++k) shown += drawable(prev + (next - prev) * ((k + 0.5) / n)) ? len / n : 0.0;
      length += len;
      run += len;
      prev = next;
    }
    return total;
  };
  c.facts.lm_length = add(lm, r_lm, r_lm) - 0.5;  // from the ostium, the lumen's edge
  c.facts.lad_length = add(lad, r_lad0, r_lad1);
  c.facts.lcx_length = add(lcx, r_lcx0, r_lcx1);
  c.facts.rca_length = add(rca, r_rca0, r_rca1);
  c.facts.pda_length = add(pda, r_rca1, r_pda1);
  for (const Branch& b : branches) c.facts.branch_length += add(b.path, b.r0, b.r1);
  c.facts.branches = static_cast<int>(branches.size());
  c.facts.lm_diameter = 2 * r_lm;
  c.facts.lad_diameter = 2 * r_lad0;
  c.facts.rca_diameter = 2 * r_rca0;
  c.facts.lcx_diameter = 2 * r_lcx0;
  c.facts.coronary_shown_pct = length > 0 ? 100 * shown / length : 0;
  cor.index();
}

}  // namespace coordseg::phantom_model
