// Data-parallel training on PyTorch's c10d (issue 11): one process (or thread) per rank, a
// TCPStore for the rendezvous (rank 0 serves it at MASTER_ADDR:MASTER_PORT) and a Gloo
// process group. What the trainer needs of it: the same initial weights on every rank
// (broadcast from rank 0) and gradients averaged over the ranks after backward, so that
// every rank's optimiser takes the same step. The trainer does not use it yet.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <vector>

#include "coordseg/core/launch_env.h"

namespace coordseg {

class DataParallel {
 public:
  // Joins the run `env` describes, waiting at most `timeout` for the store and the other
  // ranks; a rank that cannot reach them throws data_error("rendezvous at ADDR:PORT", ...).
  DataParallel(const LaunchEnv& env, std::chrono::milliseconds timeout);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_; }

  // The collectives below throw data_error("data-parallel all-reduce", ...) (or broadcast,
  // barrier) when another rank has gone or does not answer within the timeout.
  // Rank 0's values into every rank's tensors, in place (parameters, buffers).
  void broadcast(const std::vector<torch::Tensor>& tensors);
  // Every parameter's .grad replaced by its mean over the ranks (a parameter without a
  // gradient counts as zeros). Gradients travel in flat buckets of about `bucket_bytes`.
  void average_gradients(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes = 25 << 20);
  void barrier();

  // Whether this build has the Gloo backend (its headers were found at configure time).
  static bool available();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
};

}  // namespace coordseg
