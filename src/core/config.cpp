#include "coordseg/core/config.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <map>

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

using Setter = std::function<void(TrainConfig&, const json&, const std::string&, const std::string&)>;

template <class T>
Setter int_key(T TrainConfig::*m) {
  return [m](TrainConfig& c, const json& v, const std::string& w, const std::string& k) {
    c.*m = static_cast<T>(as_int(w, k, v));
  };
}
Setter number_key(double TrainConfig::*m) {
  return [m](TrainConfig& c, const json& v, const std::string& w, const std::string& k) { c.*m = as_number(w, k, v); };
}
Setter string_key(std::string TrainConfig::*m) {
  return [m](TrainConfig& c, const json& v, const std::string& w, const std::string& k) { c.*m = as_string(w, k, v); };
}

// Keys set through these flags are resolved after all keys are read.
struct Pending {
  std::optional<bool> coord_net, image_coord;
  std::optional<std::string> coord;
};

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"NAME", string_key(&TrainConfig::name)},
      {"DATA", string_key(&TrainConfig::data)},
      {"PATCH_DIM",
       [](TrainConfig& c, const json& v, const std::string& w, const std::string& k) {
         if (v.is_array()) {
           if (v.size() != 3) bad_type(w, k, "a number or [D, H, W]", v);
           for (size_t i = 0; i < 3; ++i) c.patch[i] = as_int(w, k, v[i]);
         } else {
           c.patch.fill(as_int(w, k, v));
         }
       }},
      {"RESIZE_R", number_key(&TrainConfig::resize)},
      {"TRAIN_PATCH_NUM", int_key(&TrainConfig::train_patches)},
      {"VALID_PATCH_NUM", int_key(&TrainConfig::valid_patches)},
      {"IMAGE_NUM", int_key(&TrainConfig::image_num)},
      {"BATCH_SIZE", int_key(&TrainConfig::batch)},
      {"EPOCHS", int_key(&TrainConfig::epochs)},
      {"INPUT_CHANNEL", int_key(&TrainConfig::in_channels)},
      {"OUTPUT_CHANNEL", int_key(&TrainConfig::classes)},
      {"OPTIMIZER", string_key(&TrainConfig::optimizer)},
      {"LEARNINGRATE", number_key(&TrainConfig::lr)},
      {"NORMALIZATION",
       [](TrainConfig& c, const json& v, const std::string& w, const std::string& k) {
         if (v.is_number_integer() && v.get<int64_t>() == 0) c.norm = "none";
         else c.norm = as_string(w, k, v);
       }},
      {"OVERLAP_FACTOR",
       [](TrainConfig& c, const json& v, const std::string& w, const std::string& k) {
         const double f = as_number(w, k, v);
         if (!(f >= 1)) throw usage_error(w, "key " + k + " must be at least 1 (windows per patch side)");
         c.overlap = 1.0 - 1.0 / f;
       }},
      {"OVERLAP", number_key(&TrainConfig::overlap)},
      {"MULTI_GPU",
       [](TrainConfig& c, const json& v, const std::string& w, const std::string& k) {
         if (!v.is_array()) bad_type(w, k, "an array of GPU ids", v);
         c.gpus.clear();
         for (const auto& g : v) {
           if (g.is_string()) c.gpus.push_back(g.get<std::string>());
           else c.gpus.push_back(std::to_string(as_int(w, k, g)));
         }
       }},
      {"BASE_FILTERS", int_key(&TrainConfig::base)},
      {"DEPTH", int_key(&TrainConfig::depth)},
      {"ACTIVATION", string_key(&TrainConfig::activation)},
      {"UPSAMPLING", string_key(&TrainConfig::upsampling)},
      {"LOSS", string_key(&TrainConfig::loss)},
      {"SCHEDULE", string_key(&TrainConfig::schedule)},
      {"WEIGHT_DECAY", number_key(&TrainConfig::weight_decay)},
      {"MOMENTUM", number_key(&TrainConfig::momentum)},
      {"GRAD_CLIP", number_key(&TrainConfig::grad_clip)},
      {"STEPS", int_key(&TrainConfig::steps)},
      {"VALID_CASES", int_key(&TrainConfig::valid_cases)},
      {"SEED", int_key(&TrainConfig::seed)},
      {"INTENSITY", string_key(&TrainConfig::intensity)},
      {"TARGET_SPACING",
       [](TrainConfig& c, const json& v, const std::string& w, const std::string& k) {
         if (v.is_array()) {
           if (v.size() != 3) bad_type(w, k, "a number or [x, y, z] in mm", v);
           for (size_t i = 0; i < 3; ++i) c.spacing[i] = as_number(w, k, v[i]);
         } else {
           c.spacing.fill(as_number(w, k, v));
         }
       }},
      {"FOREGROUND_FRACTION", number_key(&TrainConfig::foreground)},
      {"AUG_MIRROR", number_key(&TrainConfig::aug_mirror)},
      {"AUG_ROTATE", number_key(&TrainConfig::aug_rotate)},
      {"AUG_SCALE", number_key(&TrainConfig::aug_scale)},
      {"AUG_ELASTIC", number_key(&TrainConfig::aug_elastic)},
      {"AUG_GAMMA", number_key(&TrainConfig::aug_gamma)},
      {"AUG_NOISE", number_key(&TrainConfig::aug_noise)},
      {"AUG_BRIGHTNESS", number_key(&TrainConfig::aug_brightness)},
      {"FULL_VALID_EVERY", int_key(&TrainConfig::full_valid_every)},
      {"LOADER_THREADS", int_key(&TrainConfig::loader_threads)},
      {"DEVICE", string_key(&TrainConfig::device)},
      {"THREADS", int_key(&TrainConfig::threads)},
      {"AMP", string_key(&TrainConfig::amp)},
      {"LABELS",
       [](TrainConfig& c, const json& v, const std::string& w, const std::string& k) {
         if (!v.is_object() || !v.contains("values")) bad_type(w, k, "an object with \"values\" (and \"names\")", v);
         for (const auto& [sub, val] : v.items())
           if (sub != "values" && sub != "names") throw usage_error(w, "unknown key " + k + "." + sub);
         if (!v["values"].is_array()) bad_type(w, k + ".values", "an array of integers", v["values"]);
         c.label_values.clear();
         for (const auto& x : v["values"]) c.label_values.push_back(static_cast<int32_t>(as_int(w, k + ".values", x)));
         c.label_names.clear();
         if (v.contains("names")) {
           if (!v["names"].is_array()) bad_type(w, k + ".names", "an array of strings", v["names"]);
           for (const auto& x : v["names"]) c.label_names.push_back(as_string(w, k + ".names", x));
         }
       }},
  };
  return table;
}

