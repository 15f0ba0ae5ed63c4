#include "coordseg/core/allocator.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>

namespace coordseg {
namespace {

// The test programs' main() calls keep_freed_memory(), as coordseg's does: a freed 64 MB
// block is then neither unmapped nor mapped again, so no block lives outside the heap.
TEST(Allocator, LargeBlocksComeFromTheHeapAndStayThere) {
  if (std::getenv("COORDSEG_MALLOC")) GTEST_SKIP() << "COORDSEG_MALLOC is set";
  EXPECT_EQ(keep_freed_memory(), "kept");
  const size_t before = mallinfo2().hblkhd;  // bytes in mmap'ed blocks
  void* big = std::malloc(size_t{64} << 20);
  ASSERT_NE(big, nullptr);
  static_cast<volatile char*>(big)[0] = 1;
  EXPECT_EQ(mallinfo2().hblkhd, before);
  std::free(big);
  void* again = std::malloc(size_t{64} << 20);
  EXPECT_EQ(again, big);  // the same block, reused
  std::free(again);
}

}  // namespace
}  // namespace coordseg
