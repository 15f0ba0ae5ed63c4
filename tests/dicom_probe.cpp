// Writes DICOM series for the CLI tests (tests/cli/cli_test.sh), through dicom_writer.h:
//   dicom_probe DIR KIND      KIND: axial, oblique, tilt, gap, study
// and prints the series' geometry as one JSON line, so that the tests compute the expected
// NIfTI affine on their own (numpy, nibabel) from what was written.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

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
  if (argc != 3) {
    std::fprintf(stderr, "usage: dicom_probe DIR axial|oblique|tilt|gap|study\n");
    return 2;
  }
  const std::string dir = argv[1], kind = argv[2];
  try {
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