bool one_of(const std::string& s, std::initializer_list<const char*> options) {
  for (const char* o : options)
    if (s == o) return true;
  return false;
}

}  // namespace

TrainConfig TrainConfig::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw usage_error(path, "cannot open the parameter file");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw usage_error(path, std::string("not valid JSON: ") + e.what());
  }
  return from_json(j, path);
}

TrainConfig TrainConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw usage_error(source, "a parameter file must be a JSON object");
  TrainConfig c;
  Pending pending;
  for (const auto& [key, value] : j.items()) {
    if (key == "COORD_NET") {
      pending.coord_net = as_flag(source, key, value);
    } else if (key == "IMAGE_COORD") {
      pending.image_coord = as_flag(source, key, value);
    } else if (key == "COORD") {
      pending.coord = as_string(source, key, value);
    } else {
      const auto it = setters().find(key);
      if (it == setters().end()) throw usage_error(source, "unknown key " + key + " (see docs/params.md)");
      it->second(c, value, source, key);
    }
  }
  const bool net = pending.coord_net.value_or(false), img = pending.image_coord.value_or(false);
  if (net && img) throw usage_error(source, "COORD_NET and IMAGE_COORD are both set; use COORD: \"all\" or one of them");
  if (pending.coord) {
    if ((net && *pending.coord != "local") || (img && *pending.coord != "global"))
      throw usage_error(source, "COORD contradicts COORD_NET / IMAGE_COORD");
    c.coord = *pending.coord;
  } else {
    c.coord = net ? "local" : img ? "global" : "none";
  }
  c.validate();
  return c;
}

