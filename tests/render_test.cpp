#include "coordseg/core/render.h"

#include <gif_lib.h>
#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>

#include <filesystem>

#include "coordseg/core/curves.h"
#include "coordseg/core/error.h"
#include "test_util.h"

namespace coordseg {
namespace {

// A 20 x 16 x 10 CT-like volume: air, with a box of "blood" (label 500 = LVBC, class 3) in
// the patient's right-anterior-superior corner region, to find it on screen.
struct Scene {
  Volume image;
  LabelVolume labels;
};

Scene make_scene(bool lps, double sx = 1.0, double sy = 1.0) {
  Grid g;
  g.dims = {20, 16, 10};
  g.spacing = {sx, sy, 2.0};
  g.affine = Affine::identity();
  g.affine.m[0][0] = lps ? -sx : sx;
  g.affine.m[1][1] = lps ? -sy : sy;
  g.affine.m[2][2] = 2.0;
  Scene s{Volume::filled(g, -1000.0f), LabelVolume::filled(g, 0)};
  for (int64_t k = 2; k < 8; ++k)
    for (int64_t j = 0; j < 16; ++j)
      for (int64_t i = 0; i < 20; ++i) {
        // World x > 12 (patient's right) and world y > 10 (anterior): in RAS voxels i > 12,
        // j > 10; in LPS voxels i < 7, j < 5 (the same world positions).
        const bool in = lps ? (i < 7 && j < 5) : (i > 12 && j > 10);
        if (in) {
          s.image.at(i, j, k) = 500.0f;
          s.labels.at(i, j, k) = 500;
        }
      }
  return s;
}

RenderOptions small() {
  RenderOptions o;
  o.max_panel_pixels = 40;
  return o;
}

const uint8_t* pixel(const RgbImage& img, int x, int y) { return &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3]; }

TEST(Render, RadiologicalConventionWhateverTheVoxelOrder) {
  const Scene ras = make_scene(false), lps = make_scene(true);
  const auto a = render_frames(ras.image, {{&ras.labels, "A"}}, small(), 3);
  const auto b = render_frames(lps.image, {{&lps.labels, "A"}}, small(), 3);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t f = 0; f < a.size(); ++f) {
    EXPECT_EQ(a[f].width, b[f].width);
    EXPECT_EQ(a[f].rgb, b[f].rgb) << "frame " << f;
  }
}

TEST(Render, PatientRightIsOnTheLeftAndAnteriorAtTheTop) {
  const Scene s = make_scene(false);
  const auto frames = render_frames(s.image, {{&s.labels, ""}}, small(), 1);
  const RgbImage& img = frames[0];
  // Panel: 40 x 32 pixels (20 x 16 mm at 0.5 mm/pixel) at (6, 28) after margin and title.
  const int x0 = 6, y0 = 6 + 22;
  const auto yellow = class_colour(3);
  // The box (world x > 12 mm: right; y > 10 mm: anterior) is drawn top-left: blended yellow
  // over white (blood at 500 HU is above the window).
  const uint8_t* box = pixel(img, x0 + 8, y0 + 6);
  EXPECT_NEAR(box[0], 0.5 * 255 + 0.5 * yellow[0], 2);
  EXPECT_NEAR(box[1], 0.5 * 255 + 0.5 * yellow[1], 2);
  EXPECT_NEAR(box[2], 0.5 * 255 + 0.5 * yellow[2], 2);
  // Bottom-right of the panel is air: black.
  const uint8_t* air = pixel(img, x0 + 36, y0 + 28);
  EXPECT_EQ(air[0] + air[1] + air[2], 0);
}

TEST(Render, AnisotropicVoxelsAreDrawnWithSquarePixels) {
  const Scene s = make_scene(false, 1.0, 2.0);  // 20 mm x 32 mm in-plane
  const auto frames = render_frames(s.image, {{&s.labels, ""}}, small(), 1);
  // The panel keeps the 20:32 aspect of millimetres: 25 x 40 pixels, plus margins.
  const int legend_and_margins = frames[0].height - 40;
  const auto iso = render_frames(make_scene(false).image, {}, small(), 1);
  EXPECT_EQ(frames[0].width, 6 + 25 + 6);
  EXPECT_GT(legend_and_margins, 22);
  EXPECT_EQ(iso[0].width, 6 + 40 + 6);
}

