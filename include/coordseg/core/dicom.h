// DICOM series in: the image series in a folder (any depth), and one series read as a
// Volume with the geometry the standard defines, through GDCM (whose codecs decode JPEG,
// JPEG-LS, JPEG 2000 and RLE transfer syntaxes).
//
// Geometry: slices are ordered along the normal of ImageOrientationPatient (row direction x
// column direction) by the projection of ImagePositionPatient on it -- never by file name or
// InstanceNumber. Voxel i runs along a row (PixelSpacing[1] apart), j down the columns
// (PixelSpacing[0] apart), k along the sorted slices, whose spacing is measured from the
// positions. The affine is built in DICOM's LPS world and turned into NIfTI's RAS (x and y
// negated). Values are stored values x RescaleSlope + RescaleIntercept (Hounsfield units
// for CT), slice by slice.
//
// A series is refused with one line naming it and the reason: missing slices (a gap that is
// a multiple of the others), duplicated positions (also what a 4D series looks like),
// unequal gaps beyond 1% (accepted with `resample_gaps`: the slices are interpolated onto
// an even spacing, the median gap), slices sheared against their plane (gantry tilt), mixed
// orientations, sizes or pixel spacings, multi-frame objects, colour images, and compressed
// pixel data GDCM cannot decode. Files that are not DICOM and DICOM objects without pixels
// (reports, presentation states, structure sets) are skipped. Torch-free.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "coordseg/core/volume.h"

namespace coordseg {

// The header fields of one image file that its geometry and values need, as the folder scan
// read them (DICOM strings, trimmed; empty when absent), so that reading the series needs no
// second pass over the headers.
struct DicomFileTags {
  std::string position, orientation, pixel_spacing, slice_thickness, slope, intercept, frames, samples;
};

struct DicomSeries {
  std::string folder;       // the folder searched
  std::string uid;          // SeriesInstanceUID
  std::string modality, description;
  std::vector<std::string> files;    // its image files, in the order found (not sorted)
  std::vector<DicomFileTags> tags;   // one per file, in the same order
  int64_t rows = 0, columns = 0;
  std::array<double, 3> spacing{0, 0, 0};  // mm: along a row, down a column, between slices
                                            // (0 when the slices do not allow a measure)
  // "1.2.826.0.1.3680043.2.1125.1 (CT, 40 slices, 64 x 64, 'Chest')"
  std::string describe() const;
};

struct DicomFolder {
  std::string folder;
  std::vector<DicomSeries> series;  // image series, ordered by modality, description, UID
  int64_t files = 0;                // regular files seen
  int64_t not_dicom = 0;            // files GDCM does not read as DICOM
  int64_t not_image = 0;            // DICOM objects without pixel data (SR, PR, RTSTRUCT, ...)
};

// True when `path` is a folder to read as DICOM: a folder, but not one named like a NIfTI
// file that holds one (resolve_nifti_path's archive layout, read as that NIfTI file).
bool is_dicom_input(const std::string& path);

// Scans `folder` and everything below it. A folder that does not exist is an error; one
// without an image series has an empty `series`.
DicomFolder find_dicom_series(const std::string& folder);

// The series `which` names (its UID, or its number 1.. in `series` order), or with `which`
// empty the only one. Errors: no image series; several and none named (listing them);
// `which` not found.
const DicomSeries& choose_series(const DicomFolder& found, const std::string& which);

struct DicomReadOptions {
  std::string series;          // see choose_series
  bool resample_gaps = false;  // interpolate uneven slice gaps onto an even spacing
};

// Reads one series as an image. `Volume::source` names the folder and the series.
Volume read_dicom_series(const DicomSeries& series, bool resample_gaps = false);

// An input path as an image: a DICOM folder (options choose the series) or a NIfTI file.
Volume read_image_input(const std::string& path, const DicomReadOptions& options = {});

// `coordseg info DIR`: the series found, one line each, with what was skipped.
std::string describe_dicom_folder(const DicomFolder& found);

}  // namespace coordseg
