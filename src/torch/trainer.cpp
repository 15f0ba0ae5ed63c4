#include "coordseg/torch/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "coordseg/core/atomic_file.h"
#include "coordseg/torch/checkpoint.h"
#include "coordseg/torch/compat.h"
#include "coordseg/core/dataset.h"
#include "coordseg/torch/device.h"
#include "coordseg/core/error.h"
#include "coordseg/core/labels.h"
#include "coordseg/torch/loss.h"
#include "coordseg/core/nifti.h"
#include "coordseg/torch/sampler.h"
#include "coordseg/torch/sliding_window.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string format_duration(double s) {
  const int64_t t = static_cast<int64_t>(std::llround(s));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  return buf;
}


double schedule_factor(const std::string& schedule, double t) {
  if (schedule == "poly") return std::pow(1.0 - std::min(t, 1.0), 0.9);
  if (schedule == "cosine") return 0.5 * (1.0 + std::cos(M_PI * std::min(t, 1.0)));
  return 1.0;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, UNet3d& model) {
  if (c.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(model->parameters(),
                                                 torch::optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
  if (c.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        model->parameters(),
        torch::optim::SGDOptions(c.lr).momentum(c.momentum).nesterov(true).weight_decay(c.weight_decay));
  return std::make_unique<torch::optim::Adam>(model->parameters(),
                                              torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
}

// Logs to the console (if any) and RUN/train.log; lines before the run folder exists are
// kept and written when it is opened, so a run that fails to start leaves no folder behind.
class Log {
 public:
  explicit Log(std::ostream* out) : out_(out) {}
  void open(const fs::path& file) {
    file_.open(file, std::ios::app);
    file_ << pending_;
    file_.flush();
    pending_.clear();
  }
  void line(const std::string& s) {
    if (out_) *out_ << s << std::endl;
    if (file_.is_open()) {
      file_ << s << "\n";
      file_.flush();
    } else {
      pending_ += s + "\n";
    }
  }

 private:
  std::ostream* out_;
  std::ofstream file_;
  std::string pending_;
};

struct Data {
  std::vector<PreparedCase> train, valid;
  IntensityStats stats;
  int64_t train_cases = 0, valid_cases = 0;
};

Data load_data(const TrainConfig& cfg, const std::string& data_dir, const LabelMap& map, const IntensityStats* known,
               Log& log) {
  const Dataset ds = discover_dataset(data_dir);
  std::vector<Case> cases;
  for (const auto& c : ds.cases) {
    if (c.label.empty()) continue;
    if (cfg.data != "ALL" && !c.modality.empty() && c.modality != (cfg.data == "CT" ? "ct" : "mr")) continue;
    cases.push_back(c);
  }
  if (cases.empty()) throw data_error(data_dir, "no labelled " + cfg.data + " cases to train on");
  if (static_cast<int64_t>(cases.size()) <= cfg.valid_cases)
    throw usage_error("VALID_CASES", std::to_string(cfg.valid_cases) + " validation cases leave none of the " +
                                         std::to_string(cases.size()) + " cases for training");
  const size_t n_train = cases.size() - static_cast<size_t>(cfg.valid_cases);
  std::vector<LoadedCase> loaded;
  for (const auto& c : cases) loaded.push_back(load_case(c, map));
  Data d;
  if (known) {
    d.stats = *known;
  } else if (cfg.intensity_scheme() == "ct") {
    std::vector<const Volume*> images;
    std::vector<const LabelVolume*> classes;
    for (size_t i = 0; i < n_train; ++i) {
      images.push_back(&loaded[i].image);
      classes.push_back(&loaded[i].classes);
    }
    d.stats = ct_statistics(images, classes);
  }
  Preprocessing p = Preprocessing::from_config(cfg);
  p.stats = d.stats;
  for (size_t i = 0; i < loaded.size(); ++i) {
    PreparedCase pc = prepare_case(loaded[i], p);
    (i < n_train ? d.train : d.valid).push_back(std::move(pc));
  }
  d.train_cases = static_cast<int64_t>(d.train.size());
  d.valid_cases = static_cast<int64_t>(d.valid.size());
  std::ostringstream s;
  s << "data: " << d.train_cases << " training and " << d.valid_cases << " validation cases from " << data_dir;
  if (!d.train.empty()) {
    const auto& g = d.train.front().grid;
    s << "; first case " << g.dims[0] << " x " << g.dims[1] << " x " << g.dims[2] << " voxels after preprocessing";
  }
  log.line(s.str());
  if (cfg.intensity_scheme() == "ct")
    log.line("intensity: clip " + std::to_string(d.stats.lo) + " .. " + std::to_string(d.stats.hi) + ", mean " +
             std::to_string(d.stats.mean) + ", sd " + std::to_string(d.stats.sd));
  return d;
}

std::string csv_header(const LabelMap& map) {
  std::string h = "epoch,train_loss,val_loss";
  for (int c = 1; c < map.num_classes(); ++c) h += ",dice_" + map.names[static_cast<size_t>(c)];
  return h + ",mean_dice,lr,seconds,wait_seconds\n";
}

std::string csv_row(const EpochRecord& r) {
  std::ostringstream s;
  s << r.epoch << "," << std::setprecision(6) << r.train_loss << "," << r.val_loss;
  double sum = 0;
  int n = 0;
  for (size_t c = 1; c < r.val_dice.size(); ++c) {
    s << "," << r.val_dice[c];
    if (!std::isnan(r.val_dice[c])) sum += r.val_dice[c], ++n;
  }
  s << "," << (n ? sum / n : std::nan("")) << "," << r.lr << "," << std::setprecision(4) << r.seconds << ","
    << r.wait_seconds << "\n";
  return s.str();
}

}  // namespace

TrainSummary train(const TrainRequest& req) {
  const TrainConfig& cfg = req.config;
  cfg.validate();
  const fs::path run(req.run_dir);
  std::error_code ec;
  if (req.resume) {
    if (!fs::is_regular_file(run / "last.pt")) throw usage_error(req.run_dir, "no last.pt to resume from");
  } else if (fs::exists(run, ec) && !fs::is_empty(run, ec) && !req.force) {
    throw usage_error(req.run_dir, "run folder already holds files; use --resume to continue it or --force");
  }
  Log log(req.out);
  use_threads(cfg.threads);
  const torch::Device device = resolve_device(cfg.device, cfg.gpus);
  check_amp(cfg.amp, device);
  if (!device.is_cuda() && cfg.gpus.size() > 1)
    log.line("note: MULTI_GPU lists " + std::to_string(cfg.gpus.size()) + " GPUs; ignored on CPU");
  const LabelMap map = cfg.label_map();

  torch::manual_seed(cfg.seed);
  UNet3d model = make_unet(cfg);
  model->to(device);
  auto optimizer = make_optimizer(cfg, model);
  CheckpointState state;
  state.config = cfg;
  if (req.resume) {
    const CheckpointState saved = load_checkpoint((run / "last.pt").string(), &model, optimizer.get());
    state.epoch = saved.epoch;
    state.step = saved.step;
    state.best_val_loss = saved.best_val_loss;
    state.best_epoch = saved.best_epoch;
    state.stats = saved.stats;
    log.line("resuming " + req.run_dir + " after epoch " + std::to_string(state.epoch));
  }
  const std::array<int64_t, 3> patch = cfg.patch;
  for (const int64_t p : patch)
    if (p % model->size_multiple() != 0)
      throw usage_error("PATCH_DIM", std::to_string(p) + " is not a multiple of " + std::to_string(model->size_multiple()) +
                                         " (2^(DEPTH-1))");
  const Data data = load_data(cfg, req.data_dir, map, req.resume ? &state.stats : nullptr, log);
  state.stats = data.stats;

  // Everything checked: now the run folder.
  fs::create_directories(run, ec);
  if (ec) throw data_error(req.run_dir, "cannot create the run folder: " + ec.message());
  log.open(run / "train.log");
  write_text_file((run / "config.json").string(), cfg.to_json().dump(2) + "\n");
  if (!req.resume || !fs::exists(run / "history.csv")) write_text_file((run / "history.csv").string(), csv_header(map));
  const PatchSampler train_sampler(data.train, patch, cfg.foreground, Augmentation::from_config(cfg));
  const PatchSampler valid_sampler(data.valid, patch, cfg.foreground, Augmentation::none());
  const int64_t steps_per_epoch = cfg.train_patches * data.train_cases;
  const int64_t total_steps = cfg.steps > 0 ? cfg.steps : cfg.epochs * steps_per_epoch;
  const int64_t total_epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;
  const LossKind loss_kind = parse_loss(cfg.loss);
  const bool amp = cfg.amp != "none";
  const auto half = amp_dtype(cfg.amp);
  const bool needs_coords = cfg.coord == "global" || cfg.coord == "all";
  double loss_scale = cfg.amp == "fp16" ? 65536.0 : 1.0;
  int64_t good_steps = 0;

  TrainSummary summary;
  summary.parameters = model->parameter_count();
  log.line("model: UNet3d base " + std::to_string(cfg.base) + ", depth " + std::to_string(cfg.depth) + ", norm " +
           cfg.norm + ", coord " + cfg.coord + ", " + std::to_string(summary.parameters) + " parameters; " +
           std::to_string(steps_per_epoch) + " steps per epoch, batch " + std::to_string(cfg.batch) + ", patch " +
           std::to_string(patch[0]) + "x" + std::to_string(patch[1]) + "x" + std::to_string(patch[2]) + ", " +
           device.str() + ", " + std::to_string(at::get_num_threads()) + " threads" + (amp ? ", amp " + cfg.amp : ""));

  const bool bar = req.out && ::isatty(STDOUT_FILENO) && req.out == &std::cout;
  int64_t epochs_this_call = 0;
  for (int64_t epoch = state.epoch + 1; epoch <= total_epochs; ++epoch) {
    const auto t0 = Clock::now();
    const int64_t n_steps = std::min(steps_per_epoch, total_steps - state.step);
    BatchLoader loader([&](int64_t i) { return train_sampler.batch(cfg.batch, derive_seed(cfg.seed, epoch, i)); },
                       n_steps, static_cast<int>(cfg.loader_threads));
    model->train();
    double loss_sum = 0;
    double lr = cfg.lr;
    for (int64_t i = 0; i < n_steps; ++i) {
      Batch b = loader.next();
      lr = cfg.lr * schedule_factor(cfg.schedule, static_cast<double>(state.step) / static_cast<double>(total_steps));
      for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
      optimizer->zero_grad();
      torch::Tensor logits;
      {
        compat::AutocastGuard autocast(device.is_cuda(), amp, half);
        logits = model->forward(b.image.to(device), needs_coords ? b.coords.to(device) : torch::Tensor());
      }
      const torch::Tensor loss = segmentation_loss(loss_kind, logits, b.labels.to(device));
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw data_error(req.run_dir, "loss is not finite at epoch " + std::to_string(epoch) + ", step " +
                                          std::to_string(i + 1) + "; last.pt and best.pt are kept from epoch " +
                                          std::to_string(epoch - 1) + " (try a lower LEARNINGRATE)");
      (loss * loss_scale).backward();
      bool step_ok = true;
      if (loss_scale != 1.0) {
        for (auto& p : model->parameters())
          if (p.grad().defined()) {
            p.grad().div_(loss_scale);
            step_ok = step_ok && torch::isfinite(p.grad()).all().item<bool>();
          }
        if (!step_ok) loss_scale /= 2;
        else if (++good_steps % 1000 == 0) loss_scale *= 2;
      }
      if (step_ok) {
        if (cfg.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), cfg.grad_clip);
        optimizer->step();
      }
      ++state.step;
      loss_sum += value;
      if (bar) {
        const double elapsed = seconds_since(t0), rate = (i + 1) / std::max(elapsed, 1e-9);
        std::printf("\repoch %lld/%lld  step %lld/%lld  loss %.4f  %.2f it/s  ETA %s   ", static_cast<long long>(epoch),
                    static_cast<long long>(total_epochs), static_cast<long long>(i + 1), static_cast<long long>(n_steps),
                    loss_sum / (i + 1), rate, format_duration((n_steps - i - 1) / rate).c_str());
        std::fflush(stdout);
      }
    }
    if (bar) std::printf("\r%100s\r", "");

    // Validation: the same patches every epoch.
    EpochRecord rec;
    rec.epoch = epoch;
    rec.train_loss = loss_sum / std::max<int64_t>(n_steps, 1);
    rec.lr = lr;
    rec.wait_seconds = loader.wait_seconds();
    model->eval();
    DiceCounts counts(cfg.classes);
    double val_sum = 0;
    int64_t val_batches = 0;
    {
      torch::NoGradGuard no_grad;
      for (size_t c = 0; c < data.valid.size(); ++c)
        for (int64_t j = 0; j < cfg.valid_patches; j += cfg.batch) {
          std::vector<torch::Tensor> im, co, lb;
          for (int64_t k = j; k < std::min(j + cfg.batch, cfg.valid_patches); ++k) {
            Batch p = valid_sampler.patch(c, derive_seed(cfg.seed, 0x7a11d, c, static_cast<uint64_t>(k)));
            im.push_back(p.image);
            co.push_back(p.coords);
            lb.push_back(p.labels);
          }
          const auto labels = torch::cat(lb).to(device);
          torch::Tensor logits;
          {
            compat::AutocastGuard autocast(device.is_cuda(), amp, half);
            logits = model->forward(torch::cat(im).to(device), needs_coords ? torch::cat(co).to(device) : torch::Tensor());
          }
          val_sum += segmentation_loss(loss_kind, logits, labels).item<double>();
          ++val_batches;
          counts.add(logits.argmax(1), labels);
        }
    }
    rec.val_loss = val_batches ? val_sum / val_batches : rec.train_loss;
    rec.val_dice = counts.dice();
    rec.seconds = seconds_since(t0);

    state.epoch = epoch;
    const bool best = rec.val_loss < state.best_val_loss;
    if (best) {
      state.best_val_loss = rec.val_loss;
      state.best_epoch = epoch;
    }
    {
      std::ofstream(run / "history.csv", std::ios::app) << csv_row(rec);
    }
    if (cfg.full_valid_every > 0 && epoch % cfg.full_valid_every == 0 && !data.valid.empty()) {
      // Whole validation volumes by sliding windows, in the preprocessed grid.
      torch::NoGradGuard no_grad;
      SlidingWindowOptions sw;
      sw.patch = patch;
      sw.overlap = cfg.overlap;
      sw.batch = cfg.batch;
      DiceCounts full(cfg.classes);
      for (const auto& vc : data.valid) {
        const auto logits = sliding_window(vc.image.to(device), cfg.classes,
                                           [&](const torch::Tensor& w, const torch::Tensor& co) {
                                             compat::AutocastGuard autocast(device.is_cuda(), amp, half);
                                             return model->forward(w, needs_coords ? co : torch::Tensor());
                                           },
                                           sw);
        full.add(logits.argmax(0), vc.labels);
      }
      const auto d = full.dice();
      std::ostringstream fl, row;
      fl << "full-volume validation Dice:";
      row << epoch;
      for (int c = 1; c < map.num_classes(); ++c) {
        fl << " " << map.names[static_cast<size_t>(c)] << " " << std::fixed << std::setprecision(3) << d[static_cast<size_t>(c)];
        row << "," << d[static_cast<size_t>(c)];
      }
      fl << "  mean " << full.mean_foreground();
      row << "," << full.mean_foreground() << "\n";
      log.line(fl.str());
      const bool fresh = !fs::exists(run / "full_validation.csv");
      std::ofstream f(run / "full_validation.csv", std::ios::app);
      if (fresh) {
        f << "epoch";
        for (int c = 1; c < map.num_classes(); ++c) f << ",dice_" << map.names[static_cast<size_t>(c)];
        f << ",mean_dice\n";
      }
      f << row.str();
    }
    save_checkpoint((run / "last.pt").string(), model, optimizer.get(), state);
    if (best) save_checkpoint((run / "best.pt").string(), model, optimizer.get(), state);

    std::ostringstream line;
    line << "epoch " << epoch << "/" << total_epochs << "  loss " << std::fixed << std::setprecision(4) << rec.train_loss
         << "  val_loss " << rec.val_loss << "  val_dice";
    for (int c = 1; c < map.num_classes(); ++c)
      line << " " << map.names[static_cast<size_t>(c)] << " " << std::setprecision(3) << rec.val_dice[static_cast<size_t>(c)];
    line << "  mean " << counts.mean_foreground() << std::setprecision(1) << "  " << rec.seconds << " s (waited "
         << rec.wait_seconds << " s)" << (best ? "  *best" : "");
    log.line(line.str());
    summary.history.push_back(rec);
    if (req.stop_after_epochs > 0 && ++epochs_this_call >= req.stop_after_epochs) break;
  }
  summary.epochs_done = state.epoch;
  summary.best_val_loss = state.best_val_loss;
  summary.best_epoch = state.best_epoch;

  nlohmann::ordered_json info;
  info["name"] = cfg.name;
  info["epochs"] = state.epoch;
  info["steps"] = state.step;
  info["best_epoch"] = state.best_epoch;
  info["best_val_loss"] = state.best_val_loss;
  info["parameters"] = summary.parameters;
  info["train_cases"] = data.train_cases;
  info["valid_cases"] = data.valid_cases;
  double seconds = 0;
  for (const auto& r : summary.history) seconds += r.seconds;
  info["seconds_this_call"] = seconds;
  info["device"] = device.str();
  info["threads"] = at::get_num_threads();
  info["libtorch"] = compat::torch_version();
  info["intensity"] = {{"scheme", cfg.intensity_scheme()}, {"lo", state.stats.lo}, {"hi", state.stats.hi},
                       {"mean", state.stats.mean}, {"sd", state.stats.sd}};
  write_text_file((run / "info.json").string(), info.dump(2) + "\n");
  return summary;
}

}  // namespace coordseg
