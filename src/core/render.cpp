#include "coordseg/core/render.h"

#include <gif_lib.h>
#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <filesystem>

#include "coordseg/core/atomic_file.h"
#include "coordseg/core/error.h"
#include "coordseg/core/names.h"
#include "font.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {

// --- palette ---------------------------------------------------------------------------
// One 256-entry palette serves PNG (indexed) and GIF: grey levels, then each class blended
// at 50% over grey levels, then text and swatch colours.
constexpr int kGreyLevels = 144;
constexpr int kBlendLevels = 14;
constexpr int kClassColours = 7;
constexpr int kWhite = kGreyLevels + kClassColours * kBlendLevels;  // 242
constexpr int kBlack = kWhite + 1;
constexpr int kSwatch = kBlack + 1;  // + (class - 1)
constexpr int kPaletteSize = kSwatch + kClassColours;  // 251

const uint8_t kColours[kClassColours][3] = {
    {230, 40, 40},    // 1 MLV red
    {40, 190, 70},    // 2 LABC green
    {255, 225, 25},   // 3 LVBC yellow
    {30, 110, 230},   // 4 RABC blue
    {70, 235, 235},   // 5 RVBC cyan
    {235, 60, 225},   // 6 ASA magenta
    {250, 140, 40},   // 7 PUA orange
};

std::array<std::array<uint8_t, 3>, 256> make_palette() {
  std::array<std::array<uint8_t, 3>, 256> p{};
  for (int g = 0; g < kGreyLevels; ++g) {
    const auto v = static_cast<uint8_t>(std::lround(g * 255.0 / (kGreyLevels - 1)));
    p[static_cast<size_t>(g)] = {v, v, v};
  }
  for (int c = 0; c < kClassColours; ++c)
    for (int g = 0; g < kBlendLevels; ++g) {
      const double grey = g * 255.0 / (kBlendLevels - 1);
      auto& e = p[static_cast<size_t>(kGreyLevels + c * kBlendLevels + g)];
      for (int ch = 0; ch < 3; ++ch) e[static_cast<size_t>(ch)] = static_cast<uint8_t>(std::lround(0.5 * grey + 0.5 * kColours[c][ch]));
    }
  p[kWhite] = {255, 255, 255};
  p[kBlack] = {0, 0, 0};
  for (int c = 0; c < kClassColours; ++c)
    p[static_cast<size_t>(kSwatch + c)] = {kColours[c][0], kColours[c][1], kColours[c][2]};
  return p;
}

uint8_t pixel_index(double grey01, int cls) {
  const double g = std::clamp(grey01, 0.0, 1.0);
  if (cls <= 0) return static_cast<uint8_t>(std::lround(g * (kGreyLevels - 1)));
  const int c = (cls - 1) % kClassColours;
  return static_cast<uint8_t>(kGreyLevels + c * kBlendLevels + std::lround(g * (kBlendLevels - 1)));
}

struct Canvas {
  int width, height;
  std::vector<uint8_t> idx;
  Canvas(int w, int h) : width(w), height(h), idx(static_cast<size_t>(w) * h, kBlack) {}
  void set(int x, int y, uint8_t v) {
    if (x >= 0 && y >= 0 && x < width && y < height) idx[static_cast<size_t>(y) * width + x] = v;
  }
  void text(int x, int y, const std::string& s, int scale, uint8_t colour) {
    for (size_t n = 0; n < s.size(); ++n)
      for (int r = 0; r < font::kGlyphHeight; ++r) {
        const char* row = font::glyph_row(s[n], r);
        for (int c = 0; c < font::kGlyphWidth; ++c)
          if (row[c] == '#')
            for (int dy = 0; dy < scale; ++dy)
              for (int dx = 0; dx < scale; ++dx)
                set(x + (static_cast<int>(n) * font::kAdvance + c) * scale + dx, y + r * scale + dy, colour);
      }
  }
  void fill(int x, int y, int w, int h, uint8_t v) {
    for (int yy = y; yy < y + h; ++yy)
      for (int xx = x; xx < x + w; ++xx) set(xx, yy, v);
  }
};

// --- slicing ---------------------------------------------------------------------------

// How display rows/columns and slices walk the voxel axes for one view.
struct View {
  int slice_axis, col_axis, row_axis;       // voxel axes
  bool col_reverse, row_reverse, slice_reverse;  // walk the voxel axis from its end
  double col_spacing, row_spacing;
  int64_t n_col, n_row, n_slice;
  char left, top;  // orientation letters at the panel's left and top edges
};

