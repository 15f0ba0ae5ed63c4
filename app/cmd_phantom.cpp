#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "coordseg/core/phantom.h"

namespace coordseg::app {

namespace {
struct PhantomArgs {
  std::string out;
  int cases = 20;
  std::string preset = "quick";
  std::string modality = "ct";
  uint64_t seed = 1;
  int threads = 0;
  int generation = 2;
  bool no_motion = false;
  bool force = false;
};
}  // namespace

Runner add_phantom_command(CLI::App& app) {
  auto a = std::make_shared<PhantomArgs>();
  CLI::App* cmd = app.add_subcommand("phantom", "Write a synthetic whole-heart CT/MR dataset (MM-WHS layout)");
  cmd->add_option("--out", a->out, "Output folder (created; must be empty unless --force)")->required();
  cmd->add_option("--cases", a->cases, "Number of cases")->capture_default_str();
  cmd->add_option("--preset", a->preset, "quick (small, for CPU training) or full (MM-WHS CT-like)")->capture_default_str();
  cmd->add_option("--modality", a->modality, "ct or mr")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Random seed: the same seed gives byte-identical files")->capture_default_str();
  cmd->add_option("--threads", a->threads, "Threads (0: all cores; at most 4 per core)")->capture_default_str();
  cmd->add_option("--generation", a->generation,
                  "2: great vessels, neighbours and contrast phases; 1: the phantom of releases before, voxel for voxel")
      ->capture_default_str();
  cmd->add_flag("--no-motion", a->no_motion, "CT: no cardiac motion blur (a third of the cases draw it; otherwise the same cases)");
  cmd->add_flag("--force", a->force, "Write into a folder that already holds files");
  return [a, cmd]() {
    if (!*cmd) return -1;
    PhantomOptions o;
    o.cases = a->cases;
    o.preset = parse_preset(a->preset);
    o.modality = parse_modality(a->modality);
    o.seed = a->seed;
    o.threads = a->threads;
    o.generation = parse_generation(a->generation);
    o.motion = !a->no_motion;
    write_phantom_dataset(a->out, o, a->force, [&](const PhantomFacts& f, const Grid& g, double seconds) {
      std::printf("%s: %lld x %lld x %lld voxels, %.2f x %.2f x %.2f mm, %s%s%s%s, %.1f s\n", f.id.c_str(),
                  static_cast<long long>(g.dims[0]), static_cast<long long>(g.dims[1]),
                  static_cast<long long>(g.dims[2]), g.spacing[0], g.spacing[1], g.spacing[2], f.orientation.c_str(),
                  f.phase.empty() ? "" : ", ", f.phase.c_str(), f.fov_cut ? ", field of view cuts the vessels" : "",
                  seconds);
      std::fflush(stdout);
    });
    std::printf("wrote %d cases, dataset.json and phantom_facts.csv to %s\n", o.cases, a->out.c_str());
    return 0;
  };
}

}  // namespace coordseg::app
