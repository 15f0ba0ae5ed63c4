#include "coordseg/core/nifti.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <sstream>
#include <type_traits>
#include <vector>

#include "coordseg/core/atomic_file.h"
#include "coordseg/core/error.h"
#include "coordseg/core/memory.h"
#include "coordseg/core/names.h"
#include "nifti2_io.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {

constexpr int kNifti1HeaderSize = 348;
constexpr int kNifti2HeaderSize = 540;
// Data is read in pieces of this size, so memory grows with the data the file really has,
// not with what a (possibly corrupt) header claims.
constexpr size_t kReadChunk = size_t{16} << 20;


int32_t bswap32(int32_t v) {
  const uint32_t u = static_cast<uint32_t>(v);
  return static_cast<int32_t>((u >> 24) | ((u >> 8) & 0xff00u) | ((u << 8) & 0xff0000u) | (u << 24));
}

// A gzip-or-plain input file (zlib reads plain files transparently).
class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path) {
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) throw data_error(path, system_reason("cannot open", errno ? errno : EIO));
    gzbuffer(file_, 1 << 20);
  }
  ~InputFile() {
    if (file_) gzclose_r(file_);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  bool compressed() { return gzdirect(file_) == 0; }

  // Reads up to n bytes; returns how many were read. A broken gzip stream is an error.
  size_t read_some(void* buf, size_t n) {
    size_t done = 0;
    while (done < n) {
      const unsigned piece = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      const int got = gzread(file_, static_cast<char*>(buf) + done, piece);
      if (got < 0) fail_stream();
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    // zlib reports a stream cut short as an error only on the next read.
    int errnum = Z_OK;
    gzerror(file_, &errnum);
    if (errnum != Z_OK && errnum != Z_STREAM_END) fail_stream();
    return done;
  }

  // Skips n bytes; returns false at end of file.
  bool skip(uint64_t n) {
    std::vector<char> sink(std::min<uint64_t>(n, kReadChunk));
    while (n > 0) {
      const size_t piece = static_cast<size_t>(std::min<uint64_t>(n, sink.size()));
      if (read_some(sink.data(), piece) < piece) return false;
      n -= piece;
    }
    return true;
  }

  [[noreturn]] void fail_stream() {
    int errnum = Z_OK;
    const char* msg = gzerror(file_, &errnum);
    if (errnum == Z_BUF_ERROR) throw data_error(path_, "truncated gzip stream (unexpected end of file)");
    if (errnum == Z_ERRNO) throw data_error(path_, system_reason("read failed", errno ? errno : EIO));
    throw data_error(path_, std::string("corrupt gzip stream: ") + (msg ? msg : "unknown zlib error"));
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

// The voxel types read and written: the one list (the reader's type dispatch is
// for_each_value, whose switch covers exactly these codes).
struct Datatype {
  int code;
  int bytes;
  bool is_float;
  bool is_signed;
  const char* name;
};

constexpr Datatype kDatatypes[] = {
    {DT_UINT8, 1, false, false, "uint8"},     {DT_INT8, 1, false, true, "int8"},
    {DT_INT16, 2, false, true, "int16"},      {DT_UINT16, 2, false, false, "uint16"},
    {DT_INT32, 4, false, true, "int32"},      {DT_UINT32, 4, false, false, "uint32"},
    {DT_INT64, 8, false, true, "int64"},      {DT_UINT64, 8, false, false, "uint64"},
    {DT_FLOAT32, 4, true, true, "float32"},   {DT_FLOAT64, 8, true, true, "float64"},
};

const Datatype* find_datatype(int code) {
  for (const auto& t : kDatatypes)
    if (t.code == code) return &t;
  return nullptr;
}

std::string supported_datatypes() {
  std::string s;
  for (const auto& t : kDatatypes) s += std::string(s.empty() ? "" : ", ") + t.name;
  return s;
}

// The raw header, in native byte order, plus where the voxels are.
struct RawHeader {
  int version = 0;
  bool swapped = false;
  nifti_1_header n1{};
  nifti_2_header n2{};
};

// Header fields common to both versions, widened to the NIfTI-2 types.
struct Fields {
  int64_t dim[8];
  double pixdim[8];
  int64_t vox_offset = 0;
  int datatype;
  double scl_slope, scl_inter, cal_min, cal_max;
  int qform_code, sform_code, intent_code, xyzt_units;
  double quatern[3], qoffset[3];
  double srow[3][4];
  std::string descrip;
};

template <class H>
Fields fields_of(const H& h) {
  Fields f;
  for (int i = 0; i < 8; ++i) {
    f.dim[i] = h.dim[i];
    f.pixdim[i] = h.pixdim[i];
  }
  f.datatype = h.datatype;
  f.scl_slope = h.scl_slope;
  f.scl_inter = h.scl_inter;
  f.cal_min = h.cal_min;
  f.cal_max = h.cal_max;
  f.qform_code = h.qform_code;
  f.sform_code = h.sform_code;
  f.intent_code = h.intent_code;
  f.xyzt_units = static_cast<int>(h.xyzt_units);
  f.quatern[0] = h.quatern_b;
  f.quatern[1] = h.quatern_c;
  f.quatern[2] = h.quatern_d;
  f.qoffset[0] = h.qoffset_x;
  f.qoffset[1] = h.qoffset_y;
  f.qoffset[2] = h.qoffset_z;
  for (int c = 0; c < 4; ++c) {
    f.srow[0][c] = h.srow_x[c];
    f.srow[1][c] = h.srow_y[c];
    f.srow[2][c] = h.srow_z[c];
  }
  f.descrip.assign(h.descrip, strnlen(h.descrip, sizeof h.descrip));
  return f;
}

// Reads and checks the header bytes; leaves `in` positioned after them.
RawHeader read_raw_header(InputFile& in, const std::string& path) {
  unsigned char buf[kNifti2HeaderSize];
  const size_t n = in.read_some(buf, kNifti1HeaderSize);
  if (n < 4) throw data_error(path, "not a NIfTI file (only " + std::to_string(n) + " bytes)");
  int32_t sizeof_hdr;
  std::memcpy(&sizeof_hdr, buf, 4);
  RawHeader raw;
  if (sizeof_hdr == kNifti1HeaderSize || bswap32(sizeof_hdr) == kNifti1HeaderSize) {
    raw.version = 1;
    raw.swapped = sizeof_hdr != kNifti1HeaderSize;
  } else if (sizeof_hdr == kNifti2HeaderSize || bswap32(sizeof_hdr) == kNifti2HeaderSize) {
    raw.version = 2;
    raw.swapped = sizeof_hdr != kNifti2HeaderSize;
  } else {
    throw data_error(path, "not a NIfTI file (header size field is " + std::to_string(sizeof_hdr) +
                               ", expected 348 or 540)");
  }
  const size_t need = raw.version == 1 ? kNifti1HeaderSize : kNifti2HeaderSize;
  const size_t have = n + (need > n && n == kNifti1HeaderSize ? in.read_some(buf + n, need - n) : 0);
  if (have < need)
    throw data_error(path, "truncated file: the NIfTI-" + std::to_string(raw.version) + " header needs " +
                               std::to_string(need) + " bytes, the file has " + std::to_string(have));

  const char* magic = raw.version == 1 ? reinterpret_cast<const char*>(buf) + 344
                                       : reinterpret_cast<const char*>(buf) + 4;
  const std::string single = raw.version == 1 ? "n+1" : "n+2";
  const std::string pair = raw.version == 1 ? "ni1" : "ni2";
  if (std::memcmp(magic, pair.c_str(), 4) == 0)
    throw data_error(path, "two-file NIfTI (.hdr/.img) is not supported; convert it to a single .nii");
  if (std::memcmp(magic, single.c_str(), 4) != 0) {
    std::string shown;
    for (int i = 0; i < 4; ++i) {
      const unsigned char c = static_cast<unsigned char>(magic[i]);
      char hex[8];
      std::snprintf(hex, sizeof hex, (c >= 32 && c < 127) ? "%c" : "\\x%02x", c);
      shown += hex;
    }
    throw data_error(path, "bad NIfTI magic '" + shown + "' (expected '" + single + "')" +
                               (raw.version == 1 ? "; an Analyze 7.5 file?" : ""));
  }
  if (raw.version == 1) {
    std::memcpy(&raw.n1, buf, kNifti1HeaderSize);
    if (raw.swapped) swap_nifti_header(&raw.n1, 1);
  } else {
    std::memcpy(&raw.n2, buf, kNifti2HeaderSize);
    if (raw.swapped) swap_nifti_header(&raw.n2, 2);
  }
  return raw;
}

// Validates the header fields and builds the NiftiHeader and Grid.
void interpret_header(const std::string& path, const Fields& f, int version, NiftiHeader& h, Grid& grid) {
  const int64_t ndim = f.dim[0];
  if (ndim < 1 || ndim > 7) throw data_error(path, "dim[0] is " + std::to_string(ndim) + ", must be 1..7");
  for (int i = 1; i <= ndim; ++i)
    if (f.dim[i] <= 0)
      throw data_error(path, "dim[" + std::to_string(i) + "] is " + std::to_string(f.dim[i]) +
                                 "; dims must be positive");
  int64_t dims[8];
  for (int i = 1; i < 8; ++i) dims[i] = i <= ndim ? f.dim[i] : 1;

  int64_t time_points = 1;
  for (int i = 4; i < 8; ++i)
    if (__builtin_mul_overflow(time_points, dims[i], &time_points))
      throw data_error(path, "dims 4..7 overflow");
  if (time_points > 1)
    throw data_error(path, "has " + std::to_string(time_points) +
                               " volumes (4D or more); a single 3D volume is expected");

  const Datatype* type = find_datatype(f.datatype);
  if (!type) {
    const char* name = nifti_datatype_string(f.datatype);
    throw data_error(path, std::string("unsupported datatype ") + (name ? name : "?") + " (code " +
                               std::to_string(f.datatype) + "); supported: " + supported_datatypes());
  }

  int64_t nvox = 1;
  for (int i = 1; i <= 3; ++i)
    if (__builtin_mul_overflow(nvox, dims[i], &nvox))
      throw data_error(path, "dims " + std::to_string(dims[1]) + " x " + std::to_string(dims[2]) + " x " +
                                 std::to_string(dims[3]) + " overflow a 64-bit voxel count");
  int64_t nbytes = 0;
  // Room for the raw data plus the converted 4-byte voxels.
  int64_t needed = 0;
  if (__builtin_mul_overflow(nvox, int64_t{type->bytes}, &nbytes) ||
      __builtin_mul_overflow(nvox, int64_t{type->bytes + 4}, &needed))
    throw data_error(path, "voxel data size overflows");
  check_memory(static_cast<double>(needed), ErrorKind::kData, path,
               "a volume of " + std::to_string(dims[1]) + " x " + std::to_string(dims[2]) + " x " +
                   std::to_string(dims[3]) + " voxels");

  for (int i = 1; i <= 3; ++i) {
    const double p = f.pixdim[i];
    if (i <= ndim && !(std::isfinite(p) && p > 0))
      throw data_error(path, "pixdim[" + std::to_string(i) + "] is " + std::to_string(p) +
                                 "; voxel sizes must be positive and finite");
  }
  const int64_t header_bytes = version == 1 ? 352 : 544;
  if (f.vox_offset < header_bytes && f.vox_offset != 0)
    throw data_error(path, "vox_offset " + std::to_string(f.vox_offset) + " lies inside the header (needs >= " +
                               std::to_string(header_bytes) + ")");

  h.version = version;
  h.datatype = f.datatype;
  h.scl_slope = f.scl_slope;
  h.scl_inter = f.scl_inter;
  h.cal_min = f.cal_min;
  h.cal_max = f.cal_max;
  h.time_points = time_points;
  h.intent_code = f.intent_code;
  h.xyzt_units = f.xyzt_units;
  for (int i = 0; i < 8; ++i) h.pixdim[i] = f.pixdim[i];
  for (int i = ndim + 1; i <= 3; ++i)
    if (!(std::isfinite(h.pixdim[i]) && h.pixdim[i] > 0)) h.pixdim[i] = 1.0;
  h.qform_code = f.qform_code;
  h.sform_code = f.sform_code;
  for (int i = 0; i < 3; ++i) {
    h.quatern[i] = f.quatern[i];
    h.qoffset[i] = f.qoffset[i];
  }
  h.descrip = f.descrip;

  const double qfac = h.pixdim[0] < 0 ? -1.0 : 1.0;
  const nifti_dmat44 q = nifti_quatern_to_dmat44(h.quatern[0], h.quatern[1], h.quatern[2], h.qoffset[0],
                                                 h.qoffset[1], h.qoffset[2], h.pixdim[1], h.pixdim[2],
                                                 h.pixdim[3], qfac);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) h.qform.m[r][c] = q.m[r][c];
  h.sform = Affine::identity();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) h.sform.m[r][c] = f.srow[r][c];

  grid.dims = {dims[1], dims[2], dims[3]};
  grid.affine = h.affine();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      if (!std::isfinite(grid.affine.m[r][c]))
        throw data_error(path, std::string("the ") + h.affine_source() + " holds non-finite values");
  for (int c = 0; c < 3; ++c) grid.spacing[c] = grid.affine.column_norm(c);
  if (!(std::fabs(grid.affine.determinant3()) > 0))
    throw data_error(path, std::string("the ") + h.affine_source() + " is singular (zero voxel size or " +
                               "collinear axes)");
}

struct RawNifti {
  NiftiInfo info;
  bool swapped = false;
  std::vector<unsigned char> bytes;  // voxel data, file byte order
};

NiftiInfo parse_header(InputFile& in, const std::string& path, RawHeader& raw, int64_t& vox_offset) {
  raw = read_raw_header(in, path);
  Fields f;
  if (raw.version == 1) {
    f = fields_of(raw.n1);
    const double off = raw.n1.vox_offset;
    if (!(std::isfinite(off) && off >= 0 && off < 9.0e18))
      throw data_error(path, "vox_offset " + std::to_string(off) + " is not a valid byte offset");
    f.vox_offset = static_cast<int64_t>(off);
  } else {
    f = fields_of(raw.n2);
    f.vox_offset = raw.n2.vox_offset;
  }
  // Some writers leave vox_offset 0 in single files; like nibabel and nifticlib, read the
  // data right after the header and its 4-byte extension flag.
  vox_offset = f.vox_offset == 0 ? (raw.version == 1 ? 352 : 544) : f.vox_offset;
  NiftiInfo info;
  info.path = path;
  interpret_header(path, f, raw.version, info.header, info.grid);
  info.header.gzip = in.compressed();
  return info;
}

void check_regular_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) throw data_error(path, "no such file");
    throw data_error(path, system_reason("cannot stat", errno));
  }
  if (S_ISDIR(st.st_mode)) throw data_error(path, "is a directory, not a NIfTI file");
  if (!S_ISREG(st.st_mode)) throw data_error(path, "not a regular file");
}

