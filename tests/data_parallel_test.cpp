#include "coordseg/torch/data_parallel.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "coordseg/core/error.h"
#include "coordseg/core/launcher.h"
#include "coordseg/torch/device.h"
#include "coordseg/torch/loss.h"
#include "coordseg/torch/unet3d.h"

namespace coordseg {
namespace {

LaunchEnv rank_env(int rank, int world, int port) {
  LaunchEnv e;
  e.rank = rank;
  e.world_size = world;
  e.master_port = port;
  e.launcher = "torchrun";
  return e;
}

// Runs body(dp, rank) on two ranks (threads) of one loopback rendezvous; both must succeed.
void on_two_ranks(const std::function<void(DataParallel&, int)>& body) {
  const int port = free_port();
  std::string errors[2];
  auto run = [&](int rank) {
    try {
      DataParallel dp(rank_env(rank, 2, port), std::chrono::seconds(30));
      body(dp, rank);
    } catch (const std::exception& e) {
      errors[rank] = e.what();
    }
  };
  std::thread t1(run, 1);
  run(0);
  t1.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
}

UNet3d tiny_unet(uint64_t seed) {
  torch::manual_seed(seed);
  return UNet3d(UNet3dOptions().base(2).depth(2));
}

std::vector<torch::Tensor> values(const UNet3d& net) {
  std::vector<torch::Tensor> out;
  for (const auto& p : net->parameters()) out.push_back(p.detach().clone());
  return out;
}

// Two ranks as two threads on loopback: each starts from different weights and trains on its
// own patch; after the broadcast and three averaged steps both hold the very same weights,
// and they match one process that trains on both patches as one batch of two.
TEST(DataParallel, TwoRanksStayIdenticalAndEqualTheCombinedBatch) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without Gloo";
  constexpr int kSteps = 3;
  torch::manual_seed(7);
  const auto x = torch::randn({2, 1, 8, 8, 8});
  const auto y = torch::randint(0, 8, {2, 8, 8, 8});
  const auto coords = torch::zeros({1, 3, 8, 8, 8});
  UNet3d nets[2] = {tiny_unet(1), tiny_unet(2)};
  const auto initial = values(nets[0]);
  on_two_ranks([&](DataParallel& dp, int rank) {
    auto params = nets[rank]->parameters();
    dp.broadcast(params);
    torch::optim::Adam adam(params, torch::optim::AdamOptions(1e-2));
    for (int s = 0; s < kSteps; ++s) {
      adam.zero_grad();
      dice_loss(nets[rank]->forward(x.narrow(0, rank, 1), coords), y.narrow(0, rank, 1)).backward();
      dp.average_gradients(params, /*bucket_bytes=*/256);  // small buckets: several all-reduces
      adam.step();
    }
    dp.barrier();
  });

  // One process, rank 0's initial weights, both patches in one batch.
  UNet3d single = tiny_unet(3);
  {
    torch::NoGradGuard no_grad;
    auto p = single->parameters();
    for (size_t i = 0; i < p.size(); ++i) p[i].copy_(initial[i]);
  }
  torch::optim::Adam adam(single->parameters(), torch::optim::AdamOptions(1e-2));
  for (int s = 0; s < kSteps; ++s) {
    adam.zero_grad();
    dice_loss(single->forward(x, coords.expand({2, 3, 8, 8, 8})), y).backward();
    adam.step();
  }
  const auto a = values(nets[0]), b = values(nets[1]), c = values(single);
  ASSERT_EQ(a.size(), c.size());
  double moved = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i << " differs between the ranks";
    EXPECT_TRUE(torch::allclose(a[i], c[i], 1e-4, 1e-5)) << "parameter " << i << " differs from the combined batch";
    moved = std::max(moved, (a[i] - initial[i]).abs().max().item<double>());
  }
  EXPECT_GT(moved, 1e-3);  // the steps did change the weights
}

// The overlapped path the trainer uses: gradients all-reduced bucket by bucket from hooks
// during backward (many small buckets here), then finished. It gives the combined batch's
// gradients, identical on both ranks; a parameter backward never reached averages to zero.
TEST(DataParallel, BucketsAllReducedDuringBackwardGiveTheCombinedGradient) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without Gloo";
  torch::manual_seed(11);
  const auto x = torch::randn({2, 1, 8, 8, 8});
  const auto y = torch::randint(0, 8, {2, 8, 8, 8});
  const auto coords = torch::zeros({1, 3, 8, 8, 8});
  UNet3d nets[2] = {tiny_unet(4), tiny_unet(4)};
  torch::Tensor unused[2] = {torch::ones({3}, torch::requires_grad()), torch::ones({3}, torch::requires_grad())};
  std::vector<torch::Tensor> grads[2];
  on_two_ranks([&](DataParallel& dp, int rank) {
    auto params = nets[rank]->parameters();
    params.push_back(unused[rank]);
    dp.attach(params, /*bucket_bytes=*/512);
    for (int step = 0; step < 2; ++step) {  // twice: the buckets reset between steps
      for (auto& p : params) p.mutable_grad() = torch::Tensor();
      dice_loss(nets[rank]->forward(x.narrow(0, rank, 1), coords), y.narrow(0, rank, 1)).backward();
      dp.finish_gradients();
    }
    for (const auto& p : params) grads[rank].push_back(p.grad().clone());
  });
  UNet3d single = tiny_unet(4);
  dice_loss(single->forward(x, coords.expand({2, 3, 8, 8, 8})), y).backward();
  const auto expected = single->parameters();
  ASSERT_EQ(grads[0].size(), expected.size() + 1);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::equal(grads[0][i], grads[1][i])) << "gradient " << i << " differs between the ranks";
    EXPECT_TRUE(torch::allclose(grads[0][i], expected[i].grad(), 1e-4, 1e-6)) << "gradient " << i;
  }
  EXPECT_TRUE(torch::equal(grads[0].back(), torch::zeros({3})));
}

