#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "coordseg/core/atomic_file.h"
#include "coordseg/core/error.h"
#include "coordseg/core/evaluation.h"
#include "coordseg/core/outputs.h"
#include "coordseg/core/structure_volumes.h"

namespace coordseg::app {

Runner add_evaluate_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> preds, names;
    std::string truth, csv, json, markdown, volumes;
    bool allow_missing = false, force = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Dice, Jaccard, HD95 and ASSD of predicted label maps against references");
  cmd->add_option("--pred", a->preds, "Folder of predicted label maps (repeat to compare models)")->required();
  cmd->add_option("--truth", a->truth, "Folder (or dataset folder) of reference label maps")->required();
  cmd->add_option("--name", a->names, "Model name per --pred, in the table (default: the folder's name)");
  cmd->add_option("--csv", a->csv, "Write per-case and mean metrics as CSV (one model)");
  cmd->add_option("--json", a->json, "Write them as JSON (one model)");
  cmd->add_option("--markdown", a->markdown, "Write the table and per-structure means as Markdown");
  cmd->add_option("--volumes", a->volumes,
                  "Write predicted and reference structure volumes (voxels, ml, myocardial mass) per case as CSV");
  cmd->add_flag("--allow-missing", a->allow_missing, "Score the predicted cases when some reference cases have none");
  cmd->add_flag("--force", a->force, "Overwrite existing report files");
  return [a, cmd]() {
    if (!*cmd) return -1;
    if (!a->names.empty() && a->names.size() != a->preds.size())
      throw usage_error("--name", "give one name per --pred (" + std::to_string(a->preds.size()) + ")");
    if (a->preds.size() > 1 && (!a->csv.empty() || !a->json.empty()))
      throw usage_error("--csv", "CSV and JSON reports take one --pred at a time");
    // Every file this command reads, so no report is written over one of them.
    std::vector<std::string> inputs;
    for (const auto& dir : a->preds)
      for (const auto& [id, path] : label_files(dir)) inputs.push_back(path);
    for (const auto& [id, path] : label_files(a->truth)) inputs.push_back(path);
    check_outputs({{a->csv, "--csv"}, {a->json, "--json"}, {a->markdown, "--markdown"}, {a->volumes, "--volumes"}}, inputs, a->force);
    std::vector<Evaluation> models;
    for (size_t i = 0; i < a->preds.size(); ++i) {
      std::string name = a->names.empty() ? "" : a->names[i];
      if (name.empty()) {
        std::string p = a->preds[i];
        while (p.size() > 1 && p.back() == '/') p.pop_back();
        name = p.substr(p.find_last_of('/') + 1);
      }
      models.push_back(evaluate_folders(a->preds[i], a->truth, LabelMap::mmwhs(), name, a->allow_missing));
      const auto& missing = models.back().missing;
      if (!missing.empty())
        print_line(std::cerr, "coordseg: note: " + name + ": no prediction for " + std::to_string(missing.size()) +
                                  " reference cases; scored the " + std::to_string(models.back().cases.size()) +
                                  " predicted ones\n");
    }
    std::cout << models.front().cases.size() << " cases\n\n" << reference_table(models);
    if (!a->csv.empty()) write_text_file(a->csv, evaluation_csv(models.front()));
    if (!a->json.empty()) write_text_file(a->json, evaluation_json(models.front()));
    if (!a->volumes.empty()) {
      std::vector<StructureVolume> rows;
      for (const auto& e : models) {
        const auto r = structure_volumes(e);
        rows.insert(rows.end(), r.begin(), r.end());
      }
      write_text_file(a->volumes, volumes_csv(rows));
    }
    if (!a->markdown.empty()) {
      std::string md = reference_table(models) + "\n";
      for (const auto& e : models) md += evaluation_markdown(e) + "\n";
      write_text_file(a->markdown, md);
    }
    return 0;
  };
}

}  // namespace coordseg::app
