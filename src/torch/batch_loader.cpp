#include "coordseg/torch/batch_loader.h"

#include "coordseg/core/stopwatch.h"

namespace coordseg {

BatchLoader::BatchLoader(std::function<Batch(int64_t)> make, int64_t count, int threads, int64_t capacity)
    : make_(std::move(make)), count_(count), capacity_(std::max<int64_t>(capacity, threads)) {
  for (int t = 0; t < std::max(1, threads); ++t) threads_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void BatchLoader::work() {
  for (;;) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || (next_to_make_ < count_ && next_to_make_ < next_to_take_ + capacity_); });
      if (stop_) return;
      index = next_to_make_++;
    }
    Batch b;
    try {
      b = make_(index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_[index] = std::move(b);
    }
    cv_.notify_all();
  }
}

Batch BatchLoader::next() {
  const auto t0 = Clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return error_ || ready_.count(next_to_take_); });
  if (error_) std::rethrow_exception(error_);
  Batch b = std::move(ready_[next_to_take_]);
  ready_.erase(next_to_take_++);
  lock.unlock();
  cv_.notify_all();
  wait_seconds_ += seconds_since(t0);
  return b;
}

}  // namespace coordseg
