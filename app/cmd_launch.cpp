#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "coordseg/core/error.h"
#include "coordseg/core/launcher.h"

namespace coordseg::app {

namespace {
struct LaunchArgs {
  LaunchPlan plan;
  std::vector<std::string> command;
  double grace = 5;
};
}  // namespace

Runner add_launch_command(CLI::App& app) {
  auto a = std::make_shared<LaunchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "launch", "Start the ranks of a data-parallel training on this machine: launch [options] -- train ...");
  cmd->add_option("--nproc-per-node", a->plan.nproc_per_node, "Ranks on this machine (one per GPU, or CPU ranks)")
      ->required();
  cmd->add_option("--nnodes", a->plan.nnodes, "Machines in the run");
  cmd->add_option("--node-rank", a->plan.node_rank, "This machine's number, 0 .. nnodes-1 (machine 0 hosts the rendezvous)");
  cmd->add_option("--master-addr", a->plan.master_addr, "Address of machine 0, as the others reach it");
  cmd->add_option("--master-port", a->plan.master_port,
                  "Rendezvous port on machine 0 (default: a free port with one machine, 29500 with several)");
  cmd->add_option("--grace", a->grace, "Seconds the other ranks get to stop by themselves once one has failed");
  cmd->add_option("command", a->command, "The coordseg command each rank runs (after --): train ...")->required();
  return [a, cmd]() {
    if (!*cmd) return -1;
    if (a->command.front() != "train")
      throw usage_error("launch", "only `train` runs data-parallel; got '" + a->command.front() + "' after --");
    LaunchPlan plan = a->plan;
    if (plan.nnodes > 1 && cmd->count("--master-port") == 0) plan.master_port = 29500;
    plan.grace_seconds = a->grace;
    plan.argv = {self_executable()};
    plan.argv.insert(plan.argv.end(), a->command.begin(), a->command.end());
    return run_workers(plan, std::cerr);
  };
}

}  // namespace coordseg::app
