#include "coordseg/torch/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "coordseg/core/atomic_file.h"
#include "coordseg/core/dataset.h"
#include "coordseg/core/error.h"
#include "coordseg/core/labels.h"
#include "coordseg/core/memory.h"
#include "coordseg/core/names.h"
#include "coordseg/core/random.h"
#include "coordseg/core/stopwatch.h"
#include "coordseg/torch/batch_loader.h"
#include "coordseg/torch/checkpoint.h"
#include "coordseg/torch/compat.h"
#include "coordseg/torch/data_parallel.h"
#include "coordseg/torch/device.h"
#include "coordseg/torch/loss.h"
#include "coordseg/torch/sampler.h"
#include "coordseg/torch/sliding_window.h"
#include "coordseg/torch/train_step.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {

// A class present in the validation labels at validation Dice 0 for this many epochs in a
// row has collapsed: the network predicts none of it, and the run says so once.
constexpr int64_t kCollapseEpochs = 3;

// Validation patches are drawn from this stream of the run's seed (epoch 0 of training is
// never used), so they are the same every epoch.
constexpr uint64_t kValidationStream = 0x7a11d;

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
};

// The dataset's labelled cases of the configured modality, split (the last VALID_CASES
// validate) and preprocessed; CT statistics from the training cases unless `known`.
Data load_data(const TrainConfig& cfg, const std::string& data_dir, const LabelMap& map, const IntensityStats* known,
               Log& log) {
  const Dataset ds = discover_dataset(data_dir);
  const std::string modality = cfg.data == DataModality::kCT ? "ct" : "mr";
  std::vector<Case> cases;
  std::vector<std::string> unlabelled;
  for (const auto& c : ds.cases) {
    if (c.label.empty()) {
      unlabelled.push_back(c.id);
      continue;
    }
    if (cfg.data != DataModality::kAll && !c.modality.empty() && c.modality != modality) continue;
    cases.push_back(c);
  }
  if (!unlabelled.empty())
    log.line("note: " + std::to_string(unlabelled.size()) + " cases have no label file and are not used: " +
             name_list(unlabelled));
  if (cases.empty()) throw data_error(data_dir, "no labelled " + to_string(cfg.data) + " cases to train on");
  if (static_cast<int64_t>(cases.size()) <= cfg.valid_cases)
    throw usage_error("VALID_CASES", std::to_string(cfg.valid_cases) + " validation cases leave none of the " +
                                         std::to_string(cases.size()) + " cases for training");
  const size_t n_train = cases.size() - static_cast<size_t>(cfg.valid_cases);
  std::vector<LoadedCase> loaded;
  for (const auto& c : cases) loaded.push_back(load_case(c, map));
  const bool ct = cfg.intensity_scheme() == IntensityScheme::kCT;
  Data d;
  if (known) {
    d.stats = *known;
  } else if (ct) {
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
  for (size_t i = 0; i < loaded.size(); ++i) (i < n_train ? d.train : d.valid).push_back(prepare_case(loaded[i], p));
  std::ostringstream s;
  s << "data: " << d.train.size() << " training and " << d.valid.size() << " validation cases from " << data_dir;
  if (!d.train.empty()) {
    const auto& g = d.train.front().grid;
    s << "; first case " << g.dims[0] << " x " << g.dims[1] << " x " << g.dims[2] << " voxels after preprocessing";
  }
  log.line(s.str());
  if (ct)
    log.line("intensity: clip " + std::to_string(d.stats.lo) + " .. " + std::to_string(d.stats.hi) + ", mean " +
             std::to_string(d.stats.mean) + ", sd " + std::to_string(d.stats.sd));
  return d;
}

// --- the run folder's CSV files: the header, and one row per epoch ------------------------

std::string dice_columns(const LabelMap& map) {
  std::string h;
  for (int c = 1; c < map.num_classes(); ++c) h += ",dice_" + map.names[static_cast<size_t>(c)];
  return h;
}

std::string history_header(const LabelMap& map) {
  return "epoch,train_loss,val_loss" + dice_columns(map) + ",mean_dice,lr,seconds,wait_seconds\n";
}

std::string history_row(const EpochRecord& r) {
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

std::string full_validation_header(const LabelMap& map) { return "epoch" + dice_columns(map) + ",mean_dice\n"; }

std::string full_validation_row(int64_t epoch, const std::vector<double>& dice, double mean) {
  std::ostringstream row;
  row << epoch;
  for (size_t c = 1; c < dice.size(); ++c) row << "," << dice[c];
  row << "," << mean << "\n";
  return row.str();
}

std::string dice_text(const LabelMap& map, const std::vector<double>& dice) {
  std::ostringstream s;
  for (int c = 1; c < map.num_classes(); ++c)
    s << " " << map.names[static_cast<size_t>(c)] << " " << std::fixed << std::setprecision(3) << dice[static_cast<size_t>(c)];
  return s.str();
}

// A run stopped between its checkpoint and its history row, or resumed from an older
// last.pt, has rows past the checkpoint's epoch: they are dropped, so the resumed run's rows
// follow on without repeats.
void trim_history(const fs::path& file, int64_t epoch) {
  std::ifstream in(file);
  std::string line, kept;
  bool trimmed = false;
  int64_t row = 0;
  for (bool header = true; std::getline(in, line); header = false, ++row) {
    if (!header && !line.empty()) {
      char* end = nullptr;
      const long long e = std::strtoll(line.c_str(), &end, 10);
      if (end == line.c_str() || *end != ',')
        throw data_error(file.string(), "line " + std::to_string(row + 1) + " does not start with an epoch number");
      if (e > epoch) {
        trimmed = true;
        continue;
      }
    }
    kept += line + "\n";
  }
  if (trimmed) write_text_file(file.string(), kept);
}

// One run of train(): the steps of an epoch around the state they share.
class Trainer {
 public:
  explicit Trainer(const TrainRequest& request);
  TrainSummary run();

 private:
  void setup();
  EpochRecord train_epoch(int64_t epoch);
  void validate_patches(EpochRecord& record);
  std::vector<double> validate_full(double& mean);
  void record(const EpochRecord& record, bool best, const std::vector<double>* full, double full_mean);
  void write_info(const TrainSummary& summary) const;
  void warn_collapse(const EpochRecord& record);
  void join_ranks();
  void make_samplers();
  void resume_from_checkpoint();
  std::vector<torch::Tensor> model_state() const;
  void check_ranks_agree(int64_t epoch);
  // Sums over the ranks (a copy of `values` when training alone).
  // Dice counts, a loss sum and a batch count summed over the ranks, in place.
  void sum_counts(DiceCounts& counts, double& loss_sum, int64_t& batches);

  const TrainRequest& req_;
  const TrainConfig& cfg_;
  const fs::path run_;
  Log log_;
  torch::Device device_{torch::kCPU};
  LabelMap map_;
  UNet3d model_{nullptr};
  std::unique_ptr<TrainStep> step_;  // owns the optimiser
  CheckpointState state_;
  Data data_;
  std::unique_ptr<PatchSampler> train_sampler_, valid_sampler_;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, total_epochs_ = 0;
  std::vector<int64_t> zero_epochs_;  // per class: consecutive epochs at validation Dice 0 while present
  std::vector<bool> warned_;          // per class: collapse already reported
  std::unique_ptr<DataParallel> dp_;  // set in a data-parallel run
  const bool leader_;                 // rank 0: logs, validates into the files, writes the run folder
};

Trainer::Trainer(const TrainRequest& request)
    : req_(request),
      cfg_(request.config),
      run_(request.run_dir),
      log_(request.launch.rank == 0 ? request.out : nullptr),
      leader_(request.launch.rank == 0) {}

// Checks everything that can be checked, builds or resumes the model and optimiser, loads
// the data; only then creates the run folder.
void Trainer::setup() {
  // Ranks other than 0 may not see the run folder (another machine): rank 0 checks it, and a
  // rank 0 that stops makes the others' first collective fail at once.
  if (leader_) check_train_request(req_);
  else cfg_.validate();
  const LaunchEnv& env = req_.launch;
  // THREADS 0 shares the machine's cores among the ranks on it.
  use_threads(cfg_.threads > 0 || !env.distributed()
                  ? cfg_.threads
                  : std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()) / env.local_world_size));
  device_ = resolve_device(cfg_.device, cfg_.gpus, env.distributed() ? env.local_rank : -1);
  check_amp(cfg_.amp, device_);
  tune_convolutions(device_);
  if (env.distributed()) join_ranks();
  if (!device_.is_cuda() && cfg_.gpus.size() > 1)
    log_.line("note: MULTI_GPU lists " + std::to_string(cfg_.gpus.size()) + " GPUs; ignored on CPU");
  map_ = cfg_.label_map();

  {
    // Torch's default generator is process-wide: trainers in one process (ranks as threads,
    // in the tests) take turns, so each draws exactly its seed's weights.
    static std::mutex generator;
    const std::lock_guard<std::mutex> lock(generator);
    torch::manual_seed(cfg_.seed);
    model_ = make_unet(cfg_);
    initialise(*model_, cfg_.init);
  }
  model_->to(device_);
  step_ = std::make_unique<TrainStep>(cfg_, model_, device_);
  state_.config = cfg_;
  if (req_.resume) resume_from_checkpoint();
  // The same starting point on every rank: rank 0's weights (and, resumed, its optimiser's
  // state, which came with the checkpoint's bytes).
  if (dp_) {
    dp_->broadcast(model_state());
    dp_->attach(model_->parameters());  // gradients all-reduced bucket by bucket during backward
    step_->set_data_parallel(dp_.get());
  }
  for (const int64_t p : cfg_.patch)
    if (p % model_->size_multiple() != 0)
      throw usage_error("PATCH_DIM", std::to_string(p) + " is not a multiple of " + std::to_string(model_->size_multiple()) +
                                         " (2^(DEPTH-1))");
  check_memory(training_memory_bytes(model_->options(), cfg_.patch, cfg_.batch, model_->parameter_count()),
               ErrorKind::kUsage, "PATCH_DIM",
               "a training step of batch " + std::to_string(cfg_.batch) + " at patch " + std::to_string(cfg_.patch[0]) + "x" +
                   std::to_string(cfg_.patch[1]) + "x" + std::to_string(cfg_.patch[2]));
  data_ = load_data(cfg_, req_.data_dir, map_, req_.resume ? &state_.stats : nullptr, log_);
  state_.stats = data_.stats;

  if (!leader_) {
    make_samplers();
    return;
  }
  std::error_code ec;
  fs::create_directories(run_, ec);
  if (ec) throw data_error(req_.run_dir, "cannot create the run folder: " + ec.message());
  log_.open(run_ / "train.log");
  write_text_file((run_ / "config.json").string(), cfg_.to_json().dump(2) + "\n");
  remove_stale_temporaries(run_.string());
  if (!req_.resume || !fs::exists(run_ / "history.csv")) write_text_file((run_ / "history.csv").string(), history_header(map_));
  else trim_history(run_ / "history.csv", state_.epoch);
  make_samplers();
  const auto& patch = cfg_.patch;
  log_.line("model: UNet3d base " + std::to_string(cfg_.base) + ", depth " + std::to_string(cfg_.depth) + ", norm " +
            to_string(cfg_.norm) + ", coord " + to_string(cfg_.coord) + ", " + std::to_string(model_->parameter_count()) +
            " parameters; " + std::to_string(steps_per_epoch_) + " steps per epoch, batch " + std::to_string(cfg_.batch) +
            ", patch " + std::to_string(patch[0]) + "x" + std::to_string(patch[1]) + "x" + std::to_string(patch[2]) + ", " +
            device_.str() + ", " + std::to_string(at::get_num_threads()) + " threads" +
            (cfg_.amp != Amp::kNone ? ", amp " + to_string(cfg_.amp) : ""));
  if (dp_)
    log_.line("data-parallel: " + std::to_string(dp_->world_size()) + (dp_->world_size() > 1 ? " ranks (" : " rank (") +
              dp_->backend() + ", rendezvous " +
              env.master_addr + ":" + std::to_string(env.master_port) + "); BATCH_SIZE " + std::to_string(cfg_.batch) +
              " per rank, " + std::to_string(cfg_.batch * dp_->world_size()) +
              (cfg_.batch * dp_->world_size() > 1 ? " patches" : " patch") + " per step in all");
}

