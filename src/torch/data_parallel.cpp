#include "coordseg/torch/data_parallel.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "coordseg/core/error.h"

#ifdef COORDSEG_WITH_GLOO
#include <c10/util/Logging.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef COORDSEG_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace coordseg {

uint64_t tensor_digest(const std::vector<torch::Tensor>& tensors) {
  uint64_t h = 1469598103934665603ull;
  for (const auto& t : tensors) {
    const torch::Tensor host = t.detach().to(torch::kCPU).contiguous();
    const auto* p = static_cast<const unsigned char*>(host.data_ptr());
    for (size_t i = 0, n = host.nbytes(); i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  return h;
}

bool DataParallel::available(const std::string& backend) {
#ifdef COORDSEG_WITH_GLOO
  if (backend == "gloo") return true;
#endif
#ifdef COORDSEG_WITH_NCCL
  if (backend == "nccl") return true;
#endif
  (void)backend;
  return false;
}

std::string DataParallel::resolve_backend(const std::string& name, bool cuda) {
  const std::string b = name == "auto" ? (cuda && available("nccl") ? "nccl" : "gloo") : name;
  if (b != "gloo" && b != "nccl") throw usage_error("--backend", "expected auto, gloo or nccl, got '" + name + "'");
  if (b == "nccl" && !cuda) throw usage_error("--backend", "nccl needs CUDA tensors; on CPU use gloo");
  if (!available(b))
    throw usage_error("--backend", b == "nccl" ? "this build has no NCCL (it needs a LibTorch with CUDA); use gloo"
                                               : "this build has no Gloo (install libgloo-dev and rebuild)");
  return b;
}

#ifdef COORDSEG_WITH_GLOO

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

// One of the two process groups; Gloo's tensors are staged through the host, NCCL's stay on
// the device. (Holding the concrete classes avoids c10d's ProcessGroup/Backend split of 2.0.)
struct DataParallel::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef COORDSEG_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  torch::Device device{torch::kCPU};  // where the tensors of a collective must be

  // Gradient buckets of attach(): each a flat buffer on `device` and its all-reduce.
  struct Bucket {
    std::vector<size_t> members;  // parameter indices
    std::vector<int64_t> offsets;
    torch::Tensor flat;
    int pending = 0;  // members whose gradient has not arrived this step
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<torch::Tensor> attached;
  std::vector<std::pair<size_t, size_t>> slot;  // per parameter: bucket, member
  std::vector<bool> arrived;                    // per parameter, this step
  std::vector<Bucket> buckets;
  size_t next_launch = 0;
  std::mutex mutex;  // hooks may run on autograd's device threads

  // Buckets of at most `bucket_bytes` (at least one parameter each) of one dtype, from the
  // last parameter to the first, as backward produces them; zero-filled buffers on `device`.
  std::vector<Bucket> plan(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes) const {
    std::vector<Bucket> out;
    std::vector<int64_t> sizes;  // elements per bucket
    for (size_t k = parameters.size(); k-- > 0;) {
      const auto& p = parameters[k];
      const auto item = static_cast<int64_t>(p.element_size());
      if (out.empty() || out.back().flat.scalar_type() != p.scalar_type() ||
          (sizes.back() > 0 && (sizes.back() + p.numel()) * item > bucket_bytes)) {
        out.emplace_back();
        out.back().flat = torch::empty({0}, p.options().device(device).requires_grad(false));
        sizes.push_back(0);
      }
      out.back().members.push_back(k);
      out.back().offsets.push_back(sizes.back());
      sizes.back() += p.numel();
    }
    for (size_t i = 0; i < out.size(); ++i) {
      out[i].flat = torch::zeros({sizes[i]}, out[i].flat.options());
      out[i].pending = static_cast<int>(out[i].members.size());
    }
    return out;
  }

  // Waits for every bucket's all-reduce (all of them, reporting the first failure) and writes
  // the means over `world` ranks into the members' .grad.
  void finish(std::vector<Bucket>& all, const std::vector<torch::Tensor>& parameters, int world) const {
    std::string failure;
    for (auto& b : all) {
      try {
        wait_for(b.work, "all-reduce");
      } catch (const Error& e) {
        if (failure.empty()) failure = e.reason();
        continue;
      }
      b.flat.div_(world);
      for (size_t m = 0; m < b.members.size(); ++m) {
        const torch::Tensor& p = parameters[b.members[m]];
        const torch::Tensor mean = b.flat.narrow(0, b.offsets[m], p.numel()).view(p.sizes());
        if (p.grad().defined()) p.mutable_grad().copy_(mean);
        else p.mutable_grad() = mean.to(p.device()).clone();
      }
    }
    if (!failure.empty()) throw data_error("data-parallel all-reduce", failure);
  }

  bool on_device() const { return device.is_cuda(); }
  c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& t, c10d::ReduceOp op = c10d::ReduceOp::SUM) {
    c10d::AllreduceOptions o;
    o.reduceOp = op;
#ifdef COORDSEG_WITH_NCCL
    if (nccl) return nccl->allreduce(t, o);
#endif
    return gloo->allreduce(t, o);
  }
  c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& t) {
#ifdef COORDSEG_WITH_NCCL
    if (nccl) return nccl->broadcast(t);
#endif
    return gloo->broadcast(t);
  }
  c10::intrusive_ptr<c10d::Work> barrier() {
#ifdef COORDSEG_WITH_NCCL
    if (nccl) return nccl->barrier();
#endif
    return gloo->barrier();
  }
};


