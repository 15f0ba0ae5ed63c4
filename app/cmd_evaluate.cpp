#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "coordseg/error.h"
#include "coordseg/evaluation.h"

namespace coordseg::app {

namespace {
void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  if (!f) throw data_error(path, "cannot write");
}
}  // namespace

Runner add_evaluate_command(CLI::App& app) {
  struct Args {
    std::string pred, truth, csv, json, markdown, name;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Dice, Jaccard, HD95 and ASSD of predicted label maps against references");
  cmd->add_option("--pred", a->pred, "Folder of predicted label maps")->required();
  cmd->add_option("--truth", a->truth, "Folder (or dataset folder) of reference label maps")->required();
  cmd->add_option("--name", a->name, "Model name in the table (default: the --pred folder's name)");
  cmd->add_option("--csv", a->csv, "Write per-case and mean metrics as CSV");
  cmd->add_option("--json", a->json, "Write them as JSON");
  cmd->add_option("--markdown", a->markdown, "Write the table and per-structure means as Markdown");
  return [a, cmd]() {
    if (!*cmd) return -1;
    std::string name = a->name;
    if (name.empty()) {
      std::string p = a->pred;
      while (p.size() > 1 && p.back() == '/') p.pop_back();
      name = p.substr(p.find_last_of('/') + 1);
    }
    const Evaluation e = evaluate_folders(a->pred, a->truth, LabelMap::mmwhs(), name);
    std::cout << e.cases.size() << " cases\n\n" << reference_table({e});
    if (!a->csv.empty()) write_file(a->csv, evaluation_csv(e));
    if (!a->json.empty()) write_file(a->json, evaluation_json(e));
    if (!a->markdown.empty()) write_file(a->markdown, evaluation_markdown(e));
    return 0;
  };
}

}  // namespace coordseg::app
