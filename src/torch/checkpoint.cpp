#include "coordseg/torch/checkpoint.h"


#include <filesystem>

#include "coordseg/core/atomic_file.h"
#include "coordseg/core/error.h"

namespace coordseg {

namespace {
torch::Tensor string_tensor(const std::string& s) {
  return torch::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())}, torch::kUInt8).clone();
}
std::string tensor_string(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}
}  // namespace

UNet3d make_unet(const TrainConfig& c) {
  return UNet3d(UNet3dOptions()
                    .in_channels(c.in_channels)
                    .classes(c.classes)
                    .base(c.base)
                    .depth(c.depth)
                    .norm(c.norm)
                    .activation(c.activation)
                    .upsampling(c.upsampling)
                    .coord(c.coord));
}

void save_checkpoint(const std::string& path, UNet3d& model, torch::optim::Optimizer* optimizer,
                     const CheckpointState& s) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive opt_archive;
    optimizer->save(opt_archive);
    archive.write("optimizer", opt_archive);
  }
  archive.write("config", string_tensor(s.config.to_json().dump()));
  archive.write("stats", torch::tensor({s.stats.lo, s.stats.hi, s.stats.mean, s.stats.sd}, torch::kFloat64));
  archive.write("progress", torch::tensor({s.epoch, s.step, s.best_epoch}, torch::kInt64));
  archive.write("best_val_loss", torch::tensor({s.best_val_loss}, torch::kFloat64));
  const std::string tmp = temporary_path(path);
  try {
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    discard_file(tmp);
    throw data_error(path, std::string("cannot write checkpoint: ") + e.what_without_backtrace());
  }
  commit_file(tmp, path);
}

namespace {
// Reads the state; when `make_model`, builds the network from the stored configuration into
// *model before loading the weights.
CheckpointState load(const std::string& path, UNet3d* model, bool make_model, torch::optim::Optimizer* optimizer) {
  if (!std::filesystem::is_regular_file(path)) throw data_error(path, "no such checkpoint");
  torch::serialize::InputArchive archive;
  CheckpointState s;
  try {
    archive.load_from(path);
    torch::Tensor config, stats, progress, best;
    archive.read("config", config);
    archive.read("stats", stats);
    archive.read("progress", progress);
    archive.read("best_val_loss", best);
    s.config = TrainConfig::from_json(nlohmann::json::parse(tensor_string(config)), path);
    s.stats = {stats[0].item<double>(), stats[1].item<double>(), stats[2].item<double>(), stats[3].item<double>()};
    s.epoch = progress[0].item<int64_t>();
    s.step = progress[1].item<int64_t>();
    s.best_epoch = progress[2].item<int64_t>();
    s.best_val_loss = best[0].item<double>();
    if (model && make_model) *model = make_unet(s.config);
    if (model) {
      torch::serialize::InputArchive model_archive;
      archive.read("model", model_archive);
      (*model)->load(model_archive);
    }
    if (optimizer) {
      torch::serialize::InputArchive opt_archive;
      archive.read("optimizer", opt_archive);
      optimizer->load(opt_archive);
    }
  } catch (const c10::Error& e) {
    throw data_error(path, std::string("not a coordseg checkpoint or damaged: ") + e.what_without_backtrace());
  } catch (const nlohmann::json::exception& e) {
    throw data_error(path, std::string("damaged configuration inside the checkpoint: ") + e.what());
  }
  return s;
}
}  // namespace

CheckpointState load_checkpoint(const std::string& path, UNet3d* model, torch::optim::Optimizer* optimizer) {
  return load(path, model, false, optimizer);
}

UNet3d load_unet(const std::string& path, CheckpointState& state) {
  UNet3d model{nullptr};
  state = load(path, &model, true, nullptr);
  return model;
}

}  // namespace coordseg
