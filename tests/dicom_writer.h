// DICOM series written by the tests themselves, tag by tag through GDCM's data sets (not
// through gdcm::ImageWriter, so the geometry tags are exactly what the test says): one
// single-frame CT object per slice, int16 stored values, explicit VR little endian; and a
// re-encoder into a compressed transfer syntax. Used by dicom_test.cpp and dicom_probe.
#pragma once

#include <gdcmAttribute.h>
#include <gdcmDataSet.h>
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmImageReader.h>
#include <gdcmImageWriter.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmTransferSyntax.h>
#include <gdcmWriter.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace coordseg::testing {

struct SeriesSpec {
  std::string uid = "1.2.826.0.1.3680043.10.1138.1";
  std::string description = "test series";
  std::string modality = "CT";
  int64_t columns = 8, rows = 6, slices = 5;
  std::array<double, 6> orientation{1, 0, 0, 0, 1, 0};  // row direction, column direction (LPS)
  std::array<double, 3> origin{-20, -30, 40};           // first slice's ImagePositionPatient
  double column_spacing = 0.75;                          // between columns (along a row)
  double row_spacing = 0.5;                              // between rows
  double slice_gap = 2.0;                                // along the normal
  std::vector<double> extra_gap;                         // per slice k: added to its position along the normal
  double tilt_mm = 0;                                    // per slice: shift along the column direction (gantry tilt)
  double slope = 1, intercept = 0;
  bool reverse_instance_numbers = false;                 // InstanceNumber counts down the normal
  std::vector<int64_t> skip;                             // slices not written
  std::vector<int64_t> duplicate;                        // slices written twice (second file, same position)
  bool shuffled_names = false;                           // file names in no relation to the order
  std::string number_of_frames;                          // non-empty: written as NumberOfFrames
  std::string name_prefix = "slice";                     // file names: <prefix>_<n>.dcm
  bool undecodable = false;                              // pixel data as an MPEG-2 stream GDCM has no codec for
  const std::vector<float>* voxels = nullptr;            // values (x fastest) instead of test_value
};

// The value the tests put at voxel (i, j, k), in output units (HU): a different number for
// every voxel, integral after the spec's rescale.
inline double test_value(int64_t i, int64_t j, int64_t k) {
  return static_cast<double>(-1000 + 3 * i + 40 * j + 500 * k);
}

