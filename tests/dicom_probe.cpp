// Writes DICOM series for the CLI tests (tests/cli/cli_test.sh), through dicom_writer.h:
//   dicom_probe DIR KIND      KIND: axial, oblique, tilt, gap, study
//   dicom_probe DIR from-nifti IMAGE   (an int16 image whose third axis follows the slice normal)
// and prints the series' geometry as one JSON line, so that the tests compute the expected
// NIfTI affine on their own (numpy, nibabel) from what was written.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "coordseg/core/nifti.h"
#include "dicom_writer.h"

using coordseg::testing::SeriesSpec;

namespace {

void print_json(const SeriesSpec& s) {
  std::printf("{\"uid\":\"%s\",\"columns\":%lld,\"rows\":%lld,\"slices\":%lld,\"origin\":[%.10g,%.10g,%.10g],"
              "\"orientation\":[%.10g,%.10g,%.10g,%.10g,%.10g,%.10g],\"column_spacing\":%.10g,\"row_spacing\":%.10g,"
              "\"slice_gap\":%.10g,\"slope\":%.10g,\"intercept\":%.10g}\n",
              s.uid.c_str(), static_cast<long long>(s.columns), static_cast<long long>(s.rows),
              static_cast<long long>(s.slices), s.origin[0], s.origin[1], s.origin[2], s.orientation[0],
              s.orientation[1], s.orientation[2], s.orientation[3], s.orientation[4], s.orientation[5], s.column_spacing,
              s.row_spacing, s.slice_gap, s.slope, s.intercept);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: dicom_probe DIR axial|oblique|tilt|gap|study | DIR from-nifti IMAGE\n");
    return 2;
  }
  const std::string dir = argv[1], kind = argv[2];
  try {
    if (kind == "from-nifti" && argc == 4) {
      const coordseg::Volume v = coordseg::read_image(argv[3]);
      const auto& g = v.grid;
      SeriesSpec s;
      s.columns = g.dims[0];
      s.rows = g.dims[1];
      s.slices = g.dims[2];
      s.column_spacing = g.spacing[0];
      s.row_spacing = g.spacing[1];
      s.slice_gap = g.spacing[2];
      s.description = "from " + std::string(argv[3]);
      const double lps[3] = {-1, -1, 1};
      for (int r = 0; r < 3; ++r) {
        const auto ru = static_cast<size_t>(r);
        s.orientation[ru] = lps[r] * g.affine.m[ru][0] / g.spacing[0];
        s.orientation[3 + ru] = lps[r] * g.affine.m[ru][1] / g.spacing[1];
        s.origin[ru] = lps[r] * g.affine.m[ru][3];
      }
      const auto n = coordseg::testing::series_normal(s);
      double along = 0;
      for (int r = 0; r < 3; ++r) along += n[static_cast<size_t>(r)] * lps[r] * g.affine.m[static_cast<size_t>(r)][2];
      if (std::abs(along - g.spacing[2]) > 1e-4 * g.spacing[2]) {
        std::fprintf(stderr, "dicom_probe: %s: the third axis does not follow the slice normal\n", argv[3]);
        return 1;
      }
      s.voxels = &v.voxels;
      coordseg::testing::write_dicom_series(dir, s);
      print_json(s);
      return 0;
    }
    SeriesSpec s;
    s.columns = 24;
    s.rows = 20;
    s.slices = 12;
    s.slope = 1;
    s.intercept = -1024;
    if (kind == "axial") {
      s.shuffled_names = true;
      s.reverse_instance_numbers = true;
      s.description = "axial CTA";
    } else if (kind == "oblique") {
      const double c = std::cos(0.3), sn = std::sin(0.3);
      s.orientation = {c, sn, 0, 0, 0, -1};  // coronal-ish, rotated about z
      s.shuffled_names = true;
      s.description = "oblique";
    } else if (kind == "tilt") {
      s.tilt_mm = 0.4;
    } else if (kind == "gap") {
      s.skip = {5};
    } else if (kind == "study") {
      s.description = "arterial";
      coordseg::testing::write_dicom_series(dir + "/arterial", s);
      print_json(s);
      SeriesSpec v = s;
      v.uid = "1.2.826.0.1.3680043.10.1138.2";
      v.description = "venous";
      v.slices = 8;
      coordseg::testing::write_dicom_series(dir + "/venous/2", v);
      print_json(v);
      std::ofstream(dir + "/DICOMDIR.txt") << "an index, not an image\n";
      return 0;
    } else {
      std::fprintf(stderr, "dicom_probe: unknown kind %s\n", kind.c_str());
      return 2;
    }
    coordseg::testing::write_dicom_series(dir, s);
    print_json(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dicom_probe: %s\n", e.what());
    return 1;
  }
  return 0;
}
