#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "coordseg/core/dicom.h"
#include "coordseg/core/error.h"
#include "coordseg/core/info.h"

namespace coordseg::app {

namespace {
struct InfoOptions {
  std::vector<std::string> files;
};
}  // namespace

Runner add_info_command(CLI::App& app) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Describe NIfTI files (geometry, datatype, intensities, label volumes) or list a DICOM folder's series");
  cmd->add_option("files", opts->files, "NIfTI files (.nii, .nii.gz) or DICOM folders")->required();
  return [opts, cmd]() {
    if (!*cmd) return -1;
    int status = 0;
    for (const auto& file : opts->files) {
      try {
        if (is_dicom_input(file)) {
          const DicomFolder found = find_dicom_series(file);
          if (found.series.empty()) (void)choose_series(found, "");  // the error: what the folder holds instead
          std::cout << describe_dicom_folder(found) << std::flush;
        } else {
          std::cout << describe_nifti(file) << std::flush;
        }
      } catch (const Error& e) {
        // Report every bad file, then fail: one line each.
        print_error(std::cerr, e.what());
        status = std::max(status, e.exit_code());
      }
    }
    return status;
  };
}

}  // namespace coordseg::app