void Trainer::make_samplers() {
  train_sampler_ = std::make_unique<PatchSampler>(data_.train, cfg_.patch, cfg_.foreground, Augmentation::from_config(cfg_));
  // Validation patches are centred on a present class at FOREGROUND_FRACTION's default rate
  // whatever this run trains with, so runs that differ in how they draw training patches are
  // measured on the same validation patches.
  valid_sampler_ =
      std::make_unique<PatchSampler>(data_.valid, cfg_.patch, kDefaultForegroundFraction, Augmentation::none());
  steps_per_epoch_ = cfg_.train_patches * static_cast<int64_t>(data_.train.size());
  total_steps_ = cfg_.steps > 0 ? cfg_.steps : cfg_.epochs * steps_per_epoch_;
  total_epochs_ = (total_steps_ + steps_per_epoch_ - 1) / steps_per_epoch_;
}

// The rendezvous: every rank waits here (at most --dist-timeout) until all have arrived.
void Trainer::join_ranks() {
  const std::string backend = DataParallel::resolve_backend(req_.backend, device_.is_cuda());
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(req_.dist_timeout * 1000)));
  dp_ = std::make_unique<DataParallel>(req_.launch, timeout, backend, device_);
}

// Rank 0 reads RUN/last.pt and sends its bytes to the others, so that only rank 0 needs to
// see the run folder; every rank then loads the same weights and optimiser state.
void Trainer::resume_from_checkpoint() {
  const std::string path = (run_ / "last.pt").string();
  std::string bytes;
  if (leader_) bytes = read_checkpoint_bytes(path);
  if (dp_) dp_->broadcast_bytes(bytes);
  const CheckpointState saved = load_checkpoint_bytes(bytes, path, &model_, &step_->optimizer());
  state_.epoch = saved.epoch;
  state_.step = saved.step;
  state_.best_val_loss = saved.best_val_loss;
  state_.best_epoch = saved.best_epoch;
  state_.stats = saved.stats;
  log_.line("resuming " + req_.run_dir + " after epoch " + std::to_string(state_.epoch));
}