DataParallel::DataParallel(const LaunchEnv& env, std::chrono::milliseconds timeout, const std::string& backend,
                           torch::Device device)
    : impl_(std::make_unique<Impl>()), rank_(env.rank), world_(env.world_size), backend_(backend) {
  const std::string where = "rendezvous at " + env.master_addr + ":" + std::to_string(env.master_port);
  if (!available(backend)) resolve_backend(backend, device.is_cuda());  // throws the reason
  impl_->device = backend == "nccl" ? device : torch::Device(torch::kCPU);
  // c10d logs each failed connection attempt on stderr (glog) before it throws; the error
  // this class throws says the same on one line. TORCH_CPP_LOG_LEVEL, if the user set it, wins.
  if (!std::getenv("TORCH_CPP_LOG_LEVEL")) {
    ::setenv("TORCH_CPP_LOG_LEVEL", "FATAL", 0);
    c10::initLogging();
  }
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(env.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
  } catch (const std::exception& e) {
    const std::string why = first_line(e);
    if (env.rank == 0 && (why.find("EADDRINUSE") != std::string::npos || why.find("already in use") != std::string::npos))
      throw data_error(where, "port " + std::to_string(env.master_port) +
                                  " is in use on this machine; choose another with --master-port (or MASTER_PORT)");
    throw data_error(where, why);
  }
  try {
#ifdef COORDSEG_WITH_NCCL
    if (backend == "nccl") {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, env.rank, env.world_size, options);
      return;
    }
#endif
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
  } catch (const std::exception& e) {
    throw data_error(where, first_line(e));
  }
}

DataParallel::~DataParallel() = default;

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    std::vector<torch::Tensor> one = {t.detach().to(impl_->device).contiguous()};
    wait_for(impl_->broadcast(one), "broadcast");
    if (one[0].data_ptr() != t.data_ptr()) t.detach().copy_(one[0]);
  }
}

void DataParallel::broadcast_bytes(std::string& bytes) {
  std::vector<torch::Tensor> size = {torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64).to(impl_->device)};
  wait_for(impl_->broadcast(size), "broadcast");
  const int64_t n = size[0].item<int64_t>();
  torch::Tensor host = torch::empty({n}, torch::kUInt8);
  if (rank_ == 0) std::memcpy(host.data_ptr(), bytes.data(), static_cast<size_t>(n));
  std::vector<torch::Tensor> data = {host.to(impl_->device)};
  wait_for(impl_->broadcast(data), "broadcast");
  if (rank_ != 0) {
    host = data[0].to(torch::kCPU).contiguous();
    bytes.assign(static_cast<const char*>(host.data_ptr()), static_cast<size_t>(n));
  }
}

void DataParallel::average_gradients(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  // attach()'s buckets, filled from .grad after backward instead of during it.
  std::vector<Impl::Bucket> buckets = impl_->plan(parameters, bucket_bytes);
  for (auto& b : buckets) {
    for (size_t m = 0; m < b.members.size(); ++m) {
      const torch::Tensor& g = parameters[b.members[m]].grad();
      if (g.defined()) b.flat.narrow(0, b.offsets[m], g.numel()).copy_(g.reshape({-1}));
    }
    std::vector<torch::Tensor> t = {b.flat};
    b.work = impl_->allreduce(t);
  }
  impl_->finish(buckets, parameters, world_);
}

std::vector<double> DataParallel::sum(const std::vector<double>& values) {
  std::vector<torch::Tensor> t = {
      torch::tensor(values.empty() ? std::vector<double>{0.0} : values, torch::kFloat64).to(impl_->device)};
  wait_for(impl_->allreduce(t), "all-reduce");
  const torch::Tensor host = t[0].to(torch::kCPU).contiguous();
  const double* p = host.data_ptr<double>();
  return std::vector<double>(p, p + values.size());
}

