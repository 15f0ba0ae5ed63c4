// Time of the data-parallel gradient all-reduce for the reference network (base 32, depth 5,
// 22.4 M parameters, as configs/ct_train.json builds it): ranks as threads of one process on
// Gloo over loopback, DataParallel::average_gradients (the trainer's buckets, all-reduced after
// backward rather than during it), at three bucket sizes.
// Prints milliseconds per all-reduce (median of the repeats) and the gradient bytes per second.
// Run: build/bench/allreduce [RANKS=2] [REPEATS=10]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "coordseg/core/launcher.h"
#include "coordseg/torch/checkpoint.h"
#include "coordseg/torch/data_parallel.h"

using namespace coordseg;

int main(int argc, char** argv) {
  const int ranks = argc > 1 ? std::atoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 10;
  at::set_num_threads(1);
  const TrainConfig c = TrainConfig::from_file(COORDSEG_REFERENCE_PARAMS "/ct_train.json");
  std::vector<UNet3d> nets;
  for (int r = 0; r < ranks; ++r) {
    nets.push_back(make_unet(c));
    for (auto& p : nets.back()->parameters()) p.mutable_grad() = torch::randn_like(p);
  }
  const int64_t params = nets[0]->parameter_count();
  std::printf("all-reduce of %lld gradients (%.1f MB fp32), %d ranks, Gloo on loopback, %u cores\n",
              static_cast<long long>(params), params * 4 / 1e6, ranks, std::thread::hardware_concurrency());
  for (const int64_t bucket_mb : {1, 25, 100}) {
    const int port = free_port();
    std::vector<double> seconds;
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
      threads.emplace_back([&, r] {
        LaunchEnv env;
        env.rank = r;
        env.world_size = ranks;
        env.master_port = port;
        DataParallel dp(env, std::chrono::seconds(60));
        const auto parameters = nets[static_cast<size_t>(r)]->parameters();
        dp.average_gradients(parameters, bucket_mb << 20);  // warm-up: connections, buffers
        for (int i = 0; i < repeats; ++i) {
          dp.barrier();
          const auto t0 = std::chrono::steady_clock::now();
          dp.average_gradients(parameters, bucket_mb << 20);
          if (r == 0) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
      });
    for (auto& t : threads) t.join();
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds[seconds.size() / 2];
    std::printf("bucket %3lld MB: %7.1f ms per all-reduce (min %.1f, max %.1f), %.2f GB/s of gradients\n",
                static_cast<long long>(bucket_mb), median * 1e3, seconds.front() * 1e3, seconds.back() * 1e3,
                params * 4 / median / 1e9);
  }
  return 0;
}
