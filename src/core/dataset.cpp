#include "coordseg/core/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "coordseg/core/error.h"
#include "coordseg/core/nifti.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {

// "name.nii.gz" -> "name", "name.nii" -> "name", anything else -> "".
std::string nifti_stem(const std::string& filename) {
  for (const std::string ext : {".nii.gz", ".nii"})
    if (filename.size() > ext.size() && filename.compare(filename.size() - ext.size(), ext.size(), ext) == 0)
      return filename.substr(0, filename.size() - ext.size());
  return "";
}

// NIfTI entries of a folder by stem: files, or folders named like a file with one inside.
std::map<std::string, std::string> nifti_entries(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string stem = nifti_stem(entry.path().filename().string());
    if (stem.empty()) continue;
    const std::string resolved = resolve_nifti_path(entry.path().string());
    if (fs::is_regular_file(resolved, ec)) out[stem] = resolved;
  }
  return out;
}

std::string modality_of(const std::string& id) {
  if (id.rfind("ct_", 0) == 0 || id.rfind("ct", 0) == 0) return "ct";
  if (id.rfind("mr_", 0) == 0 || id.rfind("mr", 0) == 0) return "mr";
  return "";
}

void add_mmwhs_folder(const fs::path& dir, std::vector<Case>& cases) {
  const auto entries = nifti_entries(dir);
  static const std::regex kImage("(.+)_image"), kLabel("(.+)_label");
  std::smatch m;
  for (const auto& [stem, path] : entries) {
    if (std::regex_match(stem, m, kImage)) {
      Case c;
      c.id = m[1];
      c.modality = modality_of(c.id);
      c.image = path;
      const auto label = entries.find(c.id + "_label");
      if (label != entries.end()) c.label = label->second;
      cases.push_back(c);
    } else if (std::regex_match(stem, m, kLabel) && !entries.count(std::string(m[1]) + "_image")) {
      throw data_error(path, "label file without its image (expected " + std::string(m[1]) +
                                 "_image.nii.gz beside it)");
    }
  }
}

void add_nnunet_folder(const fs::path& images, const fs::path& labels, std::vector<Case>& cases) {
  std::error_code ec;
  if (!fs::is_directory(images, ec)) return;
  const auto image_entries = nifti_entries(images);
  const auto label_entries = fs::is_directory(labels, ec) ? nifti_entries(labels) : std::map<std::string, std::string>{};
  static const std::regex kChannel("(.+)_(\\d{4})");
  std::smatch m;
  for (const auto& [stem, path] : image_entries) {
    if (!std::regex_match(stem, m, kChannel))
      throw data_error(path, "nnU-Net image names end in _0000 (the channel); this one does not");
    if (m[2] != "0000")
      throw data_error(path, "multi-channel cases are not supported (channel " + std::string(m[2]) + ")");
    Case c;
    c.id = m[1];
    c.image = path;
    const auto label = label_entries.find(c.id);
    if (label != label_entries.end()) c.label = label->second;
    cases.push_back(c);
  }
  for (const auto& [stem, path] : label_entries)
    if (!image_entries.count(stem + "_0000"))
      throw data_error(path, "label file without its image (expected " + (images / (stem + "_0000.nii.gz")).string() + ")");
}

std::optional<LabelMap> read_dataset_json(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  std::ifstream in(file);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw data_error(file.string(), std::string("invalid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("labels")) return std::nullopt;
  const auto& labels = j["labels"];
  if (!labels.is_object()) throw data_error(file.string(), "\"labels\" must be an object");
  // v1: {"0": "background", "1": "LV"}; v2: {"background": 0, "LV": 1}. Both give value -> name.
  std::map<int32_t, std::string> by_value;
  for (const auto& [key, value] : labels.items()) {
    try {
      if (value.is_number_integer()) {
        by_value[value.get<int32_t>()] = key;
      } else if (value.is_string()) {
        by_value[std::stoi(key)] = value.get<std::string>();
      } else {
        throw data_error(file.string(), "label \"" + key + "\" must map to an integer (v2) or a name (v1)");
      }
    } catch (const std::logic_error&) {
      throw data_error(file.string(), "label key \"" + key + "\" is not an integer value");
    }
  }
  std::vector<int32_t> values;
  std::vector<std::string> names;
  for (const auto& [v, name] : by_value) {
    values.push_back(v);
    names.push_back(name);
  }
  try {
    LabelMap map = LabelMap::custom(values, names, file.string() + ": labels");
    if (map.values == LabelMap::mmwhs().values) map.aliases = LabelMap::mmwhs().aliases;
    return map;
  } catch (const Error& e) {
    throw data_error("", e.what());
  }
}

}  // namespace

Dataset discover_dataset(const std::string& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw data_error(root, "no such dataset folder");
  if (!fs::is_directory(root, ec)) throw data_error(root, "is not a folder (a dataset is a folder of cases)");
  Dataset ds;
  ds.root = root;
  const fs::path r(root);
  if (fs::is_directory(r / "imagesTr", ec) || fs::is_directory(r / "imagesTs", ec)) {
    ds.layout = "nnunet";
    add_nnunet_folder(r / "imagesTr", r / "labelsTr", ds.cases);
    add_nnunet_folder(r / "imagesTs", r / "labelsTs", ds.cases);
  } else {
    ds.layout = "mmwhs";
    add_mmwhs_folder(r, ds.cases);
    std::vector<fs::path> subdirs;
    for (const auto& entry : fs::directory_iterator(r, ec))
      if (entry.is_directory(ec) && nifti_stem(entry.path().filename().string()).empty())
        subdirs.push_back(entry.path());
    std::sort(subdirs.begin(), subdirs.end());
    for (const auto& d : subdirs) add_mmwhs_folder(d, ds.cases);
  }
  if (ds.cases.empty())
    throw data_error(root, "no cases found: expected ct_train/ct_train_1001_image.nii.gz-style files "
                           "(MM-WHS) or imagesTr/<case>_0000.nii.gz (nnU-Net)");
  std::sort(ds.cases.begin(), ds.cases.end(), [](const Case& a, const Case& b) { return a.id < b.id; });
  for (size_t i = 1; i < ds.cases.size(); ++i)
    if (ds.cases[i].id == ds.cases[i - 1].id)
      throw data_error(ds.cases[i].image, "case " + ds.cases[i].id + " appears twice (also " +
                                              ds.cases[i - 1].image + ")");
  ds.labels = read_dataset_json(r / "dataset.json");
  return ds;
}

std::string case_name(const std::string& path) {
  fs::path p(path);
  if (p.filename().empty() || p.filename() == ".") p = p.parent_path();  // "dicom/series/" names "series"
  std::string name = p.filename().string();
  const std::string stem = nifti_stem(name);
  if (!stem.empty()) name = stem;
  for (const std::string suffix : {"_image", "_0000", "_label", "_pred"})
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      name = name.substr(0, name.size() - suffix.size());
  return name;
}

LoadedCase load_case(const Case& c, const LabelMap& map) {
  LoadedCase out;
  out.source = c;
  out.image = read_image(c.image);
  if (!c.label.empty()) {
    const LabelVolume values = read_labels(c.label);
    check_same_grid(out.image.grid, c.image, values.grid, c.label);
    out.classes = to_classes(values, map);
    // Within tolerance the grids are one: outputs on it follow the image's geometry.
    out.classes.grid = out.image.grid;
    out.classes.header = out.image.header;
  }
  return out;
}

}  // namespace coordseg
