#include "coordseg/torch/checkpoint.h"


#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "coordseg/core/atomic_file.h"
#include "coordseg/core/error.h"

namespace coordseg {

namespace {
const char* const kPayloadKey = "coordseg_payload";
const char* const kChecksumKey = "coordseg_crc32";

uint32_t crc_of(const char* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < size;) {  // zlib takes uInt lengths
    const uInt n = static_cast<uInt>(std::min<size_t>(size - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data + done), n);
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

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
  // The archive goes inside an outer one with its CRC-32, so a damaged file is caught at
  // load (LibTorch's reader does not check its own records' checksums).
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string payload = bytes.str();
  torch::serialize::OutputArchive outer;
  outer.write(kPayloadKey, torch::from_blob(const_cast<char*>(payload.data()), {static_cast<int64_t>(payload.size())},
                                           torch::kUInt8));
  outer.write(kChecksumKey, torch::tensor({static_cast<int64_t>(crc_of(payload.data(), payload.size()))}, torch::kInt64));
  const std::string tmp = temporary_path(path);
  try {
    outer.save_to(tmp);
  } catch (const c10::Error& e) {
    discard_file(tmp);
    throw data_error(path, std::string("cannot write checkpoint: ") + e.what_without_backtrace());
  }
  commit_file(tmp, path);
}

namespace {
// Reads the state, from the file `path` or, when given, from its `bytes`; when `make_model`,
// builds the network from the stored configuration into *model before loading the weights.
CheckpointState load(const std::string& path, const std::string* bytes, UNet3d* model, bool make_model,
                     torch::optim::Optimizer* optimizer) {
  if (!bytes && !std::filesystem::is_regular_file(path)) throw data_error(path, "no such checkpoint");
  torch::serialize::InputArchive outer, archive;
  CheckpointState s;
  try {
    if (bytes) outer.load_from(bytes->data(), bytes->size());
    else outer.load_from(path);
    torch::Tensor payload, checksum;
    if (outer.try_read(kPayloadKey, payload) && outer.try_read(kChecksumKey, checksum)) {
      payload = payload.contiguous();
      const char* data = reinterpret_cast<const char*>(payload.data_ptr<uint8_t>());
      const auto size = static_cast<size_t>(payload.numel());
      const auto stored = static_cast<uint32_t>(checksum[0].item<int64_t>()), computed = crc_of(data, size);
      if (stored != computed) {
        char detail[96];
        std::snprintf(detail, sizeof detail, "checksum mismatch (CRC-32 stored %08x, computed %08x): the file is damaged",
                      stored, computed);
        throw data_error(path, detail);
      }
      archive.load_from(data, size);
    } else {
      // written before checkpoints carried a checksum
      if (bytes) archive.load_from(bytes->data(), bytes->size());
      else archive.load_from(path);
    }
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
  return load(path, nullptr, model, false, optimizer);
}

std::string read_checkpoint_bytes(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw data_error(path, "no such checkpoint");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw data_error(path, "cannot read the checkpoint");
  return bytes;
}

CheckpointState load_checkpoint_bytes(const std::string& bytes, const std::string& path, UNet3d* model,
                                      torch::optim::Optimizer* optimizer) {
  return load(path, &bytes, model, false, optimizer);
}

UNet3d load_unet(const std::string& path, CheckpointState& state) {
  UNet3d model{nullptr};
  state = load(path, nullptr, &model, true, nullptr);
  return model;
}

}  // namespace coordseg
