#include "coordseg/core/config.h"

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <type_traits>

#include "coordseg/core/error.h"

namespace coordseg {

using json = nlohmann::json;

namespace {

std::string type_name(const json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

[[noreturn]] void bad_type(const std::string& where, const std::string& key, const std::string& want, const json& v) {
  throw usage_error(where, "key " + key + " must be " + want + ", got " + type_name(v) + " (" + v.dump() + ")");
}

int64_t as_int(const std::string& where, const std::string& key, const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) return static_cast<int64_t>(v.get<double>());
  bad_type(where, key, "an integer", v);
}
double as_number(const std::string& where, const std::string& key, const json& v) {
  if (v.is_number()) return v.get<double>();
  bad_type(where, key, "a number", v);
}
std::string as_string(const std::string& where, const std::string& key, const json& v) {
  if (v.is_string()) return v.get<std::string>();
  bad_type(where, key, "a string", v);
}
bool as_flag(const std::string& where, const std::string& key, const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1)) return v.get<int64_t>() == 1;
  bad_type(where, key, "0, 1, true or false", v);
}

// A range check on one numeric value; throws a usage error naming the key.
using Range = std::function<void(double, const std::string& key)>;

Range at_least(int64_t lo) {
  return [lo](double v, const std::string& key) {
    if (v < static_cast<double>(lo))
      throw usage_error(key, "must be at least " + std::to_string(lo) + ", got " + std::to_string(static_cast<int64_t>(v)));
  };
}
Range not_negative() {
  return [](double v, const std::string& key) {
    if (!(v >= 0)) throw usage_error(key, "must not be negative");
  };
}
Range positive() {
  return [](double v, const std::string& key) {
    if (!(v > 0)) throw usage_error(key, "must be positive");
  };
}
Range probability() {
  return [](double v, const std::string& key) {
    if (!(v >= 0 && v <= 1)) throw usage_error(key, "must be a probability in [0, 1], got " + std::to_string(v));
  };
}
// lo <= v < hi (open) or lo < v <= hi; `text` is the interval as the error prints it.
Range interval(double lo, double hi, bool lo_open, bool hi_open, const std::string& text) {
  return [=](double v, const std::string& key) {
    const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (!ok) throw usage_error(key, "must be in " + text + ", got " + std::to_string(v));
  };
}

ConfigKey make_key(const char* name, bool reference) {
  ConfigKey k;
  k.name = name;
  k.reference = reference;
  return k;
}

// A value of type T (an integer type, double or std::string) read from JSON.
template <class T>
T read_value(const std::string& where, const std::string& key, const json& v) {
  if constexpr (std::is_same_v<T, std::string>) return as_string(where, key, v);
  else if constexpr (std::is_integral_v<T>) return static_cast<T>(as_int(where, key, v));
  else return as_number(where, key, v);
}

// A key stored as it is read; numbers may carry a range check.
template <class T>
ConfigKey value_key(const char* name, bool reference, T TrainConfig::*m, Range range = {}) {
  ConfigKey k = make_key(name, reference);
  k.read = [m, name](TrainConfig& c, const json& v, const std::string& w) { c.*m = read_value<T>(w, name, v); };
  k.write = [m](const TrainConfig& c) { return nlohmann::ordered_json(c.*m); };
  if constexpr (std::is_arithmetic_v<T>)
    if (range) k.check = [m, range, name](const TrainConfig& c) { range(static_cast<double>(c.*m), name); };
  return k;
}

template <class E>
ConfigKey setting_key(const char* name, bool reference, E TrainConfig::*m) {
  ConfigKey k = make_key(name, reference);
  k.read = [m, name](TrainConfig& c, const json& v, const std::string& w) {
    c.*m = parse_setting<E>(as_string(w, name, v), name);
  };
  k.write = [m](const TrainConfig& c) { return nlohmann::ordered_json(to_string(c.*m)); };
  return k;
}

// A key that is read and resolved into another one, or written by a special writer.
ConfigKey custom_key(const char* name, bool reference,
                     std::function<void(TrainConfig&, const json&, const std::string&)> read) {
  ConfigKey k = make_key(name, reference);
  k.read = std::move(read);
  return k;
}

// One number for all three axes, or three numbers.
template <class T>
ConfigKey triple_key(const char* name, bool reference, std::array<T, 3> TrainConfig::*m, const char* want, Range range) {
  ConfigKey k = make_key(name, reference);
  k.read = [m, name, want](TrainConfig& c, const json& v, const std::string& w) {
    if (v.is_array()) {
      if (v.size() != 3) bad_type(w, name, want, v);
      for (size_t i = 0; i < 3; ++i) (c.*m)[i] = read_value<T>(w, name, v[i]);
    } else {
      (c.*m).fill(read_value<T>(w, name, v));
    }
  };
  k.write = [m](const TrainConfig& c) { return nlohmann::ordered_json(c.*m); };
  k.check = [m, range, name](const TrainConfig& c) {
    for (const T x : c.*m) range(static_cast<double>(x), name);
  };
  return k;
}