std::vector<torch::Tensor> Trainer::model_state() const {
  std::vector<torch::Tensor> t = model_->parameters();
  for (const auto& b : model_->buffers()) t.push_back(b);
  return t;
}

// After each epoch: batch-norm running statistics are rank 0's on every rank (each rank
// normalised its own batches), and the weights must be bit-identical; a rank that drifted
// (a non-deterministic kernel, a damaged host) stops the run rather than training apart.
void Trainer::check_ranks_agree(int64_t epoch) {
  if (!dp_) return;
  auto buffers = model_->buffers();
  if (!buffers.empty()) dp_->broadcast(buffers);
  const uint64_t digest = tensor_digest(model_state());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest));
  if (!dp_->agree(digest))
    throw data_error("data-parallel", "the ranks' weights differ after epoch " + std::to_string(epoch) +
                                          " (rank " + std::to_string(dp_->rank()) + " holds digest " + hex + ")");
  if (dp_->world_size() > 1)
    log_.line("data-parallel: weights bit-identical on all " + std::to_string(dp_->world_size()) + " ranks after epoch " +
              std::to_string(epoch) + " (digest " + hex + ")");
}

EpochRecord Trainer::train_epoch(int64_t epoch) {
  const auto t0 = Clock::now();
  const int64_t n_steps = std::min(steps_per_epoch_, total_steps_ - state_.step);
  // Sample k of step i is drawn from its own seed; rank r takes samples r*B .. r*B + B-1.
  const int64_t first_sample = cfg_.batch * req_.launch.rank;
  BatchLoader loader(
      [&](int64_t i) {
        std::vector<uint64_t> seeds;
        for (int64_t k = first_sample; k < first_sample + cfg_.batch; ++k)
          seeds.push_back(derive_seed(cfg_.seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(i),
                                      static_cast<uint64_t>(k)));
        Batch b = train_sampler_->batch(seeds);
        if (device_.is_cuda()) {
          // Page-locked, so TrainStep's copies to the device do not block the host.
          b.image = b.image.pin_memory();
          b.coords = b.coords.pin_memory();
          b.labels = b.labels.pin_memory();
        }
        return b;
      },
      n_steps, static_cast<int>(cfg_.loader_threads));
  model_->train();
  EpochRecord rec;
  rec.epoch = epoch;
  rec.lr = cfg_.lr;
  // Data-parallel runs read every step: each step's loss is averaged over the ranks.
  const bool deferred = !dp_ && (req_.loss_reads == TrainRequest::LossReads::kDeferred ||
                                 (req_.loss_reads == TrainRequest::LossReads::kAuto && device_.is_cuda()));
  double loss_sum = 0;
  int64_t read = 0;                   // steps whose loss the host has read
  std::vector<torch::Tensor> pending;  // deferred: the losses of the steps after those
  const auto take = [&](double value) {
    if (!std::isfinite(value)) {
      const std::string kept = epoch > 1 ? "last.pt and best.pt are kept from epoch " + std::to_string(epoch - 1)
                                         : "no checkpoint was written";
      throw data_error(req_.run_dir, "loss is not finite at epoch " + std::to_string(epoch) + ", step " +
                                         std::to_string(read + 1) + "; " + kept + " (try a lower LEARNINGRATE)");
    }
    loss_sum += value;
    ++read;
  };
  const auto read_pending = [&] {
    if (pending.empty()) return;
    const torch::Tensor host = torch::stack(pending).to(torch::kCPU, torch::kDouble);
    const double* v = host.data_ptr<double>();
    for (size_t k = 0; k < pending.size(); ++k) take(v[k]);
    pending.clear();
  };
  for (int64_t i = 0; i < n_steps; ++i) {
    const Batch b = loader.next();
    rec.lr = cfg_.lr * schedule_factor(cfg_.schedule, static_cast<double>(state_.step) / static_cast<double>(total_steps_));
    if (deferred) {
      pending.push_back(step_->step_unchecked(b, rec.lr));
      if (req_.on_step && ((i + 1) % TrainRequest::kProgressSteps == 0 || i + 1 == n_steps)) read_pending();
    } else {
      // The mean over the ranks: every rank sees the same value (and stops on the same step).
      take((*step_)(b, rec.lr));
    }
    ++state_.step;
    if (req_.on_step)
      req_.on_step({epoch, total_epochs_, i + 1, n_steps,
                    read > 0 ? loss_sum / static_cast<double>(read) : std::numeric_limits<double>::quiet_NaN(),
                    seconds_since(t0)});
  }
  read_pending();
  rec.train_loss = loss_sum / std::max<int64_t>(n_steps, 1);
  rec.wait_seconds = loader.wait_seconds();
  return rec;
}

