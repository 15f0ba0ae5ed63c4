#include "coordseg/torch/data_parallel.h"

#include "coordseg/core/error.h"

#ifdef COORDSEG_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace coordseg {

#ifdef COORDSEG_WITH_GLOO

struct DataParallel::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

// c10d's messages run over several lines (with a C++ stack); the first says why.
std::string first_line(const std::exception& e) {
  const std::string what = e.what();
  return what.substr(0, what.find('\n'));
}

// Waits for a collective; a peer that died or timed out becomes a one-line data error.
void wait_for(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw data_error("data-parallel " + what, first_line(e));
  }
}

}  // namespace

bool DataParallel::available() { return true; }

DataParallel::DataParallel(const LaunchEnv& env, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), rank_(env.rank), world_(env.world_size) {
  const std::string where = "rendezvous at " + env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(env.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
  } catch (const std::exception& e) {
    throw data_error(where, first_line(e));
  }
}

DataParallel::~DataParallel() = default;

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) {
  for (const auto& t : tensors) {
    std::vector<torch::Tensor> one = {t.detach()};
    wait_for(impl_->group->broadcast(one), "broadcast");
  }
}

void DataParallel::average_gradients(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  size_t begin = 0;
  while (begin < grads.size()) {
    // A bucket: consecutive gradients of one dtype up to bucket_bytes (at least one).
    size_t end = begin;
    int64_t bytes = 0;
    while (end < grads.size() && grads[end].scalar_type() == grads[begin].scalar_type() &&
           (end == begin || bytes + grads[end].nbytes() <= static_cast<size_t>(bucket_bytes))) {
      bytes += static_cast<int64_t>(grads[end].nbytes());
      ++end;
    }
    std::vector<torch::Tensor> pieces;
    for (size_t i = begin; i < end; ++i) pieces.push_back(grads[i].reshape({-1}));
    std::vector<torch::Tensor> flat = {torch::cat(pieces)};
    wait_for(impl_->group->allreduce(flat), "all-reduce");
    flat[0].div_(world_);
    int64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      const int64_t n = grads[i].numel();
      grads[i].copy_(flat[0].narrow(0, offset, n).view_as(grads[i]));
      offset += n;
    }
    begin = end;
  }
}

void DataParallel::barrier() { wait_for(impl_->group->barrier(), "barrier"); }

#else  // built without Gloo

struct DataParallel::Impl {};

bool DataParallel::available() { return false; }

DataParallel::DataParallel(const LaunchEnv&, std::chrono::milliseconds) {
  throw usage_error("data-parallel training", "this build has no Gloo backend (install libgloo-dev and rebuild)");
}
DataParallel::~DataParallel() = default;
void DataParallel::broadcast(const std::vector<torch::Tensor>&) {}
void DataParallel::average_gradients(const std::vector<torch::Tensor>&, int64_t) {}
void DataParallel::barrier() {}

#endif

}  // namespace coordseg
