#include "coordseg/core/dicom.h"

#ifdef COORDSEG_WITH_GDCM
#include <gdcmDirectory.h>
#include <gdcmImageReader.h>
#include <gdcmScanner.h>
#include <gdcmTag.h>
#include <gdcmTrace.h>
#include <gdcmUIDs.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>
#include <type_traits>

#include "coordseg/core/error.h"
#include "coordseg/core/nifti.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

std::string DicomSeries::describe() const {
  std::ostringstream s;
  s << uid << " (" << (modality.empty() ? "?" : modality) << ", " << files.size() << " slices, " << columns << " x "
    << rows;
  if (!description.empty()) s << ", '" << description << "'";
  s << ")";
  return s.str();
}

bool is_dicom_input(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && resolve_nifti_path(path) == path;
}

const DicomSeries& choose_series(const DicomFolder& found, const std::string& which) {
  if (found.series.empty())
    throw data_error(found.folder, "holds no DICOM image series (" + std::to_string(found.files) + " files, " +
                                       std::to_string(found.not_dicom) + " not DICOM, " +
                                       std::to_string(found.not_image) + " without pixel data)");
  if (which.empty()) {
    if (found.series.size() == 1) return found.series.front();
    std::string list;
    for (size_t i = 0; i < found.series.size() && i < 6; ++i)
      list += (i ? "; " : "") + std::to_string(i + 1) + ": " + found.series[i].describe();
    if (found.series.size() > 6) list += "; ...";
    throw data_error(found.folder, "holds " + std::to_string(found.series.size()) +
                                       " image series; pick one with --series UID or number (" + list + ")");
  }
  for (const auto& s : found.series)
    if (s.uid == which) return s;
  const bool is_number = !which.empty() && std::all_of(which.begin(), which.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (is_number && which.size() < 6) {
    const size_t n = std::stoul(which);
    if (n >= 1 && n <= found.series.size()) return found.series[n - 1];
  }
  throw usage_error("--series", "no image series '" + which + "' in " + found.folder + " (it holds " +
                                    std::to_string(found.series.size()) + "; see coordseg info " + found.folder + ")");
}

Volume read_image_input(const std::string& path, const DicomReadOptions& options) {
  if (!is_dicom_input(path)) return read_image(path);
  return read_dicom_series(choose_series(find_dicom_series(path), options.series), options.resample_gaps);
}

std::string describe_dicom_folder(const DicomFolder& found) {
  std::ostringstream s;
  s << found.folder << "\n  DICOM folder: " << found.files << " files, " << found.series.size() << " image series";
  if (found.not_dicom || found.not_image)
    s << " (skipped " << found.not_dicom << " not DICOM, " << found.not_image << " without pixel data)";
  s << "\n";
  if (found.series.empty()) return s.str();
  s << "      #  modality  slices  size         spacing (mm)          description           SeriesInstanceUID\n";
  for (size_t i = 0; i < found.series.size(); ++i) {
    const DicomSeries& d = found.series[i];
    char line[160];
    const std::string size = std::to_string(d.columns) + " x " + std::to_string(d.rows);
    const std::string spacing = number(d.spacing[0]) + " x " + number(d.spacing[1]) + " x " +
                                (d.spacing[2] > 0 ? number(d.spacing[2]) : std::string("?"));
    std::snprintf(line, sizeof line, "  %5zu  %-8s  %6zu  %-11s  %-20s  %-20s  ", i + 1,
                  d.modality.empty() ? "?" : d.modality.c_str(), d.files.size(), size.c_str(), spacing.c_str(),
                  d.description.substr(0, 20).c_str());
    s << line << d.uid << "\n";
  }
  return s.str();
}

#ifdef COORDSEG_WITH_GDCM
namespace {

const gdcm::Tag kModality(0x0008, 0x0060);
const gdcm::Tag kSeriesDescription(0x0008, 0x103e);
const gdcm::Tag kSeriesUid(0x0020, 0x000e);
const gdcm::Tag kPosition(0x0020, 0x0032);
const gdcm::Tag kOrientation(0x0020, 0x0037);
const gdcm::Tag kSamplesPerPixel(0x0028, 0x0002);
const gdcm::Tag kFrames(0x0028, 0x0008);
const gdcm::Tag kRows(0x0028, 0x0010);
const gdcm::Tag kColumns(0x0028, 0x0011);
const gdcm::Tag kPixelSpacing(0x0028, 0x0030);
const gdcm::Tag kSliceThickness(0x0018, 0x0050);
const gdcm::Tag kIntercept(0x0028, 0x1052);
const gdcm::Tag kSlope(0x0028, 0x1053);

using Vec3 = std::array<double, 3>;

double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
Vec3 minus(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }

std::string trimmed(const char* s) {
  if (!s) return "";
  std::string t(s);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\0')) t.pop_back();
  size_t b = 0;
  while (b < t.size() && t[b] == ' ') ++b;
  return t.substr(b);
}

// A backslash-separated decimal string ("0.7\0.7"); false when it has not `n` numbers.
bool numbers(const std::string& s, size_t n, double* out) {
  std::string t(s);
  std::replace(t.begin(), t.end(), '\\', ' ');
  std::istringstream in(t);
  in.imbue(std::locale::classic());
  for (size_t i = 0; i < n; ++i)
    if (!(in >> out[i]) || !std::isfinite(out[i])) return false;
  return true;
}

// One image file of a series, with the tags the geometry needs.
struct Slice {
  std::string file;
  Vec3 position{};
  std::array<double, 6> orientation{};
  std::array<double, 2> pixel_spacing{};  // between rows, between columns
  double slope = 1, intercept = 0;
  double thickness = 0;  // SliceThickness, 0 when absent (the spacing of a one-slice series)
  double along = 0;      // position on the slice normal
};

// A scanned tag's value, trimmed; empty when the file does not have it.
std::string value(const gdcm::Scanner& s, const std::string& file, const gdcm::Tag& t) {
  return trimmed(s.GetValue(file.c_str(), t));
}

// GDCM reports to stderr by default; our errors say what matters, once.
void quiet_gdcm() {
  static const bool once = [] {
    gdcm::Trace::WarningOff();
    gdcm::Trace::ErrorOff();
    gdcm::Trace::DebugOff();
    return true;
  }();
  (void)once;
}

std::string series_name(const DicomSeries& s) { return s.folder + " (series " + s.uid + ")"; }

// Parses the scanned tags of every file of `series`, refusing what cannot be read as a slice.
std::vector<Slice> slices_of(const DicomSeries& series) {
  const std::string name = series_name(series);
  if (series.tags.size() != series.files.size()) throw data_error(name, "was not found by a folder scan");
  std::vector<Slice> slices;
  for (size_t i = 0; i < series.files.size(); ++i) {
    const std::string& f = series.files[i];
    const DicomFileTags& t = series.tags[i];
    Slice s;
    s.file = f;
    const auto bad = [&](const std::string& reason) { return data_error(name, f + ": " + reason); };
    const int64_t frames = std::atoll(t.frames.c_str());
    if (frames > 1)
      throw data_error(name, "multi-frame objects (" + std::to_string(frames) + " frames in " + f +
                                 ") are not supported yet");
    if (!t.samples.empty() && t.samples != "1")
      throw data_error(name, "colour images (SamplesPerPixel " + t.samples + ") are not supported");
    if (!numbers(t.position, 3, s.position.data())) throw bad("no ImagePositionPatient");
    if (!numbers(t.orientation, 6, s.orientation.data())) throw bad("no ImageOrientationPatient");
    if (!numbers(t.pixel_spacing, 2, s.pixel_spacing.data()) || s.pixel_spacing[0] <= 0 || s.pixel_spacing[1] <= 0)
      throw bad("no valid PixelSpacing");
    double v = 0;
    if (numbers(t.slope, 1, &v)) s.slope = v;
    if (numbers(t.intercept, 1, &v)) s.intercept = v;
    if (numbers(t.slice_thickness, 1, &v)) s.thickness = v;
    if (s.slope == 0) throw bad("RescaleSlope is 0");
    slices.push_back(s);
  }
  return slices;
}

}  // namespace

DicomFolder find_dicom_series(const std::string& folder) {
  quiet_gdcm();
  std::error_code ec;
  if (!fs::exists(folder, ec)) throw data_error(folder, "no such folder");
  if (!fs::is_directory(folder, ec)) throw data_error(folder, "is not a folder");
  DicomFolder found;
  found.folder = folder;
  gdcm::Directory::FilenamesType files;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) files.push_back(it->path().string());
  if (ec) throw data_error(folder, "cannot list the folder: " + ec.message());
  std::sort(files.begin(), files.end());
  found.files = static_cast<int64_t>(files.size());
  gdcm::Scanner s;
  for (const auto& t : {kModality, kSeriesDescription, kSeriesUid, kPosition, kOrientation, kSamplesPerPixel,
                        kFrames, kRows, kColumns, kPixelSpacing, kSliceThickness, kIntercept, kSlope})
    s.AddTag(t);
  if (!files.empty()) s.Scan(files);
  std::map<std::string, DicomSeries> by_uid;
  for (const auto& f : files) {
    if (!s.IsKey(f.c_str())) {
      ++found.not_dicom;
      continue;
    }
    const std::string rows = value(s, f, kRows), columns = value(s, f, kColumns);
    if (rows.empty() || columns.empty()) {
      ++found.not_image;
      continue;
    }
    const std::string uid = value(s, f, kSeriesUid);
    DicomSeries& series = by_uid[uid];
    if (series.files.empty()) {
      series.folder = folder;
      series.uid = uid.empty() ? "(no SeriesInstanceUID)" : uid;
      series.modality = value(s, f, kModality);
      series.description = value(s, f, kSeriesDescription);
      series.rows = std::atoll(rows.c_str());
      series.columns = std::atoll(columns.c_str());
    } else if (series.rows != std::atoll(rows.c_str()) || series.columns != std::atoll(columns.c_str())) {
      throw data_error(series_name(series), "mixed slice sizes (" + std::to_string(series.columns) + " x " +
                                                std::to_string(series.rows) + " and " + columns + " x " + rows +
                                                " in " + f + ")");
    }
    series.files.push_back(f);
    series.tags.push_back({value(s, f, kPosition), value(s, f, kOrientation), value(s, f, kPixelSpacing),
                           value(s, f, kSliceThickness), value(s, f, kSlope), value(s, f, kIntercept),
                           value(s, f, kFrames), value(s, f, kSamplesPerPixel)});
  }
  for (auto& [uid, series] : by_uid) {
    // Spacing for the listing, where the tags give it (read_dicom_series checks it all).
    double ps[2] = {0, 0};
    const DicomFileTags& first = series.tags.front();
    if (numbers(first.pixel_spacing, 2, ps)) series.spacing = {ps[1], ps[0], 0};
    double o[6], a[3], b[3];
    if (series.files.size() > 1 && numbers(first.orientation, 6, o)) {
      const Vec3 n = cross({o[0], o[1], o[2]}, {o[3], o[4], o[5]});
      double lo = 1e300, hi = -1e300;
      for (const auto& tags : series.tags)
        if (numbers(tags.position, 3, a)) {
          const double t = dot(n, {a[0], a[1], a[2]});
          lo = std::min(lo, t);
          hi = std::max(hi, t);
        }
      if (hi > lo) series.spacing[2] = (hi - lo) / static_cast<double>(series.files.size() - 1);
    } else if (numbers(first.slice_thickness, 1, b)) {
      series.spacing[2] = b[0];
    }
    found.series.push_back(std::move(series));
  }
  std::sort(found.series.begin(), found.series.end(), [](const DicomSeries& x, const DicomSeries& y) {
    return std::tie(x.modality, x.description, x.uid) < std::tie(y.modality, y.description, y.uid);
  });
  return found;
}