nlohmann::ordered_json TrainConfig::to_json() const {
  nlohmann::ordered_json j;
  j["NAME"] = name;
  j["DATA"] = data;
  j["PATCH_DIM"] = patch;
  j["RESIZE_R"] = resize;
  j["TRAIN_PATCH_NUM"] = train_patches;
  j["VALID_PATCH_NUM"] = valid_patches;
  j["IMAGE_NUM"] = image_num;
  j["BATCH_SIZE"] = batch;
  j["EPOCHS"] = epochs;
  j["INPUT_CHANNEL"] = in_channels;
  j["OUTPUT_CHANNEL"] = classes;
  j["OPTIMIZER"] = optimizer;
  j["LEARNINGRATE"] = lr;
  j["NORMALIZATION"] = norm;
  j["COORD"] = coord;
  j["OVERLAP"] = overlap;
  j["MULTI_GPU"] = gpus;
  j["BASE_FILTERS"] = base;
  j["DEPTH"] = depth;
  j["ACTIVATION"] = activation;
  j["UPSAMPLING"] = upsampling;
  j["LOSS"] = loss;
  j["SCHEDULE"] = schedule;
  j["WEIGHT_DECAY"] = weight_decay;
  j["MOMENTUM"] = momentum;
  j["GRAD_CLIP"] = grad_clip;
  j["STEPS"] = steps;
  j["VALID_CASES"] = valid_cases;
  j["SEED"] = seed;
  j["INTENSITY"] = intensity_scheme();
  j["TARGET_SPACING"] = spacing;
  j["FOREGROUND_FRACTION"] = foreground;
  j["AUG_MIRROR"] = aug_mirror;
  j["AUG_ROTATE"] = aug_rotate;
  j["AUG_SCALE"] = aug_scale;
  j["AUG_ELASTIC"] = aug_elastic;
  j["AUG_GAMMA"] = aug_gamma;
  j["AUG_NOISE"] = aug_noise;
  j["AUG_BRIGHTNESS"] = aug_brightness;
  j["FULL_VALID_EVERY"] = full_valid_every;
  j["LOADER_THREADS"] = loader_threads;
  j["DEVICE"] = device;
  j["THREADS"] = threads;
  j["AMP"] = amp;
  j["LABELS"] = {{"values", label_values}, {"names", label_names}};
  return j;
}

std::string TrainConfig::intensity_scheme() const {
  if (!intensity.empty()) return intensity;
  return data == "MR" ? "zscore" : "ct";
}

LabelMap TrainConfig::label_map() const {
  const LabelMap mmwhs = LabelMap::mmwhs();
  if (label_values == mmwhs.values && label_names.empty()) return mmwhs;
  LabelMap m = LabelMap::custom(label_values, label_names, "LABELS");
  if (m.values == mmwhs.values) m.aliases = mmwhs.aliases;
  return m;
}