inline std::array<double, 3> series_normal(const SeriesSpec& s) {
  const auto& o = s.orientation;
  return {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
}

// The position of slice k (LPS, mm).
inline std::array<double, 3> slice_position(const SeriesSpec& s, int64_t k) {
  const auto n = series_normal(s);
  const double along = static_cast<double>(k) * s.slice_gap +
                       (static_cast<size_t>(k) < s.extra_gap.size() ? s.extra_gap[static_cast<size_t>(k)] : 0.0);
  std::array<double, 3> p{};
  for (size_t a = 0; a < 3; ++a)
    p[a] = s.origin[a] + along * n[a] + static_cast<double>(k) * s.tilt_mm * s.orientation[3 + a];
  return p;
}

namespace detail {

inline std::string decimals(const std::vector<double>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.10g", v[i]);
    out += (i ? "\\" : "") + std::string(buf);
  }
  return out;
}

inline void put(gdcm::DataSet& ds, uint16_t group, uint16_t element, const gdcm::VR& vr, std::string value) {
  if (value.size() % 2) value += (vr == gdcm::VR::UI ? '\0' : ' ');
  gdcm::DataElement de(gdcm::Tag(group, element));
  de.SetVR(vr);
  de.SetByteValue(value.data(), static_cast<uint32_t>(value.size()));
  ds.Replace(de);
}

inline void put_us(gdcm::DataSet& ds, uint16_t group, uint16_t element, uint16_t v) {
  gdcm::DataElement de(gdcm::Tag(group, element));
  de.SetVR(gdcm::VR::US);
  const char bytes[2] = {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  de.SetByteValue(bytes, 2);
  ds.Replace(de);
}

}  // namespace detail

// Writes one file per slice into `dir` (created); returns the file paths in slice order
// (duplicates after their slice).
inline std::vector<std::string> write_dicom_series(const std::string& dir, const SeriesSpec& s) {
  using namespace detail;
  std::filesystem::create_directories(dir);
  std::vector<std::string> paths;
  int64_t written = 0;
  for (int64_t k = 0; k < s.slices; ++k) {
    bool skipped = false;
    for (auto x : s.skip) skipped = skipped || x == k;
    if (skipped) continue;
    int copies = 1;
    for (auto x : s.duplicate) copies += x == k;
    for (int copy = 0; copy < copies; ++copy) {
      const int64_t n = written++;
      gdcm::Writer w;
      gdcm::File& file = w.GetFile();
      file.GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
      gdcm::DataSet& ds = file.GetDataSet();
      const std::string sop_uid = s.uid + "." + std::to_string(n + 1);
      put(ds, 0x0008, 0x0016, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.2");  // CT Image Storage
      put(ds, 0x0008, 0x0018, gdcm::VR::UI, sop_uid);
      put(ds, 0x0008, 0x0060, gdcm::VR::CS, s.modality);
      put(ds, 0x0008, 0x103e, gdcm::VR::LO, s.description);
      put(ds, 0x0010, 0x0010, gdcm::VR::PN, "Phantom^Test");
      put(ds, 0x0020, 0x000d, gdcm::VR::UI, s.uid + ".0");
      put(ds, 0x0020, 0x000e, gdcm::VR::UI, s.uid);
      const int64_t instance = s.reverse_instance_numbers ? s.slices - k : k + 1;
      put(ds, 0x0020, 0x0013, gdcm::VR::IS, std::to_string(instance));
      const auto p = slice_position(s, k);
      put(ds, 0x0020, 0x0032, gdcm::VR::DS, decimals({p[0], p[1], p[2]}));
      put(ds, 0x0020, 0x0037, gdcm::VR::DS,
          decimals({s.orientation[0], s.orientation[1], s.orientation[2], s.orientation[3], s.orientation[4],
                    s.orientation[5]}));
      put(ds, 0x0018, 0x0050, gdcm::VR::DS, decimals({s.slice_gap}));
      if (!s.number_of_frames.empty()) put(ds, 0x0028, 0x0008, gdcm::VR::IS, s.number_of_frames);
      put_us(ds, 0x0028, 0x0002, 1);
      put(ds, 0x0028, 0x0004, gdcm::VR::CS, "MONOCHROME2");
      put_us(ds, 0x0028, 0x0010, static_cast<uint16_t>(s.rows));
      put_us(ds, 0x0028, 0x0011, static_cast<uint16_t>(s.columns));
      put(ds, 0x0028, 0x0030, gdcm::VR::DS, decimals({s.row_spacing, s.column_spacing}));
      put_us(ds, 0x0028, 0x0100, 16);
      put_us(ds, 0x0028, 0x0101, 16);
      put_us(ds, 0x0028, 0x0102, 15);
      put_us(ds, 0x0028, 0x0103, 1);  // signed
      put(ds, 0x0028, 0x1052, gdcm::VR::DS, decimals({s.intercept}));
      put(ds, 0x0028, 0x1053, gdcm::VR::DS, decimals({s.slope}));
      std::vector<int16_t> pixels(static_cast<size_t>(s.rows * s.columns));
      for (int64_t j = 0; j < s.rows; ++j)
        for (int64_t i = 0; i < s.columns; ++i) {
          const double v = s.voxels ? static_cast<double>((*s.voxels)[static_cast<size_t>(i + s.columns * (j + s.rows * k))])
                                    : test_value(i, j, k);
          const double stored = (v - s.intercept) / s.slope;
          pixels[static_cast<size_t>(j * s.columns + i)] = static_cast<int16_t>(std::lround(stored));
        }
      gdcm::DataElement pd(gdcm::Tag(0x7fe0, 0x0010));
      if (s.undecodable) {
        gdcm::SmartPointer<gdcm::SequenceOfFragments> fragments = new gdcm::SequenceOfFragments;
        gdcm::Fragment f;
        const std::string stream(64, '\x5a');
        f.SetByteValue(stream.data(), static_cast<uint32_t>(stream.size()));
        fragments->AddFragment(f);
        pd.SetVR(gdcm::VR::OB);
        pd.SetValue(*fragments);
        file.GetHeader().SetDataSetTransferSyntax(gdcm::TransferSyntax::MPEG2MainProfile);
      } else {
        pd.SetVR(gdcm::VR::OW);
        pd.SetByteValue(reinterpret_cast<const char*>(pixels.data()), static_cast<uint32_t>(pixels.size() * 2));
      }
      ds.Replace(pd);
      char name[64];
      if (s.shuffled_names)
        std::snprintf(name, sizeof name, "IM%05lld", static_cast<long long>((n * 7919 + 13) % 100000));
      else
        std::snprintf(name, sizeof name, "%s_%03lld.dcm", s.name_prefix.c_str(), static_cast<long long>(n));
      const std::string path = (std::filesystem::path(dir) / name).string();
      w.SetFileName(path.c_str());
      if (!w.Write()) throw std::runtime_error("cannot write " + path);
      paths.push_back(path);
    }
  }
  return paths;
}

// Re-encodes a DICOM file in place into `syntax` (RLE, JPEG-LS, JPEG 2000, ... lossless).
inline void compress_dicom_file(const std::string& path, const gdcm::TransferSyntax& syntax) {
  gdcm::ImageReader r;
  r.SetFileName(path.c_str());
  if (!r.Read()) throw std::runtime_error("cannot read " + path);
  gdcm::ImageChangeTransferSyntax change;
  change.SetTransferSyntax(syntax);
  change.SetInput(r.GetImage());
  if (!change.Change()) throw std::runtime_error("cannot compress " + path);
  gdcm::ImageWriter w;
  w.SetFile(r.GetFile());
  w.SetImage(change.GetOutput());
  w.SetFileName(path.c_str());
  if (!w.Write()) throw std::runtime_error("cannot write " + path);
}

}  // namespace coordseg::testing