View make_view(const Grid& g, SliceAxis axis) {
  const AxisMapping m = closest_axes(g.affine);
  int voxel_of_world[3];
  for (int a = 0; a < 3; ++a) voxel_of_world[m.world_axis[a]] = a;
  // (slice, column, row) world axes; columns and rows run from the world axis' positive end
  // to its negative end (R -> L, A -> P, S -> I), slices from negative to positive.
  int ws, wc, wr;
  View v{};
  switch (axis) {
    case SliceAxis::kAxial: ws = 2, wc = 0, wr = 1, v.left = 'R', v.top = 'A'; break;
    case SliceAxis::kCoronal: ws = 1, wc = 0, wr = 2, v.left = 'R', v.top = 'S'; break;
    default: ws = 0, wc = 1, wr = 2, v.left = 'A', v.top = 'S'; break;
  }
  v.slice_axis = voxel_of_world[ws];
  v.col_axis = voxel_of_world[wc];
  v.row_axis = voxel_of_world[wr];
  // Walking from the positive end: reversed unless the voxel axis already points negative.
  v.col_reverse = !m.flipped[v.col_axis];
  v.row_reverse = !m.flipped[v.row_axis];
  v.slice_reverse = m.flipped[v.slice_axis];
  v.col_spacing = g.spacing[static_cast<size_t>(v.col_axis)];
  v.row_spacing = g.spacing[static_cast<size_t>(v.row_axis)];
  v.n_col = g.dims[static_cast<size_t>(v.col_axis)];
  v.n_row = g.dims[static_cast<size_t>(v.row_axis)];
  v.n_slice = g.dims[static_cast<size_t>(v.slice_axis)];
  return v;
}

int64_t voxel_index(const Grid& g, const View& v, int64_t slice, int64_t col, int64_t row) {
  int64_t ijk[3];
  ijk[v.slice_axis] = v.slice_reverse ? v.n_slice - 1 - slice : slice;
  ijk[v.col_axis] = v.col_reverse ? v.n_col - 1 - col : col;
  ijk[v.row_axis] = v.row_reverse ? v.n_row - 1 - row : row;
  return ijk[0] + g.dims[0] * (ijk[1] + g.dims[1] * ijk[2]);
}

struct Window {
  double lo, hi;
};

Window choose_window(const Volume& image, const RenderOptions& o) {
  if (o.window_set) return {o.window_center - o.window_width / 2, o.window_center + o.window_width / 2};
  // CT (air far below zero, in HU): a heart window. Otherwise percentiles.
  std::vector<float> sample;
  const size_t step = std::max<size_t>(1, image.voxels.size() / 200000);
  for (size_t i = 0; i < image.voxels.size(); i += step) sample.push_back(image.voxels[i]);
  std::sort(sample.begin(), sample.end());
  if (sample.empty()) return {0, 1};
  const double p01 = sample[sample.size() / 100], p99 = sample[sample.size() * 99 / 100];
  if (sample.front() < -500) return {100 - 350, 100 + 350};
  return {p01, p99 > p01 ? p99 : p01 + 1};
}

// The slices to show: evenly spaced over the extent of the first panel's labels along the
// slice axis, or over the middle 80% of the volume when there are none.
// The slices that show the first label map's labels (only value `through` when non-zero),
// evenly spread; the middle 80% of the volume without labels.
std::vector<int64_t> choose_slices(const Volume& image, const View& v, const std::vector<RenderPanel>& panels,
                                   int count, int32_t through) {
  int64_t lo = -1, hi = -1;
  for (const auto& p : panels) {
    if (!p.labels) continue;
    for (int64_t s = 0; s < v.n_slice; ++s) {
      bool any = false;
      for (int64_t r = 0; r < v.n_row && !any; ++r)
        for (int64_t c = 0; c < v.n_col && !any; ++c) {
          const int32_t value = p.labels->voxels[static_cast<size_t>(voxel_index(image.grid, v, s, c, r))];
          any = through != 0 ? value == through : value != 0;
        }
      if (any) {
        if (lo < 0) lo = s;
        hi = s;
      }
    }
    if (through != 0 && lo < 0)
      throw usage_error("--through", "label value " + std::to_string(through) + " is not in " +
                                         (p.labels->source.empty() ? std::string("the label map") : p.labels->source));
    break;
  }
  if (through != 0 && lo < 0) throw usage_error("--through", "needs a label map (--label or --pred)");
  if (lo < 0) {
    lo = v.n_slice / 10;
    hi = v.n_slice - 1 - v.n_slice / 10;
  }
  const int64_t span = hi - lo + 1;
  if (count <= 0) count = static_cast<int>(std::min<int64_t>(span, 80));
  count = static_cast<int>(std::min<int64_t>(count, span));
  std::vector<int64_t> out;
  for (int n = 0; n < count; ++n)
    out.push_back(count == 1 ? (lo + hi) / 2 : lo + static_cast<int64_t>(std::llround(n * (span - 1.0) / (count - 1))));
  return out;
}