RawNifti read_raw(const std::string& given_path) {
  const std::string path = resolve_nifti_path(given_path);
  check_regular_file(path);
  InputFile in(path);
  RawNifti out;
  RawHeader raw;
  int64_t vox_offset = 0;
  out.info = parse_header(in, path, raw, vox_offset);
  out.swapped = raw.swapped;

  const Datatype* type = find_datatype(out.info.header.datatype);
  const uint64_t nbytes = static_cast<uint64_t>(out.info.grid.voxel_count()) * static_cast<uint64_t>(type->bytes);
  const uint64_t header_read = raw.version == 1 ? kNifti1HeaderSize : kNifti2HeaderSize;

  if (!out.info.header.gzip) {
    const uint64_t file_size = fs::file_size(path);
    if (static_cast<uint64_t>(vox_offset) > file_size)
      throw data_error(path, "vox_offset " + std::to_string(vox_offset) + " is beyond the end of the file (" +
                                 std::to_string(file_size) + " bytes)");
    if (static_cast<uint64_t>(vox_offset) + nbytes > file_size)
      throw data_error(path, "truncated file: " + std::to_string(nbytes) + " bytes of voxel data expected at offset " +
                                 std::to_string(vox_offset) + ", the file has " +
                                 std::to_string(file_size - static_cast<uint64_t>(vox_offset)));
  }
  if (!in.skip(static_cast<uint64_t>(vox_offset) - header_read))
    throw data_error(path, "vox_offset " + std::to_string(vox_offset) + " is beyond the end of the data");

  // Grow the buffer as data arrives, so a lying header cannot make us allocate.
  out.bytes.reserve(static_cast<size_t>(std::min<uint64_t>(nbytes, kReadChunk)));
  uint64_t done = 0;
  while (done < nbytes) {
    const size_t piece = static_cast<size_t>(std::min<uint64_t>(nbytes - done, kReadChunk));
    out.bytes.resize(static_cast<size_t>(done) + piece);
    const size_t got = in.read_some(out.bytes.data() + done, piece);
    done += got;
    if (got < piece)
      throw data_error(path, "truncated file: " + std::to_string(nbytes) + " bytes of voxel data expected, found " +
                                 std::to_string(done));
  }
  // Reading one byte past the data makes zlib check the gzip trailer (CRC and length).
  if (out.info.header.gzip) {
    unsigned char extra;
    in.read_some(&extra, 1);
  }
  return out;
}

