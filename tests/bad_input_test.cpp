// Every kind of broken NIfTI file gets a one-line error naming the file and the reason,
// exit code 1 (bad data), and no crash, hang or absurd allocation.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "coordseg/core/error.h"
#include "coordseg/core/nifti.h"
#include "test_util.h"

namespace coordseg {
namespace {

using testing::TempDir;

// Reading `path` as an image (and as labels) fails with "<path>: <reason containing want>".
void expect_error(const std::string& path, const std::string& want) {
  for (int as_labels = 0; as_labels < 2; ++as_labels) {
    try {
      if (as_labels)
        read_labels(path);
      else
        read_image(path);
      ADD_FAILURE() << path << " was read, expected: " << want;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
      EXPECT_NE(msg.find(want), std::string::npos) << "got: " << msg << "\nwant: " << want;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_EQ(e.exit_code(), 1);
    }
  }
}

nifti_1_header valid() { return testing::make_n1(4, 4, 4, DT_INT16); }
const std::vector<int16_t> kData(64, 7);

TEST(BadInput, MissingFileAndDirectory) {
  TempDir dir;
  expect_error(dir.file("missing.nii.gz"), "no such file");
  expect_error(dir.path().string(), "is a directory");
}

TEST(BadInput, NotNifti) {
  TempDir dir;
  std::ofstream(dir.file("text.nii")) << "hello, this is not an image at all, but it is long enough";
  expect_error(dir.file("text.nii"), "not a NIfTI file (header size field is");
  std::ofstream(dir.file("tiny.nii")) << "ab";
  expect_error(dir.file("tiny.nii"), "not a NIfTI file (only 2 bytes)");
  std::ofstream(dir.file("empty.nii.gz"));
  expect_error(dir.file("empty.nii.gz"), "not a NIfTI file (only 0 bytes)");
}

TEST(BadInput, WrongMagic) {
  TempDir dir;
  nifti_1_header h = valid();
  std::memcpy(h.magic, "abc", 4);
  testing::write_nifti_file(dir.file("magic.nii"), h, kData);
  expect_error(dir.file("magic.nii"), "bad NIfTI magic 'abc\\x00' (expected 'n+1')");
  std::memcpy(h.magic, "ni1", 4);
  testing::write_nifti_file(dir.file("pair.nii"), h, kData);
  expect_error(dir.file("pair.nii"), "two-file NIfTI (.hdr/.img) is not supported");
}

TEST(BadInput, TruncatedFiles) {
  TempDir dir;
  const auto bytes = testing::nifti_bytes(valid(), kData.data(), kData.size() * 2, 352);
  testing::write_bytes(dir.file("head.nii"), {bytes.begin(), bytes.begin() + 200}, false);
  expect_error(dir.file("head.nii"), "truncated file: the NIfTI-1 header needs 348 bytes, the file has 200");
  testing::write_bytes(dir.file("data.nii"), {bytes.begin(), bytes.end() - 10}, false);
  expect_error(dir.file("data.nii"), "truncated file: 128 bytes of voxel data expected at offset 352, the file has 118");
  testing::write_bytes(dir.file("data.nii.gz"), {bytes.begin(), bytes.end() - 10}, true);
  expect_error(dir.file("data.nii.gz"), "truncated file: 128 bytes of voxel data expected, found 118");
}

TEST(BadInput, TruncatedGzipStream) {
  TempDir dir;
  // A large compressible volume so the cut falls inside the deflate stream.
  nifti_1_header h = testing::make_n1(64, 64, 64, DT_INT16);
  std::vector<int16_t> data(64 * 64 * 64);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int16_t>((i * 7919) % 1000);
  testing::write_nifti_file(dir.file("full.nii.gz"), h, data, true);
  auto gz = testing::read_all(dir.file("full.nii.gz"));
  testing::write_bytes(dir.file("cut.nii.gz"), {gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)}, false);
  expect_error(dir.file("cut.nii.gz"), "truncated gzip stream");
  // Cut inside the 8-byte trailer: all voxels arrive, but the stream is incomplete.
  testing::write_bytes(dir.file("trailer.nii.gz"), {gz.begin(), gz.end() - 3}, false);
  expect_error(dir.file("trailer.nii.gz"), "truncated gzip stream");
  // A flipped bit inside the deflate data.
  gz[gz.size() / 2] ^= 0x5a;
  testing::write_bytes(dir.file("corrupt.nii.gz"), gz, false);
  expect_error(dir.file("corrupt.nii.gz"), "gzip stream");
}

TEST(BadInput, BadDims) {
  TempDir dir;
  nifti_1_header h = valid();
  h.dim[2] = 0;
  testing::write_nifti_file(dir.file("zero.nii"), h, kData);
  expect_error(dir.file("zero.nii"), "dim[2] is 0; dims must be positive");
  h.dim[2] = -4;
  testing::write_nifti_file(dir.file("neg.nii"), h, kData);
  expect_error(dir.file("neg.nii"), "dim[2] is -4; dims must be positive");
  h = valid();
  h.dim[0] = 9;
  testing::write_nifti_file(dir.file("ndim.nii"), h, kData);
  expect_error(dir.file("ndim.nii"), "dim[0] is 9, must be 1..7");
  h = valid();
  h.dim[0] = 4;
  h.dim[4] = 3;
  testing::write_nifti_file(dir.file("4d.nii"), h, kData);
  expect_error(dir.file("4d.nii"), "has 3 volumes (4D or more); a single 3D volume is expected");
}

TEST(BadInput, DimsBeyondMemoryOrOverflowing) {
  TempDir dir;
  nifti_1_header h = valid();
  h.dim[1] = h.dim[2] = h.dim[3] = 32767;  // 35e12 voxels: far beyond memory
  testing::write_nifti_file(dir.file("huge.nii.gz"), h, kData, true);
  expect_error(dir.file("huge.nii.gz"), "of available memory");
  nifti_2_header h2 = testing::make_n2(int64_t{1} << 40, int64_t{1} << 40, 4, DT_INT16);
  testing::write_nifti_file(dir.file("overflow.nii"), h2, kData);
  expect_error(dir.file("overflow.nii"), "overflow a 64-bit voxel count");
}

TEST(BadInput, HeaderClaimsMoreDataThanTheGzipHolds) {
  // Under memory limits, but the stream ends early: reading must stop at the real data.
  TempDir dir;
  nifti_1_header h = valid();
  h.dim[1] = h.dim[2] = h.dim[3] = 512;  // 256 MiB of int16 claimed, 128 bytes present
  testing::write_nifti_file(dir.file("liar.nii.gz"), h, kData, true);
  expect_error(dir.file("liar.nii.gz"), "truncated file: 268435456 bytes of voxel data expected, found 128");
}

TEST(BadInput, VoxOffset) {
  TempDir dir;
  nifti_1_header h = valid();
  h.vox_offset = 1e6f;
  testing::write_nifti_file(dir.file("far.nii"), h, kData);
  expect_error(dir.file("far.nii"), "vox_offset 1000000 is beyond the end of the file (480 bytes)");
  testing::write_nifti_file(dir.file("far.nii.gz"), h, kData, true);
  expect_error(dir.file("far.nii.gz"), "vox_offset 1000000 is beyond the end of the data");
  h.vox_offset = 100;
  testing::write_nifti_file(dir.file("inside.nii"), h, kData);
  expect_error(dir.file("inside.nii"), "vox_offset 100 lies inside the header");
  h.vox_offset = 0;  // read as 352, as nibabel and nifticlib do
  testing::write_nifti_file(dir.file("zero.nii"), h, kData);
  EXPECT_EQ(read_image(dir.file("zero.nii")).voxels, std::vector<float>(64, 7.0f));
  h.vox_offset = NAN;
  testing::write_nifti_file(dir.file("nan.nii"), h, kData);
  expect_error(dir.file("nan.nii"), "is not a valid byte offset");
}

TEST(BadInput, BadPixdim) {
  TempDir dir;
  for (const float bad : {0.0f, -1.0f, NAN, INFINITY}) {
    nifti_1_header h = valid();
    h.pixdim[3] = bad;
    testing::write_nifti_file(dir.file("pixdim.nii"), h, kData);
    expect_error(dir.file("pixdim.nii"), "pixdim[3] is");
    expect_error(dir.file("pixdim.nii"), "voxel sizes must be positive and finite");
  }
}

TEST(BadInput, UnsupportedDatatypes) {
  TempDir dir;
  nifti_1_header h = valid();
  h.datatype = DT_COMPLEX64;
  testing::write_nifti_file(dir.file("complex.nii"), h, kData);
  expect_error(dir.file("complex.nii"), "unsupported datatype COMPLEX64 (code 32)");
  h.datatype = DT_RGB24;
  testing::write_nifti_file(dir.file("rgb.nii"), h, kData);
  expect_error(dir.file("rgb.nii"), "unsupported datatype RGB24 (code 128)");
  h.datatype = 12345;
  testing::write_nifti_file(dir.file("junk.nii"), h, kData);
  expect_error(dir.file("junk.nii"), "(code 12345)");
}

TEST(BadInput, NonFiniteImageVoxelsAreCounted) {
  TempDir dir;
  nifti_1_header h = testing::make_n1(2, 2, 1, DT_FLOAT32);
  testing::write_nifti_file(dir.file("nan.nii"), h, std::vector<float>{1, NAN, INFINITY, 2});
  try {
    read_image(dir.file("nan.nii"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("nan.nii") + ": 2 of 4 voxels are not finite (NaN or Inf)");
  }
  // A float64 value that overflows float32 is not finite either.
  nifti_1_header h64 = testing::make_n1(1, 1, 1, DT_FLOAT64);
  testing::write_nifti_file(dir.file("big.nii"), h64, std::vector<double>{1e300});
  try {
    read_image(dir.file("big.nii"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("big.nii") + ": 1 of 1 voxels are not finite (NaN or Inf)");
  }
  // As labels, non-finite values are not integers.
  expect_error(dir.file("nan.nii"), "");
  try {
    read_labels(dir.file("nan.nii"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 voxels hold non-integer or out-of-range label values"), std::string::npos);
  }
}

TEST(BadInput, SingularAffine) {
  TempDir dir;
  nifti_1_header h = valid();
  h.sform_code = 1;  // srow all zero
  testing::write_nifti_file(dir.file("sform.nii"), h, kData);
  expect_error(dir.file("sform.nii"), "the sform is singular");
  h.srow_x[0] = NAN;
  testing::write_nifti_file(dir.file("nansform.nii"), h, kData);
  expect_error(dir.file("nansform.nii"), "the sform holds non-finite values");
}

}  // namespace
}  // namespace coordseg
