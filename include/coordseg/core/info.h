// What `coordseg info` prints about a NIfTI file: format, dims, spacing (mm), orientation
// code and which transform gave it, datatype and scaling, intensity range; and for label
// maps (integer values, at most kMaxLabelValues distinct) each value with its voxel count
// and volume in millilitres, named by the label map where it knows the value.
#pragma once

#include <string>

#include "coordseg/core/labels.h"

namespace coordseg {

// A multi-line report, ending in a newline. Throws coordseg::Error for unreadable files.
std::string describe_nifti(const std::string& path, const LabelMap& map = LabelMap::mmwhs());

}  // namespace coordseg