// Calls fn(double value) for every voxel, in order, with byte order fixed.
template <class Fn>
void for_each_value(const RawNifti& raw, Fn&& fn) {
  const Datatype* type = find_datatype(raw.info.header.datatype);
  const size_t n = static_cast<size_t>(raw.info.grid.voxel_count());
  const unsigned char* p = raw.bytes.data();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    for (size_t i = 0; i < n; ++i) {
      unsigned char b[sizeof(T)];
      std::memcpy(b, p + i * sizeof(T), sizeof(T));
      if (raw.swapped) std::reverse(b, b + sizeof(T));
      T v;
      std::memcpy(&v, b, sizeof(T));
      fn(v);
    }
  };
  switch (type->code) {
    case DT_UINT8: run(uint8_t{}); break;
    case DT_INT8: run(int8_t{}); break;
    case DT_INT16: run(int16_t{}); break;
    case DT_UINT16: run(uint16_t{}); break;
    case DT_INT32: run(int32_t{}); break;
    case DT_UINT32: run(uint32_t{}); break;
    case DT_INT64: run(int64_t{}); break;
    case DT_UINT64: run(uint64_t{}); break;
    case DT_FLOAT32: run(float{}); break;
    case DT_FLOAT64: run(double{}); break;
    default: throw data_error(raw.info.path, "unsupported datatype");
  }
}

