#include "coordseg/core/curves.h"

#include <png.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "coordseg/core/atomic_file.h"
#include "coordseg/core/error.h"
#include "font.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {

struct Image {
  int w, h;
  std::vector<uint8_t> rgb;
  Image(int w_, int h_) : w(w_), h(h_), rgb(static_cast<size_t>(w_) * h_ * 3, 255) {}
  void set(int x, int y, std::array<uint8_t, 3> c) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    std::copy(c.begin(), c.end(), rgb.begin() + (static_cast<size_t>(y) * w + x) * 3);
  }
  void line(double x0, double y0, double x1, double y1, std::array<uint8_t, 3> c) {
    const int n = static_cast<int>(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0))) + 1;
    for (int i = 0; i <= n; ++i) {
      const double t = static_cast<double>(i) / n;
      const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      set(x, y, c);
      set(x, y + 1, c);
    }
  }
  void text(int x, int y, const std::string& s, std::array<uint8_t, 3> c) {
    for (size_t n = 0; n < s.size(); ++n)
      for (int r = 0; r < font::kGlyphHeight; ++r) {
        const char* row = font::glyph_row(s[n], r);
        for (int col = 0; col < font::kGlyphWidth; ++col)
          if (row[col] == '#') set(x + static_cast<int>(n) * font::kAdvance + col, y + r, c);
      }
  }
};

const std::array<uint8_t, 3> kRunColours[] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {148, 103, 189}};
const std::array<uint8_t, 3> kBlack = {0, 0, 0}, kGrey = {200, 200, 200};

std::string label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// One plot in the rectangle (x0, y0, w, h): series drawn solid (first) and dashed (second).
void plot(Image& img, int x0, int y0, int w, int h, const std::string& title, const std::vector<History>& runs,
          std::vector<double> History::*first, std::vector<double> History::*second, double lo, double hi) {
  img.text(x0, y0 - 12, title, kBlack);
  double max_epoch = 1;
  for (const auto& r : runs)
    if (!r.epoch.empty()) max_epoch = std::max(max_epoch, r.epoch.back());
  for (int g = 0; g <= 4; ++g) {
    const double y = y0 + h - g * h / 4.0;
    img.line(x0, y, x0 + w, y, kGrey);
    img.text(x0 - 30, static_cast<int>(y) - 3, label(lo + (hi - lo) * g / 4.0), kBlack);
  }
  img.line(x0, y0, x0, y0 + h, kBlack);
  img.line(x0, y0 + h, x0 + w, y0 + h, kBlack);
  img.text(x0 + w - 30, y0 + h + 6, "EPOCH", kBlack);
  auto px = [&](double e) { return x0 + (e - 1) / std::max(max_epoch - 1, 1.0) * w; };
  auto py = [&](double v) { return y0 + h - (std::clamp(v, lo, hi) - lo) / (hi - lo) * h; };
  for (size_t r = 0; r < runs.size(); ++r) {
    const auto colour = kRunColours[r % 4];
    for (auto series : {first, second}) {
      if (!series) continue;
      const auto& v = runs[r].*series;
      for (size_t i = 1; i < v.size(); ++i) {
        if (series == second && i % 2) continue;  // dashed
        if (std::isnan(v[i - 1]) || std::isnan(v[i])) continue;
        img.line(px(runs[r].epoch[i - 1]), py(v[i - 1]), px(runs[r].epoch[i]), py(v[i]), colour);
      }
    }
  }
}

}  // namespace

std::string history_file(const std::string& path) {
  return fs::is_directory(path) ? (fs::path(path) / "history.csv").string() : path;
}

History read_history(const std::string& path, const std::string& name) {
  const std::string file = history_file(path);
  std::ifstream in(file);
  if (!in) throw data_error(file, "cannot open the training history");
  std::string header;
  std::getline(in, header);
  std::vector<std::string> cols;
  std::stringstream hs(header);
  for (std::string c; std::getline(hs, c, ',');) cols.push_back(c);
  auto index = [&](const std::string& c) {
    const auto it = std::find(cols.begin(), cols.end(), c);
    if (it == cols.end()) throw data_error(file, "not a coordseg history (no column " + c + ")");
    return static_cast<size_t>(it - cols.begin());
  };
  const size_t ie = index("epoch"), it = index("train_loss"), iv = index("val_loss"), id = index("mean_dice");
  History h;
  h.name = name;
  for (std::string line; std::getline(in, line);) {
    std::vector<double> v;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) v.push_back(c == "nan" || c.empty() ? std::nan("") : std::stod(c));
    if (v.size() < cols.size()) throw data_error(file, "short row: " + line);
    h.epoch.push_back(v[ie]);
    h.train_loss.push_back(v[it]);
    h.val_loss.push_back(v[iv]);
    h.mean_dice.push_back(v[id]);
  }
  if (h.epoch.empty()) throw data_error(file, "holds no epochs yet");
  return h;
}

void render_curves(const std::string& png_path, const std::vector<History>& runs) {
  Image img(760, 330);
  double loss_hi = 0;
  for (const auto& r : runs)
    for (const auto& v : {r.train_loss, r.val_loss})
      for (const double x : v)
        if (!std::isnan(x)) loss_hi = std::max(loss_hi, x);
  plot(img, 50, 30, 300, 220, "LOSS (SOLID TRAIN, DASHED VALIDATION)", runs, &History::train_loss, &History::val_loss, 0,
       std::max(loss_hi, 1e-6));
  plot(img, 430, 30, 300, 220, "MEAN VALIDATION DICE", runs, &History::mean_dice, nullptr, 0, 1);
  for (size_t r = 0; r < runs.size(); ++r) {
    const int y = 280 + static_cast<int>(r) * 12;
    img.line(50, y + 3, 70, y + 3, kRunColours[r % 4]);
    img.text(76, y, runs[r].name, kBlack);
  }
  const std::string tmp = temporary_path(png_path);
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    const int err = errno;
    discard_file(tmp);
    throw data_error(png_path, system_reason("cannot create " + tmp, err));
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    discard_file(tmp);
    throw data_error(png_path, "cannot write PNG");
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(img.w), static_cast<png_uint_32>(img.h), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < img.h; ++y) png_write_row(png, &img.rgb[static_cast<size_t>(y) * img.w * 3]);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(f) != 0) {
    discard_file(tmp);
    throw data_error(png_path, "cannot write the file");
  }
  commit_file(tmp, png_path);
}

}  // namespace coordseg
