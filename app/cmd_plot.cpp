#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "coordseg/core/curves.h"
#include "coordseg/core/error.h"
#include "coordseg/core/outputs.h"

namespace coordseg::app {

Runner add_plot_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> runs, names;
    std::string out;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("plot", "Draw training curves (loss, validation Dice) of run folders as a PNG");
  cmd->add_option("--run", a->runs, "Run folder or history.csv (repeat to compare)")->required();
  cmd->add_option("--names", a->names, "Legend name per run (default: the folder's name)");
  cmd->add_option("--out", a->out, "Output .png")->required();
  cmd->add_flag("--force", a->force, "Overwrite an existing output file");
  return [a, cmd]() {
    if (!*cmd) return -1;
    if (!a->names.empty() && a->names.size() != a->runs.size())
      throw usage_error("--names", "give one name per --run");
    if (a->out.size() < 4 || a->out.substr(a->out.size() - 4) != ".png") throw usage_error(a->out, "output must end in .png");
    std::vector<std::string> inputs;
    for (const auto& r : a->runs) inputs.push_back(history_file(r));
    check_outputs({{a->out, "--out"}}, inputs, a->force);
    std::vector<History> runs;
    for (size_t i = 0; i < a->runs.size(); ++i) {
      std::string name = a->names.empty() ? a->runs[i] : a->names[i];
      if (a->names.empty()) {
        while (name.size() > 1 && name.back() == '/') name.pop_back();
        name = name.substr(name.find_last_of('/') + 1);
      }
      runs.push_back(read_history(a->runs[i], name));
    }
    render_curves(a->out, runs);
    std::cout << "wrote " << a->out << "\n";
    return 0;
  };
}

}  // namespace coordseg::app