// The same VALID_PATCH_NUM patches of each validation case every epoch.
void Trainer::validate_patches(EpochRecord& rec) {
  model_->eval();
  torch::NoGradGuard no_grad;
  DiceCounts counts(cfg_.classes);
  double loss_sum = 0;
  int64_t batches = 0, item = 0;
  const int world = dp_ ? dp_->world_size() : 1, rank = dp_ ? dp_->rank() : 0;
  for (size_t c = 0; c < data_.valid.size(); ++c)
    for (int64_t j = 0; j < cfg_.valid_patches; j += cfg_.batch) {
      if (item++ % world != rank) continue;  // the ranks share the batches
      std::vector<uint64_t> seeds;
      for (int64_t k = j; k < std::min(j + cfg_.batch, cfg_.valid_patches); ++k)
        seeds.push_back(derive_seed(cfg_.seed, kValidationStream, c, static_cast<uint64_t>(k)));
      const Batch b = valid_sampler_->patches(c, seeds);
      const auto labels = b.labels.to(device_);
      const auto logits = forward_with_amp(model_, b.image.to(device_), b.coords.to(device_), cfg_.amp);
      loss_sum += segmentation_loss(cfg_.loss, logits, labels).item<double>();
      ++batches;
      counts.add(logits.argmax(1), labels);
    }
  if (dp_) sum_counts(counts, loss_sum, batches);
  rec.val_loss = batches ? loss_sum / batches : rec.train_loss;
  rec.val_dice = counts.dice();
  rec.val_mean_dice = counts.mean_foreground();
  rec.val_present.clear();
  for (size_t c = 0; c < counts.tp.size(); ++c) rec.val_present.push_back(counts.tp[c] + counts.fn[c] > 0);
}