// COORD_NET, IMAGE_COORD and COORD are resolved together once every key is read.
struct CoordFlags {
  std::optional<bool> coord_net, image_coord;
  std::optional<CoordMode> coord;
};
thread_local CoordFlags* pending_coord = nullptr;

std::vector<ConfigKey> make_keys() {
  using C = TrainConfig;
  const bool ref = true, own = false;
  std::vector<ConfigKey> keys = {
      value_key("NAME", ref, &C::name),
      setting_key("DATA", ref, &C::data),
      triple_key("PATCH_DIM", ref, &C::patch, "a number or [D, H, W]", positive()),
      value_key("RESIZE_R", ref, &C::resize, interval(0, 4, true, false, "(0, 4]")),
      value_key("TRAIN_PATCH_NUM", ref, &C::train_patches, at_least(1)),
      value_key("VALID_PATCH_NUM", ref, &C::valid_patches, at_least(1)),
      value_key("IMAGE_NUM", ref, &C::image_num),
      value_key("BATCH_SIZE", ref, &C::batch, at_least(1)),
      value_key("EPOCHS", ref, &C::epochs, at_least(1)),
      value_key("INPUT_CHANNEL", ref, &C::in_channels,
                  [](double v, const std::string& key) {
                    if (v != 1)
                      throw usage_error(key, "only single-channel images are supported (got " +
                                                 std::to_string(static_cast<int64_t>(v)) + ")");
                  }),
      value_key("OUTPUT_CHANNEL", ref, &C::classes,
                  [](double v, const std::string& key) {
                    if (v < 2) throw usage_error(key, "needs at least 2 classes");
                  }),
      setting_key("OPTIMIZER", ref, &C::optimizer),
      value_key("LEARNINGRATE", ref, &C::lr, positive()),
      custom_key("NORMALIZATION", ref,
                 [](TrainConfig& c, const json& v, const std::string& w) {
                   // The reference writes 0 for no normalisation.
                   c.norm = v.is_number_integer() && v.get<int64_t>() == 0
                                ? Norm::kNone
                                : parse_setting<Norm>(as_string(w, "NORMALIZATION", v));
                 }),
      custom_key("COORD_NET", ref,
                 [](TrainConfig&, const json& v, const std::string& w) {
                   pending_coord->coord_net = as_flag(w, "COORD_NET", v);
                 }),
      custom_key("IMAGE_COORD", ref,
                 [](TrainConfig&, const json& v, const std::string& w) {
                   pending_coord->image_coord = as_flag(w, "IMAGE_COORD", v);
                 }),
      custom_key("COORD", own,
                 [](TrainConfig&, const json& v, const std::string& w) {
                   pending_coord->coord = parse_setting<CoordMode>(as_string(w, "COORD", v));
                 }),
      custom_key("OVERLAP_FACTOR", ref,
                 [](TrainConfig& c, const json& v, const std::string& w) {
                   const double f = as_number(w, "OVERLAP_FACTOR", v);
                   if (!(f >= 1)) throw usage_error(w, "key OVERLAP_FACTOR must be at least 1 (windows per patch side)");
                   c.overlap = 1.0 - 1.0 / f;
                 }),
      value_key("OVERLAP", own, &C::overlap, check_overlap),
      custom_key("MULTI_GPU", ref,
                 [](TrainConfig& c, const json& v, const std::string& w) {
                   if (!v.is_array()) bad_type(w, "MULTI_GPU", "an array of GPU ids", v);
                   c.gpus.clear();
                   for (const auto& g : v)
                     c.gpus.push_back(g.is_string() ? g.get<std::string>() : std::to_string(as_int(w, "MULTI_GPU", g)));
                 }),
      value_key("BASE_FILTERS", own, &C::base, at_least(1)),
      value_key("DEPTH", own, &C::depth,
                  [](double v, const std::string& key) { check_depth(static_cast<int64_t>(v), key); }),
      setting_key("ACTIVATION", own, &C::activation),
      setting_key("UPSAMPLING", own, &C::upsampling),
      setting_key("LOSS", own, &C::loss),
      setting_key("SCHEDULE", own, &C::schedule),
      value_key("WEIGHT_DECAY", own, &C::weight_decay, not_negative()),
      value_key("MOMENTUM", own, &C::momentum, interval(0, 1, false, true, "[0, 1)")),
      value_key("GRAD_CLIP", own, &C::grad_clip, not_negative()),
      value_key("STEPS", own, &C::steps, not_negative()),
      value_key("VALID_CASES", own, &C::valid_cases, not_negative()),
      value_key("SEED", own, &C::seed),
      setting_key("INTENSITY", own, &C::intensity),
      triple_key("TARGET_SPACING", own, &C::spacing, "a number or [x, y, z] in mm", not_negative()),
      value_key("FOREGROUND_FRACTION", own, &C::foreground, probability()),
      value_key("AUG_MIRROR", own, &C::aug_mirror, probability()),
      value_key("AUG_ROTATE", own, &C::aug_rotate, probability()),
      value_key("AUG_SCALE", own, &C::aug_scale, probability()),
      value_key("AUG_ELASTIC", own, &C::aug_elastic, probability()),
      value_key("AUG_GAMMA", own, &C::aug_gamma, probability()),
      value_key("AUG_NOISE", own, &C::aug_noise, probability()),
      value_key("AUG_BRIGHTNESS", own, &C::aug_brightness, probability()),
      value_key("FULL_VALID_EVERY", own, &C::full_valid_every, not_negative()),
      value_key("LOADER_THREADS", own, &C::loader_threads,
                  [](double v, const std::string& key) { check_threads(static_cast<int64_t>(v), key, false); }),
      value_key("DEVICE", own, &C::device),
      value_key("THREADS", own, &C::threads,
                  [](double v, const std::string& key) { check_threads(static_cast<int64_t>(v), key); }),
      setting_key("AMP", own, &C::amp),
      setting_key("INIT", own, &C::init),
      value_key("ADAM_EPSILON", own, &C::adam_epsilon, positive()),
      custom_key("LABELS", own,
                 [](TrainConfig& c, const json& v, const std::string& w) {
                   if (!v.is_object() || !v.contains("values"))
                     bad_type(w, "LABELS", "an object with \"values\" (and \"names\")", v);
                   for (const auto& [sub, val] : v.items())
                     if (sub != "values" && sub != "names") throw usage_error(w, "unknown key LABELS." + sub);
                   if (!v["values"].is_array()) bad_type(w, "LABELS.values", "an array of integers", v["values"]);
                   c.label_values.clear();
                   for (const auto& x : v["values"])
                     c.label_values.push_back(static_cast<int32_t>(as_int(w, "LABELS.values", x)));
                   c.label_names.clear();
                   if (v.contains("names")) {
                     if (!v["names"].is_array()) bad_type(w, "LABELS.names", "an array of strings", v["names"]);
                     for (const auto& x : v["names"]) c.label_names.push_back(as_string(w, "LABELS.names", x));
                   }
                 }),
  };
  auto find = [&](const char* name) -> ConfigKey& {
    for (auto& k : keys)
      if (k.name == name) return k;
    throw std::logic_error(std::string("no config key ") + name);
  };
  find("NORMALIZATION").write = [](const TrainConfig& c) { return nlohmann::ordered_json(to_string(c.norm)); };
  find("COORD").write = [](const TrainConfig& c) { return nlohmann::ordered_json(to_string(c.coord)); };
  find("INTENSITY").write = [](const TrainConfig& c) { return nlohmann::ordered_json(to_string(c.intensity_scheme())); };
  find("MULTI_GPU").write = [](const TrainConfig& c) { return nlohmann::ordered_json(c.gpus); };
  find("LABELS").write = [](const TrainConfig& c) {
    return nlohmann::ordered_json{{"values", c.label_values}, {"names", c.label_names}};
  };
  find("LABELS").check = [](const TrainConfig& c) {
    if (static_cast<int64_t>(c.label_values.size()) != c.classes)
      throw usage_error("OUTPUT_CHANNEL", std::to_string(c.classes) + " classes but the label map has " +
                                              std::to_string(c.label_values.size()) + " values");
    if (!c.label_names.empty() && c.label_names.size() != c.label_values.size())
      throw usage_error("LABELS", "names and values differ in number");
  };
  find("DEVICE").check = [](const TrainConfig& c) {
    if (!(c.device == "auto" || c.device == "cpu" || c.device.rfind("cuda", 0) == 0))
      throw usage_error("DEVICE", "unknown device '" + c.device + "' (expected auto, cpu, cuda or cuda:N)");
  };
  return keys;
}

}  // namespace

