// Helpers for the tests: a temporary folder, and NIfTI files built byte by byte so that
// every header field can be set to a broken value on purpose.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "nifti2_io.h"

namespace coordseg::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("coordseg-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }
  // Names of the entries in the folder, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

// A valid NIfTI-1 header for a (nx, ny, nz) volume of `datatype`, 1 mm, no transforms set.
inline nifti_1_header make_n1(int nx, int ny, int nz, int datatype) {
  const int64_t dims[8] = {3, nx, ny, nz, 1, 1, 1, 1};
  nifti_1_header* h = nifti_make_new_n1_header(dims, datatype);
  nifti_1_header out = *h;
  free(h);
  out.vox_offset = 352;
  std::memcpy(out.magic, "n+1", 4);
  return out;
}

inline nifti_2_header make_n2(int64_t nx, int64_t ny, int64_t nz, int datatype) {
  const int64_t dims[8] = {3, nx, ny, nz, 1, 1, 1, 1};
  nifti_2_header* h = nifti_make_new_n2_header(dims, datatype);
  nifti_2_header out = *h;
  free(h);
  out.vox_offset = 544;
  std::memcpy(out.magic, "n+2\0\r\n\032\n", 8);
  return out;
}

// Writes header bytes, zero padding up to the header's vox_offset (or `pad_to`), then data.
inline void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes, bool gz) {
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
}

template <class H>
std::vector<unsigned char> nifti_bytes(const H& h, const void* data, size_t data_bytes, size_t offset) {
  std::vector<unsigned char> bytes(offset + data_bytes, 0);
  std::memcpy(bytes.data(), &h, sizeof h);
  if (data_bytes) std::memcpy(bytes.data() + offset, data, data_bytes);
  return bytes;
}

template <class H, class T>
void write_nifti_file(const std::string& path, const H& h, const std::vector<T>& data, bool gz = false) {
  const size_t offset = sizeof(H) == 348 ? 352 : 544;
  write_bytes(path, nifti_bytes(h, data.data(), data.size() * sizeof(T), offset), gz);
}

inline std::vector<unsigned char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {});
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace coordseg::testing
