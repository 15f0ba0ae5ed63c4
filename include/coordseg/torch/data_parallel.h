// Data-parallel training on PyTorch's c10d (issue 11): one process (or thread) per rank, a
// TCPStore for the rendezvous (rank 0 serves it at MASTER_ADDR:MASTER_PORT) and a process
// group: Gloo (CPU tensors, or CUDA tensors staged through the host) or NCCL (CUDA). What the
// trainer needs of it: the same initial weights and optimiser state on every rank (broadcast
// from rank 0), gradients averaged over the ranks after backward, so that every rank's
// optimiser takes the same step, sums of validation counts, and a check that the ranks agree.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coordseg/core/launch_env.h"

namespace coordseg {

class DataParallel {
 public:
  // "auto" is NCCL when `cuda` and this build has it, else Gloo; "gloo" and "nccl" as named.
  // A backend this build lacks, or NCCL without CUDA, is a usage error naming --backend.
  static std::string resolve_backend(const std::string& name, bool cuda);
  // Whether this build has the backend ("gloo" or "nccl"; their headers found at configure time).
  static bool available(const std::string& backend = "gloo");

  // Joins the run `env` describes, waiting at most `timeout` for the store and the other
  // ranks; a rank that cannot reach them throws data_error("rendezvous at ADDR:PORT", ...).
  // A port in use on rank 0 is named as such. Collectives then also fail after `timeout`.
  // `device` is where NCCL's tensors live (Gloo works on the host).
  DataParallel(const LaunchEnv& env, std::chrono::milliseconds timeout, const std::string& backend = "gloo",
               torch::Device device = torch::kCPU);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_; }
  const std::string& backend() const { return backend_; }

  // The collectives below throw data_error("data-parallel all-reduce", ...) (or broadcast,
  // barrier) when another rank has gone or does not answer within the timeout.
  // Rank 0's values into every rank's tensors, in place (parameters, buffers).
  void broadcast(const std::vector<torch::Tensor>& tensors);
  // Rank 0's bytes (a serialised checkpoint) into every rank's `bytes`.
  void broadcast_bytes(std::string& bytes);
  // Every parameter's .grad replaced by its mean over the ranks (a parameter without a
  // gradient counts as zeros). Gradients travel in flat buckets of about `bucket_bytes`.
  void average_gradients(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes = 25 << 20);
  // The same, overlapped with backward: attach() registers a hook on each parameter that
  // copies its gradient into a bucket as backward produces it, and starts that bucket's
  // all-reduce as soon as the bucket is whole (buckets in reverse parameter order, started in
  // the same order on every rank). finish_gradients(), after backward, waits for them and
  // writes the means into .grad (a parameter backward did not reach counts as zeros). The
  // hooks stay on the parameters: this object must outlive every backward through them.
  void attach(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes = 25 << 20);
  void finish_gradients();
  // The element-wise sum over the ranks of a float64 vector (losses, Dice counts).
  std::vector<double> sum(const std::vector<double>& values);
  // Whether every rank passed the same value (a digest of the parameters).
  bool agree(uint64_t value);
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
  std::string backend_;
};

// FNV-1a over the bytes of the tensors (moved to the host), in order: equal digests mean
// bit-identical values, up to the odds of a 64-bit collision.
uint64_t tensor_digest(const std::vector<torch::Tensor>& tensors);

}  // namespace coordseg