struct Layout {
  double mm_per_pixel;
  int panel_w, panel_h;
  int margin = 6, gap = 6, title_h = 22;
  int legend_h = 0;
  int width = 0;
};

constexpr int kTextScale = 2;

// Lays out and draws the legend (classes 1..n) from y, wrapping to `width`.
int draw_legend(Canvas* canvas, const LabelMap& map, int width, int y0, int margin) {
  int x = margin, y = y0;
  const int line_h = font::kGlyphHeight * kTextScale + 6;
  for (int c = 1; c < map.num_classes(); ++c) {
    const std::string& name = map.names[static_cast<size_t>(c)];
    const int w = 12 + 4 + font::text_width(name, kTextScale) + 12;
    if (x + w > width - margin && x > margin) {
      x = margin;
      y += line_h;
    }
    if (canvas) {
      canvas->fill(x, y + 1, 12, 12, static_cast<uint8_t>(kSwatch + (c - 1) % kClassColours));
      canvas->text(x + 16, y, name, kTextScale, kWhite);
    }
    x += w;
  }
  return y + line_h - y0;
}

Layout make_layout(const View& v, const RenderOptions& o, size_t n_panels, bool legend, const LabelMap& map) {
  Layout L;
  const double col_mm = v.n_col * v.col_spacing, row_mm = v.n_row * v.row_spacing;
  // Square pixels in mm; small volumes are enlarged so that every panel is legible.
  L.mm_per_pixel = std::max(col_mm, row_mm) / std::max(16, o.max_panel_pixels);
  L.panel_w = std::max(1, static_cast<int>(std::lround(col_mm / L.mm_per_pixel)));
  L.panel_h = std::max(1, static_cast<int>(std::lround(row_mm / L.mm_per_pixel)));
  L.width = 2 * L.margin + static_cast<int>(n_panels) * L.panel_w + (static_cast<int>(n_panels) - 1) * L.gap;
  L.legend_h = legend ? draw_legend(nullptr, map, L.width, 0, L.margin) + 4 : 0;
  return L;
}

void draw_panel(Canvas& canvas, int x0, int y0, const Layout& L, const View& v, const Volume& image, int64_t slice,
                const LabelVolume* labels, const LabelMap& map, const Window& w) {
  const Grid& g = image.grid;
  for (int py = 0; py < L.panel_h; ++py) {
    const double rf = std::clamp((py + 0.5) * L.mm_per_pixel / v.row_spacing - 0.5, 0.0, v.n_row - 1.0);
    const int64_t r0 = static_cast<int64_t>(rf), r1 = std::min(r0 + 1, v.n_row - 1);
    const double fr = rf - r0;
    for (int px = 0; px < L.panel_w; ++px) {
      const double cf = std::clamp((px + 0.5) * L.mm_per_pixel / v.col_spacing - 0.5, 0.0, v.n_col - 1.0);
      const int64_t c0 = static_cast<int64_t>(cf), c1 = std::min(c0 + 1, v.n_col - 1);
      const double fc = cf - c0;
      auto at = [&](int64_t c, int64_t r) { return image.voxels[static_cast<size_t>(voxel_index(g, v, slice, c, r))]; };
      const double value = (1 - fr) * ((1 - fc) * at(c0, r0) + fc * at(c1, r0)) + fr * ((1 - fc) * at(c0, r1) + fc * at(c1, r1));
      int cls = 0;
      if (labels) {
        const int64_t cn = std::lround(cf), rn = std::lround(rf);
        cls = std::max(0, map.class_of(labels->voxels[static_cast<size_t>(voxel_index(g, v, slice, cn, rn))]));
      }
      canvas.set(x0 + px, y0 + py, pixel_index((value - w.lo) / (w.hi - w.lo), cls));
    }
  }
  // Orientation letters: at the middle of the left and top edges.
  canvas.text(x0 + 2, y0 + L.panel_h / 2 - 3, std::string(1, v.left), 1, kWhite);
  canvas.text(x0 + L.panel_w / 2 - 2, y0 + 2, std::string(1, v.top), 1, kWhite);
}

