#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "coordseg/core/error.h"
#include "coordseg/core/labels.h"
#include "coordseg/core/nifti.h"
#include "coordseg/core/outputs.h"
#include "coordseg/core/render.h"

namespace coordseg::app {

namespace {
struct RenderArgs {
  std::string image, label, out, axis = "axial", window;
  std::vector<std::string> preds, titles;
  std::optional<int> slices;
  int32_t through = 0;
  bool force = false;
};

// "C,W" -> centre and width.
void parse_window(const std::string& text, RenderOptions& o) {
  const auto comma = text.find(',');
  try {
    if (comma == std::string::npos) throw std::invalid_argument("no comma");
    size_t used = 0;
    o.window_center = std::stod(text.substr(0, comma), &used);
    const std::string w = text.substr(comma + 1);
    size_t used_w = 0;
    o.window_width = std::stod(w, &used_w);
    if (used != comma || used_w != w.size()) throw std::invalid_argument("trailing characters");
  } catch (const std::exception&) {
    throw usage_error("--window", "expected CENTRE,WIDTH such as 100,700; got '" + text + "'");
  }
  if (!(o.window_width > 0)) throw usage_error("--window", "the width must be positive");
  o.window_set = true;
}
}  // namespace

Runner add_render_command(CLI::App& app) {
  auto a = std::make_shared<RenderArgs>();
  CLI::App* cmd = app.add_subcommand("render", "Draw slices of a volume with label overlays: PNG grid or animated GIF");
  cmd->add_option("--image", a->image, "Image (NIfTI)")->required();
  cmd->add_option("--label", a->label, "Reference label map (the first panel, 'Mask')");
  cmd->add_option("--pred", a->preds, "Predicted label map (one panel each; repeat the option)");
  cmd->add_option("--titles", a->titles, "Panel titles, one per panel");
  cmd->add_option("--out", a->out, "Output .png (slice grid) or .gif (animation)")->required();
  cmd->add_option("--axis", a->axis, "axial, coronal or sagittal")->capture_default_str();
  cmd->add_option("--slices", a->slices, "PNG: rows (default 4); GIF: frames (default all, at most 80)");
  cmd->add_option("--through", a->through,
                  "Label value: the slices span that structure of the first label map (e.g. 850 for PUA)");
  cmd->add_option("--window", a->window, "Grey window CENTRE,WIDTH (default: CT 100,700; MR percentiles)");
  cmd->add_flag("--force", a->force, "Overwrite an existing output file");
  return [a, cmd]() {
    if (!*cmd) return -1;
    RenderOptions o;
    o.axis = parse_slice_axis(a->axis);
    if (a->slices && *a->slices < 1) throw usage_error("--slices", "must be at least 1, got " + std::to_string(*a->slices));
    o.slices = a->slices.value_or(0);  // 0: the renderer's default
    if (!a->window.empty()) parse_window(a->window, o);
    const size_t n_panels = (a->label.empty() ? 0 : 1) + a->preds.size();
    if (!a->titles.empty() && a->titles.size() != std::max<size_t>(n_panels, 1))
      throw usage_error("--titles", "gives " + std::to_string(a->titles.size()) + " titles for " +
                                        std::to_string(std::max<size_t>(n_panels, 1)) + " panels");
    std::vector<std::string> inputs = a->preds;
    inputs.push_back(a->image);
    if (!a->label.empty()) inputs.push_back(a->label);
    check_outputs({{a->out, "--out"}}, inputs, a->force);
    const Volume image = read_image(a->image);
    std::vector<LabelVolume> maps;
    std::vector<std::string> default_titles;
    if (!a->label.empty()) {
      maps.push_back(read_labels(a->label));
      check_label_map(maps.back(), a->label);
      default_titles.push_back("Mask");
    }
    for (size_t i = 0; i < a->preds.size(); ++i) {
      maps.push_back(read_labels(a->preds[i]));
      check_label_map(maps.back(), a->preds[i]);
      default_titles.push_back(a->preds.size() == 1 ? "Prediction" : "Prediction " + std::to_string(i + 1));
    }
    std::vector<RenderPanel> panels;
    for (size_t i = 0; i < maps.size(); ++i)
      panels.push_back({&maps[i], a->titles.empty() ? default_titles[i] : a->titles[i]});
    if (panels.empty() && !a->titles.empty()) panels.push_back({nullptr, a->titles[0]});
    o.through = a->through;  // render_volume checks it against the first label map, naming its file
    render_volume(a->out, image, panels, o);
    std::cout << "wrote " << a->out << "\n";
    return 0;
  };
}

}  // namespace coordseg::app
