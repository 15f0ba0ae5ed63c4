// A built-in 5 x 7 pixel font (upper case, digits and common punctuation) for titles and
// legends, so rendering needs no font files. Lower-case letters are drawn as upper case.
#pragma once

#include <string>

namespace coordseg::font {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;
constexpr int kAdvance = 6;  // glyph width + one column of spacing

// Row r (0 = top) of the glyph for `c` as 5 characters, '#' for ink; unknown characters
// are drawn as '?'.
const char* glyph_row(char c, int r);

// Width in pixels of `text` at `scale`.
inline int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : (static_cast<int>(text.size()) * kAdvance - 1) * scale;
}

}  // namespace coordseg::font
