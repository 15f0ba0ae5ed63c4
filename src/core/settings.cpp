#include "coordseg/core/settings.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace coordseg {

void check_overlap(double overlap, const std::string& where) {
  if (!(overlap >= 0 && overlap < 1)) throw usage_error(where, "must be in [0, 1), got " + std::to_string(overlap));
}

void check_heart_margin(double mm, const std::string& where) {
  if (!(mm >= 0) || !std::isfinite(mm)) throw usage_error(where, "must be a number of millimetres >= 0");
}

int64_t max_threads() {
  return kThreadsPerCore * std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()));
}

void check_threads(int64_t threads, const std::string& where, bool zero_allowed) {
  if (threads < (zero_allowed ? 0 : 1))
    throw usage_error(where, zero_allowed ? "must not be negative" : "must be at least 1, got " + std::to_string(threads));
  if (threads > max_threads())
    throw usage_error(where, std::to_string(threads) + " threads for " + std::to_string(max_threads() / kThreadsPerCore) +
                                 " cores; at most " + std::to_string(max_threads()) + " (" +
                                 std::to_string(kThreadsPerCore) + " per core)");
}

std::array<int64_t, 3> one_or_three_sides(const std::vector<int64_t>& values, const std::string& where) {
  if (values.size() == 2 || values.size() > 3)
    throw usage_error(where, "give one side or three (D H W), not " +
                                 (values.size() == 2 ? std::string("two") : std::to_string(values.size())));
  std::array<int64_t, 3> sides{0, 0, 0};
  for (size_t i = 0; i < 3 && !values.empty(); ++i) sides[i] = values[values.size() == 1 ? 0 : i];
  return sides;
}

void check_depth(int64_t depth, const std::string& where) {
  if (depth < 1 || depth > 6) throw usage_error(where, "must be 1..6, got " + std::to_string(depth));
}

template <>
const SettingWords<DataModality>& setting_words() {
  static const SettingWords<DataModality> w{"DATA", {{DataModality::kCT, "CT"}, {DataModality::kMR, "MR"}, {DataModality::kAll, "ALL"}}, {}};
  return w;
}

template <>
const SettingWords<OptimizerKind>& setting_words() {
  static const SettingWords<OptimizerKind> w{
      "OPTIMIZER", {{OptimizerKind::kAdam, "adam"}, {OptimizerKind::kAdamW, "adamw"}, {OptimizerKind::kSgd, "sgd"}}, {}};
  return w;
}

template <>
const SettingWords<Norm>& setting_words() {
  // The reference writes 0 for none (read as a number by the config) and Keras layer names.
  static const SettingWords<Norm> w{
      "NORMALIZATION",
      {{Norm::kNone, "none"}, {Norm::kBatch, "batch"}, {Norm::kGroup, "group"}, {Norm::kInstance, "instance"}},
      {{Norm::kNone, "0"},
       {Norm::kBatch, "BatchNormalization"},
       {Norm::kGroup, "GroupNormalization"},
       {Norm::kInstance, "InstanceNormalization"}}};
  return w;
}

template <>
const SettingWords<CoordMode>& setting_words() {
  static const SettingWords<CoordMode> w{"COORD",
                                         {{CoordMode::kNone, "none"},
                                          {CoordMode::kLocal, "local"},
                                          {CoordMode::kGlobal, "global"},
                                          {CoordMode::kAll, "all"}},
                                         {}};
  return w;
}

template <>
const SettingWords<Activation>& setting_words() {
  static const SettingWords<Activation> w{
      "ACTIVATION", {{Activation::kReLU, "relu"}, {Activation::kLeakyReLU, "leakyrelu"}}, {}};
  return w;
}

template <>
const SettingWords<Upsampling>& setting_words() {
  static const SettingWords<Upsampling> w{
      "UPSAMPLING", {{Upsampling::kTransposed, "transposed"}, {Upsampling::kTrilinear, "trilinear"}}, {}};
  return w;
}

template <>
const SettingWords<LossKind>& setting_words() {
  static const SettingWords<LossKind> w{
      "LOSS",
      {{LossKind::kDice, "dice"},
       {LossKind::kCrossEntropy, "ce"},
       {LossKind::kDiceCrossEntropy, "dice_ce"},
       {LossKind::kWeightedCrossEntropy, "weighted_ce"}},
      {}};
  return w;
}

template <>
const SettingWords<Schedule>& setting_words() {
  static const SettingWords<Schedule> w{
      "SCHEDULE", {{Schedule::kConstant, "constant"}, {Schedule::kPoly, "poly"}, {Schedule::kCosine, "cosine"}}, {}};
  return w;
}

template <>
const SettingWords<IntensityScheme>& setting_words() {
  // "auto" is never written: a resolved configuration stores the scheme in effect.
  static const SettingWords<IntensityScheme> w{"INTENSITY",
                                               {{IntensityScheme::kCT, "ct"},
                                                {IntensityScheme::kZScore, "zscore"},
                                                {IntensityScheme::kScale255, "scale255"}},
                                               {{IntensityScheme::kAuto, ""}, {IntensityScheme::kAuto, "auto"}}};
  return w;
}

template <>
const SettingWords<Amp>& setting_words() {
  static const SettingWords<Amp> w{"AMP", {{Amp::kNone, "none"}, {Amp::kBf16, "bf16"}, {Amp::kFp16, "fp16"}}, {}};
  return w;
}

template <>
const SettingWords<Init>& setting_words() {
  static const SettingWords<Init> w{"INIT", {{Init::kTorch, "torch"}, {Init::kGlorot, "glorot"}},
                                    {{Init::kGlorot, "glorot_uniform"}}};
  return w;
}

}  // namespace coordseg
