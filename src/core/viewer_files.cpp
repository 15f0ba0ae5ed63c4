#include "coordseg/core/viewer_files.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "coordseg/core/atomic_file.h"
#include "coordseg/core/error.h"
#include "coordseg/core/render.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {

const std::string& description(const LabelMap& map, size_t c) {
  return c < map.descriptions.size() ? map.descriptions[c] : map.names[c];
}

// The file's text, or nothing when it cannot be read (missing, a folder).
bool read_whole(const std::string& path, std::string* text) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  *text = s.str();
  return static_cast<bool>(in) || in.eof();
}

}  // namespace

std::string itksnap_label_descriptions(const LabelMap& map) {
  std::ostringstream s;
  s << "# ITK-SnAP Label Description File, written by coordseg\n"
       "# IDX  -R-  -G-  -B-  -A-  VIS MSH  LABEL\n";
  s << "    0    0    0    0    0  0  0  \"Clear Label\"\n";
  for (size_t c = 1; c < map.values.size(); ++c) {
    const auto rgb = class_colour(static_cast<int>(c));
    std::string name = description(map, c);
    if (name != map.names[c]) name += " (" + map.names[c] + ")";
    for (char& ch : name)
      if (ch == '"') ch = '\'';
    char line[96];
    std::snprintf(line, sizeof line, "%5d  %3d  %3d  %3d    1  1  1  ", map.values[c], rgb[0], rgb[1], rgb[2]);
    s << line << '"' << name << "\"\n";
  }
  return s.str();
}

std::string slicer_colour_table(const LabelMap& map) {
  std::ostringstream s;
  s << "# Color table file labels.slicer.ctbl, written by coordseg\n# " << map.values.size() << " values\n";
  s << "0 Background 0 0 0 0\n";
  for (size_t c = 1; c < map.values.size(); ++c) {
    const auto rgb = class_colour(static_cast<int>(c));
    std::string name = description(map, c);
    for (char& ch : name)
      if (ch == ' ' || ch == '\t') ch = '_';
    s << map.values[c] << ' ' << name << ' ' << int{rgb[0]} << ' ' << int{rgb[1]} << ' ' << int{rgb[2]} << " 255\n";
  }
  return s.str();
}

std::vector<ViewerFile> viewer_files(const std::string& dir, const LabelMap& map) {
  return {{(fs::path(dir) / "labels.itksnap.txt").string(), itksnap_label_descriptions(map)},
          {(fs::path(dir) / "labels.slicer.ctbl").string(), slicer_colour_table(map)}};
}

void check_viewer_files(const std::vector<ViewerFile>& files, bool force) {
  for (const auto& f : files) {
    std::error_code ec;
    if (fs::is_directory(f.path, ec)) throw usage_error(f.path, "is a folder, not a file coordseg can write");
    std::string text;
    if (!force && fs::exists(f.path, ec) && (!read_whole(f.path, &text) || text != f.text))
      throw usage_error(f.path, "already exists with other labels; pass --force to overwrite");
  }
}

void write_viewer_files(const std::vector<ViewerFile>& files) {
  for (const auto& f : files) {
    std::string text;
    if (read_whole(f.path, &text) && text == f.text) continue;
    write_text_file(f.path, f.text);
  }
}

}  // namespace coordseg