TrainConfig TrainConfig::from_file(const std::string& path) {
  // A file that cannot be read is a data error (exit 1), like any unreadable input; a file
  // that is read but is not a valid parameter file is a usage error (exit 2).
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw data_error(path, "is a folder, not a parameter file");
  std::ifstream in(path);
  if (!in) throw data_error(path, system_reason("cannot open the parameter file", errno));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw usage_error(path, std::string("not valid JSON: ") + e.what());
  }
  return from_json(j, path);
}

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = make_keys();
  return keys;
}

const ConfigKey* find_config_key(const std::string& name) {
  for (const auto& k : config_keys())
    if (k.name == name) return &k;
  return nullptr;
}

TrainConfig TrainConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw usage_error(source, "a parameter file must be a JSON object");
  TrainConfig c;
  CoordFlags flags;
  pending_coord = &flags;
  struct Reset {
    ~Reset() { pending_coord = nullptr; }
  } reset;
  for (const auto& [key, value] : j.items()) {
    const ConfigKey* k = find_config_key(key);
    if (!k) throw usage_error(source, "unknown key " + key + " (see docs/params.md)");
    k->read(c, value, source);
  }
  const bool net = flags.coord_net.value_or(false), img = flags.image_coord.value_or(false);
  if (net && img) throw usage_error(source, "COORD_NET and IMAGE_COORD are both set; use COORD: \"all\" or one of them");
  if (flags.coord) {
    if ((net && *flags.coord != CoordMode::kLocal) || (img && *flags.coord != CoordMode::kGlobal))
      throw usage_error(source, "COORD contradicts COORD_NET / IMAGE_COORD");
    c.coord = *flags.coord;
  } else {
    c.coord = net ? CoordMode::kLocal : img ? CoordMode::kGlobal : CoordMode::kNone;
  }
  c.validate();
  return c;
}