void Trainer::sum_counts(DiceCounts& counts, double& loss_sum, int64_t& batches) {
  std::vector<double> v = {loss_sum, static_cast<double>(batches)};
  for (const auto* part : {&counts.tp, &counts.fp, &counts.fn}) v.insert(v.end(), part->begin(), part->end());
  v = dp_->sum(v);
  loss_sum = v[0];
  batches = static_cast<int64_t>(v[1]);
  size_t at = 2;
  for (auto* part : {&counts.tp, &counts.fp, &counts.fn})
    for (auto& x : *part) x = v[at++];
}

// Whole validation volumes by sliding windows, in the preprocessed grid: Dice per class.
std::vector<double> Trainer::validate_full(double& mean) {
  model_->eval();
  torch::NoGradGuard no_grad;
  SlidingWindowOptions sw;
  sw.patch = cfg_.patch;
  sw.overlap = cfg_.overlap;
  sw.batch = cfg_.batch;
  DiceCounts full(cfg_.classes);
  const WindowFn net = [&](const torch::Tensor& w, const torch::Tensor& co) {
    return forward_with_amp(model_, w, co, cfg_.amp);
  };
  const size_t world = dp_ ? static_cast<size_t>(dp_->world_size()) : 1, rank = dp_ ? static_cast<size_t>(dp_->rank()) : 0;
  for (size_t c = rank; c < data_.valid.size(); c += world) {
    const auto& vc = data_.valid[c];
    full.add(sliding_window(vc.image.to(device_), cfg_.classes, net, sw).argmax(0), vc.labels);
  }
  if (dp_) {
    double unused_loss = 0;
    int64_t unused_batches = 0;
    sum_counts(full, unused_loss, unused_batches);
  }
  mean = full.mean_foreground();
  return full.dice();
}

