// libFuzzer target for the NIfTI reader: any byte string, as a .nii and as a .nii.gz name
// (zlib reads plain bytes transparently, so both paths are exercised), must either read or
// fail with coordseg::Error -- never crash, hang, leak or allocate beyond its data.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "coordseg/core/error.h"
#include "coordseg/core/nifti.h"

namespace {
std::string scratch_file() {
  static const std::string path = "/tmp/coordseg-fuzz-" + std::to_string(::getpid()) + ".nii.gz";
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = scratch_file();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    coordseg::read_image(path);
  } catch (const coordseg::Error&) {
  }
  try {
    coordseg::read_labels(path);
  } catch (const coordseg::Error&) {
  }
  try {
    coordseg::read_nifti_info(path);
  } catch (const coordseg::Error&) {
  }
  return 0;
}
