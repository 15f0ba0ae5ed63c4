// `coordseg evaluate`: pairs predicted and reference label maps by case name, computes the
// per-class metrics of metrics.h on each pair, and reports them per case and on average --
// as CSV, JSON, Markdown, and the reference project's console table:
//   Model | Background | MLV | LABC | LVBC | RABC | RVBC | ASA | PUA | Average DSC
// where Average DSC is the mean Dice over the classes other than background. Averages skip
// missing values (a class absent from both prediction and reference, or HD95/ASSD of an
// empty structure). Torch-free.
#pragma once

#include <string>
#include <vector>

#include "coordseg/core/labels.h"
#include "coordseg/core/metrics.h"

namespace coordseg {

struct CaseEvaluation {
  std::string case_id, prediction, truth;
  std::vector<ClassMetrics> classes;
  double voxel_ml = 0;  // one voxel's volume (the grids of prediction and reference are the same)
};

struct Evaluation {
  std::string model;
  LabelMap map;
  std::vector<CaseEvaluation> cases;
  std::vector<std::string> missing;  // reference cases without a prediction (allow_missing)

  // Mean over cases of one metric of class c (NaN values skipped; NaN if none).
  double mean(int c, double ClassMetrics::*metric) const;
  double average_dsc() const;  // mean over classes 1.. of mean Dice
};

// Files in a folder (or a dataset folder's label files) keyed by case name: the file name
// without extension and without a trailing _image, _label, _pred or _0000.
std::vector<std::pair<std::string, std::string>> label_files(const std::string& dir);

// Evaluates every prediction in pred_dir against the reference of the same case in
// truth_dir. A prediction without a reference, or no pairs at all, is an error; so is a
// reference case without a prediction unless `allow_missing` (then it is listed in
// Evaluation::missing and the averages cover the predicted cases).
Evaluation evaluate_folders(const std::string& pred_dir, const std::string& truth_dir, const LabelMap& map,
                            const std::string& model_name, bool allow_missing = false);

// The reference's table, one row per model (Dice to three decimals).
std::string reference_table(const std::vector<Evaluation>& models);
// Per case and mean rows with every metric.
std::string evaluation_csv(const Evaluation& e);
std::string evaluation_json(const Evaluation& e);
std::string evaluation_markdown(const Evaluation& e);

}  // namespace coordseg