namespace {

// One slice's values -- stored values with the unused high bits cleared, x slope + intercept --
// into `out` (rows x columns floats).
void read_pixels(const DicomSeries& series, const Slice& slice, float* out) {
  const std::string name = series_name(series);
  const std::string& file = slice.file;
  gdcm::ImageReader reader;
  reader.SetFileName(file.c_str());
  if (!reader.Read()) throw data_error(name, file + ": GDCM cannot read the image");
  const gdcm::Image& image = reader.GetImage();
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  if (pf.GetSamplesPerPixel() != 1)
    throw data_error(name, "colour images (SamplesPerPixel " + std::to_string(pf.GetSamplesPerPixel()) +
                               ") are not supported");
  const size_t n = static_cast<size_t>(series.rows * series.columns);
  std::vector<char> buffer(image.GetBufferLength());
  if (!image.GetBuffer(buffer.data())) {
    const char* uid = gdcm::TransferSyntax::GetTSString(image.GetTransferSyntax());
    std::string syntax = uid ? uid : "unknown";
    gdcm::UIDs known;
    if (uid && known.SetFromUID(uid) && known.GetName()) syntax = std::string(known.GetName()) + ", " + syntax;
    throw data_error(name, file + ": cannot decode the pixel data (transfer syntax " + syntax +
                               "; no codec for it in this GDCM)");
  }
  const unsigned stored = pf.GetBitsStored();
  const auto get = [&](auto tag) {
    using T = decltype(tag);
    if (buffer.size() < n * sizeof(T))
      throw data_error(name, file + ": pixel data holds " + std::to_string(buffer.size()) + " bytes, " +
                                 std::to_string(n * sizeof(T)) + " expected");
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, buffer.data() + i * sizeof(T), sizeof(T));
      if constexpr (std::is_integral_v<T>) {
        if (stored > 0 && stored < 8 * sizeof(T)) {
          using U = std::make_unsigned_t<T>;
          U u = static_cast<U>(v) & static_cast<U>((U{1} << stored) - 1);
          if (std::is_signed_v<T> && (u >> (stored - 1)) & 1U) u = static_cast<U>(u | ~static_cast<U>((U{1} << stored) - 1));
          v = static_cast<T>(u);
        }
      }
      out[i] = static_cast<float>(static_cast<double>(v) * slice.slope + slice.intercept);
    }
  };
  switch (pf.GetScalarType()) {
    case gdcm::PixelFormat::UINT8: return get(uint8_t{});
    case gdcm::PixelFormat::INT8: return get(int8_t{});
    case gdcm::PixelFormat::UINT16: return get(uint16_t{});
    case gdcm::PixelFormat::INT16: return get(int16_t{});
    case gdcm::PixelFormat::UINT32: return get(uint32_t{});
    case gdcm::PixelFormat::INT32: return get(int32_t{});
    case gdcm::PixelFormat::FLOAT32: return get(float{});
    case gdcm::PixelFormat::FLOAT64: return get(double{});
    default: break;
  }
  std::ostringstream s;
  s << pf;
  throw data_error(name, file + ": unsupported pixel format " + s.str());
}

}  // namespace