template <class T>
VolumeOf<T> volume_from(const RawNifti& raw) {
  VolumeOf<T> v;
  v.grid = raw.info.grid;
  v.header = raw.info.header;
  v.source = raw.info.path;
  v.voxels.resize(static_cast<size_t>(raw.info.grid.voxel_count()));
  return v;
}

// --- writing ---------------------------------------------------------------------------

// Whether a volume's kept header still describes its grid (then the writer keeps the
// header's own transforms; else it makes new ones from the grid). 1e-4 mm: the float32
// precision of a NIfTI-1 sform over a few hundred millimetres.
bool header_describes(const NiftiHeader& h, const Grid& grid) { return h.affine().max_abs_diff(grid.affine) <= 1e-4; }

template <class H>
void fill_header(H& hdr, const NiftiHeader& h, const Grid& grid, int datatype, int bitpix) {
  hdr.datatype = static_cast<decltype(hdr.datatype)>(datatype);
  hdr.bitpix = static_cast<decltype(hdr.bitpix)>(bitpix);
  hdr.dim[0] = 3;
  for (int i = 0; i < 3; ++i) hdr.dim[i + 1] = static_cast<std::remove_reference_t<decltype(hdr.dim[0])>>(grid.dims[i]);
  for (int i = 4; i < 8; ++i) hdr.dim[i] = 1;
  using P = std::remove_reference_t<decltype(hdr.pixdim[0])>;
  for (int i = 0; i < 8; ++i) hdr.pixdim[i] = static_cast<P>(h.pixdim[i]);
  hdr.pixdim[0] = static_cast<P>(h.pixdim[0] < 0 ? -1.0 : 1.0);
  hdr.scl_slope = 1;
  hdr.scl_inter = 0;
  hdr.cal_min = 0;
  hdr.cal_max = 0;
  hdr.xyzt_units = static_cast<decltype(hdr.xyzt_units)>(h.xyzt_units);
  hdr.qform_code = static_cast<decltype(hdr.qform_code)>(h.qform_code);
  hdr.sform_code = static_cast<decltype(hdr.sform_code)>(h.sform_code);
  hdr.quatern_b = static_cast<P>(h.quatern[0]);
  hdr.quatern_c = static_cast<P>(h.quatern[1]);
  hdr.quatern_d = static_cast<P>(h.quatern[2]);
  hdr.qoffset_x = static_cast<P>(h.qoffset[0]);
  hdr.qoffset_y = static_cast<P>(h.qoffset[1]);
  hdr.qoffset_z = static_cast<P>(h.qoffset[2]);
  for (int c = 0; c < 4; ++c) {
    hdr.srow_x[c] = static_cast<P>(h.sform.m[0][c]);
    hdr.srow_y[c] = static_cast<P>(h.sform.m[1][c]);
    hdr.srow_z[c] = static_cast<P>(h.sform.m[2][c]);
  }
  std::memset(hdr.descrip, 0, sizeof hdr.descrip);
  std::strncpy(hdr.descrip, h.descrip.c_str(), sizeof hdr.descrip - 1);
}