TEST(Render, WritesPngAndGifThatReadBack) {
  testing::TempDir dir;
  const Scene s = make_scene(true);
  RenderOptions o = small();
  o.slices = 2;
  render_volume(dir.file("grid.png"), s.image, {{&s.labels, "MASK"}, {&s.labels, "PRED"}}, o);
  // PNG: read the header with libpng.
  FILE* f = std::fopen(dir.file("grid.png").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_read_info(png, info);
  EXPECT_EQ(png_get_image_width(png, info), static_cast<png_uint_32>(6 + 40 + 6 + 40 + 6));
  EXPECT_EQ(png_get_color_type(png, info), PNG_COLOR_TYPE_PALETTE);
  png_destroy_read_struct(&png, &info, nullptr);
  std::fclose(f);

  o.slices = 0;  // GIF: every slice with labels (k = 2..7)
  render_volume(dir.file("anim.gif"), s.image, {{&s.labels, "MASK"}}, o);
  int err = 0;
  GifFileType* gif = DGifOpenFileName(dir.file("anim.gif").c_str(), &err);
  ASSERT_NE(gif, nullptr);
  ASSERT_EQ(DGifSlurp(gif), GIF_OK);
  EXPECT_EQ(gif->ImageCount, 6);
  EXPECT_EQ(gif->SWidth, 6 + 40 + 6);
  DGifCloseFile(gif, &err);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"anim.gif", "grid.png"}));
}

TEST(Render, ThroughSpansTheSlicesOfOneStructure) {
  Scene s = make_scene(false);
  for (int64_t k = 6; k < 8; ++k) s.labels.at(15, 13, k) = 820;  // ASA on the two top slices of the box
  RenderOptions o = small();
  EXPECT_EQ(render_frames(s.image, {{&s.labels, ""}}, o, 0).size(), 6u);  // k = 2..7
  o.through = 820;
  const auto frames = render_frames(s.image, {{&s.labels, ""}}, o, 0);
  ASSERT_EQ(frames.size(), 2u);  // k = 6, 7
  EXPECT_EQ(frames[0].rgb, render_frames(s.image, {{&s.labels, ""}}, small(), 0)[4].rgb);
  o.through = 205;
  try {
    render_frames(s.image, {{&s.labels, ""}}, o, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--through: label value 205 is not in the label map");
  }
  EXPECT_THROW(render_frames(s.image, {}, o, 0), Error);
}

TEST(Render, BadInput) {
  testing::TempDir dir;
  const Scene s = make_scene(false);
  Scene other = make_scene(false);
  other.labels.grid.affine.m[0][3] = 3.0;  // same dims, shifted 3 mm
  other.labels.source = "pred.nii.gz";
  try {
    render_volume(dir.file("x.png"), s.image, {{&other.labels, ""}}, small());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pred.nii.gz: grid differs from"), std::string::npos) << e.what();
  }
  // A smaller label map is refused before any of its voxels is read (it was read out of
  // bounds while slices were chosen; make sanitize runs this).
  LabelVolume small_map = LabelVolume::filled(Grid{{2, 2, 2}, {1, 1, 1}, Affine::identity()}, 1);
  small_map.source = "small.nii.gz";
  for (const bool gif : {false, true}) {
    try {
      render_volume(dir.file(gif ? "x.gif" : "x.png"), s.image, {{&small_map, ""}}, small());
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("small.nii.gz: grid differs from"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(render_frames(s.image, {{&small_map, ""}}, small(), 2), Error);
  EXPECT_THROW(render_volume(dir.file("x.jpg"), s.image, {}, small()), Error);
  EXPECT_THROW(render_volume(dir.file("missing/x.png"), s.image, {}, small()), Error);
  EXPECT_THROW(parse_slice_axis("oblique"), Error);
  EXPECT_EQ(parse_slice_axis("sagittal"), SliceAxis::kSagittal);
  EXPECT_TRUE(dir.entries().empty());
}

// A write that fails reports the system's reason, not one left over from cleaning up: the
// temporary name is taken by a folder, so creating the file fails with EISDIR.
TEST(Render, AFailedWriteReportsTheSystemsReason) {
  testing::TempDir dir;
  const Scene s = make_scene(false);
  for (const char* name : {"x.png", "curves.png"})
    std::filesystem::create_directory(dir.file("." + std::string(name) + ".tmp" + std::to_string(::getpid())));
  try {
    render_volume(dir.file("x.png"), s.image, {}, small());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("x.png") + ": cannot write PNG: Is a directory");
  }
  History h;
  h.name = "run";
  h.epoch = {1, 2};
  h.train_loss = h.val_loss = {0.5, 0.4};
  h.mean_dice = {0.5, 0.6};
  try {
    render_curves(dir.file("curves.png"), {h});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(": Is a directory"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.png")));
}

}  // namespace
}  // namespace coordseg
