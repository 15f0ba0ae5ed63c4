// NIfTI-1 and NIfTI-2 file I/O (.nii and .nii.gz, single-file only), through nifticlib.
//
// Reading validates the whole header before touching voxel data and never allocates more
// than the data the file really holds: bad files (wrong magic, truncated, absurd dims,
// bad pixdim, unsupported datatypes, ...) raise coordseg::Error naming the file and reason.
// The affine is the sform when sform_code > 0, else the qform when qform_code > 0, else the
// pixdim scaling (NIfTI's "method 1"). A 4D file with one time point reads as 3D.
//
// Writing goes to a temporary file in the target's folder which is renamed over the target
// only when complete, so a failure never leaves a half-written file. The header keeps the
// volume's source qform and sform (codes and matrices) when they still describe its grid.
#pragma once

#include <string>

#include "coordseg/core/nifti_header.h"
#include "coordseg/core/volume.h"

namespace coordseg {

// The header of a file without its voxels, and the grid it describes.
struct NiftiInfo {
  std::string path;
  NiftiHeader header;
  Grid grid;
};
NiftiInfo read_nifti_info(const std::string& path);

// An image: voxels as float32 with scl_slope/scl_inter applied. Non-finite voxels are an
// error that reports their count.
Volume read_image(const std::string& path);

// A label map: voxel values exactly as integers. A float file (or a scaled one) must hold
// integral values only; values outside int32 are an error.
LabelVolume read_labels(const std::string& path);

enum class ImageType { kFloat32, kInt16 };
enum class LabelType { kAuto, kUint8, kInt16 };  // kAuto: uint8 when all values fit

// Writes to `path` (must end in .nii or .nii.gz; .gz compresses). int16 images are rounded,
// and values outside the type's range are an error, as are label values outside their type.
void write_image(const std::string& path, const Volume& volume, ImageType type = ImageType::kFloat32);
void write_labels(const std::string& path, const LabelVolume& labels, LabelType type = LabelType::kAuto);

// "float32", "int16", ... for a NIfTI DT_* code.
std::string datatype_name(int datatype);

// When `path` is a folder named like a NIfTI file (*.nii or *.nii.gz, as some archives
// unpack) holding exactly one NIfTI file, that file; otherwise `path` itself.
std::string resolve_nifti_path(const std::string& path);

}  // namespace coordseg