// Writes header + voxel bytes (native order) to `path` atomically.
void write_nifti(const std::string& path, const NiftiHeader& source, const Grid& grid, int datatype, int bytes_per_voxel,
                 const void* data) {
  const bool gz = ends_with(path, ".nii.gz");
  if (!gz && !ends_with(path, ".nii"))
    throw usage_error(path, "output file name must end in .nii or .nii.gz");
  const NiftiHeader h = header_describes(source, grid) ? source : make_header(grid, std::max(source.qform_code, 1),
                                                                               std::max(source.sform_code, 1));

  const bool fits_v1 = std::all_of(grid.dims.begin(), grid.dims.end(), [](int64_t d) { return d <= 32767; });
  std::vector<unsigned char> header_bytes;
  if (fits_v1) {
    nifti_1_header* hdr = nifti_make_new_n1_header(nullptr, DT_UINT8);
    if (!hdr) throw data_error(path, "out of memory building the NIfTI header");
    std::unique_ptr<nifti_1_header, decltype(&free)> owner(hdr, &free);
    fill_header(*hdr, h, grid, datatype, 8 * bytes_per_voxel);
    hdr->vox_offset = 352;
    std::memcpy(hdr->magic, "n+1\0", 4);
    header_bytes.resize(352, 0);  // 348 header bytes + a zero extension flag
    std::memcpy(header_bytes.data(), hdr, sizeof *hdr);
  } else {
    nifti_2_header* hdr = nifti_make_new_n2_header(nullptr, DT_UINT8);
    if (!hdr) throw data_error(path, "out of memory building the NIfTI header");
    std::unique_ptr<nifti_2_header, decltype(&free)> owner(hdr, &free);
    fill_header(*hdr, h, grid, datatype, 8 * bytes_per_voxel);
    hdr->vox_offset = 544;
    std::memcpy(hdr->magic, "n+2\0\r\n\032\n", 8);
    header_bytes.resize(544, 0);
    std::memcpy(header_bytes.data(), hdr, sizeof *hdr);
  }

  const std::string tmp_name = temporary_path(path);

  gzFile out = gzopen(tmp_name.c_str(), gz ? "wb3" : "wbT");
  if (!out) throw data_error(path, system_reason("cannot create " + tmp_name, errno ? errno : EIO));
  auto fail = [&](const std::string& why) {
    if (out) gzclose_w(out);
    discard_file(tmp_name);
    throw data_error(path, why);
  };
  auto put = [&](const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      const unsigned piece = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
      if (gzwrite(out, c, piece) != static_cast<int>(piece)) {
        int errnum = Z_OK;
        const char* msg = gzerror(out, &errnum);
        fail(errnum == Z_ERRNO ? system_reason("write failed", errno ? errno : EIO) : std::string("write failed: ") + msg);
      }
      c += piece;
      n -= piece;
    }
  };
  put(header_bytes.data(), header_bytes.size());
  put(data, static_cast<size_t>(grid.voxel_count()) * static_cast<size_t>(bytes_per_voxel));
  const int rc = gzclose_w(out);
  out = nullptr;
  if (rc != Z_OK) fail(system_reason("closing the file failed", errno ? errno : EIO));
  commit_file(tmp_name, path);
}

