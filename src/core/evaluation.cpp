#include "coordseg/core/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "coordseg/core/dataset.h"
#include "coordseg/core/error.h"
#include "coordseg/core/names.h"
#include "coordseg/core/nifti.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {

std::string fixed(double v, int digits = 3) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

const char* kMetricNames[4] = {"dice", "jaccard", "hd95", "assd"};
double ClassMetrics::*const kMetrics[4] = {&ClassMetrics::dice, &ClassMetrics::jaccard, &ClassMetrics::hd95,
                                           &ClassMetrics::assd};
}  // namespace

std::vector<std::pair<std::string, std::string>> label_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw data_error(dir, "is not a folder");
  std::vector<std::pair<std::string, std::string>> out;
  // A dataset folder (MM-WHS or nnU-Net layout): its cases' label files.
  const bool dataset = fs::is_directory(fs::path(dir) / "labelsTr", ec) || fs::exists(fs::path(dir) / "dataset.json", ec);
  if (dataset) {
    for (const auto& c : discover_dataset(dir).cases)
      if (!c.label.empty()) out.emplace_back(c.id, c.label);
    return out;
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (!is_nifti_name(n) || n.find("_image") != std::string::npos ||
        n.find("_prob") != std::string::npos)
      continue;
    out.emplace_back(case_name(n), resolve_nifti_path(e.path().string()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

double Evaluation::mean(int c, double ClassMetrics::*metric) const {
  double sum = 0;
  int n = 0;
  for (const auto& ce : cases) {
    const double v = ce.classes[static_cast<size_t>(c)].*metric;
    if (!std::isnan(v)) sum += v, ++n;
  }
  return n ? sum / n : std::nan("");
}

double Evaluation::average_dsc() const {
  double sum = 0;
  int n = 0;
  for (int c = 1; c < map.num_classes(); ++c) {
    const double d = mean(c, &ClassMetrics::dice);
    if (!std::isnan(d)) sum += d, ++n;
  }
  return n ? sum / n : std::nan("");
}

Evaluation evaluate_folders(const std::string& pred_dir, const std::string& truth_dir, const LabelMap& map,
                            const std::string& model_name, bool allow_missing) {
  const auto preds = label_files(pred_dir);
  const auto truths = label_files(truth_dir);
  std::map<std::string, std::string> truth_of(truths.begin(), truths.end());
  if (preds.empty()) throw data_error(pred_dir, "holds no label maps to evaluate");
  Evaluation e;
  e.model = model_name;
  e.map = map;
  for (const auto& [id, path] : preds)
    if (!truth_of.count(id)) throw data_error(path, "no reference label map for case " + id + " in " + truth_dir);
  const std::map<std::string, std::string> pred_of(preds.begin(), preds.end());
  for (const auto& [id, path] : truths)
    if (!pred_of.count(id)) e.missing.push_back(id);
  if (!e.missing.empty() && !allow_missing) {
    throw data_error(pred_dir, "no prediction for " + std::to_string(e.missing.size()) + " of " +
                                   std::to_string(truths.size()) + " reference cases (" + name_list(e.missing) +
                                   "); pass --allow-missing to score the others");
  }
  for (const auto& [id, path] : preds) {
    const auto t = truth_of.find(id);
    CaseEvaluation ce;
    ce.case_id = id;
    ce.prediction = path;
    ce.truth = t->second;
    const LabelVolume pred = to_classes(read_labels(path), map);
    const LabelVolume truth = to_classes(read_labels(t->second), map);
    ce.classes = class_metrics(pred, truth, map.num_classes());
    ce.voxel_ml = truth.grid.voxel_ml();
    e.cases.push_back(std::move(ce));
  }
  return e;
}

std::string reference_table(const std::vector<Evaluation>& models) {
  std::ostringstream s;
  const LabelMap& map = models.front().map;
  s << "Model";
  for (const auto& n : map.names) s << " | " << n;
  s << " | Average DSC\n---";
  for (size_t c = 0; c <= map.names.size(); ++c) s << "|---";
  s << "\n";
  for (const auto& e : models) {
    s << e.model;
    for (int c = 0; c < map.num_classes(); ++c) s << " | " << fixed(e.mean(c, &ClassMetrics::dice));
    s << " | " << fixed(e.average_dsc()) << "\n";
  }
  return s.str();
}

std::string evaluation_csv(const Evaluation& e) {
  std::ostringstream s;
  s << "case";
  for (const auto& n : e.map.names)
    for (const char* m : kMetricNames) s << "," << n << "_" << m;
  s << ",average_dsc\n";
  auto row = [&](const std::string& id, const std::function<double(int, int)>& value, double average) {
    s << id;
    for (int c = 0; c < e.map.num_classes(); ++c)
      for (int m = 0; m < 4; ++m) s << "," << fixed(value(c, m), 4);
    s << "," << fixed(average, 4) << "\n";
  };
  for (const auto& ce : e.cases) {
    double sum = 0;
    int n = 0;
    for (int c = 1; c < e.map.num_classes(); ++c)
      if (!std::isnan(ce.classes[static_cast<size_t>(c)].dice)) sum += ce.classes[static_cast<size_t>(c)].dice, ++n;
    row(ce.case_id, [&](int c, int m) { return ce.classes[static_cast<size_t>(c)].*kMetrics[m]; }, n ? sum / n : std::nan(""));
  }
  row("mean", [&](int c, int m) { return e.mean(c, kMetrics[m]); }, e.average_dsc());
  return s.str();
}

std::string evaluation_json(const Evaluation& e) {
  nlohmann::ordered_json j;
  j["model"] = e.model;
  auto metrics = [&](auto get) {
    nlohmann::ordered_json o;
    for (int c = 0; c < e.map.num_classes(); ++c) {
      nlohmann::ordered_json m;
      for (int k = 0; k < 4; ++k) {
        const double v = get(c, k);
        m[kMetricNames[k]] = std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v);
      }
      o[e.map.names[static_cast<size_t>(c)]] = m;
    }
    return o;
  };
  for (const auto& ce : e.cases) {
    nlohmann::ordered_json cj;
    cj["case"] = ce.case_id;
    cj["prediction"] = ce.prediction;
    cj["truth"] = ce.truth;
    cj["classes"] = metrics([&](int c, int k) { return ce.classes[static_cast<size_t>(c)].*kMetrics[k]; });
    j["cases"].push_back(cj);
  }
  j["mean"] = metrics([&](int c, int k) { return e.mean(c, kMetrics[k]); });
  const double avg = e.average_dsc();
  j["average_dsc"] = std::isnan(avg) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(avg);
  return j.dump(2) + "\n";
}

std::string evaluation_markdown(const Evaluation& e) {
  std::ostringstream s;
  s << "## " << e.model << "\n\n" << reference_table({e}) << "\n| Structure | Dice | Jaccard | HD95 (mm) | ASSD (mm) |\n|---|---|---|---|---|\n";
  for (int c = 1; c < e.map.num_classes(); ++c)
    s << "| " << e.map.names[static_cast<size_t>(c)] << " | " << fixed(e.mean(c, &ClassMetrics::dice)) << " | "
      << fixed(e.mean(c, &ClassMetrics::jaccard)) << " | " << fixed(e.mean(c, &ClassMetrics::hd95), 2) << " | "
      << fixed(e.mean(c, &ClassMetrics::assd), 2) << " |\n";
  return s.str();
}

}  // namespace coordseg
