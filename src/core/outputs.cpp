#include "coordseg/core/outputs.h"

#include <filesystem>

#include "coordseg/core/error.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}
}  // namespace

void check_outputs(const std::vector<OutputFile>& outputs, const std::vector<std::string>& inputs, bool force) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const OutputFile& o = outputs[i];
    if (o.path.empty()) continue;
    for (const auto& in : inputs)
      if (same_file(o.path, in)) throw usage_error(o.path, "is an input of this command (" + o.option + " would overwrite it)");
    for (size_t j = 0; j < i; ++j)
      if (!outputs[j].path.empty() && same_file(o.path, outputs[j].path))
        throw usage_error(o.path, "named by both " + outputs[j].option + " and " + o.option);
    std::error_code ec;
    if (fs::is_directory(o.path, ec)) throw usage_error(o.path, "is a folder (" + o.option + " takes a file)");
    if (fs::exists(o.path, ec) && !force) throw usage_error(o.path, "already exists; pass --force to overwrite");
  }
}

}  // namespace coordseg
