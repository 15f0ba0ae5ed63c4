// Training curves: a PNG with two plots per run folder -- training and validation loss, and
// the mean validation Dice over the foreground classes -- drawn from RUN/history.csv with
// the built-in font, one colour per run. Torch-free.
#pragma once

#include <string>
#include <vector>

namespace coordseg {

struct History {
  std::string name;
  std::vector<double> epoch, train_loss, val_loss, mean_dice;
};

// Reads RUN/history.csv (or a history.csv path); `name` labels the run in the legend.
History read_history(const std::string& path, const std::string& name);
// The history.csv a --run names: RUN/history.csv for a folder, else the path itself.
std::string history_file(const std::string& path);

void render_curves(const std::string& png_path, const std::vector<History>& runs);

}  // namespace coordseg