// Checkpoints first (the commit point of an epoch), then the CSV rows and the log line.
void Trainer::record(const EpochRecord& rec, bool best, const std::vector<double>* full, double full_mean) {
  save_checkpoint((run_ / "last.pt").string(), model_, &step_->optimizer(), state_);
  if (best) save_checkpoint((run_ / "best.pt").string(), model_, &step_->optimizer(), state_);
  append_text_file((run_ / "history.csv").string(), history_row(rec));
  if (full) {
    const fs::path csv = run_ / "full_validation.csv";
    const std::string header = fs::exists(csv) ? "" : full_validation_header(map_);
    append_text_file(csv.string(), header + full_validation_row(rec.epoch, *full, full_mean));
  }
  std::ostringstream line;
  line << "epoch " << rec.epoch << "/" << total_epochs_ << "  loss " << std::fixed << std::setprecision(4) << rec.train_loss
       << "  val_loss " << rec.val_loss << "  val_dice" << dice_text(map_, rec.val_dice);
  line << "  mean " << std::setprecision(3) << rec.val_mean_dice << std::setprecision(1) << "  " << rec.seconds
       << " s (waited " << rec.wait_seconds << " s)" << (best ? "  *best" : "");
  log_.line(line.str());
}

// Collapse is the reference recipe's known failure (issue 9): a class the network never
// predicts stays at Dice 0 while its loss term is flat. Reported once per class, with the
// recipe that learns every structure on the phantom.
void Trainer::warn_collapse(const EpochRecord& rec) {
  zero_epochs_.resize(rec.val_dice.size(), 0);
  warned_.resize(rec.val_dice.size(), false);
  std::vector<std::string> names;
  for (size_t c = 1; c < rec.val_dice.size(); ++c) {
    const bool collapsed = c < rec.val_present.size() && rec.val_present[c] && rec.val_dice[c] == 0.0;
    zero_epochs_[c] = collapsed ? zero_epochs_[c] + 1 : 0;
    if (zero_epochs_[c] >= kCollapseEpochs && !warned_[c]) {
      warned_[c] = true;
      names.push_back(map_.names[c]);
    }
  }
  if (names.empty()) return;
  // With the Dice loss a class predicted nowhere gets almost no gradient (docs/recipe.md), so
  // the first thing to try is the loss the reference's code trains with.
  const std::string loss_hint = cfg_.loss == LossKind::kDice || cfg_.loss == LossKind::kDiceCrossEntropy
                                    ? "LOSS \"weighted_ce\" (the reference code's loss), or "
                                    : "";
  log_.line("warning: " + name_list(names, names.size()) + ": validation Dice 0 for " + std::to_string(kCollapseEpochs) +
            " epochs while present in the validation labels; the network predicts none of it. Try " + loss_hint +
            "NORMALIZATION \"instance\" with ACTIVATION \"leakyrelu\" and LEARNINGRATE 0.003, or "
            "FOREGROUND_FRACTION 0.5 (configs/phantom_quick.json learns all seven structures of the phantom)");
}

