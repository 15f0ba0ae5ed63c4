#include "coordseg/core/launch_env.h"

#include <gtest/gtest.h>

#include <map>

#include "coordseg/core/error.h"

namespace coordseg {
namespace {

LaunchEnv from(const std::map<std::string, std::string>& vars) {
  return launch_env_from([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    from(vars);
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  return "(no error)";
}

TEST(LaunchEnv, NoLauncherIsARunOfOne) {
  const LaunchEnv e = from({{"MASTER_PORT", "1234"}});
  EXPECT_EQ(e.launcher, "none");
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.world_size, 1);
  EXPECT_FALSE(e.distributed());
  EXPECT_EQ(e.master_port, 29500);  // not read without a launcher
}

TEST(LaunchEnv, TorchrunVariables) {
  const LaunchEnv e = from({{"RANK", "3"}, {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "4"},
                            {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29400"}});
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_TRUE(e.distributed());
  EXPECT_EQ(e.master_addr, "node7");
  EXPECT_EQ(e.master_port, 29400);
  EXPECT_EQ(e.local_world_size, 1);  // LOCAL_WORLD_SIZE unset
  EXPECT_EQ(from({{"RANK", "0"}, {"WORLD_SIZE", "4"}, {"LOCAL_WORLD_SIZE", "2"}}).local_world_size, 2);
  EXPECT_TRUE(from({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).distributed());  // a group of one, as torchrun makes
  EXPECT_FALSE(from({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}).distributed());  // a lone srun task
}

TEST(LaunchEnv, SlurmVariablesAndTorchrunsWinOverThem) {
  const LaunchEnv s = from({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                            {"MASTER_ADDR", "10.0.0.2"}});
  EXPECT_EQ(s.launcher, "slurm");
  EXPECT_EQ(s.rank, 5);
  EXPECT_EQ(s.local_rank, 1);
  EXPECT_EQ(s.world_size, 8);
  EXPECT_EQ(s.master_addr, "10.0.0.2");
  EXPECT_EQ(s.master_port, 29500);
  EXPECT_EQ(from({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_NTASKS_PER_NODE", "4"}}).local_world_size, 4);
  EXPECT_EQ(from({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "5"}, {"SLURM_NTASKS_PER_NODE", "2(x2),1"}}).local_world_size, 2);
  const LaunchEnv t = from({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"RANK", "0"}, {"WORLD_SIZE", "2"}});
  EXPECT_EQ(t.launcher, "torchrun");
  EXPECT_EQ(t.rank, 0);
  EXPECT_EQ(t.world_size, 2);
  EXPECT_EQ(t.local_rank, 0);  // LOCAL_RANK unset: device 0
}

TEST(LaunchEnv, MalformedValuesAreNamed) {
  EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "two"}}), "WORLD_SIZE: expected an integer >= 1, got 'two'");
  EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "0"}}), "WORLD_SIZE: expected an integer >= 1, got '0'");
  EXPECT_EQ(error_of({{"RANK", "-1"}, {"WORLD_SIZE", "2"}}), "RANK: expected an integer >= 0, got '-1'");
  EXPECT_EQ(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), "RANK: 2 is not below WORLD_SIZE 2");
  EXPECT_EQ(error_of({{"RANK", "1"}}), "WORLD_SIZE: unset while RANK is set");
  EXPECT_EQ(error_of({{"WORLD_SIZE", "2"}}), "RANK: unset while WORLD_SIZE is set");
  EXPECT_EQ(error_of({{"RANK", "1 "}, {"WORLD_SIZE", "2"}}), "RANK: expected an integer >= 0, got '1 '");
  EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}),
            "MASTER_PORT: expected 1..65535, got '70000'");
  EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", ""}}), "MASTER_ADDR: set but empty");
  EXPECT_EQ(error_of({{"SLURM_PROCID", "4"}, {"SLURM_NTASKS", "4"}}), "SLURM_PROCID: 4 is not below SLURM_NTASKS 4");
  EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_WORLD_SIZE", "0"}}),
            "LOCAL_WORLD_SIZE: expected an integer >= 1, got '0'");
  EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "99999999999"}}),
            "WORLD_SIZE: expected an integer >= 1, got '99999999999'");
}

}  // namespace
}  // namespace coordseg