template <class Out, class In>
std::vector<Out> narrow(const std::vector<In>& in, const std::string& path, const char* type_name) {
  std::vector<Out> out(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const double v = std::is_floating_point<Out>::value ? static_cast<double>(in[i]) : std::nearbyint(static_cast<double>(in[i]));
    if (!(v >= static_cast<double>(std::numeric_limits<Out>::lowest()) &&
          v <= static_cast<double>(std::numeric_limits<Out>::max())))
      throw data_error(path, "value " + std::to_string(static_cast<double>(in[i])) + " does not fit " + type_name);
    out[i] = static_cast<Out>(v);
  }
  return out;
}

void check_voxel_count(const Grid& grid, size_t n, const std::string& path) {
  if (static_cast<int64_t>(n) != grid.voxel_count())
    throw data_error(path, "volume holds " + std::to_string(n) + " voxels but its grid has " +
                               std::to_string(grid.voxel_count()));
}

}  // namespace

// --- public ----------------------------------------------------------------------------

const char* NiftiHeader::affine_source() const {
  return sform_code > 0 ? "sform" : qform_code > 0 ? "qform" : "pixdim";
}

Affine NiftiHeader::affine() const {
  if (sform_code > 0) return sform;
  if (qform_code > 0) return qform;
  return Affine::from_spacing({pixdim[1], pixdim[2], pixdim[3]});
}

