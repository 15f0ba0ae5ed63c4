// The subcommands of `coordseg`. Each adds its options to the CLI11 app, filling a plain
// struct, and returns a runner that calls the library. No other logic lives in app/.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace coordseg::app {

using Runner = std::function<int()>;

// Registers `coordseg info FILE...`; the runner is called when that subcommand was chosen.
Runner add_info_command(CLI::App& app);
Runner add_phantom_command(CLI::App& app);
Runner add_render_command(CLI::App& app);
Runner add_train_command(CLI::App& app);
Runner add_predict_command(CLI::App& app);
Runner add_evaluate_command(CLI::App& app);
Runner add_plot_command(CLI::App& app);
Runner add_launch_command(CLI::App& app);
Runner add_bench_command(CLI::App& app);
Runner add_convert_command(CLI::App& app);

}  // namespace coordseg::app
