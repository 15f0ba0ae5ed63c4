// main() of the torch test programs: the allocator as the coordseg program sets it
// (allocator.h), so the tests exercise, and run at the speed of, what users run.
#include <gtest/gtest.h>

#include "coordseg/core/allocator.h"

int main(int argc, char** argv) {
  coordseg::keep_freed_memory();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
