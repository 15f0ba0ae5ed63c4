#include "coordseg/core/geometry.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "coordseg/core/error.h"

namespace coordseg {

Affine Affine::identity() {
  Affine a;
  for (int r = 0; r < 4; ++r) a.m[r][r] = 1.0;
  return a;
}

Affine Affine::from_spacing(const std::array<double, 3>& spacing) {
  Affine a = identity();
  for (int r = 0; r < 3; ++r) a.m[r][r] = spacing[r];
  return a;
}

std::array<double, 3> Affine::apply(double i, double j, double k) const {
  std::array<double, 3> w{};
  for (int r = 0; r < 3; ++r) w[r] = m[r][0] * i + m[r][1] * j + m[r][2] * k + m[r][3];
  return w;
}

Affine Affine::operator*(const Affine& o) const {
  Affine p;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += m[r][k] * o.m[k][c];
      p.m[r][c] = s;
    }
  return p;
}

double Affine::determinant3() const {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

Affine Affine::inverse() const {
  const double det = determinant3();
  if (!(std::fabs(det) > 1e-12)) throw data_error("affine", "matrix is singular");
  Affine inv = identity();
  // Inverse of the 3x3 block by cofactors, then the translation.
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      const int r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3;
      inv.m[r][c] = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
    }
  for (int r = 0; r < 3; ++r) {
    double t = 0;
    for (int c = 0; c < 3; ++c) t += inv.m[r][c] * m[c][3];
    inv.m[r][3] = -t;
  }
  return inv;
}

double Affine::column_norm(int c) const {
  return std::sqrt(m[0][c] * m[0][c] + m[1][c] * m[1][c] + m[2][c] * m[2][c]);
}

double Affine::max_abs_diff(const Affine& o) const {
  double d = 0;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) d = std::fmax(d, std::fabs(m[r][c] - o.m[r][c]));
  return d;
}

AxisMapping closest_axes(const Affine& affine) {
  // Normalised direction cosines; then the axis permutation with the largest summed
  // |cosine| (all six tried), which is unambiguous even for strongly oblique grids.
  double cosine[3][3];
  for (int c = 0; c < 3; ++c) {
    const double n = affine.column_norm(c);
    for (int r = 0; r < 3; ++r) cosine[r][c] = n > 0 ? affine.m[r][c] / n : 0.0;
  }
  static const int kPerms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  int best = 0;
  double best_score = -1;
  for (int p = 0; p < 6; ++p) {
    double score = 0;
    for (int c = 0; c < 3; ++c) score += std::fabs(cosine[kPerms[p][c]][c]);
    if (score > best_score + 1e-12) {
      best_score = score;
      best = p;
    }
  }
  AxisMapping map;
  for (int c = 0; c < 3; ++c) {
    map.world_axis[c] = kPerms[best][c];
    map.flipped[c] = cosine[map.world_axis[c]][c] < 0;
  }
  return map;
}

std::string orientation_code(const Affine& affine) {
  static const char kPositive[3] = {'R', 'A', 'S'};
  static const char kNegative[3] = {'L', 'P', 'I'};
  const AxisMapping map = closest_axes(affine);
  std::string code;
  for (int c = 0; c < 3; ++c)
    code += map.flipped[c] ? kNegative[map.world_axis[c]] : kPositive[map.world_axis[c]];
  return code;
}

namespace {
std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

std::string Grid::describe() const {
  std::ostringstream s;
  s << dims[0] << " x " << dims[1] << " x " << dims[2] << " voxels, " << fmt(spacing[0]) << " x "
    << fmt(spacing[1]) << " x " << fmt(spacing[2]) << " mm, " << orientation_code(affine)
    << ", affine [";
  for (int r = 0; r < 3; ++r) {
    s << (r ? "; " : "");
    for (int c = 0; c < 4; ++c) s << (c ? " " : "") << fmt(affine.m[r][c]);
  }
  s << "]";
  return s.str();
}

bool same_grid(const Grid& a, const Grid& b, double tolerance_mm) {
  return a.dims == b.dims && a.affine.max_abs_diff(b.affine) <= tolerance_mm;
}

void check_same_grid(const Grid& a, const std::string& a_name, const Grid& b,
                     const std::string& b_name, double tolerance_mm) {
  if (same_grid(a, b, tolerance_mm)) return;
  throw data_error(b_name, "grid differs from " + a_name + " (" + a.describe() + ") : " +
                               b.describe());
}

}  // namespace coordseg
