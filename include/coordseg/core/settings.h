// The words a parameter file (and the command line) uses for its choices, as typed values:
// one enum per setting, each with the one table of its words. `parse_setting` reads a word
// (aliases included, e.g. the reference's "GroupNormalization" for group) and throws a
// usage error naming the key and the words it expects; `to_string` gives the canonical word,
// which is what RUN/config.json stores. Torch-free, so the core can validate a
// configuration without the network being built.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "coordseg/core/error.h"

namespace coordseg {

enum class DataModality { kCT, kMR, kAll };                // DATA: the cases to use
enum class OptimizerKind { kAdam, kAdamW, kSgd };          // OPTIMIZER
enum class Norm { kNone, kBatch, kGroup, kInstance };      // NORMALIZATION
enum class CoordMode { kNone, kLocal, kGlobal, kAll };     // COORD
enum class Activation { kReLU, kLeakyReLU };               // ACTIVATION
enum class Upsampling { kTransposed, kTrilinear };         // UPSAMPLING
enum class LossKind { kDice, kCrossEntropy, kDiceCrossEntropy, kWeightedCrossEntropy };  // LOSS
enum class Schedule { kConstant, kPoly, kCosine };         // SCHEDULE
enum class IntensityScheme { kAuto, kCT, kZScore, kScale255 };  // INTENSITY (auto: ct for CT, zscore for MR)
enum class Amp { kNone, kBf16, kFp16 };                    // AMP
enum class Init { kTorch, kGlorot };                       // INIT: LibTorch's defaults or Keras's

// The words of a setting: canonical ones first (in the order listed in errors), then aliases.
template <class E>
struct SettingWords {
  const char* key;                                  // the parameter file's key
  std::vector<std::pair<E, const char*>> words;     // canonical: the first word of each value
  std::vector<std::pair<E, const char*>> aliases;   // also accepted when reading
};

template <class E>
const SettingWords<E>& setting_words();

// The canonical words of a setting, for errors and help texts: "none, bf16 or fp16".
template <class E>
std::string setting_choices() {
  const auto& w = setting_words<E>().words;
  std::string s;
  for (size_t i = 0; i < w.size(); ++i) s += std::string(i == 0 ? "" : i + 1 == w.size() ? " or " : ", ") + w[i].second;
  return s;
}

// `where` names the file or option in errors (default: the setting's key).
template <class E>
E parse_setting(const std::string& word, const std::string& where = "") {
  const SettingWords<E>& w = setting_words<E>();
  for (const auto& [value, text] : w.words)
    if (word == text) return value;
  for (const auto& [value, text] : w.aliases)
    if (word == text) return value;
  throw usage_error(where.empty() ? w.key : where,
                    "unknown value '" + word + "' (expected " + setting_choices<E>() + ")");
}

template <class E>
std::string to_string(E value) {
  for (const auto& [v, text] : setting_words<E>().words)
    if (v == value) return text;
  return "?";
}

// Ranges that several entry points check (a parameter file, the command line, the library
// API), written once: a usage error naming `where`.
void check_overlap(double overlap, const std::string& where);  // sliding-window overlap in [0, 1)
void check_depth(int64_t depth, const std::string& where);     // U-Net levels, 1..6
void check_heart_margin(double mm, const std::string& where);   // --keep-heart's margin: finite, >= 0 mm
// Threads: 0 (all cores) up to kThreadsPerCore x this machine's cores; more only thrash.
constexpr int64_t kThreadsPerCore = 4;
int64_t max_threads();
void check_threads(int64_t threads, const std::string& where, bool zero_allowed = true);
// A size given on the command line as one side or three (D H W): {s, s, s}, the three as
// given, or {0, 0, 0} when none was; two values are a usage error naming `where`.
std::array<int64_t, 3> one_or_three_sides(const std::vector<int64_t>& values, const std::string& where);

// Global coordinates (network input) in use: the sampler and sliding windows must supply them.
inline bool needs_global_coords(CoordMode m) { return m == CoordMode::kGlobal || m == CoordMode::kAll; }

}  // namespace coordseg
