#include "coordseg/torch/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "coordseg/core/error.h"
#include "test_util.h"

namespace coordseg {
namespace {

TrainConfig tiny() {
  TrainConfig c;
  c.base = 2;
  c.depth = 2;
  c.norm = Norm::kInstance;
  c.coord = CoordMode::kGlobal;
  c.lr = 0.01;
  c.name = "tiny";
  return c;
}

// A model and optimiser after one Adam step, so both carry non-default state.
struct Trained {
  UNet3d model;
  std::unique_ptr<torch::optim::Adam> optimizer;
};
Trained one_step(const TrainConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  Trained t{make_unet(c), nullptr};
  t.optimizer = std::make_unique<torch::optim::Adam>(t.model->parameters(), torch::optim::AdamOptions(c.lr));
  const auto x = torch::randn({1, 1, 8, 8, 8});
  t.model->forward(x, torch::zeros({1, 3, 8, 8, 8})).pow(2).mean().backward();
  t.optimizer->step();
  return t;
}

TEST(Checkpoint, SaveAndLoadRoundTripEverything) {
  testing::TempDir dir;
  const TrainConfig c = tiny();
  Trained a = one_step(c, 1);
  CheckpointState s;
  s.config = c;
  s.stats = {-100, 900, 250.5, 80.25};
  s.epoch = 7;
  s.step = 140;
  s.best_val_loss = 0.125;
  s.best_epoch = 5;
  const std::string path = dir.file("last.pt");
  save_checkpoint(path, a.model, a.optimizer.get(), s);

  Trained b = one_step(c, 2);  // different weights and moments
  const CheckpointState back = load_checkpoint(path, &b.model, b.optimizer.get());
  EXPECT_EQ(back.config.to_json().dump(), c.to_json().dump());
  EXPECT_EQ(back.epoch, 7);
  EXPECT_EQ(back.step, 140);
  EXPECT_EQ(back.best_epoch, 5);
  EXPECT_DOUBLE_EQ(back.best_val_loss, 0.125);
  EXPECT_DOUBLE_EQ(back.stats.lo, -100);
  EXPECT_DOUBLE_EQ(back.stats.sd, 80.25);
  const auto pa = a.model->parameters(), pb = b.model->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
  // The optimiser's moments came back too: the next step is the same on both.
  const auto x = torch::randn({1, 1, 8, 8, 8});
  for (Trained* t : {&a, &b}) {
    t->optimizer->zero_grad();
    t->model->forward(x, torch::zeros({1, 3, 8, 8, 8})).pow(2).mean().backward();
    t->optimizer->step();
  }
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;

  // load_unet builds the network the stored configuration describes.
  CheckpointState state;
  UNet3d net = load_unet(path, state);
  EXPECT_EQ(net->options().coord(), CoordMode::kGlobal);
  EXPECT_EQ(net->options().norm(), Norm::kInstance);
  EXPECT_EQ(net->parameter_count(), a.model->parameter_count());
  EXPECT_EQ(state.config.name, "tiny");
}

// A checkpoint of the tiny network after one step, with its optimiser.
std::string saved_checkpoint(const testing::TempDir& dir) {
  const TrainConfig c = tiny();
  Trained a = one_step(c, 1);
  CheckpointState s;
  s.config = c;
  const std::string path = dir.file("best.pt");
  save_checkpoint(path, a.model, a.optimizer.get(), s);
  return path;
}

// load_unet's error message, or "" when it loads.
std::string load_error(const std::string& path) {
  try {
    CheckpointState st;
    load_unet(path, st);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 1);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
    return e.what();
  }
  return "";
}

TEST(Checkpoint, ATruncatedFileIsAClearError) {
  testing::TempDir dir;
  const std::string path = saved_checkpoint(dir);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  const std::string truncated = load_error(path);
  EXPECT_EQ(truncated.rfind(path + ": not a coordseg checkpoint or damaged", 0), 0u) << truncated;
  EXPECT_EQ(load_error(dir.file("missing.pt")), dir.file("missing.pt") + ": no such checkpoint");
}

TEST(Checkpoint, SixtyFourChangedBytesInTheMiddleAreCaught) {
  testing::TempDir dir;
  const std::string path = saved_checkpoint(dir);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::streamoff>(std::filesystem::file_size(path));
    f.seekg(size / 2);
    char block[64];
    f.read(block, sizeof block);
    for (char& b : block) b = static_cast<char>(~b);
    f.seekp(size / 2);
    f.write(block, sizeof block);
  }
  const std::string what = load_error(path);
  EXPECT_EQ(what.rfind(path + ": checksum mismatch (CRC-32 stored ", 0), 0u) << what;
  EXPECT_NE(what.find("the file is damaged"), std::string::npos) << what;
}

}  // namespace
}  // namespace coordseg
