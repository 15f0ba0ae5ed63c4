#include "coordseg/torch/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "coordseg/torch/checkpoint.h"
#include "coordseg/core/error.h"
#include "coordseg/core/launcher.h"
#include "coordseg/torch/data_parallel.h"
#include "test_util.h"
#include "tiny_phantom.h"

namespace coordseg {
namespace {

TrainConfig tiny_config() {
  TrainConfig c;
  c.base = 4;
  c.depth = 2;
  c.patch = {16, 16, 16};
  c.spacing = {6, 6, 6};
  c.batch = 2;
  c.train_patches = 3;
  c.valid_patches = 4;
  c.valid_cases = 1;
  c.epochs = 3;
  c.lr = 1e-2;
  c.norm = Norm::kInstance;
  c.loss = LossKind::kDiceCrossEntropy;
  c.threads = 1;
  c.loader_threads = 2;
  c.coord = CoordMode::kGlobal;
  return c;
}

std::vector<std::string> files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A request for the tiny configuration on the tiny dataset, into dir/run.
TrainRequest tiny_request(const testing::TempDir& dir) {
  TrainRequest r;
  r.config = tiny_config();
  r.data_dir = testing::tiny_phantom_dataset();
  r.run_dir = dir.file("run");
  return r;
}

TEST(Trainer, ATinyRunLowersTheLossAndWritesARunFolder) {
  testing::TempDir dir;
  TrainRequest r = tiny_request(dir);
  r.config.epochs = 4;
  r.config.full_valid_every = 2;
  const TrainSummary s = train(r);
  ASSERT_EQ(s.history.size(), 4u);
  EXPECT_LT(s.history.back().train_loss, s.history.front().train_loss);
  EXPECT_EQ(s.epochs_done, 4);
  EXPECT_EQ(files(r.run_dir), (std::vector<std::string>{"best.pt", "config.json", "full_validation.csv", "history.csv",
                                                         "info.json", "last.pt", "train.log"}));
  {
    std::ifstream f(dir.file("run/full_validation.csv"));
    std::string line;
    int n = 0;
    while (std::getline(f, line)) ++n;
    EXPECT_EQ(n, 3);  // header, epochs 2 and 4
  }
  std::ifstream h(dir.file("run/history.csv"));
  std::string header, line;
  std::getline(h, header);
  EXPECT_EQ(header,
            "epoch,train_loss,val_loss,dice_MLV,dice_LABC,dice_LVBC,dice_RABC,dice_RVBC,dice_ASA,dice_PUA,mean_dice,lr,seconds,"
            "wait_seconds");
  int rows = 0;
  while (std::getline(h, line)) ++rows;
  EXPECT_EQ(rows, 4);
  const TrainConfig saved = TrainConfig::from_file(dir.file("run/config.json"));
  EXPECT_EQ(saved.to_json().dump(), r.config.to_json().dump());
  const CheckpointState best = load_checkpoint(dir.file("run/best.pt"), nullptr, nullptr);
  EXPECT_EQ(best.epoch, best.best_epoch);
  EXPECT_EQ(best.config.coord, CoordMode::kGlobal);
  EXPECT_GT(best.stats.sd, 0);
  // A second run into the same folder is refused.
  EXPECT_THROW(train(r), Error);
}

TEST(Trainer, AResumedRunEqualsAnUninterruptedOne) {
  testing::TempDir dir;
  TrainRequest whole;
  whole.config = tiny_config();
  whole.data_dir = testing::tiny_phantom_dataset();
  whole.run_dir = dir.file("whole");
  train(whole);

  TrainRequest part = whole;
  part.run_dir = dir.file("part");
  part.stop_after_epochs = 1;  // "interrupted" after epoch 1
  train(part);
  TrainRequest rest = part;
  rest.stop_after_epochs = 0;
  rest.resume = true;
  const TrainSummary s = train(rest);
  EXPECT_EQ(s.history.size(), 2u);

  UNet3d a = make_unet(whole.config), b = make_unet(whole.config);
  load_checkpoint(dir.file("whole/last.pt"), &a, nullptr);
  load_checkpoint(dir.file("part/last.pt"), &b, nullptr);
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
  // And the histories agree row for row (times aside).
  auto rows = [](const std::string& path) {
    std::ifstream f(path);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(f, line)) out.push_back(line.substr(0, line.find(",", line.find(",", line.find(",") + 1) + 1)));
    return out;
  };
  EXPECT_EQ(rows(dir.file("whole/history.csv")), rows(dir.file("part/history.csv")));
}

// Each request of `ranks` trained at once, one thread a rank, on one loopback rendezvous.
std::vector<TrainSummary> train_ranks(std::vector<TrainRequest> ranks) {
  const int port = free_port();
  std::vector<TrainSummary> out(ranks.size());
  std::vector<std::string> errors(ranks.size());
  std::vector<std::thread> threads;
  for (size_t r = 0; r < ranks.size(); ++r) {
    ranks[r].launch.rank = static_cast<int>(r);
    ranks[r].launch.world_size = static_cast<int>(ranks.size());
    ranks[r].launch.master_port = port;
    ranks[r].launch.launcher = "torchrun";
    ranks[r].dist_timeout = 60;
    threads.emplace_back([&, r] {
      try {
        out[r] = train(ranks[r]);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (size_t r = 0; r < ranks.size(); ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
  return out;
}

// The check of issue 11: two ranks of batch 1 train exactly as one process of batch 2 on the
// same patches. With a loss that is a mean over samples (cross-entropy), averaging the ranks'
// gradients is the combined batch's gradient, so the weights agree to float rounding; and
// the two ranks hold bit-identical weights.
TEST(Trainer, TwoRanksEqualOneProcessWithTheCombinedBatch) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without Gloo";
  testing::TempDir dir;
  TrainRequest single = tiny_request(dir);
  single.config.loss = LossKind::kCrossEntropy;
  single.config.epochs = 2;
  single.config.loader_threads = 1;
  TrainRequest rank = single;
  rank.config.batch = 1;
  rank.run_dir = dir.file("ranks");
  rank.loss_reads = TrainRequest::LossReads::kDeferred;  // ranks read every step whatever is asked
  single.run_dir = dir.file("single");
  const TrainSummary one = train(single);
  const auto ranks = train_ranks({rank, rank});
  ASSERT_EQ(ranks.size(), 2u);
  EXPECT_EQ(ranks[0].world_size, 2);
  EXPECT_EQ(ranks[0].parameter_digest, ranks[1].parameter_digest);
  EXPECT_NE(ranks[0].parameter_digest, one.parameter_digest);  // float rounding differs: a real comparison below

  // The two networks compute the same function. (Their weights are compared through it:
  // a convolution's bias before instance norm gets a gradient of rounding noise only, which
  // Adam scales up to full-size steps that the norm then removes again.)
  CheckpointState state;
  UNet3d a = load_unet(dir.file("ranks/last.pt"), state), b = load_unet(dir.file("single/last.pt"), state);
  a->eval();
  b->eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  const auto x = torch::randn({2, 1, 16, 16, 16}), coords = torch::rand({2, 3, 16, 16, 16}) * 2 - 1;
  const auto ya = a->forward(x, coords), yb = b->forward(x, coords);
  const double scale = yb.abs().max().item<double>(), gap = (ya - yb).abs().max().item<double>();
  EXPECT_GT(scale, 0.1);
  EXPECT_LT(gap, 1e-4 * scale) << "largest logit difference " << gap << " of " << scale;
  // And they are not the untrained network: the steps did move the weights.
  UNet3d initial = make_unet(single.config);
  EXPECT_GT((initial->forward(x, coords) - yb).abs().max().item<double>(), 100 * gap + 1e-3);
  // The epochs' losses and validation Dice agree too: validation was split over the ranks.
  ASSERT_EQ(ranks[0].history.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_NEAR(ranks[0].history[e].train_loss, one.history[e].train_loss, 1e-4);
    EXPECT_NEAR(ranks[0].history[e].val_loss, one.history[e].val_loss, 1e-4);
    EXPECT_NEAR(ranks[0].history[e].val_mean_dice, one.history[e].val_mean_dice, 1e-3);
    EXPECT_EQ(ranks[1].history[e].train_loss, ranks[0].history[e].train_loss);  // every rank sees the mean
  }
  // Rank 0 alone wrote the run folder, and says how the run was made.
  const auto info = nlohmann::json::parse(testing::read_text(dir.file("ranks/info.json")));
  EXPECT_EQ(info["ranks"], 2);
  EXPECT_EQ(info["backend"], "gloo");
  const std::string log = testing::read_text(dir.file("ranks/train.log"));
  EXPECT_NE(log.find("data-parallel: 2 ranks (gloo, rendezvous 127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("BATCH_SIZE 1 per rank, 2 patches per step in all"), std::string::npos) << log;
  EXPECT_NE(log.find("data-parallel: weights bit-identical on all 2 ranks after epoch 2 (digest "), std::string::npos);
}

// A run may go on with another number of ranks: rank 0 reads last.pt and sends it to the
// others, so a rank that never saw the run folder resumes from the same weights and state.
TEST(Trainer, ARunResumesWithAnotherNumberOfRanks) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without Gloo";
  testing::TempDir dir;
  TrainRequest r = tiny_request(dir);
  r.config.epochs = 1;
  train(r);  // one process
  TrainRequest more = r;
  more.resume = true;
  more.config.epochs = 2;
  TrainRequest elsewhere = more;
  elsewhere.run_dir = dir.file("not-here");  // rank 1 cannot see the run folder
  const auto two = train_ranks({more, elsewhere});
  EXPECT_EQ(two[0].epochs_done, 2);
  EXPECT_EQ(two[1].epochs_done, 2);
  EXPECT_EQ(two[0].parameter_digest, two[1].parameter_digest);
  EXPECT_FALSE(std::filesystem::exists(dir.file("not-here")));
  TrainRequest back = more;
  back.config.epochs = 3;
  const TrainSummary one = train(back);  // and on with one process again
  EXPECT_EQ(one.epochs_done, 3);
  EXPECT_EQ(one.history.size(), 1u);
}

// A lone rank of a run of two gives up within --dist-timeout, before writing anything.
TEST(Trainer, ALoneRankFailsWithinTheTimeoutAndWritesNothing) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without Gloo";
  testing::TempDir dir;
  TrainRequest r = tiny_request(dir);
  r.launch.rank = 0;
  r.launch.world_size = 2;
  r.launch.master_port = free_port();
  r.dist_timeout = 2;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    train(r);
    FAIL() << "trained without rank 1";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("rendezvous at 127.0.0.1:", 0), 0u) << e.what();
    EXPECT_EQ(e.exit_code(), 1);
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 15.0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

TEST(Trainer, ANonFiniteLossStopsTheRunAndKeepsTheCheckpoints) {
  testing::TempDir dir;
  TrainRequest r = tiny_request(dir);
  r.config.epochs = 1;
  train(r);
  const auto last = testing::read_all(dir.file("run/last.pt")), best = testing::read_all(dir.file("run/best.pt"));
  r.resume = true;
  r.config.epochs = 3;
  r.config.lr = 1e30;  // Adam steps of ~1e30 overflow the activations at once
  try {
    train(r);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("loss is not finite at epoch 2, step "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("last.pt and best.pt are kept from epoch 1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(testing::read_all(dir.file("run/last.pt")), last);
  EXPECT_EQ(testing::read_all(dir.file("run/best.pt")), best);
}

TEST(Trainer, ANonFiniteLossInTheFirstEpochSaysNoCheckpointExists) {
  testing::TempDir dir;
  TrainRequest r = tiny_request(dir);
  r.config.lr = 1e30;
  try {
    train(r);
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("loss is not finite at epoch 1, step "), std::string::npos) << what;
    EXPECT_NE(what.find("; no checkpoint was written (try a lower LEARNINGRATE)"), std::string::npos) << what;
    EXPECT_EQ(what.find("epoch 0"), std::string::npos) << what;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("run/last.pt")));
}

// Deferred loss reads (CUDA's default) change when the host reads, not what is computed:
// the same losses, weights and validation, and the progress display still gets a mean loss.
TEST(Trainer, DeferredLossReadsTrainExactlyAsReadingEveryStep) {
  testing::TempDir dir;
  TrainRequest every = tiny_request(dir);
  every.config.epochs = 2;
  every.config.train_patches = 6;
  every.loss_reads = TrainRequest::LossReads::kEveryStep;
  TrainRequest deferred = every;
  deferred.loss_reads = TrainRequest::LossReads::kDeferred;
  every.run_dir = dir.file("every");
  deferred.run_dir = dir.file("deferred");
  std::vector<StepProgress> seen;
  deferred.on_step = [&](const StepProgress& p) { seen.push_back(p); };
  const TrainSummary a = train(every), b = train(deferred);
  ASSERT_EQ(a.history.size(), 2u);
  ASSERT_EQ(b.history.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(a.history[e].train_loss, b.history[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(a.history[e].val_loss, b.history[e].val_loss) << "epoch " << e + 1;
  }
  EXPECT_EQ(a.parameter_digest, b.parameter_digest);
  // With a progress display the losses are read every kProgressSteps steps and at the end.
  const int64_t steps = seen.front().steps;
  ASSERT_GT(steps, TrainRequest::kProgressSteps);
  ASSERT_EQ(seen.size(), static_cast<size_t>(2 * steps));
  for (const StepProgress& p : seen) {
    const bool read = p.step >= TrainRequest::kProgressSteps || p.step == p.steps;
    EXPECT_EQ(std::isfinite(p.mean_loss), read) << "epoch " << p.epoch << " step " << p.step;
  }
  EXPECT_EQ(seen[static_cast<size_t>(steps) - 1].mean_loss, a.history[0].train_loss);
}

// A non-finite loss found late (deferred reads) stops the run with the error of an
// every-step read, naming the same step, and writes nothing.
TEST(Trainer, ADeferredNonFiniteLossNamesTheSameStep) {
  testing::TempDir dir;
  std::string messages[2];
  int k = 0;
  for (const auto reads : {TrainRequest::LossReads::kEveryStep, TrainRequest::LossReads::kDeferred}) {
    TrainRequest r = tiny_request(dir);
    r.run_dir = dir.file("run" + std::to_string(k));
    r.config.lr = 1e30;
    r.loss_reads = reads;
    try {
      train(r);
      ADD_FAILURE() << "expected the run to stop";
    } catch (const Error& e) {
      messages[k] = e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir.file("run" + std::to_string(k) + "/last.pt")));
    ++k;
  }
  EXPECT_NE(messages[0].find("loss is not finite at epoch 1, step "), std::string::npos) << messages[0];
  EXPECT_EQ(messages[0].substr(messages[0].find(": ")), messages[1].substr(messages[1].find(": ")));
}

TEST(Trainer, CasesWithoutLabelsAreNamedInTheLog) {
  testing::TempDir dir;
  std::filesystem::copy(testing::tiny_phantom_dataset(), dir.file("data"), std::filesystem::copy_options::recursive);
  std::filesystem::remove(dir.file("data/ct_train/ct_train_1002_label.nii.gz"));
  std::ostringstream log;
  TrainRequest r = tiny_request(dir);
  r.config.epochs = 1;
  r.data_dir = dir.file("data");
  r.out = &log;
  const TrainSummary s = train(r);
  EXPECT_EQ(s.epochs_done, 1);
  EXPECT_NE(log.str().find("note: 1 cases have no label file and are not used: ct_train_1002\n"), std::string::npos)
      << log.str();
  EXPECT_NE(log.str().find("data: 2 training and 1 validation cases"), std::string::npos) << log.str();
}

// A network that cannot learn (a learning rate of 1e-12) predicts only the class its
// initial bias favours: the others present in validation stay at Dice 0 and, after three
// epochs, are reported once each.
TEST(Trainer, AClassStuckAtDiceZeroIsReportedOnce) {
  testing::TempDir dir;
  std::ostringstream log;
  TrainRequest r = tiny_request(dir);
  r.config.epochs = 5;
  r.config.lr = 1e-12;
  r.config.norm = Norm::kNone;  // without normalisation the untrained network's map is near constant
  r.out = &log;
  const TrainSummary s = train(r);
  const std::string text = log.str();
  const auto at = text.find("warning: ");
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_EQ(text.find("warning: ", at + 1), std::string::npos) << "reported more than once:\n" << text;
  const std::string line = text.substr(at, text.find('\n', at) - at);
  EXPECT_NE(line.find(": validation Dice 0 for 3 epochs while present in the validation labels"), std::string::npos) << line;
  EXPECT_NE(line.find("NORMALIZATION \"instance\""), std::string::npos) << line;
  EXPECT_NE(line.find("Try LOSS \"weighted_ce\""), std::string::npos) << line;  // tiny_config trains with dice_ce
  // Exactly the classes at Dice 0 in epochs 1-3 are named; the line follows the third epoch's.
  const LabelMap map = LabelMap::mmwhs();
  const std::string listed = ", " + line.substr(9, line.find(": validation") - 9) + ",";
  int named = 0;
  for (size_t c = 1; c < map.names.size(); ++c) {
    const bool zero = s.history[0].val_dice[c] == 0.0 && s.history[1].val_dice[c] == 0.0 && s.history[2].val_dice[c] == 0.0 &&
                      s.history[2].val_present[c];
    EXPECT_EQ(listed.find(", " + map.names[c] + ",") != std::string::npos, zero) << map.names[c] << " in " << line;
    named += zero;
  }
  EXPECT_GT(named, 0);
  EXPECT_LT(text.find("epoch 3/5"), at);
  EXPECT_GT(text.find("epoch 4/5"), at);
}

TEST(Trainer, BadRequests) {
  testing::TempDir dir;
  TrainRequest r = tiny_request(dir);
  r.resume = true;
  EXPECT_THROW(train(r), Error);  // nothing to resume
  r.resume = false;
  r.config.valid_cases = 4;  // leaves no training case
  EXPECT_THROW(train(r), Error);
  r.config = tiny_config();
  r.config.patch = {12, 12, 12};  // not a multiple of 2^(4-1)
  r.config.depth = 4;
  try {
    train(r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("PATCH_DIM: 12 is not a multiple of 8"), std::string::npos) << e.what();
  }
  r.config = tiny_config();
  r.data_dir = dir.file("nowhere");
  EXPECT_THROW(train(r), Error);
  // None of the refused starts left a run folder behind.
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

}  // namespace
}  // namespace coordseg