void check_panels(const Volume& image, const std::vector<RenderPanel>& panels) {
  for (const auto& p : panels)
    if (p.labels) check_same_grid(image.grid, image.name("image"), p.labels->grid, p.labels->name("label map"));
}

// Draws frames; each frame is `rows` slices stacked (a PNG grid) or one slice (a GIF frame).
std::vector<Canvas> draw(const Volume& image, const std::vector<RenderPanel>& panels, const RenderOptions& o,
                         const std::vector<int64_t>& slices, int rows_per_frame) {
  check_panels(image, panels);
  const View v = make_view(image.grid, o.axis);
  std::vector<RenderPanel> shown = panels;
  if (shown.empty()) shown.push_back({nullptr, ""});
  const bool any_labels = std::any_of(shown.begin(), shown.end(), [](const RenderPanel& p) { return p.labels; });
  const Layout L = make_layout(v, o, shown.size(), any_labels, o.labels);
  const Window w = choose_window(image, o);
  std::vector<Canvas> frames;
  for (size_t first = 0; first < slices.size(); first += static_cast<size_t>(rows_per_frame)) {
    const int rows = static_cast<int>(std::min<size_t>(static_cast<size_t>(rows_per_frame), slices.size() - first));
    const int height = L.margin + L.title_h + rows * L.panel_h + (rows - 1) * L.gap + L.margin + L.legend_h;
    Canvas canvas(L.width, height);
    for (size_t p = 0; p < shown.size(); ++p) {
      const int x0 = L.margin + static_cast<int>(p) * (L.panel_w + L.gap);
      const std::string& title = shown[p].title;
      canvas.text(x0 + std::max(0, (L.panel_w - font::text_width(title, kTextScale)) / 2), L.margin, title, kTextScale,
                  kWhite);
      for (int r = 0; r < rows; ++r) {
        const int y0 = L.margin + L.title_h + r * (L.panel_h + L.gap);
        draw_panel(canvas, x0, y0, L, v, image, slices[first + static_cast<size_t>(r)], shown[p].labels, o.labels, w);
      }
    }
    if (any_labels) draw_legend(&canvas, o.labels, L.width, height - L.legend_h, L.margin);
    frames.push_back(std::move(canvas));
  }
  return frames;
}

// --- encoders --------------------------------------------------------------------------

// libpng reports errors by longjmp; keep only plain data in this frame.
bool write_png_file(const char* path, const Canvas& c, const std::array<std::array<uint8_t, 3>, 256>& palette) {
  FILE* f = std::fopen(path, "wb");
  if (!f) return false;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : nullptr);
    std::fclose(f);
    return false;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(c.width), static_cast<png_uint_32>(c.height), 8, PNG_COLOR_TYPE_PALETTE,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_color colours[kPaletteSize];
  for (int i = 0; i < kPaletteSize; ++i) colours[i] = {palette[static_cast<size_t>(i)][0], palette[static_cast<size_t>(i)][1], palette[static_cast<size_t>(i)][2]};
  png_set_PLTE(png, info, colours, kPaletteSize);
  png_write_info(png, info);
  for (int y = 0; y < c.height; ++y) png_write_row(png, const_cast<png_bytep>(&c.idx[static_cast<size_t>(y) * c.width]));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return std::fclose(f) == 0;
}