// A lone rank of a run of two gives up within the timeout with a one-line error.
TEST(DataParallel, ALoneRankFailsWithinTheTimeout) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without Gloo";
  const int port = free_port();
  const auto start = std::chrono::steady_clock::now();
  try {
    DataParallel dp(rank_env(1, 2, port), std::chrono::seconds(2));
    FAIL() << "joined a run with no rank 0";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("rendezvous at 127.0.0.1:" + std::to_string(port) + ": ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_EQ(e.exit_code(), 1);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 15.0);
}

// When a rank goes away after the rendezvous, the others' next all-reduce fails with an
// error instead of waiting for it (here the other rank's group is destroyed, closing its
// connections as a killed process's would): a one-line data error (exit code 1).
TEST(DataParallel, ARankThatLeavesMakesTheOthersFail) {
  if (!DataParallel::available()) GTEST_SKIP() << "built without Gloo";
  const int port = free_port();
  std::unique_ptr<DataParallel> leaver;
  std::thread t1([&] { leaver = std::make_unique<DataParallel>(rank_env(1, 2, port), std::chrono::seconds(30)); });
  DataParallel stayer(rank_env(0, 2, port), std::chrono::seconds(5));
  t1.join();
  leaver.reset();
  const auto w = torch::ones({4}, torch::requires_grad());
  w.mutable_grad() = torch::ones({4});
  const auto start = std::chrono::steady_clock::now();
  try {
    stayer.average_gradients({w});
    FAIL() << "all-reduce with a departed rank succeeded";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("data-parallel all-reduce: ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_EQ(e.exit_code(), 1);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);
}

std::string usage_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  return "(no error)";
}

// MULTI_GPU's ids are checked against the GPUs present; the error names them and --gpus.
TEST(DataParallel, MissingGpusAreNamedWithTheOnesPresent) {
  EXPECT_EQ(usage_message([] { check_gpus({"6", "7"}, 1, "MULTI_GPU"); }),
            "MULTI_GPU: lists GPUs 6, 7, which this machine does not have (it has GPU 0); choose with --gpus, e.g. --gpus 0");
  EXPECT_EQ(usage_message([] { check_gpus({"0", "4", "x"}, 4, "--gpus"); }),
            "--gpus: lists GPUs 4, x, which this machine does not have (it has GPUs 0, 1, 2, 3); choose with --gpus, "
            "e.g. --gpus 0");
  EXPECT_EQ(usage_message([] { check_gpus({"0", "3"}, 4, "MULTI_GPU"); }), "(no error)");
  EXPECT_EQ(usage_message([] { check_gpus({}, 1, "MULTI_GPU"); }), "(no error)");
}

TEST(DataParallel, BackendsAndRanksToStart) {
  if (DataParallel::available("gloo")) {
    EXPECT_EQ(DataParallel::resolve_backend("auto", false), "gloo");
  }
  EXPECT_EQ(usage_message([] { DataParallel::resolve_backend("mpi", false); }),
            "--backend: expected auto, gloo or nccl, got 'mpi'");
  EXPECT_EQ(usage_message([] { DataParallel::resolve_backend("nccl", false); }),
            "--backend: nccl needs CUDA tensors; on CPU use gloo");
  // On the CPU, MULTI_GPU does not start ranks; --nproc does.
  EXPECT_EQ(ranks_to_start("cpu", {"6", "7"}, 0, "MULTI_GPU"), 1);
  EXPECT_EQ(ranks_to_start("cpu", {"6", "7"}, 3, "MULTI_GPU"), 3);
  EXPECT_EQ(usage_message([] { ranks_to_start("cpu", {"0"}, 0, "--gpus"); }),
            "--gpus: this run is on the CPU (no CUDA GPU in this build or machine); use --nproc N for N CPU ranks");
  EXPECT_EQ(usage_message([] { ranks_to_start("cpu", {}, -1, "MULTI_GPU"); }),
            "--nproc: expected a number of ranks >= 1, got -1");
  if (torch::cuda::is_available()) {
    const int n = static_cast<int>(torch::cuda::device_count());
    EXPECT_EQ(ranks_to_start("cuda", {"0"}, 0, "--gpus"), 1);
    EXPECT_EQ(ranks_to_start("cuda", {"0", "0"}, 0, "--gpus"), 2);  // two ranks may share a GPU (Gloo)
    EXPECT_NE(usage_message([] { ranks_to_start("cuda", {"99"}, 0, "MULTI_GPU"); }).find("(it has GPU"), std::string::npos);
    EXPECT_EQ(resolve_device("cuda", {}, 1 % n).str(), "cuda:" + std::to_string(1 % n));
  }
}

}  // namespace
}  // namespace coordseg
