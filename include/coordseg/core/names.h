// File-name tests shared by the readers, writers and commands.
#pragma once

#include <string>

namespace coordseg {

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A NIfTI file name: *.nii or *.nii.gz.
inline bool is_nifti_name(const std::string& name) { return ends_with(name, ".nii") || ends_with(name, ".nii.gz"); }

}  // namespace coordseg