void write_gif(const std::string& path, const std::vector<Canvas>& frames, const std::array<std::array<uint8_t, 3>, 256>& palette) {
  const std::string tmp = temporary_path(path);
  int err = 0;
  GifFileType* gif = EGifOpenFileName(tmp.c_str(), false, &err);
  if (!gif) throw data_error(path, std::string("cannot create GIF: ") + GifErrorString(err));
  auto fail = [&](const char* what) {
    int close_err = 0;
    const int code = gif->Error;
    EGifCloseFile(gif, &close_err);
    discard_file(tmp);
    throw data_error(path, std::string(what) + ": " + (GifErrorString(code) ? GifErrorString(code) : "giflib error"));
  };
  GifColorType colours[256];
  for (int i = 0; i < 256; ++i) colours[i] = {palette[static_cast<size_t>(i)][0], palette[static_cast<size_t>(i)][1], palette[static_cast<size_t>(i)][2]};
  ColorMapObject* map = GifMakeMapObject(256, colours);
  EGifSetGifVersion(gif, true);
  const int w = frames.front().width, h = frames.front().height;
  const bool ok = EGifPutScreenDesc(gif, w, h, 8, kBlack, map) == GIF_OK;
  GifFreeMapObject(map);
  if (!ok) fail("cannot write GIF header");
  // Loop forever (the NETSCAPE2.0 application extension).
  const GifByteType app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  const GifByteType loop[] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) != GIF_OK ||
      EGifPutExtensionBlock(gif, sizeof app, app) != GIF_OK || EGifPutExtensionBlock(gif, sizeof loop, loop) != GIF_OK ||
      EGifPutExtensionTrailer(gif) != GIF_OK)
    fail("cannot write GIF loop extension");
  for (const Canvas& c : frames) {
    GraphicsControlBlock gcb{};
    gcb.DisposalMode = DISPOSAL_UNSPECIFIED;
    gcb.DelayTime = 10;  // hundredths of a second
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const size_t n = EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(n), ext) != GIF_OK) fail("cannot write GIF frame");
    if (EGifPutImageDesc(gif, 0, 0, c.width, c.height, false, nullptr) != GIF_OK) fail("cannot write GIF frame");
    for (int y = 0; y < c.height; ++y)
      if (EGifPutLine(gif, const_cast<GifPixelType*>(&c.idx[static_cast<size_t>(y) * c.width]), c.width) != GIF_OK)
        fail("cannot write GIF frame");
  }
  if (EGifCloseFile(gif, &err) != GIF_OK) {
    discard_file(tmp);
    throw data_error(path, std::string("cannot finish GIF: ") + GifErrorString(err));
  }
  commit_file(tmp, path);
}


}  // namespace

SliceAxis parse_slice_axis(const std::string& name, const std::string& option) {
  if (name == "axial") return SliceAxis::kAxial;
  if (name == "coronal") return SliceAxis::kCoronal;
  if (name == "sagittal") return SliceAxis::kSagittal;
  throw usage_error(option, "unknown slice axis '" + name + "' (expected axial, coronal or sagittal)");
}

std::array<uint8_t, 3> class_colour(int c) {
  const int k = (std::max(c, 1) - 1) % kClassColours;
  return {kColours[k][0], kColours[k][1], kColours[k][2]};
}

std::vector<RgbImage> render_frames(const Volume& image, const std::vector<RenderPanel>& panels, const RenderOptions& options,
                                    int frame_count) {
  check_panels(image, panels);  // before choose_slices reads the label maps on the image's grid
  const View v = make_view(image.grid, options.axis);
  const auto slices = choose_slices(image, v, panels, frame_count, options.through);
  const auto palette = make_palette();
  std::vector<RgbImage> out;
  for (const Canvas& c : draw(image, panels, options, slices, 1)) {
    RgbImage img(c.width, c.height);
    for (size_t i = 0; i < c.idx.size(); ++i)
      for (int ch = 0; ch < 3; ++ch) img.rgb[i * 3 + static_cast<size_t>(ch)] = palette[c.idx[i]][static_cast<size_t>(ch)];
    out.push_back(std::move(img));
  }
  return out;
}

void render_volume(const std::string& path, const Volume& image, const std::vector<RenderPanel>& panels,
                   const RenderOptions& options) {
  const bool png = ends_with(path, ".png"), gif = ends_with(path, ".gif");
  if (!png && !gif) throw usage_error(path, "output must end in .png or .gif");
  if (options.slices < 0) throw usage_error("--slices", "must be positive");
  check_panels(image, panels);  // before choose_slices reads the label maps on the image's grid
  const View v = make_view(image.grid, options.axis);
  const auto palette = make_palette();
  if (png) {
    const auto slices = choose_slices(image, v, panels, options.slices > 0 ? options.slices : 4, options.through);
    const auto frames = draw(image, panels, options, slices, static_cast<int>(slices.size()));
    const std::string tmp = temporary_path(path);
    if (!write_png_file(tmp.c_str(), frames.front(), palette)) {
      const int err = errno ? errno : EIO;  // before discard_file's unlink can change it
      discard_file(tmp);
      throw data_error(path, system_reason("cannot write PNG", err));
    }
    commit_file(tmp, path);
  } else {
    const auto slices = choose_slices(image, v, panels, options.slices, options.through);
    write_gif(path, draw(image, panels, options, slices, 1), palette);
  }
}

}  // namespace coordseg
