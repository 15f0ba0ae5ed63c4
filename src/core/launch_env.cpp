#include "coordseg/core/launch_env.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "coordseg/core/error.h"

namespace coordseg {
namespace {

// The whole value as a decimal integer in [lo, hi], or a usage error naming the variable.
int int_var(const char* name, const char* value, long lo, long hi, const std::string& expected) {
  const std::string text = value;
  char* end = nullptr;
  errno = 0;
  const long v = text.empty() ? 0 : std::strtol(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || *end != '\0' || v < lo || v > hi)
    throw usage_error(name, "expected " + expected + ", got '" + text + "'");
  return static_cast<int>(v);
}

}  // namespace

LaunchEnv launch_env_from(const std::function<const char*(const char*)>& get) {
  LaunchEnv env;
  constexpr long kMax = std::numeric_limits<int>::max();
  const char* rank_name = nullptr;
  const char* world_name = nullptr;
  const char* local_name = nullptr;
  if (get("RANK") || get("WORLD_SIZE")) {
    rank_name = "RANK", world_name = "WORLD_SIZE", local_name = "LOCAL_RANK";
    env.launcher = "torchrun";
  } else if (get("SLURM_PROCID") && get("SLURM_NTASKS")) {
    rank_name = "SLURM_PROCID", world_name = "SLURM_NTASKS", local_name = "SLURM_LOCALID";
    env.launcher = "slurm";
  } else {
    return env;
  }
  if (!get(rank_name)) throw usage_error(rank_name, std::string("unset while ") + world_name + " is set");
  if (!get(world_name)) throw usage_error(world_name, std::string("unset while ") + rank_name + " is set");
  env.world_size = int_var(world_name, get(world_name), 1, kMax, "an integer >= 1");
  env.rank = int_var(rank_name, get(rank_name), 0, kMax, "an integer >= 0");
  if (env.rank >= env.world_size)
    throw usage_error(rank_name, std::to_string(env.rank) + " is not below " + world_name + " " +
                                     std::to_string(env.world_size));
  // Without a local rank (a one-process-per-node launch) the process uses device 0.
  if (const char* local = get(local_name)) env.local_rank = int_var(local_name, local, 0, kMax, "an integer >= 0");
  const char* local_world = get(env.launcher == "slurm" ? "SLURM_NTASKS_PER_NODE" : "LOCAL_WORLD_SIZE");
  // SLURM writes "2(x3),1" for uneven layouts; the first count is taken (it only divides the cores).
  if (local_world && env.launcher == "slurm") {
    const std::string v = local_world;
    env.local_world_size = int_var("SLURM_NTASKS_PER_NODE", v.substr(0, v.find_first_of("(,")).c_str(), 1, kMax, "an integer >= 1");
  } else if (local_world) {
    env.local_world_size = int_var("LOCAL_WORLD_SIZE", local_world, 1, kMax, "an integer >= 1");
  }
  if (const char* addr = get("MASTER_ADDR")) {
    if (*addr == '\0') throw usage_error("MASTER_ADDR", "set but empty");
    env.master_addr = addr;
  }
  if (const char* port = get("MASTER_PORT")) env.master_port = int_var("MASTER_PORT", port, 1, 65535, "1..65535");
  return env;
}

LaunchEnv launch_env() {
  return launch_env_from([](const char* name) { return std::getenv(name); });
}

}  // namespace coordseg