void Trainer::write_info(const TrainSummary& summary) const {
  nlohmann::ordered_json info;
  info["name"] = cfg_.name;
  info["epochs"] = state_.epoch;
  info["steps"] = state_.step;
  info["best_epoch"] = state_.best_epoch;
  info["best_val_loss"] = state_.best_val_loss;
  info["parameters"] = summary.parameters;
  info["train_cases"] = data_.train.size();
  info["valid_cases"] = data_.valid.size();
  double seconds = 0;
  for (const auto& r : summary.history) seconds += r.seconds;
  info["seconds_this_call"] = seconds;
  info["device"] = device_.str();
  info["ranks"] = dp_ ? dp_->world_size() : 1;
  if (dp_) info["backend"] = dp_->backend();
  info["threads"] = at::get_num_threads();
  info["libtorch"] = compat::torch_version();
  info["intensity"] = {{"scheme", to_string(cfg_.intensity_scheme())}, {"lo", state_.stats.lo}, {"hi", state_.stats.hi},
                       {"mean", state_.stats.mean}, {"sd", state_.stats.sd}};
  write_text_file((run_ / "info.json").string(), info.dump(2) + "\n");
}

TrainSummary Trainer::run() {
  setup();
  TrainSummary summary;
  summary.parameters = model_->parameter_count();
  int64_t epochs_this_call = 0;
  for (int64_t epoch = state_.epoch + 1; epoch <= total_epochs_; ++epoch) {
    const auto t0 = Clock::now();
    EpochRecord rec = train_epoch(epoch);
    validate_patches(rec);
    std::vector<double> full;
    double full_mean = 0;
    const bool do_full = cfg_.full_valid_every > 0 && epoch % cfg_.full_valid_every == 0 && !data_.valid.empty();
    rec.seconds = seconds_since(t0);  // training and patch validation
    if (do_full) {
      full = validate_full(full_mean);
      std::ostringstream line;
      line << "full-volume validation Dice:" << dice_text(map_, full) << "  mean " << std::fixed << std::setprecision(3)
           << full_mean;
      log_.line(line.str());
    }
    state_.epoch = epoch;
    const bool best = rec.val_loss < state_.best_val_loss;
    if (best) {
      state_.best_val_loss = rec.val_loss;
      state_.best_epoch = epoch;
    }
    check_ranks_agree(epoch);
    if (leader_) record(rec, best, do_full ? &full : nullptr, full_mean);
    warn_collapse(rec);
    summary.history.push_back(rec);
    if (req_.stop_after_epochs > 0 && ++epochs_this_call >= req_.stop_after_epochs) break;
  }
  summary.epochs_done = state_.epoch;
  summary.best_val_loss = state_.best_val_loss;
  summary.best_epoch = state_.best_epoch;
  summary.world_size = dp_ ? dp_->world_size() : 1;
  summary.parameter_digest = tensor_digest(model_state());
  if (leader_) write_info(summary);
  // No rank leaves before rank 0 has written the last checkpoint and info.json.
  if (dp_) dp_->barrier();
  return summary;
}

}  // namespace

void check_train_request(const TrainRequest& req) {
  req.config.validate();
  DataParallel::resolve_backend(req.backend, uses_cuda(req.config.device));
  if (!(req.dist_timeout > 0)) throw usage_error("--dist-timeout", "must be a positive number of seconds");
  const fs::path run = req.run_dir;
  std::error_code ec;
  if (req.resume) {
    if (!fs::is_regular_file(run / "last.pt")) throw usage_error(req.run_dir, "no last.pt to resume from");
  } else if (fs::exists(run, ec) && !fs::is_directory(run, ec)) {
    throw usage_error(req.run_dir, "exists and is not a folder; --out names the run folder to create");
  } else if (fs::exists(run, ec) && !fs::is_empty(run, ec) && !req.force) {
    throw usage_error(req.run_dir, "run folder already holds files; use --resume to continue it or --force");
  }
}

TrainSummary train(const TrainRequest& request) { return Trainer(request).run(); }

}  // namespace coordseg
