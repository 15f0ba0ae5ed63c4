// The label colour files that let a viewer name the structures of a label map: an ITK-SNAP
// label description file (Segmentation > Import Label Descriptions) and a 3D Slicer colour
// table (.ctbl; load it, then pick it as the label map's lookup table), each listing every
// label value with the colour `coordseg render` draws it in and the structure's name.
// `coordseg predict` writes both once per output folder. Torch-free.
#pragma once

#include <string>
#include <vector>

#include "coordseg/core/labels.h"

namespace coordseg {

// ITK-SNAP's format: one line per label, `value R G B alpha visible mesh "name"`; value 0 is
// the clear label.
std::string itksnap_label_descriptions(const LabelMap& map);
// Slicer's discrete colour table: `# Color table file`, then `value name R G B A` per label,
// spaces in names replaced by underscores; background transparent.
std::string slicer_colour_table(const LabelMap& map);

struct ViewerFile {
  std::string path, text;
};
// The two files for `map` in `dir`: labels.itksnap.txt and labels.slicer.ctbl.
std::vector<ViewerFile> viewer_files(const std::string& dir, const LabelMap& map);
// A file that exists with other text (another label map, or a user's file) is refused
// unless `force`: "<path>: already exists with other labels; pass --force to overwrite".
void check_viewer_files(const std::vector<ViewerFile>& files, bool force);
// Writes each file (atomically) unless it already holds exactly its text.
void write_viewer_files(const std::vector<ViewerFile>& files);

}  // namespace coordseg
