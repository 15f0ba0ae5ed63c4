#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "coordseg/core/dicom.h"
#include "coordseg/core/error.h"
#include "coordseg/core/names.h"
#include "coordseg/core/nifti.h"
#include "coordseg/core/outputs.h"

namespace coordseg::app {

Runner add_convert_command(CLI::App& app) {
  struct Args {
    std::string input, output;
    DicomReadOptions dicom;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("convert", "Convert a DICOM series (or a NIfTI image) to NIfTI with its exact geometry");
  cmd->add_option("input", a->input, "DICOM folder (any depth) or NIfTI image")->required();
  cmd->add_option("output", a->output, "NIfTI file to write (.nii or .nii.gz)")->required();
  cmd->add_option("--series", a->dicom.series, "The series to convert, by SeriesInstanceUID or its number in coordseg info");
  cmd->add_flag("--resample-gaps", a->dicom.resample_gaps,
                "Interpolate a series with uneven slice gaps onto an even spacing instead of refusing it");
  cmd->add_flag("--force", a->force, "Overwrite an existing output");
  return [a, cmd]() {
    if (!*cmd) return -1;
    if (!is_nifti_name(a->output)) throw usage_error(a->output, "the output must end in .nii or .nii.gz");
    check_outputs({{a->output, "output"}}, {a->input}, a->force);
    const Volume v = read_image_input(a->input, a->dicom);
    // Integral values within int16 (Hounsfield units as scanners store them) stay int16.
    bool integral = true;
    for (const float x : v.voxels)
      integral = integral && x >= -32768 && x <= 32767 && x == static_cast<float>(static_cast<int32_t>(x));
    write_image(a->output, v, integral ? ImageType::kInt16 : ImageType::kFloat32);
    std::cout << "wrote " << a->output << ": " << v.grid.describe() << ", " << (integral ? "int16" : "float32") << "\n";
    return 0;
  };
}

}  // namespace coordseg::app
