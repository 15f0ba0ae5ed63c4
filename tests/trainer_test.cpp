#include "coordseg/torch/trainer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "coordseg/torch/checkpoint.h"
#include "coordseg/core/error.h"
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
