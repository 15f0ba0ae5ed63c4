#include "coordseg/core/orientation.h"

#include "coordseg/core/error.h"
#include "coordseg/core/parallel.h"

namespace coordseg {

Reorientation canonical_reorientation(const Grid& grid) {
  const AxisMapping m = closest_axes(grid.affine);
  Reorientation r;
  for (int a = 0; a < 3; ++a) {
    r.source_axis[static_cast<size_t>(m.world_axis[a])] = a;
    r.flip[static_cast<size_t>(m.world_axis[a])] = m.flipped[a];
  }
  return r;
}

Grid reorient_grid(const Grid& grid, const Reorientation& r) {
  Grid out;
  // Canonical index c maps to source index s: s[src(a)] = flip(a) ? n - 1 - c[a] : c[a].
  // So the source index vector is P c + t, and the new affine is A (P c + t).
  Affine p;  // zero-initialised 4x4
  for (int a = 0; a < 3; ++a) {
    const int s = r.source_axis[static_cast<size_t>(a)];
    out.dims[static_cast<size_t>(a)] = grid.dims[static_cast<size_t>(s)];
    out.spacing[static_cast<size_t>(a)] = grid.spacing[static_cast<size_t>(s)];
    p.m[s][a] = r.flip[static_cast<size_t>(a)] ? -1.0 : 1.0;
    p.m[s][3] = r.flip[static_cast<size_t>(a)] ? static_cast<double>(grid.dims[static_cast<size_t>(s)] - 1) : 0.0;
  }
  p.m[3][3] = 1.0;
  out.affine = grid.affine * p;
  return out;
}

namespace {
// Calls fn(canonical linear index, source linear index) for every voxel, the canonical
// planes split over the cores: each call writes one voxel of its own, so the result does
// not depend on the split. (A full-size CT's 74 M voxels took about 0.3 s on one core.)
template <class Fn>
void for_each_pair(const Grid& source, const Reorientation& r, Fn&& fn) {
  const Grid c = reorient_grid(source, r);
  const int64_t sx = 1, sy = source.dims[0], sz = source.dims[0] * source.dims[1];
  const int64_t stride[3] = {sx, sy, sz};
  int64_t step[3], start = 0;
  for (int a = 0; a < 3; ++a) {
    const int s = r.source_axis[static_cast<size_t>(a)];
    step[a] = r.flip[static_cast<size_t>(a)] ? -stride[s] : stride[s];
    if (r.flip[static_cast<size_t>(a)]) start += (source.dims[static_cast<size_t>(s)] - 1) * stride[s];
  }
  // Small volumes (tests, quick phantoms) stay on the calling thread.
  const int threads = c.voxel_count() < (int64_t{1} << 20) ? 1 : 0;
  parallel_for(c.dims[2], threads, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t j = 0; j < c.dims[1]; ++j) {
        int64_t at = c.dims[0] * (j + c.dims[1] * k);
        int64_t src = start + j * step[1] + k * step[2];
        for (int64_t i = 0; i < c.dims[0]; ++i, src += step[0]) fn(at++, src);
      }
  });
}

// The voxels of `from` in the other voxel order of `source`'s grid: into the canonical order,
// or back out of it. A copy where the order is already canonical.
template <class T>
std::vector<T> permuted(const std::vector<T>& from, const Grid& source, const Reorientation& r, bool to_canonical) {
  if (r.is_identity()) return from;
  std::vector<T> out(from.size());
  if (to_canonical)
    for_each_pair(source, r, [&](int64_t c, int64_t s) { out[static_cast<size_t>(c)] = from[static_cast<size_t>(s)]; });
  else
    for_each_pair(source, r, [&](int64_t c, int64_t s) { out[static_cast<size_t>(s)] = from[static_cast<size_t>(c)]; });
  return out;
}
}  // namespace

template <class T>
VolumeOf<T> reorient(const VolumeOf<T>& v, const Reorientation& r) {
  VolumeOf<T> out;
  out.grid = reorient_grid(v.grid, r);
  out.header = make_header(out.grid, std::max(v.header.qform_code, 1), std::max(v.header.sform_code, 1));
  out.source = v.source;
  out.voxels = permuted(v.voxels, v.grid, r, /*to_canonical=*/true);
  return out;
}

template <class T>
VolumeOf<T> undo_reorient(const VolumeOf<T>& canonical, const Reorientation& r, const Grid& original,
                          const NiftiHeader& header) {
  const Grid expect = reorient_grid(original, r);
  if (canonical.grid.dims != expect.dims)
    throw data_error(canonical.name(), "canonical volume does not match the original grid");
  VolumeOf<T> out;
  out.grid = original;
  out.header = header;
  out.voxels = permuted(canonical.voxels, original, r, /*to_canonical=*/false);
  return out;
}

template VolumeOf<float> reorient(const VolumeOf<float>&, const Reorientation&);
template VolumeOf<int32_t> reorient(const VolumeOf<int32_t>&, const Reorientation&);
template VolumeOf<float> undo_reorient(const VolumeOf<float>&, const Reorientation&, const Grid&, const NiftiHeader&);
template VolumeOf<int32_t> undo_reorient(const VolumeOf<int32_t>&, const Reorientation&, const Grid&, const NiftiHeader&);

}  // namespace coordseg
