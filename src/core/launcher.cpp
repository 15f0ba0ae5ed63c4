#include "coordseg/core/launcher.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <ostream>
#include <thread>

#include "coordseg/core/error.h"
#include "coordseg/core/stopwatch.h"

namespace coordseg {
namespace {

// The workers of the current run_workers call, for the signal handler.
constexpr int kMaxWorkers = 1024;
volatile sig_atomic_t g_count = 0;
pid_t g_pids[kMaxWorkers];
volatile sig_atomic_t g_signal = 0;

extern "C" void forward_signal(int sig) {
  g_signal = sig;
  for (sig_atomic_t i = 0; i < g_count; ++i)
    if (g_pids[i] > 0) ::kill(g_pids[i], sig);
}

// Restores the previous handlers when run_workers returns.
class SignalForwarding {
 public:
  SignalForwarding() {
    struct sigaction a {};
    a.sa_handler = forward_signal;
    sigemptyset(&a.sa_mask);
    ::sigaction(SIGINT, &a, &old_int_);
    ::sigaction(SIGTERM, &a, &old_term_);
  }
  ~SignalForwarding() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    g_count = 0;
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

int bound_port(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(port == 0 ? INADDR_LOOPBACK : INADDR_ANY);
  a.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof a;
  int result = -1;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    result = ntohs(a.sin_port);
  ::close(s);
  return result;
}

}  // namespace

int free_port() {
  const int p = bound_port(0);
  if (p <= 0) throw data_error("data-parallel launch", "cannot find a free TCP port on this machine");
  return p;
}

bool port_is_free(int port) { return bound_port(port) == port; }

std::string self_executable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw data_error("/proc/self/exe", "cannot find this program's path to start workers");
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> self_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t at = 0; at < all.size();) {
    const size_t end = all.find('\0', at);
    args.push_back(all.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return args;
}

bool is_launched_worker() {
  const char* v = std::getenv("COORDSEG_WORKER");
  return v && std::strcmp(v, "1") == 0;
}

int run_workers(const LaunchPlan& plan, std::ostream& err) {
  if (plan.argv.empty()) throw usage_error("launch", "no command to run (put it after --, e.g. -- train ...)");
  if (plan.nproc_per_node < 1 || plan.nproc_per_node > kMaxWorkers)
    throw usage_error("--nproc-per-node", "expected 1.." + std::to_string(kMaxWorkers) + ", got " +
                                              std::to_string(plan.nproc_per_node));
  if (plan.nnodes < 1) throw usage_error("--nnodes", "expected at least 1, got " + std::to_string(plan.nnodes));
  if (plan.node_rank < 0 || plan.node_rank >= plan.nnodes)
    throw usage_error("--node-rank", std::to_string(plan.node_rank) + " is not below --nnodes " + std::to_string(plan.nnodes));
  if (plan.master_port == 0 && plan.nnodes > 1)
    throw usage_error("--master-port", "a run over several machines needs a fixed port that every machine uses");
  if (plan.master_port < 0 || plan.master_port > 65535)
    throw usage_error("--master-port", "expected 1..65535, got " + std::to_string(plan.master_port));
  const int port = plan.master_port == 0 ? free_port() : plan.master_port;
  // Rank 0 listens on the port: refuse a busy one here, once, before any worker starts.
  if (plan.node_rank == 0 && plan.master_port != 0 && !port_is_free(port))
    throw usage_error("--master-port", "port " + std::to_string(port) +
                                           " is in use on this machine; choose another (or set MASTER_PORT)");

  const int world = plan.nnodes * plan.nproc_per_node;
  std::vector<pid_t> pids(static_cast<size_t>(plan.nproc_per_node), -1);
  SignalForwarding forwarding;
  g_signal = 0;
  std::vector<char*> argv;
  for (const auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (int local = 0; local < plan.nproc_per_node; ++local) {
    const int rank = plan.node_rank * plan.nproc_per_node + local;
    const pid_t pid = ::fork();
    if (pid < 0) {
      forward_signal(SIGTERM);
      throw data_error("data-parallel launch", system_reason("cannot start worker " + std::to_string(rank), errno));
    }
    if (pid == 0) {
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(plan.nproc_per_node).c_str(), 1);
      ::setenv("MASTER_ADDR", plan.master_addr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv("COORDSEG_WORKER", "1", 1);
      ::execv(argv[0], argv.data());
      const std::string msg = "coordseg: error: " + plan.argv[0] + ": cannot start a worker: " + std::strerror(errno) + "\n";
      (void)!::write(STDERR_FILENO, msg.data(), msg.size());
      ::_exit(1);
    }
    pids[static_cast<size_t>(local)] = pid;
    g_pids[local] = pid;
    g_count = local + 1;
  }

  int first_failure = 0, running = plan.nproc_per_node;
  Clock::time_point failed_at{};
  bool terminated = false, killed = false;
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      int local = 0;
      while (local < plan.nproc_per_node && pids[static_cast<size_t>(local)] != pid) ++local;
      if (local == plan.nproc_per_node) continue;  // not ours
      pids[static_cast<size_t>(local)] = -1;
      g_pids[local] = -1;
      --running;
      const int rank = plan.node_rank * plan.nproc_per_node + local;
      int code = 0;
      if (WIFEXITED(status)) {
        code = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        code = 1;
        // Workers this launcher stopped, or that a forwarded signal stopped, are not news.
        if (!terminated && g_signal == 0)
          print_error(err, "rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ") was killed by signal " +
                               std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")");
      }
      if (code != 0 && first_failure == 0) {
        first_failure = code;
        failed_at = Clock::now();
      }
      continue;
    }
    if (pid < 0 && errno != EINTR) break;
    if (first_failure != 0) {
      const double waited = seconds_since(failed_at);
      if (!terminated && waited > plan.grace_seconds) {
        terminated = true;
        for (const pid_t p : pids)
          if (p > 0) ::kill(p, SIGTERM);
      } else if (terminated && !killed && waited > plan.grace_seconds + 5) {
        killed = true;
        for (const pid_t p : pids)
          if (p > 0) ::kill(p, SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (first_failure == 0 && g_signal != 0) return 128 + g_signal;
  return first_failure;
}

}  // namespace coordseg
