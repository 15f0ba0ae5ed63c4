// Makes batches 0..count-1 on background threads, `capacity` ahead of the consumer, and hands
// them out in order, so the network never waits for augmentation it could have overlapped.
// An exception thrown while making a batch is rethrown by next(). Records how long the
// consumer waited (the "waited" figure of the training log).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "coordseg/torch/sampler.h"

namespace coordseg {

class BatchLoader {
 public:
  BatchLoader(std::function<Batch(int64_t)> make, int64_t count, int threads, int64_t capacity = 4);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  Batch next();
  double wait_seconds() const { return wait_seconds_; }

 private:
  void work();

  std::function<Batch(int64_t)> make_;
  int64_t count_, capacity_;
  int64_t next_to_make_ = 0, next_to_take_ = 0;
  std::map<int64_t, Batch> ready_;
  std::exception_ptr error_;
  bool stop_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  double wait_seconds_ = 0;
};

}  // namespace coordseg
