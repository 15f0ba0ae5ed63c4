// Four quick phantom cases (seed 21), written once per test binary into a temporary folder:
// the dataset of the short trainings in trainer_test.cpp and recipe_test.cpp. Generation 1:
// those tests check training's mechanics and the recipes with bounds sized on it (the
// data-parallel test's 1e-4 logit bound among them); generation 2 is what make demo learns.
#pragma once

#include <string>

#include "coordseg/core/phantom.h"
#include "test_util.h"

namespace coordseg::testing {

inline const std::string& tiny_phantom_dataset() {
  static TempDir dir;
  static const std::string path = [] {
    PhantomOptions o;
    o.cases = 4;
    o.seed = 21;
    o.generation = 1;
    write_phantom_dataset(dir.file("data"), o, false);
    return dir.file("data");
  }();
  return path;
}

}  // namespace coordseg::testing