bool NiftiHeader::has_scaling() const {
  return std::isfinite(scl_slope) && scl_slope != 0.0 && (scl_slope != 1.0 || (std::isfinite(scl_inter) && scl_inter != 0.0));
}

NiftiHeader make_header(const Grid& grid, int qform_code, int sform_code) {
  NiftiHeader h;
  h.qform_code = qform_code;
  h.sform_code = sform_code;
  h.xyzt_units = NIFTI_UNITS_MM;
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = grid.affine.m[r][c];
  double qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
  nifti_dmat44_to_quatern(m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
  h.quatern = {qb, qc, qd};
  h.qoffset = {qx, qy, qz};
  h.pixdim = {qfac < 0 ? -1.0 : 1.0, grid.spacing[0], grid.spacing[1], grid.spacing[2], 1, 1, 1, 1};
  const nifti_dmat44 q = nifti_quatern_to_dmat44(qb, qc, qd, qx, qy, qz, grid.spacing[0], grid.spacing[1],
                                                 grid.spacing[2], qfac);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) h.qform.m[r][c] = q.m[r][c];
  h.sform = grid.affine;
  return h;
}

std::string datatype_name(int datatype) {
  if (const Datatype* t = find_datatype(datatype)) return t->name;
  const char* s = nifti_datatype_string(datatype);
  return s ? s : "unknown";
}