bool DataParallel::agree(uint64_t value) {
  // The maximum of the value and of its negation over the ranks: equal ranks give max == -(-max).
  const auto hi = static_cast<int64_t>(value >> 32), lo = static_cast<int64_t>(value & 0xffffffffu);
  std::vector<torch::Tensor> t = {torch::tensor({hi, lo, -hi, -lo}, torch::kInt64).to(impl_->device)};
  wait_for(impl_->allreduce(t, c10d::ReduceOp::MAX), "all-reduce");
  const torch::Tensor m = t[0].to(torch::kCPU);
  return m[0].item<int64_t>() == -m[2].item<int64_t>() && m[1].item<int64_t>() == -m[3].item<int64_t>();
}

void DataParallel::barrier() { wait_for(impl_->barrier(), "barrier"); }

void DataParallel::attach(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes) {
  Impl& im = *impl_;
  im.attached = parameters;
  im.slot.assign(parameters.size(), {0, 0});
  im.arrived.assign(parameters.size(), false);
  im.buckets.clear();
  im.buckets = im.plan(parameters, bucket_bytes);
  for (size_t bi = 0; bi < im.buckets.size(); ++bi)
    for (size_t mi = 0; mi < im.buckets[bi].members.size(); ++mi) im.slot[im.buckets[bi].members[mi]] = {bi, mi};
  for (auto& b : im.buckets) b.pending = static_cast<int>(b.members.size());
  for (size_t k = 0; k < parameters.size(); ++k) {
    torch::Tensor p = parameters[k];
    p.register_hook([this, k](const torch::Tensor& grad) {
      Impl& i = *impl_;
      const std::lock_guard<std::mutex> lock(i.mutex);
      const auto [bi, mi] = i.slot[k];
      Impl::Bucket& b = i.buckets[bi];
      b.flat.narrow(0, b.offsets[mi], grad.numel()).copy_(grad.reshape({-1}));
      if (!i.arrived[k]) {
        i.arrived[k] = true;
        --b.pending;
      }
      // Start every whole bucket in order: the ranks' collectives must match one to one.
      while (i.next_launch < i.buckets.size() && i.buckets[i.next_launch].pending == 0) {
        std::vector<torch::Tensor> t = {i.buckets[i.next_launch].flat};
        i.buckets[i.next_launch].work = i.allreduce(t);
        ++i.next_launch;
      }
    });
  }
}

void DataParallel::finish_gradients() {
  Impl& im = *impl_;
  torch::NoGradGuard no_grad;
  const std::lock_guard<std::mutex> lock(im.mutex);
  // Parameters backward did not reach contribute zeros; their buckets start now, in order.
  for (size_t k = 0; k < im.attached.size(); ++k)
    if (!im.arrived[k]) {
      const auto [bi, mi] = im.slot[k];
      im.buckets[bi].flat.narrow(0, im.buckets[bi].offsets[mi], im.attached[k].numel()).zero_();
    }
  for (; im.next_launch < im.buckets.size(); ++im.next_launch) {
    std::vector<torch::Tensor> t = {im.buckets[im.next_launch].flat};
    im.buckets[im.next_launch].work = im.allreduce(t);
  }
  std::string failure;
  try {
    im.finish(im.buckets, im.attached, world_);
  } catch (const Error& e) {
    failure = e.reason();
  }
  im.next_launch = 0;
  std::fill(im.arrived.begin(), im.arrived.end(), false);
  for (auto& b : im.buckets) {
    b.pending = static_cast<int>(b.members.size());
    b.work.reset();
  }
  if (!failure.empty()) throw data_error("data-parallel all-reduce", failure);
}

#else  // built without Gloo

struct DataParallel::Impl {};

DataParallel::DataParallel(const LaunchEnv&, std::chrono::milliseconds, const std::string& backend, torch::Device device) {
  resolve_backend(backend, device.is_cuda());  // throws: no backend in this build
  throw usage_error("--backend", "this build has no Gloo (install libgloo-dev and rebuild)");
}
DataParallel::~DataParallel() = default;
void DataParallel::broadcast(const std::vector<torch::Tensor>&) {}
void DataParallel::broadcast_bytes(std::string&) {}
void DataParallel::average_gradients(const std::vector<torch::Tensor>&, int64_t) {}
std::vector<double> DataParallel::sum(const std::vector<double>& values) { return values; }
bool DataParallel::agree(uint64_t) { return true; }
void DataParallel::barrier() {}
void DataParallel::attach(const std::vector<torch::Tensor>&, int64_t) {}
void DataParallel::finish_gradients() {}

#endif

}  // namespace coordseg
