// The C library's allocator, set for tensor work. glibc hands every block above its mmap
// threshold (at most 32 MB) fresh pages from the kernel and gives them back on free, so each
// large activation of a 3D network -- tens to hundreds of MB -- is page-faulted in again on
// every layer of every step. Measured on a 2-core VM, that was most of a forward pass: a
// base-8 U-Net over 128 x 128 x 96 voxels took 7.4 s with glibc's defaults and 1.1 s with
// freed blocks kept for reuse. keep_freed_memory() turns mmap off and trimming off, so the
// heap grows to the run's peak once and is reused; the process's resident memory then stays
// at that peak until it exits.
#pragma once

#include <string>

namespace coordseg {

// Applies the setting once for the process (call it first thing in main). Returns what was
// done, for the log: "kept" or why not ("COORDSEG_MALLOC=system", "not glibc").
// COORDSEG_MALLOC=system in the environment leaves the allocator as it is.
std::string keep_freed_memory();

}  // namespace coordseg
