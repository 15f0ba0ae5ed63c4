// Starting and watching the ranks of a data-parallel run on this machine, as torchrun does:
// `coordseg train` does it for MULTI_GPU / --gpus / --nproc, `coordseg launch` for explicit
// control and several machines. Each worker is the same program with the rank's variables
// (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, and
// COORDSEG_WORKER=1 so that it does not start workers of its own). Torch-free.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace coordseg {

struct LaunchPlan {
  std::vector<std::string> argv;  // what each worker runs; argv[0] is the program's path
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;        // 0: a port of this machine that is free now (one machine only)
  double grace_seconds = 5;  // once a worker has failed, how long the others have to stop on their own
};

// Starts the plan's workers and waits for them. When one fails, the others get
// `grace_seconds` to stop by themselves (they do at once when a peer's connection drops),
// then SIGTERM, then SIGKILL. SIGINT and SIGTERM to this process are passed on to them.
// Returns 0 when every worker exited 0, else the first failure's exit status; a worker killed
// by a signal is reported on `err` ("coordseg: error: rank 1 (pid N) was killed by signal 9
// (Killed)") and counts as 1. Errors in the plan (a port in use, nothing to run) are usage errors.
int run_workers(const LaunchPlan& plan, std::ostream& err);

// A loopback TCP port that was free a moment ago.
int free_port();
// Whether a TCP port of this machine can be listened on now.
bool port_is_free(int port);
// This program's path and its own command line (from /proc/self), to start workers with.
std::string self_executable();
std::vector<std::string> self_arguments();
// Whether this process was started by run_workers.
bool is_launched_worker();

}  // namespace coordseg
