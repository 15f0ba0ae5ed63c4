// Test helper for the interop tests: reads and writes NIfTI files with coordseg so that an
// independent implementation (nibabel) can check what coordseg saw and wrote.
//   nifti_probe dump IN OUT_PREFIX [--labels]  -> OUT_PREFIX.json (dims, affine, codes) and
//                                                 OUT_PREFIX.raw (voxels as float64, x fastest)
//   nifti_probe copy IN OUT [--labels]         -> reads IN, writes OUT (float32 image or labels)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "coordseg/core/error.h"
#include "coordseg/core/nifti.h"

using namespace coordseg;

namespace {
template <class V>
void dump(const V& v, const std::string& prefix) {
  nlohmann::json j;
  j["dims"] = v.grid.dims;
  std::vector<std::vector<double>> affine;
  for (const auto& row : v.grid.affine.m) affine.emplace_back(row.begin(), row.end());
  j["affine"] = affine;
  j["qform_code"] = v.header.qform_code;
  j["sform_code"] = v.header.sform_code;
  j["datatype"] = datatype_name(v.header.datatype);
  j["version"] = v.header.version;
  j["orientation"] = orientation_code(v.grid.affine);
  std::ofstream(prefix + ".json") << j.dump(1);
  std::vector<double> values(v.voxels.begin(), v.voxels.end());
  std::ofstream(prefix + ".raw", std::ios::binary)
      .write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(double)));
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: nifti_probe dump|copy IN OUT [--labels]\n";
    return 2;
  }
  const std::string mode = argv[1], in = argv[2], out = argv[3];
  const bool labels = argc > 4 && std::string(argv[4]) == "--labels";
  try {
    if (mode == "dump") {
      labels ? dump(read_labels(in), out) : dump(read_image(in), out);
    } else if (mode == "copy") {
      labels ? write_labels(out, read_labels(in)) : write_image(out, read_image(in));
    } else {
      std::cerr << "nifti_probe: unknown mode " << mode << "\n";
      return 2;
    }
  } catch (const Error& e) {
    std::cerr << "nifti_probe: error: " << e.what() << "\n";
    return e.exit_code();
  }
  return 0;
}
