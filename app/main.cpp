// coordseg: whole-heart segmentation with 3D U-Nets and CoordConv.
// Exit codes: 0 success, 1 bad data or a failed run, 2 bad usage.
#include <iostream>

#include "commands.h"
#include "coordseg/torch/compat.h"
#include "coordseg/core/allocator.h"
#include "coordseg/core/atomic_file.h"
#include "coordseg/core/error.h"
#include "coordseg/core/launch_env.h"

#ifndef COORDSEG_VERSION
#define COORDSEG_VERSION "unknown"
#endif

namespace {
// Errors of rank 1, 2, ... of a data-parallel run say whose they are ("rank 1: ...").
std::string rank_prefix() {
  try {
    const coordseg::LaunchEnv env = coordseg::launch_env();
    if (env.distributed() && env.rank != 0) return "rank " + std::to_string(env.rank) + ": ";
  } catch (const coordseg::Error&) {
  }
  return "";
}
}  // namespace

int main(int argc, char** argv) {
  using namespace coordseg;
  keep_freed_memory();  // before any tensor: large activations are reused, not page-faulted in again
  CLI::App cli("coordseg " COORDSEG_VERSION
               ": train 3D U-Nets with CoordConv and segment the whole heart in CT and MR (MM-WHS)",
               "coordseg");
  cli.set_version_flag("--version", std::string("coordseg " COORDSEG_VERSION " (LibTorch ") +
                                        compat::torch_version() + ")");
  cli.require_subcommand(0, 1);  // "none" is reported below, after unknown options
  std::vector<app::Runner> runners = {app::add_info_command(cli), app::add_phantom_command(cli),
                                      app::add_render_command(cli), app::add_train_command(cli),
                                      app::add_predict_command(cli), app::add_evaluate_command(cli),
                                      app::add_plot_command(cli), app::add_launch_command(cli),
                                      app::add_bench_command(cli), app::add_convert_command(cli)};

  remove_temporaries_on_signal();
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return cli.exit(e);
  } catch (const CLI::ExtrasError& e) {
    // CLI11: "The following argument(s) was/were not expected: X Y" -> "X Y: unexpected ...".
    const std::string what = e.what(), marker = "expected: ";
    const auto at = what.find(marker);
    const std::string args = at == std::string::npos ? what : what.substr(at + marker.size());
    print_error(std::cerr, args + ": not an option or argument of this command (see coordseg " +
                               (cli.get_subcommands().empty() ? "" : cli.get_subcommands().front()->get_name() + " ") +
                               "--help)");
    return static_cast<int>(ErrorKind::kUsage);
  } catch (const CLI::ParseError& e) {
    const std::string what = e.what();
    print_error(std::cerr, what.substr(0, what.find('\n')) + " (see coordseg --help)");
    return static_cast<int>(ErrorKind::kUsage);
  }
  try {
    for (const auto& run : runners) {
      const int status = run();
      if (status >= 0) return status;
    }
  } catch (const Error& e) {
    print_error(std::cerr, rank_prefix() + e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    // Anything else (a LibTorch error among them) is still one line: its first.
    const std::string what = e.what();
    print_error(std::cerr, rank_prefix() + what.substr(0, what.find('\n')));
    return static_cast<int>(ErrorKind::kData);
  }
  print_error(std::cerr, "a subcommand is required (see coordseg --help)");
  return static_cast<int>(ErrorKind::kUsage);
}