std::string resolve_nifti_path(const std::string& path) {
  std::error_code ec;
  if (!is_nifti_name(path) || !fs::is_directory(path, ec)) return path;
  std::string found;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(ec) && is_nifti_name(name)) {
      found = entry.path().string();
      ++count;
    }
  }
  return count == 1 ? found : path;
}

NiftiInfo read_nifti_info(const std::string& given_path) {
  const std::string path = resolve_nifti_path(given_path);
  check_regular_file(path);
  InputFile in(path);
  RawHeader raw;
  int64_t vox_offset = 0;
  return parse_header(in, path, raw, vox_offset);
}

Volume read_image(const std::string& path) {
  const RawNifti raw = read_raw(path);
  Volume v = volume_from<float>(raw);
  const NiftiHeader& h = raw.info.header;
  const bool scale = h.has_scaling();
  const double slope = scale ? h.scl_slope : 1.0;
  const double inter = scale && std::isfinite(h.scl_inter) ? h.scl_inter : 0.0;
  size_t i = 0, non_finite = 0;
  for_each_value(raw, [&](auto value) {
    const float f = static_cast<float>(static_cast<double>(value) * slope + inter);
    non_finite += !std::isfinite(f);
    v.voxels[i++] = f;
  });
  if (non_finite > 0)
    throw data_error(raw.info.path, std::to_string(non_finite) + " of " + std::to_string(v.voxels.size()) +
                                        " voxels are not finite (NaN or Inf)");
  return v;
}

LabelVolume read_labels(const std::string& path) {
  const RawNifti raw = read_raw(path);
  LabelVolume v = volume_from<int32_t>(raw);
  const NiftiHeader& h = raw.info.header;
  const bool scale = h.has_scaling();
  const double slope = scale ? h.scl_slope : 1.0;
  const double inter = scale && std::isfinite(h.scl_inter) ? h.scl_inter : 0.0;
  size_t i = 0, bad = 0;
  double first_bad = 0;
  for_each_value(raw, [&](auto value) {
    const double d = static_cast<double>(value) * slope + inter;
    if (!(d == std::floor(d) && d >= std::numeric_limits<int32_t>::min() && d <= std::numeric_limits<int32_t>::max())) {
      if (bad++ == 0) first_bad = d;
      v.voxels[i++] = 0;
      return;
    }
    v.voxels[i++] = static_cast<int32_t>(d);
  });
  if (bad > 0) {
    std::ostringstream s;
    s << bad << " voxels hold non-integer or out-of-range label values (e.g. " << first_bad
      << "); a label map must hold integers";
    throw data_error(raw.info.path, s.str());
  }
  return v;
}

void write_image(const std::string& path, const Volume& volume, ImageType type) {
  check_voxel_count(volume.grid, volume.voxels.size(), path);
  if (type == ImageType::kFloat32) {
    write_nifti(path, volume.header, volume.grid, DT_FLOAT32, 4, volume.voxels.data());
  } else {
    const auto data = narrow<int16_t>(volume.voxels, path, "int16");
    write_nifti(path, volume.header, volume.grid, DT_INT16, 2, data.data());
  }
}

void write_labels(const std::string& path, const LabelVolume& labels, LabelType type) {
  check_voxel_count(labels.grid, labels.voxels.size(), path);
  if (type == LabelType::kAuto) {
    const auto [lo, hi] = std::minmax_element(labels.voxels.begin(), labels.voxels.end());
    const bool fits_u8 = labels.voxels.empty() || (*lo >= 0 && *hi <= 255);
    type = fits_u8 ? LabelType::kUint8 : LabelType::kInt16;
  }
  if (type == LabelType::kUint8) {
    const auto data = narrow<uint8_t>(labels.voxels, path, "uint8");
    write_nifti(path, labels.header, labels.grid, DT_UINT8, 1, data.data());
  } else {
    const auto data = narrow<int16_t>(labels.voxels, path, "int16");
    write_nifti(path, labels.header, labels.grid, DT_INT16, 2, data.data());
  }
}

}  // namespace coordseg
