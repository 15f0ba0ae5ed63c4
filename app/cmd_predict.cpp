#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "coordseg/core/error.h"
#include "coordseg/core/settings.h"
#include "coordseg/torch/predictor.h"

namespace coordseg::app {

Runner add_predict_command(CLI::App& app) {
  struct Args {
    std::string model, out;
    std::vector<std::string> inputs;
    std::string amp = "none";
    PredictOptions o;
    bool timings = false, keep_largest = false, keep_heart = false;
    std::vector<int64_t> tile;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("predict", "Segment whole volumes with a trained run; write NIfTI label maps");
  cmd->add_option("--model", a->model, "Run folder (uses best.pt) or a checkpoint file")->required();
  cmd->add_option("--input", a->inputs,
                  "NIfTI images, folders of them, or DICOM folders (any depth; one case each) (repeatable)")->required();
  cmd->add_option("--out", a->out, "Output folder for <case>_label.nii.gz")->required();
  cmd->add_option("--overlap", a->o.overlap, "Sliding-window overlap in [0, 1) (default: the run's OVERLAP)");
  cmd->add_option("--batch", a->o.batch, "Windows per forward pass")->capture_default_str();
  cmd->add_option("--tile", a->tile,
                  "Window size: one side or D H W voxels, multiples of 2^(DEPTH-1), at least the patch "
                  "(default: the run's patch; larger windows are faster on a CPU)")
      ->expected(1, 3);
  cmd->add_flag("--tta", a->o.tta, "Mirroring test-time augmentation over the three axes");
  auto* largest = cmd->add_flag("--keep-largest", a->keep_largest, "Keep the largest connected component of each structure");
  auto* heart = cmd->add_flag("--keep-heart", a->keep_heart,
                              "Keep each structure's largest connected component within the heart (the structures' "
                              "largest group, joined across gaps of up to twice --heart-margin)");
  heart->excludes(largest);
  cmd->add_option("--heart-margin", a->o.heart_margin_mm, "Millimetres by which --keep-heart grows the structures")
      ->capture_default_str()
      ->needs(heart);
  cmd->add_flag("--probabilities", a->o.probabilities, "Also write <case>_prob<k>.nii.gz per class");
  cmd->add_option("--series", a->o.dicom.series,
                  "DICOM folders: the series to segment, by SeriesInstanceUID or its number in coordseg info DIR");
  cmd->add_flag("--resample-gaps", a->o.dicom.resample_gaps,
                "DICOM: interpolate a series with uneven slice gaps onto an even spacing instead of refusing it");
  cmd->add_option("--volumes", a->o.volumes,
                  "Also write each case's structure volumes (voxels, ml, myocardial mass) to this CSV file");
  cmd->add_flag("--force", a->o.force, "Overwrite existing outputs");
  cmd->add_flag("--timings", a->timings,
                "Print each case's seconds per phase: read (on a GPU the wait for the file, read while the case "
                "before is predicted), preprocess, windows, restore, postprocess, write");
  cmd->add_option("--device", a->o.device, "auto, cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_option("--amp", a->amp, "none, bf16, fp16 (CUDA)")->capture_default_str();
  cmd->add_option("--threads", a->o.threads, "Threads (0 = all cores; at most 4 per core)")->capture_default_str();
  return [a, cmd]() {
    if (!*cmd) return -1;
    if (cmd->count("--overlap")) check_overlap(a->o.overlap, "--overlap");  // given: no negative "default"
    a->o.amp = parse_setting<Amp>(a->amp, "--amp");
    check_heart_margin(a->o.heart_margin_mm, "--heart-margin");
    a->o.tile = one_or_three_sides(a->tile, "--tile");
    if (a->keep_largest) a->o.cleanup = PredictOptions::Cleanup::kLargest;
    if (a->keep_heart) a->o.cleanup = PredictOptions::Cleanup::kHeart;
    const Predictor predictor(a->model, a->o);
    if (!a->tile.empty() && predictor.config().norm == Norm::kInstance)
      std::cout << "note: --tile with instance normalisation: each window's statistics come from more voxels than in "
                   "training, which changes the result (on the demo's held-out cases Average DSC fell from 0.976 to "
                   "0.944 with --tile 96)\n";
    const bool tty = ::isatty(STDOUT_FILENO);
    const auto progress = [tty](const std::string& file, int64_t done, int64_t total) {
      if (!tty) return;
      std::printf("\r%s: window %lld/%lld   ", file.c_str(), static_cast<long long>(done), static_cast<long long>(total));
      std::fflush(stdout);
    };
    const bool timings = a->timings;
    predict_files(predictor, a->inputs, a->out, [tty, timings](const PredictedFile& f) {
      if (tty) std::printf("\r%120s\r", "");
      const auto& g = f.prediction.labels.grid;
      std::printf("%s -> %s: %lld windows, %.1f s, %.2f M voxels/s\n", f.input.c_str(), f.output.c_str(),
                  static_cast<long long>(f.prediction.windows), f.prediction.seconds,
                  static_cast<double>(g.voxel_count()) / std::max(f.prediction.seconds, 1e-9) / 1e6);
      if (timings) {
        const PredictionTimes& t = f.prediction.times;
        std::printf("  timings: read %.3f s, preprocess %.3f s, windows %.3f s, restore %.3f s, postprocess %.3f s, "
                    "write %.3f s, total %.3f s\n",
                    t.read, t.preprocess, t.windows, t.restore, t.postprocess, t.write, t.total());
      }
      std::fflush(stdout);
    }, progress);
    return 0;
  };
}

}  // namespace coordseg::app
