// File and case names: tests shared by the readers, writers and commands, and how a
// message lists names.
#pragma once

#include <string>
#include <vector>

namespace coordseg {

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A NIfTI file name: *.nii or *.nii.gz.
inline bool is_nifti_name(const std::string& name) { return ends_with(name, ".nii") || ends_with(name, ".nii.gz"); }

// "a, b, c" -- at most `most` names, then ", ..." -- for a one-line message.
inline std::string name_list(const std::vector<std::string>& names, size_t most = 10) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < most; ++i) s += (i ? ", " : "") + names[i];
  return names.size() > most ? s + ", ..." : s;
}

}  // namespace coordseg
