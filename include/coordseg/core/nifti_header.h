// The NIfTI header fields a Volume keeps from the file it was read from, so that outputs
// written on the same grid (a label map predicted from an image) carry the image's qform and
// sform -- codes, quaternion and matrix -- exactly as the image had them. Values are stored
// as read (NIfTI-1 floats widened to double), so writing them back is lossless.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "coordseg/core/geometry.h"

namespace coordseg {

struct NiftiHeader {
  int version = 1;          // 1 or 2
  bool gzip = false;        // the file was gzip-compressed
  int datatype = 0;         // NIfTI DT_* code as stored in the file
  double scl_slope = 0.0;   // 0 or non-finite: no scaling
  double scl_inter = 0.0;
  double cal_min = 0.0, cal_max = 0.0;
  int64_t time_points = 1;  // product of dims 4..7
  int intent_code = 0;
  int xyzt_units = 2;       // NIFTI_UNITS_MM
  std::array<double, 8> pixdim{1, 1, 1, 1, 1, 1, 1, 1};  // pixdim[0] is qfac
  int qform_code = 0;
  int sform_code = 0;
  std::array<double, 3> quatern{};   // b, c, d
  std::array<double, 3> qoffset{};   // x, y, z in mm
  Affine qform = Affine::identity();  // from the quaternion (meaningful if qform_code > 0)
  Affine sform = Affine::identity();  // srow_x/y/z (meaningful if sform_code > 0)
  std::string descrip;

  // The transform that places the voxels, by NIfTI's precedence: the sform when its code
  // is set, else the qform, else the pixdim scaling (Analyze's method 1).
  Affine affine() const;
  // Which transform affine() is: "sform", "qform" or "pixdim".
  const char* affine_source() const;
  // True when scl_slope is a finite non-zero value and (slope, inter) is not (1, 0).
  bool has_scaling() const;
};

// A header describing `grid` alone: qform and sform both set to the grid's affine with the
// given codes (1 = scanner anatomical), pixdim from the spacing. For volumes made in memory.
NiftiHeader make_header(const Grid& grid, int qform_code = 1, int sform_code = 1);

}  // namespace coordseg
