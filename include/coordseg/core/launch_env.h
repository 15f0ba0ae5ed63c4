// Where this process stands in a data-parallel run, read from the environment that a launcher
// leaves: torchrun and `coordseg launch` set RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and
// MASTER_PORT; SLURM's srun sets SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID (the master's
// address and port still come from MASTER_ADDR / MASTER_PORT, which a batch script exports).
// torchrun's names win where both are set. With none of them the process is a run of one.
// Torch-free: the process group itself is built in the torch layer from this.
#pragma once

#include <functional>
#include <string>

namespace coordseg {

struct LaunchEnv {
  int rank = 0;        // 0 .. world_size - 1
  int local_rank = 0;  // rank on this machine: the GPU it uses
  int world_size = 1;
  int local_world_size = 1;  // ranks on this machine (LOCAL_WORLD_SIZE, SLURM_NTASKS_PER_NODE): they share its cores
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher = "none";  // "none", "torchrun" (RANK/WORLD_SIZE) or "slurm"

  // Several ranks, or one started by torchrun / `coordseg launch` (a process group of one,
  // as torchrun --nproc-per-node 1 gives; a lone SLURM task is a plain run).
  bool distributed() const { return world_size > 1 || launcher == "torchrun"; }
};

// `get` returns a variable's value or nullptr when unset (std::getenv in use; a map in tests).
// A malformed value is a usage error naming the variable: "WORLD_SIZE: expected an integer
// >= 1, got 'two'", "RANK: 3 is not below WORLD_SIZE 2", "MASTER_PORT: expected 1..65535, got '0'".
LaunchEnv launch_env_from(const std::function<const char*(const char*)>& get);
LaunchEnv launch_env();  // from this process's environment

}  // namespace coordseg