Volume read_dicom_series(const DicomSeries& series, bool resample_gaps) {
  quiet_gdcm();
  const std::string name = series_name(series);
  if (series.files.empty()) throw data_error(name, "has no image files");
  std::vector<Slice> slices = slices_of(series);
  const Slice& first = slices.front();
  for (const auto& s : slices) {
    for (int i = 0; i < 6; ++i)
      if (std::abs(s.orientation[static_cast<size_t>(i)] - first.orientation[static_cast<size_t>(i)]) > 1e-4)
        throw data_error(name, "mixed orientations (ImageOrientationPatient of " + s.file + " differs from " +
                                   first.file + ")");
    for (int i = 0; i < 2; ++i)
      if (std::abs(s.pixel_spacing[static_cast<size_t>(i)] - first.pixel_spacing[static_cast<size_t>(i)]) > 1e-4)
        throw data_error(name, "mixed pixel spacings (" + s.file + " and " + first.file + ")");
  }
  const Vec3 row{first.orientation[0], first.orientation[1], first.orientation[2]};
  const Vec3 col{first.orientation[3], first.orientation[4], first.orientation[5]};
  if (std::abs(norm(row) - 1) > 1e-3 || std::abs(norm(col) - 1) > 1e-3 || std::abs(dot(row, col)) > 1e-3)
    throw data_error(name, "ImageOrientationPatient is not two orthogonal unit vectors");
  Vec3 normal = cross(row, col);
  const double nn = norm(normal);
  for (auto& v : normal) v /= nn;
  for (auto& s : slices) s.along = dot(normal, s.position);
  std::sort(slices.begin(), slices.end(), [](const Slice& a, const Slice& b) { return a.along < b.along; });

  const int64_t nx = series.columns, ny = series.rows;
  const size_t k_count = slices.size();
  double gap = 0;
  std::vector<double> gaps;
  for (size_t k = 1; k < k_count; ++k) {
    const double g = slices[k].along - slices[k - 1].along;
    if (g < 1e-3) {
      throw data_error(name, "duplicated slice position " + number(slices[k].along) + " mm along the normal (" +
                                 slices[k - 1].file + " and " + slices[k].file +
                                 "); 4D or repeated series are not supported yet");
    }
    const Vec3 step = minus(slices[k].position, slices[k - 1].position);
    const double shear = norm(minus(step, {g * normal[0], g * normal[1], g * normal[2]}));
    if (shear > 1e-3 * g + 1e-3) {
      throw data_error(name, "slices are sheared against their plane (gantry tilt of " +
                                 number(std::atan2(shear, g) * 180 / 3.14159265358979323846) + " degrees); not supported");
    }
    gaps.push_back(g);
  }
  if (!gaps.empty()) {
    std::vector<double> sorted = gaps;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(sorted.size() / 2), sorted.end());
    gap = sorted[sorted.size() / 2];
  } else {
    gap = first.thickness > 0 ? first.thickness : 1.0;
  }
  bool even = true;
  for (size_t k = 0; k < gaps.size(); ++k) {
    if (std::abs(gaps[k] - gap) <= 0.01 * gap) continue;
    even = false;
    if (resample_gaps) break;
    const double ratio = gaps[k] / gap;
    const double missing = std::round(ratio) - 1;
    if (missing >= 1 && std::abs(ratio - std::round(ratio)) <= 0.01 * std::round(ratio))
      throw data_error(name, "missing slices: a gap of " + number(gaps[k]) + " mm between " + slices[k].file + " and " +
                                 slices[k + 1].file + " where the others are " + number(gap) + " mm (" +
                                 number(missing) + " slices); pass --resample-gaps to interpolate");
    throw data_error(name, "unequal slice gaps: " + number(gaps[k]) + " mm between " + slices[k].file + " and " +
                               slices[k + 1].file + " where most are " + number(gap) +
                               " mm; pass --resample-gaps to interpolate");
  }

  const int64_t nz = even ? static_cast<int64_t>(k_count)
                          : static_cast<int64_t>(std::llround((slices.back().along - slices.front().along) / gap)) + 1;
  Grid grid;
  grid.dims = {nx, ny, nz};
  grid.spacing = {first.pixel_spacing[1], first.pixel_spacing[0], gap};
  // LPS affine, then RAS: x and y negated.
  Affine a = Affine::identity();
  const Vec3& p0 = slices.front().position;
  for (int r = 0; r < 3; ++r) {
    const auto ru = static_cast<size_t>(r);
    a.m[ru][0] = row[ru] * grid.spacing[0];
    a.m[ru][1] = col[ru] * grid.spacing[1];
    a.m[ru][2] = normal[ru] * gap;
    a.m[ru][3] = p0[ru];
  }
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) a.m[static_cast<size_t>(r)][static_cast<size_t>(c)] = 0.0 - a.m[static_cast<size_t>(r)][static_cast<size_t>(c)];  // 0 - x: no -0
  grid.affine = a;
  Volume v = Volume::filled(grid, 0.0f);
  const size_t plane = static_cast<size_t>(nx * ny);
  if (even) {  // each slice decoded straight into its place
    for (size_t k = 0; k < k_count; ++k) read_pixels(series, slices[k], v.voxels.data() + k * plane);
    v.source = name;
    return v;
  }
  std::vector<std::vector<float>> values(k_count, std::vector<float>(plane));
  for (size_t k = 0; k < k_count; ++k) read_pixels(series, slices[k], values[k].data());
  for (int64_t k = 0; k < nz; ++k) {
    float* out = v.voxels.data() + static_cast<size_t>(k) * plane;
    // Linear interpolation between the two slices around this position.
    const double t = slices.front().along + static_cast<double>(k) * gap;
    size_t hi = 1;
    while (hi + 1 < k_count && slices[hi].along < t) ++hi;
    const size_t lo = hi - 1;
    const double w = std::clamp((t - slices[lo].along) / (slices[hi].along - slices[lo].along), 0.0, 1.0);
    for (size_t i = 0; i < plane; ++i)
      out[i] = static_cast<float>((1 - w) * values[lo][i] + w * values[hi][i]);
  }
  v.source = name;
  return v;
}

#else  // no GDCM at build time

namespace {
Error no_dicom(const std::string& what) {
  return data_error(what, "is a folder: DICOM input needs GDCM, and this build of coordseg was made without it "
                          "(install libgdcm-dev and rebuild)");
}
}  // namespace

DicomFolder find_dicom_series(const std::string& folder) { throw no_dicom(folder); }
Volume read_dicom_series(const DicomSeries& series, bool) { throw no_dicom(series.folder); }

#endif

}  // namespace coordseg