nlohmann::ordered_json TrainConfig::to_json() const {
  nlohmann::ordered_json j;
  for (const auto& k : config_keys())
    if (k.write) j[k.name] = k.write(*this);
  return j;
}

IntensityScheme TrainConfig::intensity_scheme() const {
  if (intensity != IntensityScheme::kAuto) return intensity;
  return data == DataModality::kMR ? IntensityScheme::kZScore : IntensityScheme::kCT;
}

LabelMap TrainConfig::label_map() const {
  const LabelMap mmwhs = LabelMap::mmwhs();
  if (label_values == mmwhs.values && label_names.empty()) return mmwhs;
  LabelMap m = LabelMap::custom(label_values, label_names, "LABELS");
  if (m.values == mmwhs.values) m.aliases = mmwhs.aliases;
  return m;
}

void TrainConfig::validate() const {
  for (const auto& k : config_keys())
    if (k.check) k.check(*this);
}

void check_resume_overrides(const ConfigOverrides& o) {
  const char* unsafe = o.batch ? "--batch-size" : o.lr ? "--lr" : o.patch ? "--patch" : o.seed ? "--seed"
                       : o.amp ? "--amp" : nullptr;
  if (unsafe)
    throw usage_error(unsafe, "cannot change when resuming (the run's config.json fixes it); resume accepts "
                              "--epochs, --steps, --threads and --device");
}

void apply_overrides(TrainConfig& c, const ConfigOverrides& o) {
  // Each given value is set, then held to its key's own check; an error names the option.
  auto apply = [&c](const char* option, const char* key, const auto& value, auto set) {
    if (!value) return;
    set(*value);
    try {
      if (const auto& check = find_config_key(key)->check) check(c);
    } catch (const Error& e) {
      throw usage_error(option, e.reason());
    }
  };
  apply("--epochs", "EPOCHS", o.epochs, [&](int64_t v) { c.epochs = v; });
  apply("--steps", "STEPS", o.steps, [&](int64_t v) { c.steps = v; });
  apply("--batch-size", "BATCH_SIZE", o.batch, [&](int64_t v) { c.batch = v; });
  apply("--lr", "LEARNINGRATE", o.lr, [&](double v) { c.lr = v; });
  apply("--patch", "PATCH_DIM", o.patch, [&](int64_t v) { c.patch.fill(v); });
  apply("--threads", "THREADS", o.threads, [&](int64_t v) { c.threads = v; });
  apply("--device", "DEVICE", o.device, [&](const std::string& v) { c.device = v; });
  if (o.seed) {
    if (*o.seed < 0) throw usage_error("--seed", "must not be negative, got " + std::to_string(*o.seed));
    c.seed = static_cast<uint64_t>(*o.seed);
  }
  if (o.amp) c.amp = parse_setting<Amp>(*o.amp, "--amp");
  c.validate();
}

}  // namespace coordseg
