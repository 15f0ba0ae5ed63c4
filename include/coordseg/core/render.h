// Pictures of volumes and label maps: slice overlays as a PNG grid (one row per slice, one
// column per panel) or an animated GIF through the volume (one frame per slice, panels side by
// side), as the reference's gallery shows "mask | U-Net 3D | U-Net 3D + CoordConv".
//
// Display follows the radiological convention whatever the file's voxel order: the voxel
// axes closest to the world axes are found from the affine; axial slices show the patient's
// right on the left and anterior at the top, coronal slices right on the left and superior
// at the top, sagittal slices anterior on the left and superior at the top. Pixels are square
// in millimetres (anisotropic voxels are resampled for display).
//
// The image is drawn in grey through a window (CT default: centre 100 HU, width 700, which
// separates fat, myocardium and contrast-filled blood; MR default: the 1st to 99th
// percentile). Each class is a fixed colour at 50% opacity:
//   1 MLV red, 2 LABC green, 3 LVBC yellow, 4 RABC blue, 5 RVBC cyan, 6 ASA magenta,
//   7 PUA orange (further classes cycle through the same colours).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "coordseg/core/labels.h"
#include "coordseg/core/volume.h"

namespace coordseg {

enum class SliceAxis { kAxial, kCoronal, kSagittal };
SliceAxis parse_slice_axis(const std::string& name, const std::string& option = "--axis");

struct RenderOptions {
  SliceAxis axis = SliceAxis::kAxial;
  int slices = 0;              // PNG: rows (default 4); GIF: frames (default: every slice, at most 80)
  bool window_set = false;     // use window_center/width instead of the default
  double window_center = 0, window_width = 1;
  int max_panel_pixels = 320;  // a panel's longer side, in pixels
  LabelMap labels = LabelMap::mmwhs();  // maps label values to classes, colours and legend names
  int32_t through = 0;         // non-zero: the slices span this label value of the first panel (e.g. 850, PUA)
};

// One panel: a label map drawn over the image, or none for the image alone.
struct RenderPanel {
  const LabelVolume* labels = nullptr;  // label values (not classes); on the image's grid
  std::string title;
};

// The RGB colour of class c (c >= 1).
std::array<uint8_t, 3> class_colour(int c);

// An 8-bit RGB picture, rows top to bottom.
struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // 3 bytes a pixel
  RgbImage(int w, int h, uint8_t fill = 0) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, fill) {}
  uint8_t* at(int x, int y) { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
};

// Writes `path` (.png: a grid of slices; .gif: an animation). Every panel's labels must be on
// the image's grid (the error prints both geometries). The file is written atomically.
void render_volume(const std::string& path, const Volume& image, const std::vector<RenderPanel>& panels,
                   const RenderOptions& options);

// The frames render_volume would draw (one per slice; a PNG stacks them), for tests.
std::vector<RgbImage> render_frames(const Volume& image, const std::vector<RenderPanel>& panels,
                                    const RenderOptions& options, int frame_count);

}  // namespace coordseg