void TrainConfig::validate() const {
  auto positive = [](int64_t v, const char* key) {
    if (v < 1) throw usage_error(key, "must be at least 1, got " + std::to_string(v));
  };
  auto probability = [](double p, const char* key) {
    if (!(p >= 0 && p <= 1)) throw usage_error(key, "must be a probability in [0, 1], got " + std::to_string(p));
  };
  auto choice = [](const std::string& v, const char* key, std::initializer_list<const char*> options,
                   const char* expected) {
    if (!one_of(v, options)) throw usage_error(key, "unknown value '" + v + "' (expected " + expected + ")");
  };
  choice(data, "DATA", {"CT", "MR", "ALL"}, "CT, MR or ALL");
  for (const int64_t p : patch)
    if (p < 1) throw usage_error("PATCH_DIM", "must be positive");
  if (!(resize > 0 && resize <= 4)) throw usage_error("RESIZE_R", "must be in (0, 4], got " + std::to_string(resize));
  positive(train_patches, "TRAIN_PATCH_NUM");
  positive(valid_patches, "VALID_PATCH_NUM");
  positive(batch, "BATCH_SIZE");
  positive(epochs, "EPOCHS");
  if (in_channels != 1) throw usage_error("INPUT_CHANNEL", "only single-channel images are supported (got " + std::to_string(in_channels) + ")");
  if (classes < 2) throw usage_error("OUTPUT_CHANNEL", "needs at least 2 classes");
  if (static_cast<int64_t>(label_values.size()) != classes)
    throw usage_error("OUTPUT_CHANNEL", std::to_string(classes) + " classes but the label map has " +
                                            std::to_string(label_values.size()) + " values");
  choice(optimizer, "OPTIMIZER", {"adam", "adamw", "sgd"}, "adam, adamw or sgd");
  if (!(lr > 0)) throw usage_error("LEARNINGRATE", "must be positive");
  choice(norm, "NORMALIZATION", {"none", "batch", "group", "instance", "BatchNormalization", "GroupNormalization", "InstanceNormalization"},
         "0/none, batch, group or instance");
  choice(coord, "COORD", {"none", "local", "global", "all"}, "none, local, global or all");
  if (!(overlap >= 0 && overlap < 1)) throw usage_error("OVERLAP", "must be in [0, 1)");
  positive(base, "BASE_FILTERS");
  if (depth < 1 || depth > 6) throw usage_error("DEPTH", "must be 1..6");
  choice(activation, "ACTIVATION", {"relu", "leakyrelu"}, "relu or leakyrelu");
  choice(upsampling, "UPSAMPLING", {"transposed", "trilinear"}, "transposed or trilinear");
  choice(loss, "LOSS", {"dice", "ce", "dice_ce"}, "dice, ce or dice_ce");
  choice(schedule, "SCHEDULE", {"constant", "poly", "cosine"}, "constant, poly or cosine");
  if (weight_decay < 0) throw usage_error("WEIGHT_DECAY", "must not be negative");
  if (!(momentum >= 0 && momentum < 1)) throw usage_error("MOMENTUM", "must be in [0, 1)");
  if (grad_clip < 0) throw usage_error("GRAD_CLIP", "must not be negative");
  if (steps < 0) throw usage_error("STEPS", "must not be negative");
  if (valid_cases < 0) throw usage_error("VALID_CASES", "must not be negative");
  choice(intensity_scheme(), "INTENSITY", {"ct", "zscore", "scale255"}, "ct, zscore or scale255");
  for (const double s : spacing)
    if (s < 0) throw usage_error("TARGET_SPACING", "must not be negative");
  probability(foreground, "FOREGROUND_FRACTION");
  probability(aug_mirror, "AUG_MIRROR");
  probability(aug_rotate, "AUG_ROTATE");
  probability(aug_scale, "AUG_SCALE");
  probability(aug_elastic, "AUG_ELASTIC");
  probability(aug_gamma, "AUG_GAMMA");
  probability(aug_noise, "AUG_NOISE");
  probability(aug_brightness, "AUG_BRIGHTNESS");
  if (full_valid_every < 0) throw usage_error("FULL_VALID_EVERY", "must not be negative");
  positive(loader_threads, "LOADER_THREADS");
  if (!(device == "auto" || device == "cpu" || device.rfind("cuda", 0) == 0))
    throw usage_error("DEVICE", "unknown device '" + device + "' (expected auto, cpu, cuda or cuda:N)");
  if (threads < 0) throw usage_error("THREADS", "must not be negative");
  choice(amp, "AMP", {"none", "bf16", "fp16"}, "none, bf16 or fp16");
  if (!label_names.empty() && label_names.size() != label_values.size())
    throw usage_error("LABELS", "names and values differ in number");
}

}  // namespace coordseg
